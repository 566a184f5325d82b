"""A chunk-vector cache on disk, so reruns of the benchmark skip the model.

Rules: vectors are keyed by ``dedup.embedder.chunk_key`` (model id + chunk text), so a
change of model, chunking or text can never return a stale vector. Each ``put_many``
writes one new shard file (append-only; a crash loses at most the shard being written);
``load`` reads them all. The directory is derived data and git-ignored.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

Vectors = NDArray[np.float32]


class DiskChunkCache:
    """Implements ``dedup.embedder.ChunkCache`` over ``.npz`` shards in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._vectors: dict[str, Vectors] = {}
        for shard in sorted(self.directory.glob("*.npz")):
            try:
                with np.load(shard) as data:
                    keys = [str(k) for k in data["keys"]]
                    self._vectors.update(zip(keys, data["vectors"].astype(np.float32), strict=True))
            except (OSError, ValueError, KeyError):
                continue  # a torn shard from an interrupted run: its chunks are re-embedded

    def __len__(self) -> int:
        return len(self._vectors)

    def get_many(self, keys: Sequence[str]) -> Mapping[str, Vectors]:
        return {k: self._vectors[k] for k in keys if k in self._vectors}

    def put_many(self, vectors: Mapping[str, Vectors]) -> None:
        if not vectors:
            return
        self._vectors.update(vectors)
        keys = np.array(list(vectors), dtype="U64")
        matrix = np.stack(list(vectors.values())).astype(np.float32)
        tmp = self.directory / f".tmp-{uuid.uuid4().hex}.npz"
        np.savez(tmp, keys=keys, vectors=matrix)
        os.replace(tmp, self.directory / f"{uuid.uuid4().hex}.npz")
