"""The authority's SQL database: one engine per process, SQLite or PostgreSQL.

Rules: every table is a SQLModel table registered on ``SQLModel.metadata`` with an
``nm_`` prefix; ``open_database`` imports every module that defines tables before
creating them, so a fresh database always gets the full schema. SQLite runs in WAL mode
with synchronous=FULL (an acknowledged report survives power loss) and a busy timeout,
so concurrent writers wait instead of failing. PostgreSQL plans every statement for the
tables as they are now (``plan_cache_mode = force_custom_plan``): a plan cached while a
table was young keeps scanning it whole as it grows. An engine whose statements all find
their rows by a key (``statements_by_key``: the ingest process) keeps PostgreSQL's cached
plans instead, with sequential scans priced out, so that a plan made while a table was
young still uses the key.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InternalError, OperationalError
from sqlmodel import Session, SQLModel, create_engine

from nearmiss.errors import UnavailableError

# Modules whose import registers tables. Optional ones may not exist yet in a checkout.
TABLE_MODULES = (
    "authority.records",
    "authority.log.tables",
    "authority.cases.tables",
    "authority.privacy.tables",
    "authority.alerts.tables",
    "authority.disclosure.tables",
    "authority.federation.tables",
)


def _register_tables() -> None:
    for name in TABLE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name is None or not name.startswith(error.name):
                raise


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE (below) instead of pysqlite's
    # deferred BEGIN: a read-then-write transaction can then never fail with
    # SQLITE_BUSY_SNAPSHOT; writers queue on busy_timeout instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# An execution option: the transaction only reads, so on SQLite it begins deferred and
# takes no write lock (a database that refuses writes refuses BEGIN IMMEDIATE itself).
READS_ONLY = "nearmiss_reads_only"


def reading_engine(engine: Engine) -> Engine:
    """The same engine and pool, for transactions that only read (see READS_ONLY)."""
    return engine.execution_options(**{READS_ONLY: True})


def _sqlite_begin_immediate(connection: Any) -> None:
    reads_only = connection.get_execution_options().get(READS_ONLY, False)
    connection.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")


def _postgres_custom_plans(dbapi_connection: Any, _record: Any) -> None:
    # psycopg prepares a statement run five times, and PostgreSQL then keeps one generic
    # plan for it, planned for the tables' size at that moment. The ingest look-up
    # (report ids IN a batch) planned on a fresh database kept a sequential scan of
    # nm_report: 0.05 ms per batch at first, 5 ms at 4,800 reports, until autovacuum's
    # ANALYZE a minute or more later (benchmarks/load/RESULTS.md, seventh pass). Custom
    # plans see the current size and use the keys. Their price: PostgreSQL plans each
    # execution, 0.1-0.25 ms for the ingest statements, ~0.3 ms per batch.
    _postgres_settings(dbapi_connection, "SET plan_cache_mode = force_custom_plan")


def _postgres_plans_by_key(dbapi_connection: Any, _record: Any) -> None:
    # Every statement of such an engine finds its rows by a key, and with sequential
    # scans priced out a plan that uses the key is the best plan at any table size: the
    # generic plan PostgreSQL keeps after five executions can be kept for good. Planning
    # each execution cost PostgreSQL half its CPU per report in the ingest process
    # (113 -> 63 us at batches of 4; benchmarks/load/RESULTS.md, ninth pass). A statement
    # with no usable key still runs, as the sequential scan it would have been anyway.
    _postgres_settings(
        dbapi_connection, "SET plan_cache_mode = auto", "SET enable_seqscan = off"
    )


def _postgres_settings(dbapi_connection: Any, *statements: str) -> None:
    """Session settings, set per connection after any options the URL gives."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()
    finally:
        dbapi_connection.autocommit = autocommit


def make_engine(
    database_url: str, *, statements_by_key: bool = False, **engine_options: Any
) -> Engine:
    """An engine for ``database_url``. ``statements_by_key``: every statement it will
    run finds its rows by a key (module docstring; no effect on SQLite)."""
    if database_url.startswith("sqlite"):
        engine = create_engine(
            database_url,
            connect_args={"check_same_thread": False, "timeout": 30},
            **engine_options,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    options: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
    options.update(engine_options)
    engine = create_engine(database_url, **options)
    if engine.dialect.name == "postgresql":
        event.listen(
            engine,
            "connect",
            _postgres_plans_by_key if statements_by_key else _postgres_custom_plans,
        )
    return engine


def open_database(
    database_url: str, *, statements_by_key: bool = False, **engine_options: Any
) -> Engine:
    """An engine with every nearmiss table created (idempotent); ``make_engine`` says
    what ``statements_by_key`` means."""
    _register_tables()
    engine = make_engine(database_url, statements_by_key=statements_by_key, **engine_options)
    try:
        SQLModel.metadata.create_all(engine)
    except OperationalError as error:
        raise UnavailableError(
            f"the database at {redact_url(database_url)} cannot be opened: {error.orig}"
        ) from None
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def redact_url(database_url: str) -> str:
    """The URL without its password, for messages and logs."""
    scheme, sep, rest = database_url.partition("://")
    if not sep or "@" not in rest:
        return database_url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else f"{scheme}://{user}@{host}"


def database_reason(error: DBAPIError) -> str:
    """The database's own short reason for a failure, fit for a log line or an answer.

    The driver's exception type and, for operational errors, the first line of the
    server's message: its own words ("database or disk is full", "No space left on
    device", "read-only transaction", "terminating connection"), never values from the
    statement, which may hold report content.
    """
    reason = type(error.orig).__name__
    if isinstance(error, OperationalError | InternalError):
        first_line = str(error.orig).strip().splitlines()[0][:160] if str(error.orig) else ""
        reason = f"{reason}: {first_line}" if first_line else reason
    return reason
