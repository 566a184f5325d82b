"""The node's alert inbox against a real authority gRPC server over mTLS, whose alert
feed is a small scripted fake (the real one lives in authority.alerts): the stream is
dropped twice, the node resumes from its stored cursor each time, stores every alert
once, writes one file per alert, and ``nearmiss node ack`` reaches the authority."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from authority.app import AuthorityApp
from authority.config import AuthorityConfig
from authority.server import RunningAuthority
from nearmiss.identity import Party
from nearmiss.v1 import authority_pb2
from node.cli import app as node_cli
from node.config import NodeConfig
from node.inbox import AlertInbox
from node.service import RunningNode
from node.store import NodeStore
from tests.integration.network import make_network
from tests.integration.node_process import configure_node
from tests.unit.node.fakes import make_alert

pytestmark = pytest.mark.integration


class ScriptedFeed:
    """Serves ``alerts`` after the resume cursor; connection n ends after ``drops[n]``
    alerts (then the node must reconnect); the last one stays open and serves alerts
    added later, live."""

    def __init__(self, alerts: list[authority_pb2.Alert], drops: list[int]):
        self.alerts = list(alerts)
        self.drops = list(drops)
        self.requests: list[tuple[str, int]] = []
        self.acks: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def add(self, alert: authority_pb2.Alert) -> None:
        with self.lock:
            self.alerts.append(alert)

    def subscribe(
        self, party: Party, resume_after_cursor: int, is_active: Callable[[], bool]
    ) -> Iterator[authority_pb2.Alert]:
        self.requests.append((party.party_id, resume_after_cursor))
        limit = self.drops.pop(0) if self.drops else None
        last, sent = resume_after_cursor, 0
        while is_active():
            with self.lock:
                fresh = [a for a in self.alerts if a.cursor > last]
            for alert in fresh:
                if limit is not None and sent == limit:
                    return
                yield alert
                last, sent = alert.cursor, sent + 1
            if limit is not None and sent == limit:
                return
            time.sleep(0.05)

    def acknowledge(self, party: Party, alert_id: str) -> authority_pb2.AckAlertResponse:
        self.acks.append((party.party_id, alert_id))
        response = authority_pb2.AckAlertResponse()
        response.acknowledged_at.FromDatetime(datetime(2026, 11, 22, 13, 0, tzinfo=UTC))
        return response


def _wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_alert_stream_resumes_without_gaps_or_duplicates(tmp_path: Path) -> None:
    network = make_network(tmp_path / "net", labs=("lab-aurora",))
    feed = ScriptedFeed([make_alert(c) for c in (1, 2, 4, 7, 8)], drops=[2, 1])
    authority_app = AuthorityApp.from_config(AuthorityConfig.load(network.authority_config_path()))
    authority_app.alerts = feed
    authority = RunningAuthority(authority_app)
    authority.start()
    config_path = configure_node(
        network,
        "lab-aurora",
        listen="",
        extra="[outbox]\nretry_initial_s = 0.05\nretry_max_s = 0.2\n\n"
        '[alerts]\ndirectory = "alert-files"\n',
    )
    try:
        node = RunningNode(NodeConfig.load(config_path))
        node.start()
        try:
            inbox = AlertInbox(node.store)
            _wait_for(lambda: inbox.cursor() == 8)
            feed.add(make_alert(11, title="A live alert"))
            _wait_for(lambda: inbox.cursor() == 11)
        finally:
            node.stop()
        # Acknowledge through the CLI: it reaches the authority and is recorded here.
        acked = CliRunner().invoke(node_cli, ["ack", "alert-0004", "-c", str(config_path)])
        listed = CliRunner().invoke(
            node_cli, ["alerts", "-c", str(config_path), "--unacknowledged"],
            env={"COLUMNS": "200"},
        )
    finally:
        authority.stop()

    assert [party for party, _ in feed.requests] == ["lab-aurora"] * 3
    assert [cursor for _, cursor in feed.requests] == [0, 2, 4]
    with NodeStore(NodeConfig.load(config_path).database_path) as store:
        assert [a.alert.cursor for a in AlertInbox(store).recent()] == [11, 8, 7, 4, 2, 1]
    files = sorted((config_path.parent / "alert-files").iterdir())
    assert len(files) == 6 and files[-1].name.startswith("00000000000000000011-alert-0011")
    assert json.loads(files[-1].read_text())["title"] == "A live alert"
    assert acked.exit_code == 0, acked.output
    assert feed.acks == [("lab-aurora", "alert-0004")]
    assert "alert-0004" not in listed.output and "alert-0011" in listed.output
