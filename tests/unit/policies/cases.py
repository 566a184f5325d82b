"""Case views for policy tests, built directly (policies see nothing else)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nearmiss.model import HarmDomain, ReportKind, SensitivityScope
from policies.case import CaseReport, CaseView, TextCandidate, TextSource

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def case(
    *labs: str,
    domains: tuple[str, ...] = ("CYBER",),
    severity: int = 3,
    kinds: tuple[str, ...] = ("INCIDENT",),
    gap: timedelta = timedelta(hours=1),
    texts: tuple[TextCandidate, ...] = (),
) -> CaseView:
    """One report per lab (default one lab), received ``gap`` apart from T0."""
    labs = labs or ("lab-aurora",)
    reports = tuple(
        CaseReport(
            report_id=f"r{index}",
            lab_id=lab,
            kind=ReportKind(kinds[index % len(kinds)]),
            severity=severity,
            harm_domains=tuple(HarmDomain(d) for d in domains),
            received_at=T0 + gap * index,
            event_time=T0 - timedelta(days=1),
            log_index=index,
        )
        for index, lab in enumerate(labs)
    )
    return CaseView(case_id="c-test", reports=reports, texts=texts)


def section(scope: str, text: str, heading: str = "") -> TextCandidate:
    return TextCandidate("r0", TextSource.SECTION, text, heading, SensitivityScope(scope))
