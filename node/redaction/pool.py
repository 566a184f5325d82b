"""Worker processes for large batches: every core redacts, each with its own model.

Rules this module enforces:

- A pool is built from one :class:`RedactionPolicy`; each worker process builds its own
  Redactor from it once (loading the NER model once per worker, not per batch) and
  then finds spans for any number of batches. Workers are started with ``spawn``: no
  state (threads, sockets, an open database) is inherited from the node's process.
- Only texts and the names already known for them go to a worker, and only findings
  (spans and entity labels) come back; the placeholder map never leaves the calling
  process, and nothing is written to disk. Texts travel over the pool's local pipes.
- A batch is cut into contiguous pieces, processed in parallel and reassembled in
  order, so the result is exactly what one process would return.
- Each worker keeps BLAS and OpenMP to one thread (unless the environment says
  otherwise): the pool already has one process per core, and more threads only
  contend for them.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from node.redaction.spans import Finding
from policies.redaction_pack import RedactionPolicy

if TYPE_CHECKING:
    from node.redaction.redactor import Redactor

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "BLIS_NUM_THREADS")
_PIECES_PER_WORKER = 4  # several pieces each, so a slow piece does not idle a core
_MIN_PIECE = 8
_MAX_PIECE = 64  # NER batches across a piece's texts; beyond this it gains nothing

# The worker process's own Redactor, set once by ``_start_worker`` in that process (the
# executor's initializer protocol has no other place to keep it). Never set in the
# calling process.
_worker_redactor: Redactor | None = None


def _start_worker(policy: RedactionPolicy) -> None:
    global _worker_redactor
    for name in _THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    from node.redaction.redactor import Redactor

    redactor = Redactor(policy)
    redactor.find_many(["Warm-up: Ada Lovelace wrote to ada@example.com."])  # loads models
    _worker_redactor = redactor


def _find_piece(texts: list[str], known: list[tuple[str, ...]]) -> list[list[Finding]]:
    if _worker_redactor is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("redaction worker used before it was started")
    return _worker_redactor.find_many(texts, known)


class RedactionPool:
    """``workers`` processes applying one policy; close it (or use ``with``) when done."""

    def __init__(self, policy: RedactionPolicy, *, workers: int = 2) -> None:
        if workers < 1:
            raise ValueError(f"a redaction pool needs at least 1 worker, got {workers}")
        self.workers = workers
        self._executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker, initargs=(policy,))

    def find_many(self, texts: Sequence[str],
                  known: Sequence[tuple[str, ...]]) -> list[list[Finding]]:
        """What ``Redactor.find_many(texts, known)`` returns, computed by the workers."""
        if len(known) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(known)} lists of known names")
        if not texts:
            return []
        size = math.ceil(len(texts) / (self.workers * _PIECES_PER_WORKER))
        size = max(_MIN_PIECE, min(_MAX_PIECE, size))
        starts = range(0, len(texts), size)
        pieces = [list(texts[i:i + size]) for i in starts]
        known_pieces = [list(known[i:i + size]) for i in starts]
        out: list[list[Finding]] = []
        for found in self._executor.map(_find_piece, pieces, known_pieces):
            out.extend(found)
        return out

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> RedactionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
