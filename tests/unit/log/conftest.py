"""Fixtures for the transparency-log tests: a real log on SQLite, and on PostgreSQL in a
throw-away schema (skipped with a message when no server answers)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from authority.log import TransparencyLog, create_tables
from nearmiss.signing import SigningKey

POSTGRES_URL = os.environ.get(
    "NEARMISS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def log(key: SigningKey) -> TransparencyLog:
    return TransparencyLog(signing_key=key, authority_id="authority-test")


@pytest.fixture
def sqlite_engine() -> Iterator[Engine]:
    engine = create_engine("sqlite://")
    create_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_schema() -> Iterator[tuple[str, str]]:
    """(database URL, schema): a fresh schema holding only the log's tables, dropped after."""
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.connect():
            pass
    except OperationalError as error:
        admin.dispose()
        if os.environ.get("CI"):  # CI has a server: its absence is a failure, not a skip
            raise
        pytest.skip(f"no PostgreSQL answers at {POSTGRES_URL}: {error.orig}")
    schema = f"nm_test_log_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    create_tables(engine)
    engine.dispose()
    try:
        yield POSTGRES_URL, schema
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

