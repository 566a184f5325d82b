"""The disclosure job: turn cases whose embargo passed and whose policy allows into
signed public disclosures, ask for approval where the policy wants a person.

Rules this module enforces:

- One run uses one :class:`PolicySet` snapshot for every case (a pack reload during a
  run cannot mix two versions of the rules).
- Each case is decided and written in its own transaction: one bad case does not stop
  the others, and a crash leaves only whole decisions behind.
- The decision is recorded in the audit trail whenever the outcome, deciding rule or
  pack hash changes for a case; logs name case ids, outcomes and rules only — never
  report text.
- DISCLOSE publishes a new version only when the document changed; NEEDS_APPROVAL files
  one request per case and report set; a REJECTED answer stops the case for that
  report set; AGGREGATE_ONLY or WITHHELD withdraws a case disclosed under older rules.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from authority.disclosure.approval import APPROVED, REJECTED, answer_for, request_approval
from authority.disclosure.cases import CaseSource, ReportCases, reports_digest
from authority.disclosure.document import build_document, withdrawal
from authority.disclosure.store import latest_version, publish
from authority.disclosure.tables import DisclosureDecisionRow
from nearmiss.signing import SigningKey
from policies.case import CaseView
from policies.disclosure import DisclosureDecision, DisclosureOutcome
from policies.engine import PolicyEngine, PolicySet

logger = logging.getLogger("nearmiss.authority.disclosure")


@dataclass
class JobResult:
    outcomes: Counter[str] = field(default_factory=Counter)
    published: list[tuple[str, int]] = field(default_factory=list)
    approvals_requested: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class DisclosureJob:
    def __init__(
        self,
        *,
        engine: Engine,
        policies: PolicyEngine,
        signing_key: SigningKey,
        authority_id: str,
        cases: CaseSource | None = None,
    ):
        self._engine = engine
        self._policies = policies
        self._key = signing_key
        self._authority_id = authority_id
        self._cases = cases or ReportCases()

    def run_once(self, *, now: datetime | None = None, case_id: str | None = None) -> JobResult:
        """Decide every case (or one), publish what may be published; returns the tally."""
        now = now or datetime.now(UTC)
        snapshot = self._policies.current()
        result = JobResult()
        with Session(self._engine, expire_on_commit=False) as session:
            cases = [c for c in self._cases.load(session) if case_id in (None, c.case_id)]
        for case in cases:
            try:
                with Session(self._engine, expire_on_commit=False) as session:
                    self._one(session, case, snapshot, now, result)
            except Exception:
                logger.exception("disclosure of case %s failed; retried next run", case.case_id)
                result.failed.append(case.case_id)
        if result.published or result.approvals_requested:
            logger.info(
                "disclosure run: %d published, %d approval requests, outcomes %s",
                len(result.published), len(result.approvals_requested), dict(result.outcomes),
            )
        return result

    def _one(
        self,
        session: Session,
        case: CaseView,
        snapshot: PolicySet,
        now: datetime,
        result: JobResult,
    ) -> None:
        digest = reports_digest(case)
        answer = answer_for(session, case.case_id, digest)
        if answer is not None and answer.status == REJECTED:
            result.outcomes["REJECTED"] += 1
            return
        approved = answer is not None and answer.status == APPROVED
        decision = snapshot.disclosure.decide(case, now=now, approved=approved)
        result.outcomes[decision.outcome.value] += 1
        self._record(session, decision, digest, now)
        if decision.outcome is DisclosureOutcome.DISCLOSE:
            document = build_document(
                case, decision, snapshot, authority_id=self._authority_id, approved=approved
            )
            self._publish(session, case.case_id, document, decision, now, result)
        elif decision.outcome is DisclosureOutcome.NEEDS_APPROVAL:
            if answer is None:
                request_approval(
                    session, case_id=case.case_id, reports_digest=digest,
                    decision=decision, now=now,
                )
                result.approvals_requested.append(case.case_id)
                logger.info(
                    "case %s needs a person's approval (rule %s)", case.case_id, decision.rule_id
                )
            session.commit()
        elif decision.outcome in (DisclosureOutcome.AGGREGATE_ONLY, DisclosureOutcome.WITHHELD):
            latest = latest_version(session, case.case_id)
            if latest is not None and not latest.withdrawn:
                document = withdrawal(case.case_id, self._authority_id, decision)
                self._publish(session, case.case_id, document, decision, now, result)
            else:
                session.commit()
        else:
            session.commit()

    def _publish(
        self,
        session: Session,
        case_id: str,
        document: dict[str, object],
        decision: DisclosureDecision,
        now: datetime,
        result: JobResult,
    ) -> None:
        row = publish(
            session, case_id=case_id, document=document, decision=decision,
            key=self._key, now=now,
        )
        if row is None:
            session.commit()
            return
        result.published.append((case_id, row.version))
        logger.info(
            "case %s disclosed as version %d (rule %s, pack %s)",
            case_id, row.version, decision.rule_id, decision.pack_hash[:12],
        )

    @staticmethod
    def _record(
        session: Session, decision: DisclosureDecision, digest: str, now: datetime
    ) -> None:
        last = session.exec(
            select(DisclosureDecisionRow)
            .where(DisclosureDecisionRow.case_id == decision.case_id)
            .order_by(col(DisclosureDecisionRow.id).desc())
            .limit(1)
        ).first()
        if (
            last is not None
            and last.outcome == decision.outcome.value
            and last.rule_id == decision.rule_id
            and last.pack_hash == decision.pack_hash
            and last.reports_digest == digest
        ):
            return
        session.add(
            DisclosureDecisionRow(
                case_id=decision.case_id,
                decided_at=now,
                outcome=decision.outcome.value,
                rule_id=decision.rule_id,
                pack_hash=decision.pack_hash,
                trail=" ".join(decision.provenance.trail),
                not_before=decision.not_before,
                reports_digest=digest,
            )
        )
