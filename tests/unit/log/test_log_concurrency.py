"""The log on PostgreSQL, and concurrent appenders in separate processes (issue 9: several
authority replicas share one database and must keep one ordered log)."""

from __future__ import annotations

import itertools
import multiprocessing
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from authority.log import TransparencyLog, create_tables
from authority.log.reference import ReferenceLog, mth
from authority.log.tables import HEAD_TABLE, LEAF_TABLE
from nearmiss import proofs
from nearmiss.signing import SigningKey

APPENDS_PER_PROCESS = 200


def engine_for(url: str, schema: str | None) -> Engine:
    if schema is None:
        return create_engine(url, connect_args={"timeout": 60})
    return create_engine(url, connect_args={"options": f"-csearch_path={schema}"})


def append_from_process(url: str, schema: str | None, worker: int) -> None:
    """Child process: its own engine, one transaction per leaf, like an ingest replica."""
    engine = engine_for(url, schema)
    log = TransparencyLog(signing_key=SigningKey.generate(), authority_id=f"replica-{worker}")
    for i in range(APPENDS_PER_PROCESS):
        with Session(engine) as session:
            log.append(session, f"worker {worker} leaf {i}".encode())
            session.commit()
    engine.dispose()


def run_appenders(url: str, schema: str | None) -> None:
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=append_from_process, args=(url, schema, n)) for n in range(2)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=240)
        assert process.exitcode == 0, f"appender exited with {process.exitcode}"


def check_single_ordered_log(engine: Engine) -> None:
    log = TransparencyLog(signing_key=SigningKey.generate(), authority_id="checker")
    total = 2 * APPENDS_PER_PROCESS
    with Session(engine) as session:
        rows = session.execute(
            select(LEAF_TABLE.c.leaf_index, LEAF_TABLE.c.leaf_hash).order_by(
                LEAF_TABLE.c.leaf_index
            )
        ).all()
        assert log.size(session) == total
        assert [r.leaf_index for r in rows] == list(range(total))
        stored = [bytes(r.leaf_hash) for r in rows]
        expected = {
            proofs.hash_leaf(f"worker {w} leaf {i}".encode())
            for w in range(2)
            for i in range(APPENDS_PER_PROCESS)
        }
        assert set(stored) == expected
        assert log.root_hash(session) == mth(stored)
        # Each worker's leaves keep their order: one transaction per leaf, serialized.
        for worker in range(2):
            own = [proofs.hash_leaf(f"worker {worker} leaf {i}".encode()) for i in range(200)]
            positions = [stored.index(h) for h in own]
            assert positions == sorted(positions)
        head = log.signed_tree_head(session)
        for index in random.Random(7).sample(range(total), 40):
            path = list(log.inclusion_proof(session, index, total).audit_path)
            proofs.verify_inclusion(stored[index], index, total, path, head.root_hash)


@pytest.mark.postgres
def test_postgres_log_matches_reference(postgres_schema: tuple[str, str]) -> None:
    url, schema = postgres_schema
    engine = engine_for(url, schema)
    log = TransparencyLog(signing_key=SigningKey.generate(), authority_id="a")
    ref = ReferenceLog()
    with Session(engine) as session:
        for batch in (1, 1, 7, 1, 33, 2, 64, 1, 90):
            data = [f"pg leaf {len(ref.leaves) + i}".encode() for i in range(batch)]
            log.append_many(session, data)
            session.commit()
            for item in data:
                ref.append(item)
        size = len(ref.leaves)
        head = log.signed_tree_head(session)
        session.commit()
        assert (head.tree_size, head.root_hash) == (size, ref.root())
        assert log.signed_tree_head(session) == head
        for index in range(size):
            assert list(log.inclusion_proof(session, index).audit_path) == ref.inclusion_path(
                index, size
            )
        for first in range(0, size + 1, 7):
            proof = log.consistency_proof(session, first, size)
            assert list(proof.proof_hashes) == ref.consistency_proof(first, size)
        # The node lookup can use the primary key (the planner picks a sequential scan on
        # a table this small unless told not to, so forbid it and read the plan).
        statements: list[tuple[str, Any]] = []

        def record(*args: Any) -> None:
            statements.append((args[2], args[3]))

        event.listen(engine, "before_cursor_execute", record)
        log.inclusion_proof(session, 100, size)
        event.remove(engine, "before_cursor_execute", record)
        node_sql, params = statements[-1]
        connection = session.connection()
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            str(row[0]) for row in connection.exec_driver_sql(f"EXPLAIN {node_sql}", params)
        )
        assert "nm_log_node_pkey" in plan, plan
        assert "Seq Scan" not in plan, plan
        session.rollback()
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_concurrent_appenders_keep_one_log(postgres_schema: tuple[str, str]) -> None:
    url, schema = postgres_schema
    run_appenders(url, schema)
    engine = engine_for(url, schema)
    check_single_ordered_log(engine)
    engine.dispose()


@pytest.mark.slow
def test_sqlite_concurrent_appenders_keep_one_log(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'authority.db'}"
    engine = engine_for(url, None)
    create_tables(engine)
    engine.dispose()
    run_appenders(url, None)
    engine = engine_for(url, None)
    check_single_ordered_log(engine)
    engine.dispose()


HEAD_READERS = 3
APPEND_BATCHES = 150


def newest_head_sizes_in_order(engine: Engine) -> list[int]:
    with Session(engine) as session:
        return [int(size) for size in session.execute(
            select(HEAD_TABLE.c.tree_size).order_by(HEAD_TABLE.c.id)
        ).scalars()]


@pytest.mark.postgres
def test_postgres_stored_heads_never_shrink_while_appending(
    postgres_schema: tuple[str, str],
) -> None:
    """Readers asking for a head (the dashboard, federation provenance: they commit what
    they sign) while a replica appends must never store a head for an older tree after a
    newer one. The state and the newest head are read in one snapshot, and a head is only
    signed under the log's lock; read in two statements, an append committing between
    them made the reader sign and store a head for the size it read first."""
    url, schema = postgres_schema
    engine = engine_for(url, schema)
    key = SigningKey.generate()
    appender = TransparencyLog(signing_key=key, authority_id="a")
    done = threading.Event()
    failures: list[BaseException] = []

    def append() -> None:
        try:
            for batch in range(APPEND_BATCHES):
                with Session(engine) as session:
                    appender.append_batch(session, [f"leaf {batch}".encode()])
                    session.commit()
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)
        finally:
            done.set()

    def read_heads() -> None:
        reader = TransparencyLog(signing_key=key, authority_id="a")
        try:
            while not done.is_set():
                with Session(engine) as session:
                    reader.signed_tree_head(session)
                    session.commit()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=append)] + [
        threading.Thread(target=read_heads) for _ in range(HEAD_READERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    sizes = newest_head_sizes_in_order(engine)
    assert sizes[-1] == APPEND_BATCHES
    shrinking = [(a, b) for a, b in itertools.pairwise(sizes) if b < a]
    assert not shrinking, f"heads stored for an older tree after a newer one: {shrinking[:5]}"
    engine.dispose()
