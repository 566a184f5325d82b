"""What a release counts, read from the authority's SQL tables.

Rules this module enforces:

* Only the countable columns are read (lab, receipt time, kind, severity, harm
  domains, case membership); never the signed report bytes, so nothing a release
  computes can carry report text.
* A report belongs to the period containing its ``received_at`` (ADR 0005); the query
  selects exactly that half-open interval.
* A report's case is the open case its ``nm_case_member`` row places it in at release
  time; a report the linker has not reached yet counts as case-less (it still counts
  in the "reports" cells). Case ids are the authority's internal ids: they are only
  compared, never published.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from authority.cases.tables import CaseMemberRow
from authority.privacy.aggregates import CountableReport, Period
from authority.records import ReportRecord
from nearmiss.model import HarmDomain, ReportKind


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were written in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def countable_reports(session: Session, period: Period) -> list[CountableReport]:
    """Every report received in ``period``, with its case, in receipt order."""
    query = (
        select(
            col(ReportRecord.report_id),
            col(ReportRecord.lab_id),
            col(ReportRecord.received_at),
            col(ReportRecord.kind),
            col(ReportRecord.severity),
            col(ReportRecord.harm_domains),
            col(ReportRecord.occurred_at),
            col(CaseMemberRow.case_id),
        )
        .outerjoin(CaseMemberRow, col(CaseMemberRow.report_id) == col(ReportRecord.report_id))
        .where(
            col(ReportRecord.received_at) >= period.start,
            col(ReportRecord.received_at) < period.end,
        )
        .order_by(col(ReportRecord.received_at), col(ReportRecord.report_id))
    )
    reports = []
    for row in session.execute(query).tuples():
        report_id, lab_id, received_at, kind, severity, domains, occurred_at, case_id = row
        reports.append(
            CountableReport(
                report_id=report_id,
                lab_id=lab_id,
                received_at=_utc(received_at),
                kind=ReportKind(kind),
                severity=severity,
                harm_domains=tuple(HarmDomain(name) for name in domains.split()),
                case_id=None if case_id is None else str(case_id),
                occurred_at=None if occurred_at is None else _utc(occurred_at),
            )
        )
    return reports
