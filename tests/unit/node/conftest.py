"""Fixtures for node unit tests: a lab key, an authority key, a node database in a
temporary directory, the small test redaction pack, and a sample report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nearmiss.model import IncidentReport
from nearmiss.reportfile import load_report
from nearmiss.signing import SigningKey
from node.outbox import Outbox
from node.redact_report import ReportRedactor
from node.store import NodeStore
from tests.conftest import EXAMPLES
from tests.unit.node.fakes import FakeAuthority

TEST_PACK = Path(__file__).with_name("test-redaction.yaml")
EXAMPLE = EXAMPLES / "nm-agent-oversight-tampering.yaml"
LAB = "lab-aurora"


@pytest.fixture(scope="session")
def redactor() -> ReportRedactor:
    return ReportRedactor.from_packs([TEST_PACK], include_default=False)


@pytest.fixture(scope="session")
def lab_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="session")
def authority_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[NodeStore]:
    with NodeStore(tmp_path / "data" / "node.db") as opened:
        yield opened


@pytest.fixture
def outbox(store: NodeStore) -> Outbox:
    return Outbox(store)


@pytest.fixture
def fake_authority(authority_key: SigningKey, lab_key: SigningKey) -> FakeAuthority:
    return FakeAuthority(authority_key, lab_key.verifying_key)


@pytest.fixture
def report() -> IncidentReport:
    return load_report(EXAMPLE)
