"""The SQL transparency log against the RFC 9162 reference, on SQLite."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from authority.log import LogCorruptError, TransparencyLog, create_tables
from authority.log.reference import ReferenceLog
from nearmiss import proofs
from nearmiss.errors import ConflictError, NotFoundError, PreconditionError
from nearmiss.signing import SigningKey


def leaf(i: int) -> bytes:
    return b"leaf-" + i.to_bytes(4, "big")


def fill(engine: Engine, log: TransparencyLog, ref: ReferenceLog, batches: list[int]) -> None:
    """Append in transactions of the given sizes, alternating single and batch appends."""
    for batch in batches:
        with Session(engine) as session:
            first = len(ref.leaves)
            data = [leaf(first + i) for i in range(batch)]
            if batch == 1:
                entries = [log.append(session, data[0])]
            else:
                entries = log.append_many(session, data)
            session.commit()
        for item, entry in zip(data, entries, strict=True):
            assert entry.index == ref.append(item)
            assert entry.leaf_hash == ref.leaves[entry.index]


def check_against_reference(
    session: Session, log: TransparencyLog, ref: ReferenceLog, rng: random.Random
) -> None:
    size = len(ref.leaves)
    assert log.size(session) == size
    assert log.root_hash(session) == ref.root()
    root = ref.root()
    for index in range(size):  # inclusion of every leaf in the current tree
        proof = log.inclusion_proof(session, index, size)
        assert list(proof.audit_path) == ref.inclusion_path(index, size)
        proofs.verify_inclusion(ref.leaves[index], index, size, list(proof.audit_path), root)
        assert log.index_of(session, ref.leaves[index]) == index
    roots = {n: ref.root(n) for n in range(size + 1)}
    pairs = [(a, b) for b in range(size + 1) for a in range(b + 1)]
    for first, second in rng.sample(pairs, min(len(pairs), 60)):
        hashes = list(log.consistency_proof(session, first, second).proof_hashes)
        assert hashes == ref.consistency_proof(first, second)
        proofs.verify_consistency(first, second, roots[first], roots[second], hashes)
        if first < second:  # earlier trees keep their inclusion proofs too
            index = rng.randrange(second)
            proof_path = list(log.inclusion_proof(session, index, second).audit_path)
            proofs.verify_inclusion(ref.leaves[index], index, second, proof_path, roots[second])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=25), st.randoms())
def test_sql_log_matches_reference(batches: list[int], rng: random.Random) -> None:
    engine = create_engine("sqlite://")
    create_tables(engine)
    log = TransparencyLog(signing_key=SigningKey.generate(), authority_id="a")
    ref = ReferenceLog()
    fill(engine, log, ref, batches[:300])
    with Session(engine) as session:
        check_against_reference(session, log, ref, rng)
    engine.dispose()


def test_empty_log(sqlite_engine: Engine, log: TransparencyLog, key: SigningKey) -> None:
    with Session(sqlite_engine) as session:
        assert log.size(session) == 0
        assert log.root_hash(session) == proofs.EMPTY_ROOT
        head = log.signed_tree_head(session)
        proofs.verify_tree_head(head, key.verifying_key)
        assert (head.tree_size, head.root_hash) == (0, proofs.EMPTY_ROOT)
        assert list(log.consistency_proof(session, 0, 0).proof_hashes) == []
        with pytest.raises(NotFoundError, match="leaf 0 is not in the tree of size 0"):
            log.inclusion_proof(session, 0)


def test_tree_heads_are_signed_reused_and_monotonic(
    sqlite_engine: Engine, key: SigningKey
) -> None:
    clock = iter([5_000, 4_000, 9_000])
    log = TransparencyLog(signing_key=key, authority_id="a", clock_ms=lambda: next(clock))
    ref = ReferenceLog()
    fill(sqlite_engine, log, ref, [3])
    with Session(sqlite_engine) as session:
        first = log.signed_tree_head(session)
        session.commit()
        assert log.signed_tree_head(session) == first  # unchanged tree: no new signature
    proofs.verify_tree_head(first, key.verifying_key)
    assert (first.tree_size, first.root_hash, proofs.head_timestamp_ms(first)) == (
        3, ref.root(), 5_000
    )
    fill(sqlite_engine, log, ref, [2])
    with Session(sqlite_engine) as session:
        second = log.signed_tree_head(session, at_least_size=5)
        session.commit()
    proofs.verify_tree_head(second, key.verifying_key)
    # The clock went back to 4,000: the head keeps the last head's time instead.
    assert (second.tree_size, proofs.head_timestamp_ms(second)) == (5, 5_000)
    with Session(sqlite_engine) as session, pytest.raises(
        NotFoundError, match="the log has 5 entries, fewer than the 6 asked for"
    ):
        log.signed_tree_head(session, at_least_size=6)


def test_a_new_key_signs_a_new_head(sqlite_engine: Engine, log: TransparencyLog) -> None:
    fill(sqlite_engine, log, ReferenceLog(), [4])
    rotated_key = SigningKey.generate()
    rotated = TransparencyLog(signing_key=rotated_key, authority_id="a")
    with Session(sqlite_engine) as session:
        log.signed_tree_head(session)
        session.commit()
        head = rotated.signed_tree_head(session)
    proofs.verify_tree_head(head, rotated_key.verifying_key)


def test_bad_sizes_are_refused_with_numbers(sqlite_engine: Engine, log: TransparencyLog) -> None:
    fill(sqlite_engine, log, ReferenceLog(), [10])
    with Session(sqlite_engine) as session:
        with pytest.raises(NotFoundError, match="has 10 entries; there is no tree of size 11"):
            log.inclusion_proof(session, 3, 11)
        with pytest.raises(NotFoundError, match="leaf 10 is not in the tree of size 10"):
            log.inclusion_proof(session, 10)
        with pytest.raises(NotFoundError, match="has 10 entries; there is no tree of size 12"):
            log.consistency_proof(session, 4, 12)
        with pytest.raises(PreconditionError, match="from size 7 to size 6"):
            log.consistency_proof(session, 7, 6)
        assert log.index_of(session, proofs.hash_leaf(b"never logged")) is None


def test_duplicates_are_refused_and_nothing_is_written(
    sqlite_engine: Engine, log: TransparencyLog
) -> None:
    fill(sqlite_engine, log, ReferenceLog(), [3])
    with Session(sqlite_engine) as session:
        with pytest.raises(ConflictError, match="already in the log at index 1"):
            log.append(session, leaf(1))
        with pytest.raises(ConflictError, match="contain a leaf twice"):
            log.append_many(session, [b"x", b"y", b"x"])
        session.commit()  # even a careless commit after the refusal changes nothing
        assert log.size(session) == 3
        assert log.append(session, b"new").index == 3


def test_rolled_back_append_leaves_no_trace(sqlite_engine: Engine, log: TransparencyLog) -> None:
    ref = ReferenceLog()
    fill(sqlite_engine, log, ref, [5])
    with Session(sqlite_engine) as session:
        assert log.append(session, b"lost").index == 5
        session.rollback()
    with Session(sqlite_engine) as session:
        assert log.size(session) == 5
        assert log.index_of(session, proofs.hash_leaf(b"lost")) is None
        assert log.append(session, b"kept").index == 5
        session.commit()
        ref.append(b"kept")
        assert log.root_hash(session) == ref.root()


def test_damaged_state_is_reported(sqlite_engine: Engine, log: TransparencyLog) -> None:
    fill(sqlite_engine, log, ReferenceLog(), [3])
    with Session(sqlite_engine) as session:
        session.connection().exec_driver_sql("UPDATE nm_log_state SET frontier = x'00'")
        with pytest.raises(LogCorruptError, match="needs 2 hashes, found 1 bytes"):
            log.signed_tree_head(session)


@contextmanager
def recorded_statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        statements.append((args[2], args[3]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def full_scans(session: Session, statements: list[tuple[str, Any]]) -> list[str]:
    """Statements whose SQLite plan scans a table instead of searching a key."""
    scans = []
    for sql, params in statements:
        if sql.lstrip().upper().startswith("INSERT"):
            continue
        plan = session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
        scans += [f"{row[3]} in {sql!r}" for row in plan if str(row[3]).startswith("SCAN")]
    return scans


def test_appends_and_proofs_never_scan(sqlite_engine: Engine, log: TransparencyLog) -> None:
    """Every statement the log runs looks rows up by key (SQLite's query plans say so), and
    the number of statements stays fixed as the log grows: O(log n) rows, never a scan."""
    ref = ReferenceLog()
    counts: list[tuple[int, int, int]] = []
    for target in (16, 255, 1024, 3000):
        fill(sqlite_engine, log, ref, [64] * ((target - len(ref.leaves)) // 64))
        fill(sqlite_engine, log, ref, [1] * (target - len(ref.leaves)))
        with Session(sqlite_engine) as session:
            with recorded_statements(sqlite_engine) as seen:
                log.append(session, leaf(len(ref.leaves)))
                appended = len(seen)
                log.inclusion_proof(session, target // 3, target)
                log.consistency_proof(session, target // 3, target)
                proved = len(seen) - appended
                log.signed_tree_head(session)
                log.index_of(session, ref.leaves[target // 2])
                headed = len(seen) - appended - proved
            assert full_scans(session, seen) == []
            session.rollback()
        counts.append((appended, proved, headed))
    assert len(set(counts)) == 1, counts
    # Heading: state and newest head in one read; no head for this tree yet (append
    # stores none), so the lock, the newest head under it, the insert; then index_of.
    assert counts[0] == (5, 4, 5)
