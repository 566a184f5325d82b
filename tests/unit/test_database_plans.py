"""PostgreSQL plans each statement for the tables as they are now (``authority.database``).

What this guards against: psycopg prepares a statement once it has run five times, and
PostgreSQL then keeps one generic plan for it, made for the tables' size at that moment.
The ingest look-up (which of a batch's report ids are stored) planned on a fresh
database kept a sequential scan of ``nm_report`` as the table grew: 5 ms per batch at
4,800 reports in the load benchmark, until autovacuum's ANALYZE replaced the plan.
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


@pytest.fixture
def connection() -> Iterator[Connection]:
    with postgres_database() as url:
        engine = open_database(url)
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()


def ids(first: int) -> str:
    return ", ".join(f"'{first + n:08d}'" for n in range(BATCH))


def test_every_connection_plans_each_statement_afresh(connection: Connection) -> None:
    mode = connection.exec_driver_sql("SHOW plan_cache_mode").scalar_one()
    assert mode == "force_custom_plan"


def test_the_batch_look_up_uses_the_key_once_the_table_has_grown(
    connection: Connection,
) -> None:
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
    assert "Seq Scan" not in plan, plan
    assert "nm_report_pkey" in plan, plan
