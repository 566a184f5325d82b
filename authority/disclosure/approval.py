"""Human approval of disclosures the policy will not make on its own.

Rules: the job asks (one PENDING row per case and exact report set); a person answers
with ``nearmiss authority approve CASE`` (or ``--reject``). An answer binds to the
report set it was asked for, so a case that grows after approval asks again. Answers
are final: an approved or rejected request is never reopened or changed; the person's
name stays in the authority (the public document says only that a person approved).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from authority.disclosure.tables import ApprovalRow
from nearmiss.errors import NotFoundError, PreconditionError
from policies.disclosure import DisclosureDecision

PENDING = "PENDING"
APPROVED = "APPROVED"
REJECTED = "REJECTED"


def answer_for(session: Session, case_id: str, reports_digest: str) -> ApprovalRow | None:
    return session.exec(
        select(ApprovalRow).where(
            ApprovalRow.case_id == case_id, ApprovalRow.reports_digest == reports_digest
        )
    ).first()


def request_approval(
    session: Session,
    *,
    case_id: str,
    reports_digest: str,
    decision: DisclosureDecision,
    now: datetime,
) -> ApprovalRow:
    """The pending request for this case and report set (created once)."""
    existing = answer_for(session, case_id, reports_digest)
    if existing is not None:
        return existing
    row = ApprovalRow(
        case_id=case_id,
        reports_digest=reports_digest,
        requested_at=now,
        rule_id=decision.rule_id,
        pack_hash=decision.pack_hash,
    )
    session.add(row)
    return row


def pending_approvals(session: Session) -> list[ApprovalRow]:
    return list(
        session.exec(
            select(ApprovalRow)
            .where(ApprovalRow.status == PENDING)
            .order_by(col(ApprovalRow.requested_at))
        ).all()
    )


def _answer(
    session: Session, case_id: str, status: str, by: str, note: str, now: datetime | None
) -> ApprovalRow:
    if not by.strip():
        raise PreconditionError("an approval must name the person who gives it (--by)")
    row = session.exec(
        select(ApprovalRow)
        .where(ApprovalRow.case_id == case_id, ApprovalRow.status == PENDING)
        .order_by(col(ApprovalRow.requested_at).desc())
    ).first()
    if row is None:
        raise NotFoundError(
            f"case {case_id} has no pending approval request "
            "(see `nearmiss authority disclosures --pending`)"
        )
    row.status = status
    row.decided_by = by.strip()[:100]
    row.note = note[:1000]
    row.decided_at = now or datetime.now(UTC)
    session.add(row)
    session.commit()
    return row


def approve(
    session: Session, case_id: str, *, by: str, note: str = "", now: datetime | None = None
) -> ApprovalRow:
    """Approve the newest pending request of ``case_id``; the next job run publishes."""
    return _answer(session, case_id, APPROVED, by, note, now)


def reject(
    session: Session, case_id: str, *, by: str, note: str = "", now: datetime | None = None
) -> ApprovalRow:
    return _answer(session, case_id, REJECTED, by, note, now)
