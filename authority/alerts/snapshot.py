"""``CaseSnapshot``: what case linking hands to the alert service when a case changes.

Rules: a snapshot is frozen and complete — the alert service never reads case tables,
so case linking may store cases however it likes. It carries the structured facts of
every report in the case (for the routing rules) and the one *triggering* report in
full (for the safe-harbor filter, which decides per destination which of its fields
may pass). The triggering report's log index and leaf hash become the provenance of
every federated copy of the alert, so they must be the values the log committed to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from authority.records import ReportRecord
from nearmiss.canonical import report_from_canonical
from nearmiss.errors import NotFoundError
from nearmiss.model import HarmDomain, IncidentReport, ReportKind
from policies.case import CaseReport, CaseView


@dataclass(frozen=True)
class CaseMember:
    """The structured facts of one report in a case (no free text)."""

    report_id: str
    lab_id: str
    kind: ReportKind
    severity: int
    harm_domains: tuple[HarmDomain, ...]
    received_at: datetime
    event_time: datetime
    log_index: int
    leaf_hash: bytes

    @classmethod
    def from_record(cls, record: ReportRecord) -> CaseMember:
        return cls(
            report_id=record.report_id,
            lab_id=record.lab_id,
            kind=ReportKind(record.kind),
            severity=record.severity,
            harm_domains=tuple(HarmDomain(name) for name in record.harm_domains.split()),
            received_at=as_utc(record.received_at),
            event_time=as_utc(record.occurred_at or record.detected_at),
            log_index=record.log_index,
            leaf_hash=bytes(record.leaf_hash),
        )


@dataclass(frozen=True)
class CaseSnapshot:
    """One case as it stands after a change, and the report that changed it."""

    case_id: str
    members: tuple[CaseMember, ...]
    trigger: IncidentReport

    def __post_init__(self) -> None:
        if not any(m.report_id == self.trigger.report_id for m in self.members):
            raise ValueError(f"the triggering report is not a member of case {self.case_id}")

    @classmethod
    def from_records(
        cls, case_id: str, records: Sequence[ReportRecord], trigger_report_id: str
    ) -> CaseSnapshot:
        """Build from stored report rows; the trigger is decoded from its signed bytes."""
        by_id = {record.report_id: record for record in records}
        trigger = by_id.get(trigger_report_id)
        if trigger is None:
            raise NotFoundError(f"report {trigger_report_id} is not among the case's reports")
        return cls(
            case_id=case_id,
            members=tuple(CaseMember.from_record(record) for record in records),
            trigger=report_from_canonical(trigger.canonical_report),
        )

    @property
    def trigger_member(self) -> CaseMember:
        return next(m for m in self.members if m.report_id == self.trigger.report_id)

    def to_case_view(self) -> CaseView:
        """The policies' view of the case (structured facts only: routing needs no text).
        Derived facts (labs, highest severity, domains) are read from the view, not
        repeated here."""
        return CaseView(
            case_id=self.case_id,
            reports=tuple(
                CaseReport(
                    report_id=m.report_id,
                    lab_id=m.lab_id,
                    kind=m.kind,
                    severity=m.severity,
                    harm_domains=m.harm_domains,
                    received_at=m.received_at,
                    event_time=m.event_time,
                    log_index=m.log_index,
                    leaf_hash=m.leaf_hash.hex(),
                )
                for m in self.members
            ),
        )


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for UTC columns; make every time comparable."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
