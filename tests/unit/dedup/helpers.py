"""Test helpers: a deterministic fake embedder and a short way to build items."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from dedup import DedupItem
from dedup.embedder import Vectors, normalise_rows
from dedup.fingerprint import normalise_text


class BagOfWordsEmbedder:
    """Hashes words into 64 dimensions: texts sharing words get close vectors.

    Deterministic and instant, so index and linking tests are about the logic only.
    """

    dim = 64
    model_id = "bag-of-words:64"

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in normalise_text(text).split():
                slot = int(hashlib.sha256(word.encode()).hexdigest()[:8], 16) % self.dim
                out[row, slot] += 1.0
        return normalise_rows(out)


def item(
    item_id: str,
    text: str,
    *,
    day: str | None = None,
    indicators: Sequence[tuple[str, str]] = (),
    domains: Sequence[str] = (),
) -> DedupItem:
    when = datetime.fromisoformat(day).replace(tzinfo=UTC) if day else None
    return DedupItem.create(
        item_id, summary=text, occurred_at=when, indicators=indicators, harm_domains=domains
    )
