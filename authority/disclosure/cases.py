"""Where the disclosure job (and the dashboard) get cases: a small ``CaseSource`` protocol.

Rules: until the authority links reports into cases (``authority.cases``), every
report is its own case (:class:`ReportCases`); the case id is derived from the report
id by a one-way hash, so a public case id does not reveal the lab's report id. A case
source that links reports only has to return :class:`policies.case.CaseView` objects.
Text candidates are tagged with their origin here, once; nothing downstream sees an
untagged report field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import func
from sqlmodel import Session, col, select

from authority.records import ReportRecord
from nearmiss.canonical import report_from_canonical
from nearmiss.model import HarmDomain, IncidentReport, ReportKind
from policies.case import CaseReport, CaseView, TextCandidate, TextSource


class CaseSource(Protocol):
    def load(self, session: Session) -> Sequence[CaseView]: ...

    def count(self, session: Session) -> int: ...


def reports_digest(case: CaseView) -> str:
    """Names the exact set of reports in a case (what an approval is given for)."""
    return hashlib.sha256("\n".join(sorted(case.report_ids)).encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def text_candidates(report: IncidentReport) -> list[TextCandidate]:
    texts = [
        TextCandidate(report.report_id, TextSource.TITLE, report.title),
        TextCandidate(report.report_id, TextSource.SUMMARY, report.summary),
    ]
    texts += [
        TextCandidate(
            report.report_id, TextSource.SECTION, section.text, section.heading, section.scope
        )
        for section in report.sections
    ]
    return texts


def case_report(record: ReportRecord, report: IncidentReport) -> CaseReport:
    return CaseReport(
        report_id=record.report_id,
        lab_id=record.lab_id,
        kind=ReportKind(record.kind),
        severity=record.severity,
        harm_domains=tuple(HarmDomain(name) for name in record.harm_domains.split()),
        received_at=_aware(record.received_at),
        event_time=report.event_time,
        log_index=record.log_index,
        leaf_hash=bytes(record.leaf_hash).hex(),
    )


class ReportCases:
    """One case per stored report (the stand-in until reports are linked into cases)."""

    @staticmethod
    def case_id(report_id: str) -> str:
        return "c-" + hashlib.sha256(f"nearmiss/case\x00{report_id}".encode()).hexdigest()[:16]

    def load(self, session: Session) -> list[CaseView]:
        records = session.exec(select(ReportRecord).order_by(col(ReportRecord.log_index))).all()
        cases = []
        for record in records:
            report = report_from_canonical(bytes(record.canonical_report))
            cases.append(
                CaseView(
                    case_id=self.case_id(record.report_id),
                    reports=(case_report(record, report),),
                    texts=tuple(text_candidates(report)),
                )
            )
        return cases

    def count(self, session: Session) -> int:
        return int(session.exec(select(func.count()).select_from(ReportRecord)).one())
