"""The linking worker: embeds and links new reports into cases behind ingest.

Rules this component enforces:

* ingest never waits on it: it runs on its own daemon thread, woken by
  ``IngestService.accepted_event`` (with a ``poll_seconds`` fallback for reports stored
  by other replicas), and loads the model on that thread when the first report waits,
  once per process (an authority that receives nothing never loads it);
* it links only while it holds the linker lease (one replica at a time on PostgreSQL,
  ``authority.cases.lease``); without it, it forgets its memory, and reloads from SQL
  (``authority.cases.restore``) when it gets the lease;
* a batch (up to ``batch_size`` reports with ``linked_at`` NULL, in log order) is linked
  in memory, then memberships, evidence, merges, vectors and ``linked_at`` are written in
  ONE transaction, and the alert service hears of every case the batch changed inside
  that same transaction (``authority.cases.alerting``);
* memory and SQL never drift: when the write fails, or SQL's case generation moved on
  (an analyst merged or split, maybe on another replica), the batch is taken out of the
  linker, cases are reloaded from SQL and the batch is linked again (its vectors kept,
  so the model is not called twice). A linker whose reports differ from SQL's is rebuilt;
* logs carry counts, case ids and exception types — never report text.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from authority.cases.alerting import CaseChangeSink, notify_case_changed
from authority.cases.config import DedupConfig
from authority.cases.items import items_from_records
from authority.cases.lease import LinkerLease, ProcessLease
from authority.cases.restore import restore_linker, vector_bytes
from authority.cases.store import (
    BatchOutcome,
    StaleCasesError,
    load_case_store,
    read_generation,
    write_link_decisions,
)
from authority.database import database_reason, session_scope
from authority.records import ReportRecord
from dedup import CaseLinker, DedupItem, IndexConfig, LinkDecision, TextEmbedder, save_linker
from dedup.embedder import Vectors
from nearmiss.errors import ConflictError

logger = logging.getLogger("nearmiss.authority.cases")


@dataclass
class WorkerStats:
    linked: int = 0
    batches: int = 0
    reloads: int = 0
    retries: int = 0
    alert_failures: int = 0
    snapshots: int = 0


class LinkingWorker:
    """A Component (``authority.app.Component``) that links reports into cases."""

    name = "case-linker"

    def __init__(
        self,
        *,
        engine: Engine,
        wake: threading.Event,
        embedder_factory: Callable[[], TextEmbedder],
        snapshot_dir: Path,
        config: DedupConfig | None = None,
        alerts: CaseChangeSink | None = None,
        lease: LinkerLease | None = None,
        index_config: IndexConfig | None = None,
    ):
        self._engine = engine
        self._wake = wake
        self._embedder_factory = embedder_factory
        self._snapshot_dir = snapshot_dir
        self.config = config or DedupConfig()
        self._alerts = alerts
        self._lease = lease or ProcessLease()
        self._index_config = index_config
        self._embedder: TextEmbedder | None = None
        self._linker: CaseLinker | None = None
        self._generation = -1
        self._pending_vectors: dict[str, Vectors] = {}
        self._dirty = False
        self._last_snapshot = time.monotonic()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats = WorkerStats()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=60)
            if thread.is_alive():
                logger.warning("the case linker did not stop within 60 s")
                return
        if self._dirty and self._linker is not None:
            self.save_snapshot()
        self._lease.release()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self.link_pending()
            except DBAPIError as error:
                # The database refuses (full, read-only, gone): an operator's problem, not
                # a bug, so one line with its reason and no stack frames every retry.
                logger.error(
                    "case linking waits for the database (%s); retrying in %g s",
                    database_reason(error),
                    self.config.poll_seconds * 4,
                )
                self._after_failure()
            except Exception as error:  # keep the thread alive; SQL stays the truth
                frames = "".join(traceback.format_tb(error.__traceback__))
                logger.error("case linking failed: %s\n%s", type(error).__name__, frames)
                self._after_failure()
            self._wake.wait(self.config.poll_seconds)

    def _after_failure(self) -> None:
        self._linker = None  # rebuilt from SQL on the next pass
        self._stopping.wait(self.config.poll_seconds * 4)

    # -- one pass ----------------------------------------------------------------------

    def link_pending(self) -> int:
        """Link every report waiting now, batch by batch; returns how many were linked."""
        if not self._lease.acquire():
            self._linker = None
            return 0
        linked = 0
        while not self._stopping.is_set():
            records = self._unlinked()
            if not records:
                break
            # Built only when there is work: an idle authority never loads the model.
            linked += self._link(self._ready_linker(), items_from_records(records))
        if self._dirty and time.monotonic() - self._last_snapshot >= self.config.snapshot_seconds:
            self.save_snapshot()
        return linked

    def _unlinked(self) -> Sequence[ReportRecord]:
        with Session(self._engine, expire_on_commit=False) as session:
            return session.exec(
                select(ReportRecord)
                .where(col(ReportRecord.linked_at).is_(None))
                .order_by(col(ReportRecord.log_index))
                .limit(self.config.batch_size)
            ).all()

    def _link(self, linker: CaseLinker, items: list[DedupItem]) -> int:
        ids = [i.item_id for i in items]
        started = time.monotonic()
        try:
            decisions = self._decide(linker, items)
        except ConflictError:
            # A report in memory but not linked in SQL: memory is wrong, rebuild it.
            logger.warning("case linker memory disagrees with the database; rebuilding")
            self._linker = None
            return 0
        vectors = {i: linker.vector(i) for i in ids}
        decided = time.monotonic()
        try:
            with session_scope(self._engine) as session:
                outcome = write_link_decisions(
                    session,
                    decisions,
                    vectors={i: vector_bytes(v) for i, v in vectors.items()},
                    model_id=linker.index.model_id,
                    expected_generation=self._generation,
                    now=datetime.now(UTC),
                )
                self._notify(session, outcome)
        except BaseException as error:
            # Take the batch back out; cases come back from SQL; link again next time.
            linker.remove(ids)
            self._pending_vectors.update(vectors)
            self._generation = -1
            self.stats.retries += 1
            if isinstance(error, StaleCasesError):
                logger.info("cases changed during a batch; linking it again")
                return 0
            raise
        self._generation = outcome.generation
        self._pending_vectors.clear()
        self._dirty = True
        self.stats.linked += len(items)
        self.stats.batches += 1
        logger.info(
            "linked %d reports: %d new cases, %d merged, %d cases changed "
            "(%.3f s to embed and decide, %.3f s to store and alert)",
            len(items), len(outcome.created), len(outcome.merged_away), len(outcome.changed),
            decided - started, time.monotonic() - decided,
        )
        return len(items)

    def _decide(self, linker: CaseLinker, items: list[DedupItem]) -> list[LinkDecision]:
        kept = self._pending_vectors
        if kept and all(i.item_id in kept for i in items):
            matrix = np.stack([kept[i.item_id] for i in items])
            return linker.link_batch_with_vectors(items, matrix)
        return linker.link_batch(items)

    def _notify(self, session: Session, outcome: BatchOutcome) -> None:
        if self._alerts is None:
            return
        for case_id, trigger in sorted(outcome.changed.items()):
            if not notify_case_changed(session, self._alerts, case_id, trigger):
                self.stats.alert_failures += 1

    # -- memory ------------------------------------------------------------------------

    def _ready_linker(self) -> CaseLinker:
        """The linker, loaded on first use and kept in step with SQL's case generation."""
        linker = self._linker
        if linker is not None:
            with Session(self._engine) as session:
                generation = read_generation(session)
                if generation == self._generation:
                    return linker
                store = load_case_store(session)
            held = {r for members in linker.cases.cases().values() for r in members}
            placed = {r for members in store.cases().values() for r in members}
            if held == placed:
                linker.cases = store
                self._generation = generation
                return linker
        return self._rebuild()

    def _rebuild(self) -> CaseLinker:
        if self._embedder is None:
            started = time.monotonic()
            self._embedder = self._embedder_factory()
            logger.info("embedding model loaded in %.1f s", time.monotonic() - started)
        started = time.monotonic()
        linker, stats, generation = restore_linker(
            lambda: Session(self._engine, expire_on_commit=False),
            self._embedder,
            self._snapshot_dir,
            policy=self.config.policy,
            index_config=self._index_config,
        )
        logger.info(
            "case linker restored %d reports in %.1f s (%d vectors from the database, "
            "%d embedded again)",
            stats.reports, time.monotonic() - started, stats.from_database, stats.embedded,
        )
        self.stats.reloads += 1
        self._linker = linker
        self._generation = generation
        self._dirty = stats.reports > 0
        return linker

    def save_snapshot(self) -> None:
        """Write the index snapshot now (the worker does it every ``snapshot_seconds``)."""
        linker = self._linker
        if linker is None:
            return
        self._snapshot_dir.mkdir(parents=True, exist_ok=True)
        save_linker(linker, self._snapshot_dir)
        self._dirty = False
        self._last_snapshot = time.monotonic()
        self.stats.snapshots += 1
        logger.info("index snapshot written: %d vectors", len(linker))

    @property
    def linker(self) -> CaseLinker | None:
        """The in-memory linker (None until the first pass); for tests and diagnostics."""
        return self._linker
