"""``nearmiss node`` commands in-process: --dry-run shows and sends nothing, submit
queues before any network call and exits 0 when the authority is down, bad input
queues nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nearmiss.devnet import DevNetwork, init_network
from nearmiss.errors import ReportInvalidError
from node.cli import app
from node.config import NodeConfig
from node.store import NodeStore
from tests.integration.network import free_port
from tests.unit.node.conftest import EXAMPLE, TEST_PACK

runner = CliRunner()


@pytest.fixture
def node_toml(tmp_path: Path) -> Path:
    network = DevNetwork(
        directory=tmp_path / "net",
        authority_id="eu-ai-office",
        labs=["lab-aurora"],
        authority_port=free_port(),  # nothing listens there: the authority is "down"
    )
    init_network(network)
    path = network.node_config_path("lab-aurora")
    path.write_text(
        path.read_text().replace(
            "packs = []", f'packs = ["{TEST_PACK}"]\ninclude_default = false'
        )
    )
    return path


def _pending(config: Path) -> int:
    with NodeStore(NodeConfig.load(config).database_path) as store, store.read() as db:
        return int(db.scalar("SELECT COUNT(*) FROM reports WHERE state = 'pending'"))


def test_dry_run_shows_redaction_and_writes_nothing(node_toml: Path) -> None:
    result = runner.invoke(
        app, ["submit", str(EXAMPLE), "--config", str(node_toml), "--dry-run"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "What would be sent" in out and "<PERSON_1>" in out and "<EMAIL_1>" in out
    assert "not sent: LAB_ONLY" in out and "run-4471" in out  # shown to the person, struck
    assert "nothing was queued or sent" in out
    assert not NodeConfig.load(node_toml).database_path.exists()


def test_side_by_side_dry_run(node_toml: Path) -> None:
    result = runner.invoke(
        app, ["submit", str(EXAMPLE), "-c", str(node_toml), "--dry-run", "--side-by-side"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "sent to the authority" in result.output and "stays on this node" in result.output


def test_submit_with_authority_down_queues_and_exits_zero(node_toml: Path) -> None:
    result = runner.invoke(app, ["submit", str(EXAMPLE), "--config", str(node_toml)])
    assert result.exit_code == 0, result.output
    assert "queued" in result.output and "node serve" in result.output
    assert _pending(node_toml) == 1
    again = runner.invoke(app, ["submit", str(EXAMPLE), "-c", str(node_toml), "--queue-only"])
    assert again.exit_code == 0 and "already filed here (pending)" in again.output
    assert _pending(node_toml) == 1
    status = runner.invoke(app, ["status", "-c", str(node_toml)], env={"COLUMNS": "200"})
    assert status.exit_code == 0
    assert "outbox depth (pending)" in status.output and "authority unreachable" in status.output


def test_bad_report_queues_nothing(node_toml: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("severity: 2", "severity: [2]"))
    result = runner.invoke(app, ["submit", str(bad), "-c", str(node_toml)])
    assert isinstance(result.exception, ReportInvalidError)
    assert "bad.yaml" in str(result.exception) and result.exception.field == "severity"
    assert not NodeConfig.load(node_toml).database_path.exists()
