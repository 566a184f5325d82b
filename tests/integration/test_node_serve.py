"""``nearmiss node serve`` as a real process against a real authority over mTLS:
the outbox is delivered with verified receipts, the local API files over a unix
socket, ``node status`` tells the story, and SIGTERM stops it cleanly."""

from __future__ import annotations

import stat
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from nearmiss.devnet import DevNetwork
from nearmiss.reportfile import load_report
from nearmiss.v1 import node_pb2, node_pb2_grpc
from tests.conftest import EXAMPLES
from tests.integration.network import AuthorityProcess, make_network, run_cli, start_authority
from tests.integration.node_process import (
    authority_holding,
    configure_node,
    report_documents,
    start_node,
)

pytestmark = pytest.mark.integration

AURORA_EXAMPLES = [
    EXAMPLES / "nm-agent-oversight-tampering.yaml",
    EXAMPLES / "inc-cyber-phishing-campaign-aurora.yaml",
]


def _wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_serve_delivers_outbox_and_local_api_reports(tmp_path: Path) -> None:
    network: DevNetwork = make_network(tmp_path / "net", labs=("lab-aurora",))
    socket_file = tmp_path / "sock" / "node.sock"
    config = configure_node(
        network, "lab-aurora", listen=f"unix:{socket_file}", extra="[outbox]\npoll_s = 0.2\n"
    )
    # Filed while the authority does not exist yet: queued, exit 0.
    for path in AURORA_EXAMPLES:
        queued = run_cli("node", "submit", str(path), "--config", str(config))
        assert queued.returncode == 0, queued.stderr
        assert "node serve" in queued.stdout
    authority: AuthorityProcess = start_authority(
        network.authority_config_path(), tmp_path / "authority.log"
    )
    node = start_node(config, tmp_path / "node.log")
    try:
        assert stat.S_IMODE(socket_file.stat().st_mode) == 0o600
        expected = {load_report(p).report_id for p in AURORA_EXAMPLES}
        _wait_for(lambda: authority_holding(network).distinct_report_ids == expected)

        channel = grpc.insecure_channel(f"unix:{socket_file}")
        stub = node_pb2_grpc.NodeServiceStub(channel)
        [document] = report_documents(1)
        filed = stub.FileReport(
            node_pb2.FileReportRequest(report_document=document, source_name="ticket.yaml"),
            timeout=30,
        )
        assert filed.state == "pending"
        expected.add(filed.report_id)
        _wait_for(lambda: authority_holding(network).distinct_report_ids == expected)
        _wait_for(
            lambda: stub.GetNodeStatus(node_pb2.GetNodeStatusRequest(), timeout=10).receipts_held
            == 3
        )
        status = stub.GetNodeStatus(node_pb2.GetNodeStatusRequest(), timeout=10)
        assert status.outbox_depth == 0 and status.reports_refused == 0
        channel.close()

        shown = run_cli("node", "status", "--config", str(config))
        assert shown.returncode == 0, shown.stderr
        assert "outbox depth" in shown.stdout and "last receipt" in shown.stdout
        # Submitting a delivered report again prints the kept receipt; nothing new is stored.
        again = run_cli("node", "submit", str(AURORA_EXAMPLES[0]), "--config", str(config))
        assert again.returncode == 0, again.stderr
        assert "already filed here (delivered)" in again.stdout
        assert "receipt (verified)" in again.stdout
    finally:
        code = node.stop()
        authority.stop()
    assert code == 0, node.output()
    holding = authority_holding(network)
    assert holding.report_rows == 3 and holding.log_size == 3
