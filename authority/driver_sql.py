"""Hand-written SQL for the ingest hot path, sent through SQLAlchemy's driver-level API.

Why: the ingest writer thread is serial (it holds the log lock) and runs about ten
statements per group-committed batch. Building a Core statement and finding it in the
compiled cache costs 35–100 µs of Python per statement on this project's reference
machine, ``exec_driver_sql`` about 16 µs (benchmarks/load/RESULTS.md). Everything off the
hot path keeps using Core and the ORM.

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
  per dialect (SQLite keeps text), so typed columns go through Core, which converts them;
  the one exception is PostgreSQL's typed arrays (``authority.log.LoggedRows``), whose
  dates psycopg converts itself.
* Statements run on the session's own connection, inside its transaction, and errors
  arrive as SQLAlchemy's ``DBAPIError`` family like everywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlmodel import Session

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


class DriverSql:
    """The session's connection, for statements written as plain SQL (see module rules)."""

    def __init__(self, session: Session) -> None:
        self._connection = session.connection()
        self._format = self._connection.dialect.paramstyle in ("format", "pyformat")
        self.dialect = self._connection.dialect.name

    def _sql(self, statement: str) -> str:
        return _format_paramstyle(statement) if self._format else statement

    def rows(self, statement: str, params: Params = ()) -> list[Record]:
        return list(self._connection.exec_driver_sql(self._sql(statement), tuple(params)))

    def first(self, statement: str, params: Params = ()) -> Record | None:
        return self._connection.exec_driver_sql(self._sql(statement), tuple(params)).first()

    def execute(self, statement: str, params: Params = ()) -> None:
        self._connection.exec_driver_sql(self._sql(statement), tuple(params))

    def execute_many(self, statement: str, rows: Sequence[Params]) -> None:
        if rows:
            self._connection.exec_driver_sql(
                self._sql(statement), [tuple(row) for row in rows]
            )
