"""Saving and restoring a ``CaseLinker``: the index is derived data, the database is truth.

Rules this module enforces:

- the authority persists, per report, the ``DedupItem`` fields, the vector
  (``CaseLinker.vector``) and the case id; and the analysts' decisions. That is enough
  to rebuild a linker without the model (``restore_linker`` with ``vectors``); without
  vectors the reports are re-embedded;
- the on-disk snapshot (``save_linker``) only saves time: it holds the FAISS structure
  and the order of report ids; ``restore_linker`` uses it only when its model id and its
  report ids match what the database says, and otherwise rebuilds from the vectors;
- reports are restored in the order given (their link order), so fingerprints, lexical
  statistics and centring are exactly those of the running linker.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from dedup.cases import CaseStore, HumanDecision
from dedup.embedder import TextEmbedder
from dedup.fingerprint import content_hash, minhash
from dedup.index import IndexConfig, VectorIndex
from dedup.item import DedupItem, body_text, embedding_text
from dedup.linker import CaseLinker, _Held
from dedup.policy import LinkPolicy, date_key
from nearmiss.errors import ConfigError, NearmissError

LABELS_FILE = "labels.json"


def save_linker(linker: CaseLinker, directory: Path) -> None:
    """Snapshot the vector index and its label -> report id order to ``directory``."""
    linker.index.save(directory / "index")
    order = sorted(linker._held.values(), key=lambda h: h.label)
    labels = {
        "model_id": linker.embedder.model_id,
        "items": [[h.label, h.item.item_id] for h in order],
    }
    tmp = directory / f".{LABELS_FILE}.tmp"
    tmp.write_text(json.dumps(labels))
    os.replace(tmp, directory / LABELS_FILE)


def restore_linker(
    embedder: TextEmbedder,
    items: Sequence[DedupItem],
    assignments: Mapping[str, int],
    *,
    vectors: NDArray[np.float32] | None = None,
    decisions: Iterable[HumanDecision] = (),
    snapshot: Path | None = None,
    next_case_id: int | None = None,
    policy: LinkPolicy | None = None,
    index_config: IndexConfig | None = None,
) -> CaseLinker:
    """Rebuild a linker from persisted reports, vectors, case ids and decisions."""
    missing = [i.item_id for i in items if i.item_id not in assignments]
    if missing:
        raise ConfigError(f"{len(missing)} reports have no case id (first: {missing[0]})")
    if vectors is None:
        vectors = embedder.embed([embedding_text(i) for i in items])
    if len(vectors) != len(items):
        raise ConfigError(f"{len(vectors)} vectors for {len(items)} reports")
    linker = CaseLinker(embedder, policy=policy, index_config=index_config)
    index = _load_snapshot(snapshot, embedder, items, index_config)
    if index is None:
        index = VectorIndex.from_vectors(
            range(len(items)), vectors, model_id=embedder.model_id, config=index_config
        )
    linker.index = index
    for label, item in enumerate(items):
        text = body_text(item)
        held = _Held(
            item, label, date_key(item.occurred_at, item.date_precision), content_hash(text),
            minhash(text), len(text.split()),
        )
        linker._remember(held)
    linker._next_label = len(items)
    linker.cases = CaseStore.restore(
        {i.item_id: assignments[i.item_id] for i in items}, decisions, next_id=next_case_id
    )
    return linker


def _load_snapshot(
    snapshot: Path | None,
    embedder: TextEmbedder,
    items: Sequence[DedupItem],
    config: IndexConfig | None,
) -> VectorIndex | None:
    if snapshot is None or not (snapshot / LABELS_FILE).is_file():
        return None
    try:
        labels = json.loads((snapshot / LABELS_FILE).read_text())
        index = VectorIndex.load(snapshot / "index", model_id=embedder.model_id, config=config)
    except (OSError, ValueError, NearmissError):
        return None
    expected = [[n, i.item_id] for n, i in enumerate(items)]
    if labels.get("model_id") != embedder.model_id or labels.get("items") != expected:
        return None
    return index
