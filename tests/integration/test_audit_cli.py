"""``nearmiss audit`` against a live authority: passes while the log only grows, fails
loudly when what it saw before is not a prefix of what the authority now serves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nearmiss.devnet import DevNetwork
from tests.conftest import EXAMPLES
from tests.integration.network import AuthorityProcess, run_cli

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("database_url", ["sqlite:///authority.db"], indirect=False)
def test_audit_passes_then_detects_a_fork(
    network: DevNetwork, authority: AuthorityProcess, tmp_path: Path
) -> None:
    auditor_dir = network.directory / "auditor"
    key = network.directory / network.authority_id / "signing.pub"
    audit_args = (
        "audit",
        "--authority",
        authority.address,
        "--identity",
        str(auditor_dir),
        "--authority-key",
        str(key),
        "--state-dir",
        str(tmp_path / "state"),
    )
    lab_config = str(network.node_config_path("lab-aurora"))
    submitted = run_cli(
        "node",
        "submit",
        str(EXAMPLES / "nm-agent-oversight-tampering.yaml"),
        "--config",
        lab_config,
    )
    assert submitted.returncode == 0, submitted.stderr
    first = run_cli(*audit_args)
    assert first.returncode == 0, first.stderr
    assert "first audit" in first.stdout

    submitted = run_cli(
        "node",
        "submit",
        str(EXAMPLES / "nm-child-safety-grooming-blocked.yaml"),
        "--config",
        lab_config,
    )
    assert submitted.returncode == 0, submitted.stderr
    second = run_cli(*audit_args)
    assert second.returncode == 0, second.stderr
    assert "size 1 -> 2" in second.stdout

    # Pretend we had seen a different root at size 2: the authority cannot prove it.
    state_file = tmp_path / "state" / "last_tree_head.json"
    state = json.loads(state_file.read_text())
    root_key = next(k for k in state if "root" in k)
    state[root_key] = "00" * 32 if not state[root_key].startswith("00") else "11" * 32
    state_file.write_text(json.dumps(state))
    forked = run_cli(*audit_args)
    assert forked.returncode != 0
    assert "error:" in forked.stderr

    # A lab audits with its own identity and spot-checks the receipts its node holds.
    as_lab = run_cli(
        "audit",
        "--authority",
        authority.address,
        "--authority-key",
        str(key),
        "--node-config",
        lab_config,
        "--state-dir",
        str(tmp_path / "lab-state"),
    )
    assert as_lab.returncode == 0, as_lab.stderr
    assert "2 receipt(s) proven included" in as_lab.stdout
