"""Hand-written SQL through the driver (``authority.driver_sql``): placeholders per
driver, array parameters sent to PostgreSQL in binary without losing a byte, and the driver's
own cursor answering (rows, errors, a lost connection) as SQLAlchemy's path would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from authority.database import open_database
from authority.driver_sql import DriverSql, _format_paramstyle
from tests.integration.network import postgres_database


def test_array_parameters_go_binary_and_the_rest_as_psycopg_chooses() -> None:
    statement = (
        "SELECT * FROM unnest(?::bigint[], ?::TIMESTAMP WITH TIME ZONE[]) "
        "WHERE a = ? AND b = ?::integer"
    )
    assert _format_paramstyle(statement) == (
        "SELECT * FROM unnest(%b::bigint[], %b::TIMESTAMP WITH TIME ZONE[]) "
        "WHERE a = %s AND b = %s::integer"
    )


def test_arrays_round_trip_through_postgresql_unchanged() -> None:
    # The elements the text format has to quote or escape: backslashes, quotes, braces,
    # commas, NUL bytes, spaces, NULLs, time zones.
    numbers = [0, 7, 2**40]
    blobs = [b"\x00\\x\"{},", b"", bytes(range(256))]
    texts = ['a "quoted", {braced} \\ text', "", "NULL"]
    moments = [datetime(2026, 12, 3, 17, 0, 1, 250_000, tzinfo=UTC), None,
               datetime(1999, 1, 1, tzinfo=UTC)]
    with postgres_database() as url:
        engine = open_database(url)
        try:
            with Session(engine) as session:
                rows = DriverSql(session).rows(
                    "SELECT * FROM unnest(?::bigint[], ?::bytea[], ?::VARCHAR[], "
                    "?::TIMESTAMP WITH TIME ZONE[])",
                    (numbers, blobs, texts, moments),
                )
        finally:
            engine.dispose()
    assert [(r[0], bytes(r[1]), r[2], r[3]) for r in rows] == list(
        zip(numbers, blobs, texts, moments, strict=True)
    )


def test_a_lost_postgresql_connection_is_invalidated_and_replaced() -> None:
    # The report store retries a batch once when its connection was dropped
    # (error.connection_invalidated): DriverSql's errors must say so, and a server
    # restart loses every pooled connection, so none of them may be handed out again.
    with postgres_database() as url:
        engine = open_database(url, pool_pre_ping=False)
        try:
            with Session(engine) as one, Session(engine) as two:  # two pooled connections
                backends = [DriverSql(s).first("SELECT pg_backend_pid()", ()) for s in (one, two)]
            with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as other:
                for backend in backends:
                    assert backend is not None
                    other.execute("SELECT pg_terminate_backend(%s)", (backend[0],))
            with Session(engine) as session, pytest.raises(DBAPIError) as lost:
                DriverSql(session).first("SELECT 1", ())
            assert lost.value.connection_invalidated
            with Session(engine) as session:  # a fresh connection, not the other lost one
                assert tuple(DriverSql(session).first("SELECT 1", ()) or ()) == (1,)
        finally:
            engine.dispose()


@contextmanager
def _engine(kind: str, directory: Path) -> Iterator[Engine]:
    if kind == "sqlite":
        directory.mkdir()
        engine = open_database(f"sqlite:///{directory / 'driver.db'}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with postgres_database() as url:
        engine = open_database(url)
        try:
            yield engine
        finally:
            engine.dispose()


def _exercise(engine: Engine) -> list[object]:
    """Every DriverSql call once, and a duplicate key; what each answered."""
    answers: list[object] = []
    with Session(engine) as session:
        sql = DriverSql(session)
        sql.execute("CREATE TABLE pairs (k INTEGER PRIMARY KEY, v VARCHAR(20))")
        sql.execute("INSERT INTO pairs (k, v) VALUES (?, ?)", (1, "one"))
        sql.execute_many("INSERT INTO pairs (k, v) VALUES (?, ?)", [(2, "two"), (3, "three")])
        answers.append(tuple(sql.first("SELECT v FROM pairs WHERE k = ?", (2,)) or ()))
        answers.append(sql.first("SELECT v FROM pairs WHERE k = ?", (9,)))
        answers.append([tuple(r) for r in sql.rows("SELECT k, v FROM pairs ORDER BY k")])
        session.commit()
    with Session(engine) as session, pytest.raises(IntegrityError) as refused:
        DriverSql(session).execute("INSERT INTO pairs (k, v) VALUES (?, ?)", (1, "again"))
    answers.append(refused.value.connection_invalidated)
    with Session(engine) as session:  # the refused insert left nothing behind
        answers.append(DriverSql(session).rows("SELECT count(*) FROM pairs")[0][0])
    return answers


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_driver_cursor_answers_as_sqlalchemy_does(kind: str, tmp_path: Path) -> None:
    # Nothing listening: statements go to the driver's cursor. A statement listener:
    # through exec_driver_sql, which tells it. Both answer alike, errors included.
    expected = [("two",), None, [(1, "one"), (2, "two"), (3, "three")], False, 3]
    with _engine(kind, tmp_path / "direct") as engine:
        assert _exercise(engine) == expected
    with _engine(kind, tmp_path / "observed") as engine:
        seen: list[str] = []
        event.listen(engine, "before_cursor_execute",
                     lambda _c, _cur, statement, *_rest: seen.append(statement))
        assert _exercise(engine) == expected
    # A tracer or a test counting statements sees every statement DriverSql ran.
    assert len([statement for statement in seen if "pairs" in statement]) == 8


def test_an_echoing_engine_logs_every_statement(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'echo.db'}", echo=True)
    try:
        with caplog.at_level("INFO", logger="sqlalchemy.engine"), Session(engine) as session:
            DriverSql(session).first("SELECT count(*) FROM nm_report WHERE report_id = ?", ("x",))
    finally:
        engine.dispose()
    assert any("FROM nm_report WHERE report_id" in r.getMessage() for r in caplog.records)
