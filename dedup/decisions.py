"""What the linker tells its caller: one decision per report, with the evidence for it.

Rules: a decision names the case the report is now in, whether that case is new, every
case it caused to be merged into that one, and the cases it matched but could not join
because an analyst had split them apart. Every link carries its evidence (which report
it matched, how, the scores, the shared indicators), so an analyst can see *why*.
Evidence holds ids, numbers and indicator values only, never report text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LinkMethod = Literal["content_hash", "minhash", "embedding", "indicator"]


@dataclass(frozen=True, slots=True)
class LinkEvidence:
    """Why a report was linked to one earlier report.

    ``score`` is the value compared with the method's threshold: the pair score for
    "embedding", the MinHash Jaccard estimate for "minhash", 1.0 for "content_hash" and
    "indicator". The other numbers are recorded whatever the method.
    """

    matched_item_id: str
    method: LinkMethod
    score: float
    cosine: float
    centred_cosine: float
    lexical: float
    jaccard: float | None
    shared_indicators: tuple[tuple[str, str], ...]
    date_gap_days: int | None

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form (what the authority stores in its evidence table)."""
        return {
            "matched_item_id": self.matched_item_id,
            "method": self.method,
            "score": round(self.score, 6),
            "cosine": round(self.cosine, 6),
            "centred_cosine": round(self.centred_cosine, 6),
            "lexical": round(self.lexical, 6),
            "jaccard": None if self.jaccard is None else round(self.jaccard, 6),
            "shared_indicators": [list(i) for i in self.shared_indicators],
            "date_gap_days": self.date_gap_days,
        }


@dataclass(frozen=True, slots=True)
class LinkDecision:
    """Where one report went and why."""

    item_id: str
    case_id: int
    new_case: bool
    merged_case_ids: tuple[int, ...] = ()
    evidence: tuple[LinkEvidence, ...] = ()
    blocked_case_ids: tuple[int, ...] = ()
