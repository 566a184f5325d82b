"""Fixtures shared by the ingest tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from authority.database import open_database
from tests.integration.network import postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """Each store test on both engines: the log's writes differ per dialect
    (one statement per table on SQLite, one statement for all on PostgreSQL)."""
    if request.param == "sqlite":
        engine = open_database(f"sqlite:///{tmp_path / 'a.db'}")
        yield engine
        engine.dispose()
        return
    with postgres_database() as url:
        engine = open_database(url)
        yield engine
        engine.dispose()
