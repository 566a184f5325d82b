"""Reading cases: summaries for a listing, one case in full, and the ``CaseSource`` that
hands linked cases to the disclosure job and the dashboard.

Rules: a case is named either by its number (the linker's id: "17" or "#17", for
analysts) or by its public id ("c-…", what alerts and disclosures show); a merged-away
case answers with where it went. Only open cases are listed. Evidence is read as it was
stored at link time. The ``LinkedCases`` source returns open cases with their reports
and tagged text candidates, exactly as ``authority.disclosure.cases.ReportCases`` does
for one report; reports not yet linked are not in any case until the worker links them
(seconds after the receipt).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from authority.cases.tables import OPEN, CaseLinkRow, CaseMemberRow, CaseRow, HumanDecisionRow
from authority.disclosure.cases import case_report, text_candidates
from authority.records import ReportRecord
from nearmiss.canonical import report_from_canonical
from nearmiss.errors import NotFoundError, ReportInvalidError
from policies.case import CaseView

MAX_LIST = 1000


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for UTC columns."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class CaseSummary:
    case_id: int
    public_id: str
    report_count: int
    lab_count: int
    max_severity: int
    harm_domains: tuple[str, ...]
    title: str  # the earliest report's title (analysts may read reports)
    created_at: datetime
    updated_at: datetime
    first_received_at: datetime
    last_received_at: datetime


@dataclass(frozen=True)
class MemberInfo:
    report_id: str
    lab_id: str
    kind: str
    severity: int
    harm_domains: tuple[str, ...]
    title: str
    log_index: int
    received_at: datetime
    linked_at: datetime | None
    occurred_at: datetime | None
    blocked_case_ids: tuple[int, ...]


@dataclass(frozen=True)
class EvidenceInfo:
    report_id: str
    matched_report_id: str
    case_id_at_link: int
    method: str
    score: float
    details: dict[str, object]
    linked_at: datetime


@dataclass(frozen=True)
class DecisionInfo:
    kind: str
    left: tuple[str, ...]
    right: tuple[str, ...]
    case_id: int
    other_case_id: int
    by: str
    at: datetime
    reason: str
    active: bool


@dataclass(frozen=True)
class MergedInfo:
    case_id: int
    public_id: str
    by: str
    at: datetime


@dataclass(frozen=True)
class CaseDetail:
    summary: CaseSummary
    members: tuple[MemberInfo, ...]
    evidence: tuple[EvidenceInfo, ...]
    decisions: tuple[DecisionInfo, ...]
    merged_from: tuple[MergedInfo, ...]


def resolve_case(session: Session, reference: str) -> CaseRow:
    """The open case a person named, by number or public id."""
    ref = reference.strip().removeprefix("#")
    if ref.startswith("c-"):
        row = session.exec(select(CaseRow).where(CaseRow.public_id == ref)).first()
    elif ref.isdigit():
        row = session.get(CaseRow, int(ref))
    else:
        raise ReportInvalidError(
            "must be a case number (17) or a public case id (c-…)", field="case"
        )
    if row is None:
        raise NotFoundError(f"no case {reference.strip()}")
    if row.status != OPEN:
        target = session.get(CaseRow, row.merged_into) if row.merged_into is not None else None
        where = f"case {target.case_id} ({target.public_id})" if target else "another case"
        raise NotFoundError(f"case {row.case_id} was merged into {where}")
    return row


def _member_records(
    session: Session, case_ids: Sequence[int] | None
) -> dict[int, list[ReportRecord]]:
    """Report rows per case, oldest first (``None``: every case)."""
    query = select(CaseMemberRow.case_id, ReportRecord).join(
        ReportRecord, col(ReportRecord.report_id) == col(CaseMemberRow.report_id)
    )
    if case_ids is not None:
        query = query.where(col(CaseMemberRow.case_id).in_(list(case_ids)))
    rows = session.exec(query.order_by(col(ReportRecord.log_index))).all()
    out: dict[int, list[ReportRecord]] = {}
    for case_id, record in rows:
        out.setdefault(int(case_id), []).append(record)
    return out


def _summary(row: CaseRow, records: Sequence[ReportRecord]) -> CaseSummary:
    first = records[0]
    return CaseSummary(
        case_id=row.case_id,
        public_id=row.public_id,
        report_count=len(records),
        lab_count=len({r.lab_id for r in records}),
        max_severity=max(r.severity for r in records),
        harm_domains=tuple(sorted({d for r in records for d in r.harm_domains.split()})),
        title=report_from_canonical(bytes(first.canonical_report)).title,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        first_received_at=min(as_utc(r.received_at) for r in records),
        last_received_at=max(as_utc(r.received_at) for r in records),
    )


def list_cases(
    session: Session, *, limit: int = 50, before: int = 0, min_reports: int = 1
) -> tuple[list[CaseSummary], int]:
    """Open cases, newest number first, and how many open cases there are in all.

    ``before`` pages (cases numbered below it); ``min_reports`` keeps larger cases only.
    """
    limit = max(1, min(limit or 50, MAX_LIST))
    sizes = (
        select(CaseMemberRow.case_id, func.count().label("n"))
        .group_by(col(CaseMemberRow.case_id))
        .having(func.count() >= max(min_reports, 1))
        .subquery()
    )
    query = (
        select(CaseRow)
        .join(sizes, sizes.c.case_id == col(CaseRow.case_id))
        .where(CaseRow.status == OPEN)
    )
    total = int(session.exec(select(func.count()).select_from(query.subquery())).one())
    if before:
        query = query.where(col(CaseRow.case_id) < before)
    rows = session.exec(query.order_by(col(CaseRow.case_id).desc()).limit(limit)).all()
    records = _member_records(session, [r.case_id for r in rows])
    return [_summary(r, records[r.case_id]) for r in rows if r.case_id in records], total


def unlinked_count(session: Session) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(ReportRecord)
            .where(col(ReportRecord.linked_at).is_(None))
        ).one()
    )


def case_detail(session: Session, reference: str) -> CaseDetail:
    row = resolve_case(session, reference)
    records = _member_records(session, [row.case_id]).get(row.case_id, [])
    if not records:
        raise NotFoundError(f"case {row.case_id} has no reports (retention removed them)")
    ids = [r.report_id for r in records]
    members = {
        m.report_id: m
        for m in session.exec(
            select(CaseMemberRow).where(col(CaseMemberRow.report_id).in_(ids))
        ).all()
    }
    links = session.exec(
        select(CaseLinkRow)
        .where(col(CaseLinkRow.report_id).in_(ids))
        .order_by(col(CaseLinkRow.link_id))
    ).all()
    decisions = session.exec(
        select(HumanDecisionRow)
        .where(
            col(HumanDecisionRow.case_id).in_(_lineage(session, row.case_id))
            | col(HumanDecisionRow.other_case_id).in_(_lineage(session, row.case_id))
        )
        .order_by(col(HumanDecisionRow.decision_id))
    ).all()
    return CaseDetail(
        summary=_summary(row, records),
        members=tuple(_member_info(r, members.get(r.report_id)) for r in records),
        evidence=tuple(
            EvidenceInfo(
                report_id=link.report_id,
                matched_report_id=link.matched_report_id,
                case_id_at_link=link.case_id,
                method=link.method,
                score=link.score,
                details=json.loads(link.evidence),
                linked_at=as_utc(link.linked_at),
            )
            for link in links
        ),
        decisions=tuple(
            DecisionInfo(
                kind=d.kind, left=tuple(json.loads(d.left_reports)),
                right=tuple(json.loads(d.right_reports)), case_id=d.case_id,
                other_case_id=d.other_case_id, by=d.decided_by, at=as_utc(d.decided_at),
                reason=d.reason, active=d.superseded_at is None,
            )
            for d in decisions
        ),
        merged_from=tuple(
            MergedInfo(
                m.case_id, m.public_id, m.merged_by or "", as_utc(m.merged_at or m.updated_at)
            )
            for m in session.exec(
                select(CaseRow)
                .where(CaseRow.merged_into == row.case_id)
                .order_by(col(CaseRow.case_id))
            ).all()
        ),
    )


def _lineage(session: Session, case_id: int) -> list[int]:
    """The case and every case merged into it, directly or through others."""
    found = [case_id]
    frontier = [case_id]
    while frontier:
        merged = session.exec(
            select(CaseRow.case_id).where(col(CaseRow.merged_into).in_(frontier))
        ).all()
        frontier = [int(c) for c in merged if c not in found]
        found += frontier
    return found


def _member_info(record: ReportRecord, member: CaseMemberRow | None) -> MemberInfo:
    report = report_from_canonical(bytes(record.canonical_report))
    blocked = member.blocked_case_ids.split() if member is not None else []
    return MemberInfo(
        report_id=record.report_id,
        lab_id=record.lab_id,
        kind=record.kind,
        severity=record.severity,
        harm_domains=tuple(record.harm_domains.split()),
        title=report.title,
        log_index=record.log_index,
        received_at=as_utc(record.received_at),
        linked_at=as_utc(record.linked_at) if record.linked_at else None,
        occurred_at=as_utc(record.occurred_at) if record.occurred_at else None,
        blocked_case_ids=tuple(int(c) for c in blocked),
    )


def snapshot_records(session: Session, case_id: int) -> list[ReportRecord]:
    """The stored rows of a case's reports (what an alert snapshot is built from)."""
    return _member_records(session, [case_id]).get(case_id, [])


class LinkedCases:
    """``CaseSource`` over linked cases (replaces ``ReportCases`` once linking runs)."""

    def load(self, session: Session) -> list[CaseView]:
        rows = session.exec(
            select(CaseRow).where(CaseRow.status == OPEN).order_by(col(CaseRow.case_id))
        ).all()
        records = _member_records(session, None)
        views = []
        for row in rows:
            members = records.get(row.case_id)
            if not members:
                continue
            reports = [(m, report_from_canonical(bytes(m.canonical_report))) for m in members]
            views.append(
                CaseView(
                    case_id=row.public_id,
                    reports=tuple(case_report(m, r) for m, r in reports),
                    texts=tuple(t for _, r in reports for t in text_candidates(r)),
                )
            )
        return views

    def count(self, session: Session) -> int:
        return int(
            session.exec(
                select(func.count(func.distinct(CaseMemberRow.case_id)))
            ).one()
        )
