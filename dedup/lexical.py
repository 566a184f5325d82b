"""Lexical similarity: TF-IDF cosine with document frequencies kept incrementally.

Why a lexical signal beside the embeddings: two independent accounts of one event share
its rare particulars (a fix name, an altitude, a product, a hash-like token) that a
sentence model blurs; TF-IDF weighs exactly those. On the ASRS dev data it adds
robustness when many reports compete for a link (see docs/adr/0004-dedup.md).

Rules this module enforces:

- tokens are the words (two or more characters) of ``fingerprint.normalise_text``;
- term weights are sublinear (1 + ln tf) times smoothed IDF, ``ln((1 + N) / (1 + df)) + 1``,
  with N and df over the reports currently held, so the weights follow the collection as
  it grows and shrinks (retention removes a report's counts);
- similarities are computed only for the candidate pairs the linker asks about, never
  all pairs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from dedup.fingerprint import normalise_text


def tokens(text: str) -> list[str]:
    return [w for w in normalise_text(text).split() if len(w) > 1]


class LexicalIndex:
    """Term counts per report and document frequencies over all reports held."""

    def __init__(self) -> None:
        self._tf: dict[str, dict[str, float]] = {}
        self._df: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._tf)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._tf

    def add(self, item_id: str, text: str) -> None:
        if item_id in self._tf:
            return
        counts = Counter(tokens(text))
        self._tf[item_id] = {t: 1.0 + math.log(c) for t, c in counts.items()}
        self._df.update(counts.keys())

    def remove(self, item_ids: Iterable[str]) -> None:
        for item_id in item_ids:
            weights = self._tf.pop(item_id, None)
            if weights is None:
                continue
            self._df.subtract(weights.keys())
            for term in weights:
                if self._df[term] <= 0:
                    del self._df[term]

    def _idf(self, term: str, n: int, memo: dict[str, float]) -> float:
        value = memo.get(term)
        if value is None:
            value = math.log((1 + n) / (1 + self._df.get(term, 0))) + 1.0
            memo[term] = value
        return value

    def _vector(
        self, tf: dict[str, float], n: int, memo: dict[str, float]
    ) -> tuple[dict[str, float], float]:
        weighted = {t: w * self._idf(t, n, memo) for t, w in tf.items()}
        norm = math.sqrt(sum(w * w for w in weighted.values()))
        return weighted, norm

    def similarities(self, text_or_id: str, others: Iterable[str], *, is_id: bool) -> list[float]:
        """Cosine of one report (by id, or a text not yet added) with each of ``others``."""
        n = len(self._tf)
        if is_id:
            query_tf = self._tf.get(text_or_id, {})
        else:
            query_tf = {t: 1.0 + math.log(c) for t, c in Counter(tokens(text_or_id)).items()}
        memo: dict[str, float] = {}
        query, query_norm = self._vector(query_tf, n, memo)
        out: list[float] = []
        for other in others:
            other_tf = self._tf.get(other)
            if not other_tf or query_norm == 0:
                out.append(0.0)
                continue
            other_vec, other_norm = self._vector(other_tf, n, memo)
            small, large = (query, other_vec) if len(query) < len(other_vec) else (other_vec, query)
            dot = sum(w * large[t] for t, w in small.items() if t in large)
            out.append(dot / (query_norm * other_norm) if other_norm else 0.0)
        return out
