"""One report's redaction: one placeholder map across all its fields and sections.

Rules this module enforces:

- Every text of one report goes through the same :class:`PlaceholderMap`, so
  ``<PERSON_1>`` in the summary and in a section is the same person; a new report gets
  a new map (placeholders never link two reports).
- Sections whose scope the policy never sends (LAB_ONLY) are dropped whole, before
  redaction, and counted; every other scope, AUTHORITY_ONLY included, is sent redacted.
- Counts are per entity, summed over the report; values never appear in them.

How the node uses it (one call per text field; ids, enums and timestamps are not text)::

    job = ReportRedaction(redactor)
    report.title = job.text(report.title)
    report.summary = job.text(report.summary)
    report.sections = job.sections(report.sections)   # [{"scope":..., "text":...}]
    report.indicators = job.tree(report.indicators, skip_keys={"type"})
    job.counts, job.dropped_sections, redactor.content_hash   # for the audit record
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from typing import Any, TypeVar

from node.redaction.placeholders import PlaceholderMap
from node.redaction.redactor import Redactor

T = TypeVar("T")


class ReportRedaction:
    """Redacts the fields of one report with one shared placeholder map."""

    def __init__(self, redactor: Redactor, mapping: PlaceholderMap | None = None) -> None:
        self.redactor = redactor
        self.mapping = mapping if mapping is not None else PlaceholderMap()
        self._counts: Counter[str] = Counter()
        self.dropped_sections = 0

    @property
    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def text(self, value: str) -> str:
        result = self.redactor.redact_text(value, self.mapping)
        self._counts.update(result.counts)
        return result.text

    def keeps(self, scope: str) -> bool:
        return self.redactor.is_sendable(scope)

    def sections(self, sections: Iterable[Mapping[str, Any]], *, scope_key: str = "scope",
                 text_key: str = "text") -> list[dict[str, Any]]:
        """Sections that may be sent, with their text redacted; LAB_ONLY ones dropped."""
        kept: list[dict[str, Any]] = []
        for section in sections:
            if not self.keeps(str(section.get(scope_key, ""))):
                self.dropped_sections += 1
                continue
            copy = dict(section)
            copy[text_key] = self.text(str(section.get(text_key, "")))
            kept.append(copy)
        return kept

    def tree(self, value: T, *, skip_keys: Collection[str] = ()) -> T:
        """Redact every string in nested dicts/lists, leaving values under skip_keys."""
        return self._walk(value, frozenset(skip_keys))  # type: ignore[no-any-return]

    def _walk(self, value: Any, skip: frozenset[str]) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: (v if k in skip else self._walk(v, skip)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._walk(v, skip) for v in value)
        return value
