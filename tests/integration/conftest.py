from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nearmiss.devnet import DevNetwork
from tests.integration.network import (
    AuthorityProcess,
    make_network,
    postgres_database,
    start_authority,
)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield "sqlite:///authority.db"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def network(tmp_path: Path, database_url: str) -> DevNetwork:
    return make_network(tmp_path / "net", database_url=database_url)


@pytest.fixture
def authority(network: DevNetwork, tmp_path: Path) -> Iterator[AuthorityProcess]:
    process = start_authority(network.authority_config_path(), tmp_path / "authority.log")
    yield process
    process.stop()
