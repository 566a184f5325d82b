"""What the linker reads of a stored report: a ``DedupItem`` built from its signed bytes.

Rules: the item is built from the canonical bytes exactly as verified and stored (never
from a copy that could drift); it carries the title, summary, every section the
authority may read — all but LAB_ONLY, which nodes never send anyway, and which is
dropped here too so a misbehaving node cannot make a lab-only text shape a case —
harm domains, indicators, occurrence time and lab. Nothing else of the report reaches
``dedup``.
"""

from __future__ import annotations

from collections.abc import Iterable

from authority.records import ReportRecord
from dedup import DedupItem
from nearmiss.canonical import report_from_canonical
from nearmiss.model import IncidentReport, SensitivityScope


def dedup_item(report: IncidentReport) -> DedupItem:
    """The linker's view of one report (see the module rules)."""
    return DedupItem.create(
        report.report_id,
        title=report.title,
        summary=report.summary,
        sections=[s.text for s in report.sections if s.scope is not SensitivityScope.LAB_ONLY],
        harm_domains=[d.value for d in report.harm_domains],
        indicators=[(i.type.value, i.value) for i in report.indicators],
        occurred_at=report.occurred_at,
        lab_id=report.lab_id,
    )


def items_from_records(records: Iterable[ReportRecord]) -> list[DedupItem]:
    return [dedup_item(report_from_canonical(bytes(r.canonical_report))) for r in records]
