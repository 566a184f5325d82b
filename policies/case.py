"""What the disclosure and alert-routing policies see of a case: ``CaseView``.

Rules: a view is a frozen snapshot built by the authority (one report per case until
case linking lands; a group of linked reports after). It carries the structured fields
the rules test (labs, domains, severity, kinds, times) and, separately, the text
candidates that a disclosure *might* publish, each tagged with where it came from
(title, summary or a section with its scope). Policies choose among the candidates;
they never see report text anywhere else, so a policy bug cannot publish a field the
view does not tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from nearmiss.model import HarmDomain, ReportKind, SensitivityScope


class TextSource(StrEnum):
    TITLE = "title"
    SUMMARY = "summary"
    SECTION = "section"


@dataclass(frozen=True)
class TextCandidate:
    """One piece of report text and its origin. ``scope`` is None for title/summary,
    which carry no scope of their own (the lab did not mark them public)."""

    report_id: str
    source: TextSource
    text: str
    heading: str = ""
    scope: SensitivityScope | None = None


@dataclass(frozen=True)
class CaseReport:
    """The structured facts of one report in a case (no free text)."""

    report_id: str
    lab_id: str
    kind: ReportKind
    severity: int
    harm_domains: tuple[HarmDomain, ...]
    received_at: datetime
    event_time: datetime
    log_index: int
    leaf_hash: str = ""


@dataclass(frozen=True)
class CaseView:
    case_id: str
    reports: tuple[CaseReport, ...]
    texts: tuple[TextCandidate, ...] = ()

    def __post_init__(self) -> None:
        if not self.reports:
            raise ValueError(f"case {self.case_id} has no reports")

    @property
    def report_ids(self) -> tuple[str, ...]:
        return tuple(report.report_id for report in self.reports)

    @property
    def lab_ids(self) -> frozenset[str]:
        return frozenset(report.lab_id for report in self.reports)

    @property
    def harm_domains(self) -> frozenset[HarmDomain]:
        return frozenset(domain for report in self.reports for domain in report.harm_domains)

    @property
    def max_severity(self) -> int:
        return max(report.severity for report in self.reports)

    @property
    def kinds(self) -> frozenset[ReportKind]:
        return frozenset(report.kind for report in self.reports)

    @property
    def first_received(self) -> datetime:
        return min(report.received_at for report in self.reports)

    @property
    def last_received(self) -> datetime:
        return max(report.received_at for report in self.reports)

    @property
    def first_event(self) -> datetime:
        return min(report.event_time for report in self.reports)

    @property
    def log_indexes(self) -> tuple[int, ...]:
        return tuple(sorted(report.log_index for report in self.reports))

    def most_labs_within(self, window: timedelta) -> int:
        """The largest number of distinct labs whose reports arrived within one window."""
        ordered = sorted(self.reports, key=lambda report: report.received_at)
        best = 0
        for start, first in enumerate(ordered):
            labs = {
                report.lab_id
                for report in ordered[start:]
                if report.received_at - first.received_at <= window
            }
            best = max(best, len(labs))
        return best
