"""Hand-written SQL through the driver (``authority.driver_sql``): placeholders per
driver, array parameters sent to PostgreSQL in binary without losing a byte, and a lost
connection reported as such (the report store's one retry depends on it)."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy.exc import DBAPIError
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
    # (error.connection_invalidated): DriverSql's errors must say so.
    with postgres_database() as url:
        engine = open_database(url, pool_pre_ping=False)
        try:
            with Session(engine) as session:
                sql = DriverSql(session)
                backend = sql.first("SELECT pg_backend_pid()", ())
                assert backend is not None
                with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as other:
                    other.execute("SELECT pg_terminate_backend(%s)", (backend[0],))
                with pytest.raises(DBAPIError) as lost:
                    sql.first("SELECT 1", ())
                assert lost.value.connection_invalidated
            with Session(engine) as session:  # a fresh connection from the pool
                assert tuple(DriverSql(session).first("SELECT 1", ()) or ()) == (1,)
        finally:
            engine.dispose()
