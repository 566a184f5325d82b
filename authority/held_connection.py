"""A Core connection that one writer keeps between its transactions.

Why: the ingest process stores one batch per transaction, one after another on one
thread. An ORM ``Session`` per batch, with a pool checkout and check-in each time, was
much of the fixed cost of a batch: a transaction of three plain statements took
≈ 460 µs of CPU that way on a slow host, ≈ 190 µs on a held Core connection and
≈ 110 µs on the driver alone; with the session's other calls (each ``DriverSql`` asks it
for its connection), keeping the connection cut the ingest process's CPU per report at
batches of 4 by 11–15% on SQLite and 12–18% on PostgreSQL (benchmarks/load/RESULTS.md,
eleventh pass). The hot path's statements already go to the driver's cursor
(``authority.driver_sql``); this keeps the transaction around them cheap too, while
SQLAlchemy still begins it (SQLite's ``BEGIN IMMEDIATE`` listener), translates errors and
invalidates a connection the server dropped.

Rules:

* One thread only: the connection is not shared, and nothing here locks.
* ``transaction()`` commits when its block succeeds and rolls back when it raises.
* A failed block leaves the connection clean (rolled back) for the next transaction. One
  the server dropped (restart, failover) was invalidated by SQLAlchemy, which procures a
  fresh one from the pool on its next use; the report store retries such a batch once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine


class HeldConnection:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        if self._connection is None:
            self._connection = self._engine.connect()
        with self._connection.begin():
            yield self._connection

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
