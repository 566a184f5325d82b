"""ReportStore on a real SQLite database: idempotency inside and across batches, conflicts
per report, and a database that refuses writes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from authority.database import make_engine, open_database
from authority.log import TransparencyLog
from authority.report_store import ReportStore, Stored, Submission
from nearmiss.errors import ConflictError, UnavailableError
from nearmiss.model import IncidentReport
from nearmiss.proofs import verify_inclusion, verify_tree_head
from nearmiss.reportfile import load_report
from nearmiss.signed_report import leaf_hash, sign_report
from nearmiss.signing import SigningKey
from node.signer import prepare_for_sending
from tests.conftest import EXAMPLES
from tests.integration.network import postgres_database

LAB = SigningKey.generate()
AUTHORITY = SigningKey.generate()


def submission(report_id: str | None = None, title: str = "A title") -> Submission:
    template = load_report(EXAMPLES / "nm-agent-oversight-tampering.yaml")
    report = template.model_copy(
        update={"report_id": report_id or str(uuid.uuid4()), "title": title}
    )
    prepared = prepare_for_sending(
        IncidentReport.model_validate(report), lab_id=report.lab_id, now=datetime.now(UTC)
    )
    return Submission(prepared, sign_report(prepared, LAB))


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{tmp_path / 'a.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(params=[False, True], ids=["session-per-batch", "one-thread"])
def store(engine: Engine, request: pytest.FixtureRequest) -> Iterator[ReportStore]:
    """Each store test both ways: a session per batch, and the ingest process's way (one
    thread, its connection kept between batches)."""
    store = ReportStore(
        engine=engine, log=TransparencyLog(signing_key=AUTHORITY, authority_id="a"),
        one_thread=request.param,
    )
    yield store
    store.close()


def reports_stored(engine: Engine) -> int:
    """How many reports another connection sees: only what was committed."""
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM nm_report")).scalar_one())


def stored(outcome: Stored | BaseException) -> Stored:
    assert isinstance(outcome, Stored), outcome
    return outcome


def test_a_batch_stores_each_report_once_with_proofs_under_one_head(
    store: ReportStore, engine: Engine
) -> None:
    first, second = submission(), submission()
    outcomes = [stored(o) for o in store.store_batch([first, second, first])]
    assert [o.already_stored for o in outcomes] == [False, False, True]
    assert outcomes[0].statement == outcomes[2].statement
    head = outcomes[0].head
    verify_tree_head(head, AUTHORITY.verifying_key)
    assert head.tree_size == 2
    for outcome, sent in zip(outcomes, [first, second, first], strict=True):
        assert outcome.head == head
        verify_inclusion(
            leaf_hash(sent.signed), outcome.statement.log_index, head.tree_size,
            list(outcome.proof.audit_path), head.root_hash,
        )
    again = stored(store.store_batch([second])[0])
    assert again.already_stored and again.statement == outcomes[1].statement
    assert reports_stored(engine) == 2


def test_other_bytes_under_a_stored_id_conflict_without_failing_the_batch(
    store: ReportStore,
) -> None:
    original = submission()
    store.store_batch([original])
    changed = submission(original.report.report_id, title="Another title")
    fresh = submission()
    outcomes = store.store_batch([changed, fresh])
    assert isinstance(outcomes[0], ConflictError)
    assert "already stored with different content" in str(outcomes[0])
    assert not stored(outcomes[1]).already_stored


def test_a_database_refusing_writes_is_unavailable_with_its_reason(
    sqlite_engine: Engine,
) -> None:
    # PostgreSQL refusing writes is tests/faults/test_database_refuses_writes.py.
    engine = sqlite_engine
    store = ReportStore(engine=engine, log=TransparencyLog(signing_key=AUTHORITY, authority_id="a"))
    def query_only(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only=ON")

    engine.dispose()
    event.listen(engine, "connect", query_only)
    secret = submission(title="Confidential title that must not leak")
    outcomes = store.store_batch([secret, submission()])
    for outcome in outcomes:
        assert isinstance(outcome, UnavailableError)
        assert "readonly" in str(outcome) and "retry later" in str(outcome)
        assert "Confidential" not in str(outcome)


@contextmanager
def _database_url(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'a.db'}"
        return
    with postgres_database() as url:
        yield url


def _refusing_writes(url: str) -> Engine:
    """An engine on ``url`` whose every connection refuses writes."""
    if url.startswith("sqlite"):
        engine = make_engine(url)

        def query_only(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA query_only=ON")

        event.listen(engine, "connect", query_only)
        return engine
    return create_engine(url, connect_args={"options": "-c default_transaction_read_only=on"})


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_database_refusing_writes_still_answers_repeats_in_a_mixed_batch(
    kind: str, tmp_path: Path
) -> None:
    """The append is refused (SQLite: BEGIN IMMEDIATE, the log's lock; PostgreSQL: the
    guarded append's write); what is stored is answered anyway, in a transaction that
    only reads, each new report gets the refusal, and a conflict is still a conflict."""
    log = TransparencyLog(signing_key=AUTHORITY, authority_id="a")
    kept = submission()
    with _database_url(kind, tmp_path) as url:
        writable = open_database(url)
        first = stored(ReportStore(engine=writable, log=log).store_batch([kept])[0])
        writable.dispose()
        read_only = _refusing_writes(url)
        try:
            changed = submission(kept.report.report_id, title="Another title")
            outcomes = ReportStore(engine=read_only, log=log).store_batch(
                [kept, submission(title="Confidential title"), changed]
            )
        finally:
            read_only.dispose()
    repeat, refused, conflict = outcomes
    again = stored(repeat)
    assert again.already_stored and again.statement == first.statement
    verify_inclusion(
        leaf_hash(kept.signed), again.statement.log_index, again.head.tree_size,
        list(again.proof.audit_path), again.head.root_hash,
    )
    assert isinstance(refused, UnavailableError)
    reason = str(refused).replace("-", "")
    assert "readonly" in reason and "Confidential" not in str(refused)
    assert isinstance(conflict, ConflictError)


@pytest.mark.parametrize("one_thread", [False, True], ids=["session-per-batch", "one-thread"])
def test_postgresql_stores_a_batch_in_two_statements_and_retries_a_lost_race_locked(
    monkeypatch: pytest.MonkeyPatch, one_thread: bool
) -> None:
    """A guarded append (no BEGIN, lock or COMMIT: two statements). When another replica
    appends between its read and its write, nothing of the batch is written and it is
    stored again under the lock: every report once, one consistent log."""
    log = TransparencyLog(signing_key=AUTHORITY, authority_id="a")
    with postgres_database() as url:
        engine, replica = open_database(url), open_database(url)
        try:
            store = ReportStore(engine=engine, log=log, one_thread=one_thread)
            other = ReportStore(engine=replica, log=log)
            statements: list[str] = []
            event.listen(engine, "before_cursor_execute",
                         lambda _c, _k, statement, *_: statements.append(statement))
            assert stored(store.store_batch([submission()])[0]).statement.log_index == 0
            assert len(statements) == 2

            theirs = submission(title="Theirs")
            real_guarded = TransparencyLog.guarded

            def replica_appends_meanwhile(self: TransparencyLog, session: Any, **kw: Any) -> Any:
                read = real_guarded(self, session, **kw)
                if not started:  # once, and not again inside the replica's own store
                    started.append(True)
                    theirs_outcome.append(other.store_batch([theirs])[0])
                return read

            started: list[bool] = []
            theirs_outcome: list[Stored | BaseException] = []
            monkeypatch.setattr(TransparencyLog, "guarded", replica_appends_meanwhile)
            ours = [submission(), submission()]
            outcomes = [stored(o) for o in store.store_batch(ours)]
            assert stored(theirs_outcome[0]).statement.log_index == 1
            assert [o.statement.log_index for o in outcomes] == [2, 3]
            for submitted, outcome in zip(ours, outcomes, strict=True):
                verify_tree_head(outcome.head, AUTHORITY.verifying_key)
                verify_inclusion(
                    leaf_hash(submitted.signed), outcome.statement.log_index,
                    outcome.head.tree_size, list(outcome.proof.audit_path),
                    outcome.head.root_hash,
                )
            assert reports_stored(engine) == 4
        finally:
            store.close()
            engine.dispose()
            replica.dispose()


def test_postgresql_repeats_needing_a_new_head_are_answered_under_the_lock() -> None:
    """A batch of repeats only, guarded (autocommit, no lock), finds no head for the tree
    under this authority's key (the key was rotated): it may not sign one without the
    lock, so it is answered again under the lock, with a head signed and stored there."""
    rotated = SigningKey.generate()
    kept = submission()
    with postgres_database() as url:
        engine = open_database(url)
        try:
            first = stored(ReportStore(
                engine=engine, log=TransparencyLog(signing_key=AUTHORITY, authority_id="a")
            ).store_batch([kept])[0])
            statements: list[str] = []
            event.listen(engine, "before_cursor_execute",
                         lambda _c, _k, statement, *_: statements.append(statement))
            again = stored(ReportStore(
                engine=engine, log=TransparencyLog(signing_key=rotated, authority_id="a")
            ).store_batch([kept])[0])
            with engine.connect() as connection:
                heads = connection.execute(text(
                    "SELECT tree_size, authority_key_id FROM nm_log_tree_head ORDER BY id"
                )).all()
        finally:
            engine.dispose()
    assert again.already_stored and again.statement == first.statement
    verify_tree_head(again.head, rotated.verifying_key)
    assert [tuple(h) for h in heads] == [(1, AUTHORITY.key_id), (1, rotated.key_id)]
    # Guarded first (state and look-up, then the head read that finds none for this
    # key), then again under the lock, which is where the head is signed (without the
    # change, the guarded batch signed and stored it in autocommit, no lock taken).
    assert any("SET tree_size = tree_size" in s for s in statements), statements


def test_a_one_thread_store_keeps_one_connection_for_all_its_batches(engine: Engine) -> None:
    """The ingest process's store checks a connection out once, not once per batch (on
    PostgreSQL the one for guarded appends; the one for the lock is checked out only
    when a batch needs it), and each batch is still its own committed transaction:
    another connection sees it at once."""
    checkouts: list[object] = []
    event.listen(engine, "checkout", lambda *_: checkouts.append(True))
    log = TransparencyLog(signing_key=AUTHORITY, authority_id="a")
    store = ReportStore(engine=engine, log=log, one_thread=True)
    try:
        for number in range(1, 6):
            stored(store.store_batch([submission(), submission()])[0])
            assert len(checkouts) == 1
            assert reports_stored(engine) == 2 * number  # committed: another connection sees it
            checkouts.pop()  # that connection's own checkout
    finally:
        store.close()
    per_batch = ReportStore(engine=engine, log=log)
    for _ in range(3):
        stored(per_batch.store_batch([submission()])[0])
    assert len(checkouts) == 1 + 3  # without one_thread: one checkout per batch


def test_a_one_thread_store_rolls_back_a_failed_batch_and_keeps_storing(engine: Engine) -> None:
    """A batch that fails mid-transaction leaves nothing behind on the held connection,
    and the next batch is stored on it as usual."""
    store = ReportStore(
        engine=engine, log=TransparencyLog(signing_key=AUTHORITY, authority_id="a"),
        one_thread=True,
    )
    try:
        broken = submission(title="Confidential title that must not leak")

        def fails_after_the_lock(*args: Any) -> Any:
            raise RuntimeError("a bug after the log's lock")

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ReportStore, "_plan", staticmethod(fails_after_the_lock))
            with pytest.raises(RuntimeError):
                store.store_batch([broken])
        outcome = stored(store.store_batch([broken, submission()])[0])
        assert outcome.statement.log_index == 0 and not outcome.already_stored
    finally:
        store.close()
    assert reports_stored(engine) == 2


def test_a_one_thread_store_keeps_storing_after_the_server_dropped_its_connections() -> None:
    """PostgreSQL drops the held connections (restart, failover, an admin): the next
    batch is retried once on a fresh connection and stored; nothing is lost."""
    log = TransparencyLog(signing_key=AUTHORITY, authority_id="a")
    with postgres_database() as url:
        engine = open_database(url, pool_pre_ping=False)
        store = ReportStore(engine=engine, log=log, one_thread=True)
        try:
            stored(store.store_batch([submission()])[0])
            with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as admin:
                backends = admin.execute(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchall()
                assert backends
                for (backend,) in backends:
                    admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
            after = [stored(o) for o in store.store_batch([submission(), submission()])]
            assert [o.statement.log_index for o in after] == [1, 2]
            assert reports_stored(engine) == 3
        finally:
            store.close()
            engine.dispose()
