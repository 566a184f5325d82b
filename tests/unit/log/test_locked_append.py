"""``TransparencyLog.lock``: a look-up answered in the locking statement, rows written with
the leaves (one statement on PostgreSQL), one append per lock — on SQLite and PostgreSQL;
and ``TransparencyLog.guarded`` on PostgreSQL: the same append in two autocommit
statements, written only if the log did not grow meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from authority.log import LoggedRows, LogMoved, TransparencyLog, create_tables
from authority.log.tables import STATE_TABLE
from nearmiss.proofs import hash_leaf

METADATA = MetaData()
LOGGED = Table(
    "nm_test_logged",
    METADATA,
    Column("name", String(8), primary_key=True),
    Column("seen_at", DateTime(timezone=True), nullable=True),
    Column("payload", LargeBinary, nullable=False),
    Column("position", Integer, nullable=False),
)
WHEN = datetime(2026, 12, 3, 12, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def postgres_engine(postgres_schema: tuple[str, str]) -> Iterator[Engine]:
    url, schema = postgres_schema
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    create_tables(engine)
    METADATA.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, sqlite_engine: Engine) -> Engine:
    if request.param == "sqlite":
        METADATA.create_all(sqlite_engine)
        return sqlite_engine
    postgres: Engine = request.getfixturevalue("postgres_engine")
    return postgres


def rows(*names: str) -> list[dict[str, object]]:
    return [
        {"name": name, "seen_at": None if i % 2 else WHEN + timedelta(hours=i),
         "payload": name.encode() * 3, "position": -1}
        for i, name in enumerate(names)
    ]


def test_rows_are_written_with_their_leaves_and_get_the_leaf_index(
    engine: Engine, log: TransparencyLog
) -> None:
    with Session(engine) as session:
        log.append_many(session, [b"before"])
        session.commit()
    written = rows("alpha", "beta", "gamma")
    with Session(engine) as session:
        appended = log.lock(session).append_batch(
            [b"a", b"b", b"c"], with_rows=LoggedRows(LOGGED, written, "position")
        )
        session.commit()
    assert [e.index for e in appended.entries] == [1, 2, 3]
    assert [r["position"] for r in written] == [1, 2, 3]  # set in place
    with Session(engine) as session:
        stored = session.execute(select(LOGGED).order_by(LOGGED.c.position)).all()
        assert log.size(session) == 4
    assert [(r.name, r.position, bytes(r.payload)) for r in stored] == [
        ("alpha", 1, b"alphaalphaalpha"), ("beta", 2, b"betabetabeta"),
        ("gamma", 3, b"gammagammagamma"),
    ]
    # Dates keep their instant (SQLite stores text, PostgreSQL timestamptz); NULL stays.
    first_seen = stored[0].seen_at
    assert first_seen is not None
    assert first_seen.replace(tzinfo=first_seen.tzinfo or UTC) == WHEN
    assert stored[1].seen_at is None


def test_the_look_up_is_answered_under_the_lock_in_the_same_statement(
    engine: Engine, log: TransparencyLog
) -> None:
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _k, statement, *_: statements.append(statement))
    with Session(engine) as session:
        locked = log.lock(
            session, look_up=f"SELECT count(*) FROM {LOGGED.name} WHERE position > ?",
            params=[-5],
        )
        assert locked.looked_up == 0
        locked.append_batch([b"x"], with_rows=LoggedRows(LOGGED, rows("x"), "position"))
        session.commit()
    locking = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    assert "count(*)" in locking[0]
    with Session(engine) as session:
        again = log.lock(
            session, look_up=f"SELECT count(*) FROM {LOGGED.name} WHERE position > ?",
            params=[-5],
        )
        assert again.looked_up == 1


def test_one_append_per_lock_and_one_row_per_leaf(
    engine: Engine, log: TransparencyLog
) -> None:
    with Session(engine) as session:
        locked = log.lock(session)
        with pytest.raises(ValueError, match="one row per leaf"):
            locked.append_batch([b"a", b"b"], with_rows=LoggedRows(LOGGED, rows("a"), "position"))
        locked.append_batch([b"a"])
        with pytest.raises(ValueError, match="appends once"):
            locked.append_batch([b"b"])
        session.rollback()


def test_an_overlong_value_is_refused_not_cut(
    postgres_engine: Engine, log: TransparencyLog
) -> None:
    """PostgreSQL's arrays are cast without the column's length: the insert itself must
    refuse 'far-too-long' for VARCHAR(8) (an explicit cast would silently cut it).
    SQLite does not enforce VARCHAR lengths at all."""
    engine = postgres_engine
    with Session(engine) as session, pytest.raises(DBAPIError, match="too long"):
        log.lock(session).append_batch(
            [b"long"], with_rows=LoggedRows(LOGGED, rows("far-too-long"), "position")
        )
    with Session(engine) as session:
        assert log.size(session) == 0
        assert session.execute(select(LOGGED)).all() == []


def autocommit(engine: Engine) -> Engine:
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def test_a_guarded_append_writes_what_a_locked_one_does_in_two_statements(
    postgres_engine: Engine, log: TransparencyLog
) -> None:
    """No BEGIN, no COMMIT, no lock: one statement reads the state (and the look-up), one
    writes leaves, nodes, head, state and rows."""
    engine = autocommit(postgres_engine)
    with Session(engine) as session:
        log.append_many(session, [b"before"])
    statements: list[str] = []
    event.listen(postgres_engine, "before_cursor_execute",
                 lambda _c, _k, statement, *_: statements.append(statement))
    written = rows("alpha", "beta")
    with Session(engine) as session:
        guarded = log.guarded(
            session, look_up=f"SELECT count(*) FROM {LOGGED.name}", params=[]
        )
        assert guarded is not None and guarded.looked_up == 0
        appended = guarded.append_batch(
            [b"a", b"b"], with_rows=LoggedRows(LOGGED, written, "position")
        )
    assert len(statements) == 2
    assert [e.index for e in appended.entries] == [1, 2]
    with Session(postgres_engine) as session:  # committed: another session sees it all
        assert log.size(session) == 3
        assert log.signed_tree_head(session) == appended.head
        stored = session.execute(select(LOGGED).order_by(LOGGED.c.position)).all()
    assert [(r.name, r.position) for r in stored] == [("alpha", 1), ("beta", 2)]


def test_a_guarded_append_writes_nothing_if_the_log_grew_meanwhile(
    postgres_engine: Engine, log: TransparencyLog
) -> None:
    engine = autocommit(postgres_engine)
    with Session(engine) as session:
        guarded = log.guarded(session)
        assert guarded is not None
        with Session(postgres_engine) as other:  # another replica appends in between
            log.lock(other).append_batch([b"theirs"])
            other.commit()
        with pytest.raises(LogMoved):
            guarded.append_batch([b"ours"], with_rows=LoggedRows(LOGGED, rows("ours"), "position"))
    with Session(postgres_engine) as session:
        assert log.size(session) == 1
        assert session.execute(select(LOGGED)).all() == []
        assert log.index_of(session, hash_leaf(b"ours")) is None
        head = log.signed_tree_head(session)
    assert head.tree_size == 1  # the one head stored is theirs


def test_a_guarded_append_needs_postgresql_and_a_started_log(
    sqlite_engine: Engine, postgres_engine: Engine, log: TransparencyLog
) -> None:
    with Session(sqlite_engine) as session, pytest.raises(ValueError, match="PostgreSQL"):
        log.guarded(session)
    with Session(autocommit(postgres_engine)) as session:
        session.execute(text(f"DELETE FROM {STATE_TABLE.name}"))
        assert log.guarded(session) is None  # the lock starts the tree
