"""Group commit: one writer thread per process turns concurrent submissions into batches.

Why: every accepted report costs a transaction that takes the log's lock (the state row
on PostgreSQL, the database write lock on SQLite) and an fsync. Done per request, 32 RPC
threads queue on that lock — SQLite's busy handler even sleeps while the lock is free —
and pay one fsync and one signed tree head each. Done per batch, the lock is taken once,
the fsync and the tree-head signature are shared, and nobody waits on a lock in-process.

Rules:

* Callers block in ``submit`` until their item's batch has been handled; every item gets
  exactly one outcome (a value or an exception), including when the batch function
  raises, so no caller waits forever.
* A batch holds whatever is waiting when the writer becomes free (at most ``max_batch``),
  plus the items of callers that have *announced* themselves (``arriving``: they are
  still checking their item on their own thread), waited for at most ``sibling_wait_s``.
  This is PostgreSQL's ``commit_delay``/``commit_siblings`` idea: under load, requests
  reach the writer one at a time, a batch of one pays a whole transaction and fsync, and
  the writer's per-report cost quadrupled (benchmarks/load/RESULTS.md). With nobody
  announced, as under light load, nothing ever waits.
* After ``close`` new submissions are refused with UnavailableError (the caller retries
  elsewhere or later); items already queued are still handled.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Generic, TypeVar

from nearmiss.errors import UnavailableError

logger = logging.getLogger("nearmiss.authority")

Item = TypeVar("Item")
Result = TypeVar("Result")

# Bounded so one batch's transaction stays short (it holds the log lock) and its
# statements stay well under SQLite's bind-parameter limit.
DEFAULT_MAX_BATCH = 128
WAIT_S = 60.0
# How long the writer waits for announced siblings; a little more than checking one
# report takes on a busy core, far below a client's patience.
DEFAULT_SIBLING_WAIT_S = 0.002


class GroupCommitter(Generic[Item, Result]):
    """Runs ``handle_batch(items) -> outcomes`` on one thread, one batch at a time.

    ``handle_batch`` returns one outcome per item, in order: the result, or the exception
    that item's caller should see.
    """

    def __init__(
        self,
        handle_batch: Callable[[Sequence[Item]], Sequence[Result | BaseException]],
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        sibling_wait_s: float = DEFAULT_SIBLING_WAIT_S,
        name: str = "group-commit",
    ) -> None:
        self._handle_batch = handle_batch
        self._max_batch = max_batch
        self._sibling_wait_s = sibling_wait_s
        self._announced = 0
        self._announced_lock = threading.Lock()
        self.batches = 0
        self.items = 0
        self._queue: queue.SimpleQueue[tuple[Item, Future[Result]] | None] = queue.SimpleQueue()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @contextmanager
    def arriving(self) -> Iterator[None]:
        """Wrap the caller's work before ``submit``: while inside, the writer knows one
        more item is on its way and may wait briefly for it (see the module rules)."""
        with self._announced_lock:
            self._announced += 1
        try:
            yield
        finally:
            with self._announced_lock:
                self._announced -= 1

    def submit(self, item: Item) -> Result:
        if self._closed.is_set():
            raise UnavailableError("the authority is shutting down; retry later")
        future: Future[Result] = Future()
        self._queue.put((item, future))
        try:
            return future.result(timeout=WAIT_S)
        except TimeoutError:
            raise UnavailableError(
                f"storing the report took longer than {WAIT_S:g} s; retry later"
            ) from None

    def pending(self) -> int:
        """Submissions waiting for the writer (approximate; for metrics and tests)."""
        return self._queue.qsize()

    def close(self, timeout: float = 10.0) -> None:
        """Handle what is queued, then stop the writer thread."""
        if not self._closed.is_set():
            self._closed.set()
            self._queue.put(None)
        self._thread.join(timeout)
        if self.batches:
            logger.info("%s: %d items in %d batches (%.1f per batch)", self._thread.name,
                        self.items, self.batches, self.items / self.batches)

    def _next_batch(self) -> tuple[list[tuple[Item, Future[Result]]], bool]:
        first = self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        deadline = time.monotonic() + self._sibling_wait_s
        while len(batch) < self._max_batch:
            try:
                entry = self._queue.get_nowait()
            except queue.Empty:
                # Callers inside ``arriving`` that have not queued yet: wait for them.
                # (``submit`` is called inside ``arriving``, so a queued item's caller
                # may still be counted; the deadline bounds that overcount.)
                remaining = deadline - time.monotonic()
                if self._announced <= len(batch) or remaining <= 0:
                    break
                try:
                    entry = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if entry is None:
                return batch, True
            batch.append(entry)
        return batch, False

    def _run(self) -> None:
        while True:
            batch, stop = self._next_batch()
            if batch:
                self._handle(batch)
            if stop:
                return

    def _handle(self, batch: list[tuple[Item, Future[Result]]]) -> None:
        items = [item for item, _ in batch]
        self.batches += 1
        self.items += len(items)
        try:
            outcomes = list(self._handle_batch(items))
            if len(outcomes) != len(items):
                raise RuntimeError(f"{len(outcomes)} outcomes for a batch of {len(items)}")
        except BaseException as error:  # every caller must hear back, whatever happened
            logger.error("a batch of %d failed: %s", len(items), type(error).__name__)
            outcomes = [error] * len(items)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
