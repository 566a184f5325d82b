"""Fixtures: a real SQLite file per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from privacy_helpers import sqlite_engine
from sqlalchemy.engine import Engine


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "authority.db"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = sqlite_engine(db_path)
    yield engine
    engine.dispose()
