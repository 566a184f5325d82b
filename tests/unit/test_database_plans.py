"""PostgreSQL's plans keep using the keys as tables grow (``authority.database``).

What this guards against: psycopg prepares a statement once it has run five times, and
PostgreSQL then keeps one generic plan for it, made for the tables' size at that moment.
The ingest look-up (which of a batch's report ids are stored) planned on a fresh
database kept a sequential scan of ``nm_report`` as the table grew: 5 ms per batch at
4,800 reports in the load benchmark, until autovacuum's ANALYZE replaced the plan.
Engines plan each statement afresh; the ingest process's engine (``statements_by_key``)
keeps generic plans with sequential scans priced out. Both must use the key.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Connection

from authority.database import open_database
from tests.integration.network import postgres_database

BATCH = 8
GROWN_TO = 3_000
# The look-up as the report store writes it (authority.report_store._stored_ids_sql),
# with PostgreSQL's own numbered parameters so that it can be PREPAREd by hand.
LOOK_UP = (
    "SELECT array_agg(report_id) FROM nm_report WHERE report_id IN ("
    + ", ".join(f"${n}" for n in range(1, BATCH + 1))
    + ")"
)
FILL = f"""
INSERT INTO nm_report (report_id, lab_id, canonical_report, signature, signing_key_id,
                       leaf_hash, log_index, received_at, kind, severity, harm_domains,
                       detected_at)
SELECT md5(n::text)::uuid::text, 'lab-aurora', '\\x00', '\\x00', 'key', sha256(n::text::bytea),
       n, now(), 'NEAR_MISS', 1, '', now()
FROM generate_series(1, {GROWN_TO}) AS n
"""


@pytest.fixture(params=[False, True], ids=["custom plans", "statements by key"])
def connection(request: pytest.FixtureRequest) -> Iterator[Connection]:
    with postgres_database() as url:
        engine = open_database(url, statements_by_key=request.param)
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()


@pytest.fixture
def generic_plans_alone() -> Iterator[Connection]:
    """Generic plans without the key-only setting: what the ingest engine would be
    without pricing sequential scans out."""
    with postgres_database() as url:
        engine = open_database(url)
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("SET plan_cache_mode = auto")
                yield connection
        finally:
            engine.dispose()


def ids(first: int) -> str:
    return ", ".join(f"'{first + n:08d}'" for n in range(BATCH))


def test_connections_plan_afresh_unless_every_statement_is_by_key() -> None:
    with postgres_database() as url:
        for by_key, expected in ((False, ("force_custom_plan", "on")), (True, ("auto", "off"))):
            engine = open_database(url, statements_by_key=by_key)
            try:
                with engine.connect() as connection:
                    settings = tuple(
                        connection.exec_driver_sql(f"SHOW {name}").scalar_one()
                        for name in ("plan_cache_mode", "enable_seqscan")
                    )
            finally:
                engine.dispose()
            assert settings == expected, by_key


def test_the_batch_look_up_uses_the_key_once_the_table_has_grown(
    connection: Connection,
) -> None:
    plan = grown_plan(connection)
    assert "Seq Scan" not in plan, plan
    assert "nm_report_pkey" in plan, plan


def test_a_generic_plan_alone_would_keep_the_young_tables_scan(
    generic_plans_alone: Connection,
) -> None:
    """Why the ingest engine prices sequential scans out (and that the test above can
    fail): the same statements with generic plans alone keep scanning."""
    plan = grown_plan(generic_plans_alone)
    assert "Seq Scan on nm_report" in plan, plan


def grown_plan(connection: Connection) -> str:
    """The look-up's plan once the table has grown, PREPAREd while it was empty."""
    connection.exec_driver_sql("DEALLOCATE ALL")
    connection.exec_driver_sql(
        f"PREPARE look_up ({', '.join(['varchar'] * BATCH)}) AS {LOOK_UP}"
    )
    # Run while the table is empty, as on a fresh authority: more than the five custom
    # plans after which PostgreSQL would settle on a generic one.
    for round_number in range(10):
        connection.exec_driver_sql(f"EXECUTE look_up ({ids(round_number * BATCH)})")
    connection.exec_driver_sql(FILL)
    plan = "\n".join(
        row[0] for row in connection.exec_driver_sql(f"EXPLAIN EXECUTE look_up ({ids(0)})")
    )
    connection.rollback()
    return plan
