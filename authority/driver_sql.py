"""Hand-written SQL for the ingest hot path, sent to the driver's own cursor.

Why: the ingest writer thread is serial (it holds the log lock) and runs a few
statements per group-committed batch. Building a Core statement and finding it in the
compiled cache costs 35–100 µs of Python per statement on this project's reference
machine, ``exec_driver_sql`` about 16 µs (benchmarks/load/RESULTS.md), most of that the
result wrapper it builds from the cursor's description; the driver's cursor needs
neither (2.8% of the SQLite ingest process's instructions per report, 4.2% of
PostgreSQL's; eighth pass). Everything off the hot path keeps using Core and the ORM.

Rules:

* SQL is written once, portable between SQLite and PostgreSQL, with ``?`` placeholders;
  they become ``%s`` for drivers that use the format paramstyle (psycopg). Where a
  dialect has a cheaper form (PostgreSQL: several writes in one statement, one round
  trip), the caller asks ``dialect`` and keeps both forms side by side.
* An array parameter (written ``?::type[]``, PostgreSQL only) is sent in psycopg's
  binary format (``%b``): its text format quotes and escapes every bytea, timestamp and
  spaced string element in Python, which was half the cost of sending an ingest batch
  (0.44 → 0.22 s of the ingest process's time per 1,568 reports, profiled;
  benchmarks/load/RESULTS.md, seventh pass), and the server parses the binary form
  without decoding hex.
* Only integers, strings and bytes are bound or read here. Dates are stored differently
  per dialect (SQLite keeps text): a caller binding a typed column converts it with the
  column type's own bind processor, as Core would (``authority.log``); PostgreSQL's
  typed arrays (``authority.log.LoggedRows``) are the exception, their dates converted
  by psycopg itself.
* Statements run inside the caller's transaction, on a session's connection or on a
  Core ``Connection`` the caller holds (``Scope``; the ingest process holds one,
  ``authority.held_connection``). A driver error arrives as SQLAlchemy's ``DBAPIError``
  family like everywhere else, and a lost connection is invalidated, with the rest of
  the pool, as SQLAlchemy does it (no ``handle_error`` listeners: nearmiss registers
  none). While anything watches statements (a listener such as a tracer or a test
  counting them, or the engine's ``echo`` log), statements go through
  ``exec_driver_sql`` instead, so it sees every one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, cast

from sqlalchemy.engine import Connection, CursorResult, Dialect
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

Scope = Session | Connection
"""Where statements run: an ORM session, or a Core connection, inside its transaction."""

Params = Sequence[Any]
Record = Sequence[Any]
"""A result row, read by position (SQLAlchemy's ``Row`` is one)."""


def placeholders(count: int) -> str:
    """``?, ?, ?`` for an IN list of ``count`` values."""
    return ", ".join("?" * count)


_ARRAY_PARAMETER = re.compile(r"\?(?=::[A-Za-z ]+\[\])")


@lru_cache(maxsize=256)
def _format_paramstyle(statement: str) -> str:
    return _ARRAY_PARAMETER.sub("%b", statement).replace("?", "%s")


def scope_connection(scope: Scope) -> Connection:
    """The Core connection statements in ``scope`` run on."""
    return scope if isinstance(scope, Connection) else scope.connection()


def scope_dialect(scope: Scope) -> Dialect:
    return scope.dialect if isinstance(scope, Connection) else scope.get_bind().dialect


class DriverSql:
    """The scope's connection, for statements written as plain SQL (see module rules)."""

    def __init__(self, scope: Scope) -> None:
        self._connection = scope_connection(scope)
        dialect = self._connection.dialect
        self._format = dialect.paramstyle in ("format", "pyformat")
        self._driver_error: type[Exception] = dialect.loaded_dbapi.Error
        self.dialect = dialect.name

    def _sql(self, statement: str) -> str:
        return _format_paramstyle(statement) if self._format else statement

    def rows(self, statement: str, params: Params = ()) -> list[Record]:
        cursor = self._run(statement, tuple(params), many=False)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def first(self, statement: str, params: Params = ()) -> Record | None:
        cursor = self._run(statement, tuple(params), many=False)
        try:
            row: Record | None = cursor.fetchone()
            return row
        finally:
            cursor.close()

    def execute(self, statement: str, params: Params = ()) -> None:
        self._run(statement, tuple(params), many=False).close()

    def execute_many(self, statement: str, rows: Sequence[Params]) -> None:
        if rows:
            self._run(statement, [tuple(row) for row in rows], many=True).close()

    def _observed(self) -> bool:
        """Whether anything watches statements on this connection (a listener: tracing,
        a test counting statements; the engine's ``echo`` log): then statements take
        SQLAlchemy's path, which tells it."""
        dispatch = self._connection.dispatch
        return (
            bool(dispatch.before_cursor_execute)
            or bool(dispatch.after_cursor_execute)
            or bool(self._connection.engine.echo)
        )

    def _run(self, statement: str, params: Any, *, many: bool) -> DBAPICursor | CursorResult[Any]:
        """The driver's cursor after running ``statement`` (SQLAlchemy's result while
        statements are watched); both fetch and close alike, and the caller closes it."""
        sql = self._sql(statement)
        if self._observed():
            return self._connection.exec_driver_sql(sql, params)
        cursor = self._connection.connection.cursor()
        try:
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
        except self._driver_error as error:
            cursor.close()
            raise self._translated(error, sql, params) from error
        except BaseException:
            cursor.close()
            raise
        return cursor

    def _translated(self, error: Exception, sql: str, params: Any) -> DBAPIError:
        """The driver's error as SQLAlchemy would raise it: its DBAPIError family
        (IntegrityError for a duplicate key, ...), and a lost connection invalidated, with
        the pool's other connections to the same server (a restart loses them all)."""
        dialect = self._connection.dialect
        raw = self._connection.connection.dbapi_connection
        lost = dialect.is_disconnect(cast(Any, error), raw, None)
        if lost:
            self._connection.invalidate(error)
            self._connection.engine.dispose(close=False)
        translated = DBAPIError.instance(
            sql, params, error, self._driver_error,
            connection_invalidated=lost, dialect=dialect,
        )
        return cast(DBAPIError, translated)
