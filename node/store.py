"""The node's one SQLite database (``data_dir/node.db``): outbox, receipts, alerts.

Rules this module enforces:

- The database is opened in WAL mode with ``synchronous=FULL``: a transaction that
  returned from COMMIT is on disk and survives a crash or power loss (SQLite's WAL
  documentation: FULL syncs the WAL on every commit).
- Every state change is one ``BEGIN IMMEDIATE`` transaction (:meth:`NodeStore.write`):
  the write lock is taken up front, so two processes (``node submit`` and ``node serve``)
  never interleave half-done changes, and a crash leaves either all of a change or none.
- The data directory is created 0700 and the database file 0600 before SQLite opens it
  (the WAL and shared-memory files inherit the file's mode): the outbox holds redacted
  but still confidential reports.
- One connection per store, shared by a process's threads under a lock.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nearmiss.errors import UnavailableError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reports (
    report_id TEXT PRIMARY KEY,
    signed BLOB NOT NULL,            -- SignedReport, deterministic protobuf: sent as is
    input_digest TEXT NOT NULL,      -- the report as filed, reported_at cleared
    sent_digest TEXT NOT NULL,       -- the redacted report, reported_at cleared
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'refused')),
    queued_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS reports_due ON reports (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS receipts (
    report_id TEXT PRIMARY KEY REFERENCES reports (report_id),
    receipt BLOB NOT NULL,
    log_index INTEGER NOT NULL,
    tree_size INTEGER NOT NULL,
    leaf_hash BLOB NOT NULL,
    already_stored INTEGER NOT NULL,
    verified_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS receipts_verified ON receipts (verified_at);
CREATE TABLE IF NOT EXISTS bad_receipts (
    id INTEGER PRIMARY KEY,
    report_id TEXT NOT NULL,
    receipt BLOB NOT NULL,
    reason TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY,
    report_id TEXT,
    reason TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY,
    cursor INTEGER NOT NULL,
    alert BLOB NOT NULL,
    received_at REAL NOT NULL,
    acknowledged_at REAL,
    hook_done INTEGER NOT NULL DEFAULT 0,
    hook_attempts INTEGER NOT NULL DEFAULT 0,
    hook_error TEXT
);
CREATE INDEX IF NOT EXISTS alerts_cursor ON alerts (cursor);
"""


class NodeStore:
    """The open database. Use :meth:`write` for changes and :meth:`read` for queries."""

    def __init__(self, path: Path):
        self.path = path
        _create_private(path)
        try:
            self._connection = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=FULL")
            self._connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._connection.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as error:
            raise UnavailableError(f"cannot open the node database {path}: {error}") from None
        self._lock = threading.RLock()
        with self.write() as db:
            db.executescript_in_transaction(_SCHEMA)
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )

    @classmethod
    def open(cls, data_dir: Path) -> NodeStore:
        return cls(data_dir / "node.db")

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        """One atomic change: committed on success, rolled back on any exception."""
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._connection)
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            try:
                self._connection.execute("COMMIT")
            except sqlite3.Error:
                # A failed COMMIT (disk full, I/O error) leaves the transaction open.
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
                raise

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        """A consistent snapshot for several queries."""
        with self._lock:
            self._connection.execute("BEGIN")
            try:
                yield Transaction(self._connection)
            finally:
                self._connection.execute("ROLLBACK")

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def __enter__(self) -> NodeStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class Transaction:
    """The statements of one open transaction. Rows are tuples of SQLite values (Any:
    the schema above, not the type checker, says what each column holds)."""

    def __init__(self, connection: sqlite3.Connection):
        self._connection = connection

    def execute(self, sql: str, parameters: tuple[object, ...] = ()) -> sqlite3.Cursor:
        return self._connection.execute(sql, parameters)

    def one(self, sql: str, parameters: tuple[object, ...] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._connection.execute(sql, parameters).fetchone()
        return row

    def all(self, sql: str, parameters: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        return list(self._connection.execute(sql, parameters).fetchall())

    def scalar(self, sql: str, parameters: tuple[object, ...] = ()) -> Any:
        row = self.one(sql, parameters)
        return None if row is None else row[0]

    def executescript_in_transaction(self, script: str) -> None:
        # sqlite3.executescript would COMMIT first; run the statements one by one instead.
        for statement in script.split(";"):
            if statement.strip():
                self._connection.execute(statement)


def _create_private(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(descriptor)
    os.chmod(path, 0o600)
