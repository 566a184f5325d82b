"""What a full database is called in refusals and logs (``authority.database``): the
driver's exception type and the database's own first line, never the statement's values.

SQLite's full error is real here: ``max_page_count`` caps the file at its current size, so
a large insert fails with SQLITE_FULL exactly as a full disk does. PostgreSQL's
"No space left on device" is built from psycopg's own DiskFull class (filling a server's
disk is the fault suite's business, not a unit test's).
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from authority.database import database_reason
from authority.report_store import database_unavailable

CANARY = "canary-5e0b7d3a"


def sqlite_full_error(tmp_path: Path) -> DBAPIError:
    engine = create_engine(f"sqlite:///{tmp_path / 'capped.db'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (v BLOB)"))
            pages = connection.execute(text("PRAGMA page_count")).scalar_one()
            connection.execute(text(f"PRAGMA max_page_count = {pages}"))
            with pytest.raises(DBAPIError) as raised:
                connection.execute(
                    text("INSERT INTO t VALUES (:v)"), {"v": (CANARY * 10_000).encode()}
                )
        return raised.value
    finally:
        engine.dispose()


def test_sqlite_full_is_named_by_its_own_words(tmp_path: Path) -> None:
    error = sqlite_full_error(tmp_path)
    assert database_reason(error) == "OperationalError: database or disk is full"
    refusal = str(database_unavailable(error))
    assert "database or disk is full" in refusal and "retry later" in refusal
    assert CANARY not in refusal and "INSERT" not in refusal


def test_postgres_disk_full_keeps_the_servers_first_line_only() -> None:
    orig = psycopg.errors.DiskFull(
        'could not extend file "base/16384/16385": No space left on device\n'
        "HINT:  Check free disk space."
    )
    error = OperationalError("INSERT INTO nm_report VALUES (%(v)s)", {"v": CANARY}, orig)
    reason = database_reason(error)
    assert reason == 'DiskFull: could not extend file "base/16384/16385": No space left on device'
    refusal = str(database_unavailable(error))
    assert "No space left on device" in refusal and "retry later" in refusal
    assert CANARY not in refusal and "HINT" not in refusal
