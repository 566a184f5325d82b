"""What the deduplicator knows about one report: a plain, frozen value.

Rules this module enforces:

- ``dedup`` never sees the wire or the database: the authority converts a stored,
  *already redacted* report into a :class:`DedupItem` (and the benchmark converts its
  JSONL rows the same way), so nothing here depends on protobuf or SQL;
- the text that is embedded is fixed in one place, :func:`embedding_text`: the title,
  the summary, the shareable sections, then the ATLAS technique ids, in that order.
  Technique ids go last so that, when a long report is chunked, the narrative is not
  displaced by identifiers; hashes, IPs and account ids are never embedded (they carry
  no meaning for a language model and are matched exactly instead);
- indicator values are compared after :func:`normalise_indicator` (case and surrounding
  space do not make two indicators different).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

DatePrecision = Literal["day", "month", "year"]

# Indicator types whose equality between two reports is strong evidence of one incident:
# the same prompt or artefact hash cannot arise by chance. Technique ids are weaker
# (many unrelated incidents share a technique) and are weighed by ``LinkPolicy``.
STRONG_INDICATOR_TYPES = frozenset({"PROMPT_SHA256", "ARTEFACT_SHA256", "ACCOUNT_ID_HASH"})
TECHNIQUE_INDICATOR_TYPE = "ATLAS_TECHNIQUE"


def normalise_indicator(kind: str, value: str) -> tuple[str, str]:
    """Canonical form of one indicator, so "Example.COM " and "example.com" match."""
    return kind.strip().upper(), value.strip().lower()


@dataclass(frozen=True, slots=True)
class DedupItem:
    """One redacted report as the deduplicator sees it.

    ``sections`` holds only section texts whose scope lets the authority read them;
    ``occurred_at`` may be missing (many reports do not know when it started), and a
    missing date never blocks a link; ``date_precision`` says how much of it is known
    (a source that gives "1988-01" knows the month only).
    """

    item_id: str
    title: str = ""
    summary: str = ""
    sections: tuple[str, ...] = ()
    harm_domains: frozenset[str] = frozenset()
    indicators: frozenset[tuple[str, str]] = frozenset()
    occurred_at: datetime | None = None
    date_precision: DatePrecision = "day"
    lab_id: str = ""

    @classmethod
    def create(
        cls,
        item_id: str,
        *,
        title: str = "",
        summary: str = "",
        sections: Iterable[str] = (),
        harm_domains: Iterable[str] = (),
        indicators: Iterable[tuple[str, str]] = (),
        occurred_at: datetime | None = None,
        date_precision: DatePrecision = "day",
        lab_id: str = "",
    ) -> DedupItem:
        """Build an item from loose collections, normalising indicators and domains."""
        return cls(
            item_id=item_id,
            title=title,
            summary=summary,
            sections=tuple(sections),
            harm_domains=frozenset(d.strip().upper() for d in harm_domains),
            indicators=frozenset(normalise_indicator(k, v) for k, v in indicators),
            occurred_at=occurred_at,
            date_precision=date_precision,
            lab_id=lab_id,
        )

    @property
    def techniques(self) -> frozenset[str]:
        return frozenset(v for k, v in self.indicators if k == TECHNIQUE_INDICATOR_TYPE)

    @property
    def strong_indicators(self) -> frozenset[tuple[str, str]]:
        return frozenset(i for i in self.indicators if i[0] in STRONG_INDICATOR_TYPES)


def body_text(item: DedupItem) -> str:
    """Title, summary and sections joined: the text that fingerprints are taken over."""
    parts = [item.title, item.summary, *item.sections]
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


def embedding_text(item: DedupItem) -> str:
    """The documented choice of what the language model reads (see the module rules)."""
    text = body_text(item)
    techniques = sorted(item.techniques)
    if techniques:
        text = f"{text}\n\nTechniques: {', '.join(t.upper() for t in techniques)}"
    return text
