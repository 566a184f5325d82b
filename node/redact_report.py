"""Applying the redaction engine (node.redaction) to one whole report.

Rules this module enforces:

- Every free-text field a person writes is redacted with one placeholder map per
  report: title, summary, the affected system's three names, safeguards, mitigations,
  section headings and texts, attachment descriptions. Ids, enums, timestamps, severity,
  indicators and attachment hashes are structured data the authority needs as written
  (indicators are the shared IOCs; a lab that must not share one leaves it out).
- Sections whose scope the policy never sends (LAB_ONLY) are dropped before redaction
  and counted; AUTHORITY_ONLY and wider scopes are sent, redacted like the rest.
- The placeholder map lives in this function's frame only: it is not returned, stored or
  logged, so the mapping from placeholders back to values never leaves this process.
  The preview rows (original beside sent) exist only for ``submit --dry-run`` on the
  person's own terminal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from nearmiss.model import IncidentReport, SensitivityScope
from node.redaction import PreviewRow, Redactor, ReportRedaction


@dataclass(frozen=True)
class Redacted:
    """A report as it will be sent, and what redaction did to it (counts, never values)."""

    report: IncidentReport
    counts: dict[str, int] = field(default_factory=dict)
    withheld_sections: int = 0
    rows: tuple[PreviewRow, ...] = ()
    policy_hash: str | None = None


class ReportRedactor:
    """Redacts whole reports with one Redactor (built once: it loads a NER model)."""

    def __init__(self, redactor: Redactor):
        self._redactor = redactor

    @classmethod
    def from_packs(cls, packs: Iterable[Path], *, include_default: bool = True) -> ReportRedactor:
        return cls(Redactor.from_packs(list(packs), include_default=include_default))

    @property
    def policy_hash(self) -> str:
        return self._redactor.content_hash

    def is_sendable(self, scope: SensitivityScope) -> bool:
        return scope is not SensitivityScope.LAB_ONLY and self._redactor.is_sendable(scope.value)

    def __call__(self, report: IncidentReport) -> IncidentReport:
        """The ``node.signer.Redaction`` shape: the redacted report alone."""
        return self.apply(report).report

    def apply(self, report: IncidentReport) -> Redacted:
        job = ReportRedaction(self._redactor)
        rows: list[PreviewRow] = []

        def text(name: str, value: str) -> str:
            if not value:
                return value
            sent = job.text(value)
            rows.append(PreviewRow(name, value, sent))
            return sent

        def texts(name: str, values: list[str]) -> list[str]:
            return [text(f"{name}[{n}]", value) for n, value in enumerate(values)]

        title = text("title", report.title)
        summary = text("summary", report.summary)
        system = report.system.model_copy(
            update={
                name: text(f"system.{name}", getattr(report.system, name))
                for name in ("model_family", "model_version", "deployment_surface")
            }
        )
        safeguards = texts("safeguards_involved", report.safeguards_involved)
        mitigations = texts("mitigations", report.mitigations)
        sections = []
        withheld = 0
        for n, section in enumerate(report.sections):
            where = f"sections[{n}] ({section.scope.value})"
            if not self.is_sendable(section.scope):
                withheld += 1
                rows.append(PreviewRow(where, _section_text(section.heading, section.text), None))
                continue
            heading = text(f"{where}.heading", section.heading)
            body = text(f"{where}.text", section.text)
            sections.append(section.model_copy(update={"heading": heading, "text": body}))
        attachments = [
            a.model_copy(
                update={"description": text(f"attachments[{n}].description", a.description)}
            )
            for n, a in enumerate(report.attachments)
        ]
        redacted = report.model_copy(
            update={
                "title": title,
                "summary": summary,
                "system": system,
                "safeguards_involved": safeguards,
                "mitigations": mitigations,
                "sections": sections,
                "attachments": attachments,
            }
        )
        return Redacted(
            report=redacted,
            counts=job.counts,
            withheld_sections=withheld,
            rows=tuple(rows),
            policy_hash=self.policy_hash,
        )


def _section_text(heading: str, text: str) -> str:
    return f"{heading}\n{text}" if heading else text


def without_redaction(report: IncidentReport) -> Redacted:
    """What is sent when no redaction engine is configured: LAB_ONLY sections dropped."""
    kept = [s for s in report.sections if s.scope is not SensitivityScope.LAB_ONLY]
    rows = tuple(
        PreviewRow(f"sections[{n}] (LAB_ONLY)", _section_text(s.heading, s.text), None)
        for n, s in enumerate(report.sections)
        if s.scope is SensitivityScope.LAB_ONLY
    )
    return Redacted(
        report=report.model_copy(update={"sections": kept}),
        withheld_sections=len(report.sections) - len(kept),
        rows=rows,
    )
