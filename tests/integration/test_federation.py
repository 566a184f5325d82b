"""Three institutes, three separate PKIs, federated on loopback over mutual TLS.

uk-aisi runs as a real authority process that goes down and comes back; eu-ai-office
and us-caisi run in this process so the test can raise alerts through the alert
service's entry point (what case linking calls). Everything between them crosses real
sockets with pinned CAs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from authority.alerts import alert_service_of
from authority.config import AuthorityConfig
from authority.server import RunningAuthority, build
from nearmiss.v1 import authority_pb2, authority_pb2_grpc, federation_pb2, federation_pb2_grpc
from tests.integration.federation_net import Institute, federate, make_institute
from tests.integration.network import AuthorityProcess, run_cli, start_authority
from tests.unit.alerts.support import file_report, make_report, snapshot

# Alerts are raised through the alert service's entry point here, so case linking (and
# its model) stays off; benchmarks/alerts runs the whole path with it on.
QUIET = """
[dedup]
enabled = false

[dashboard]
enabled = false

[disclosure]
enabled = false
"""
WAIT_S = 30.0


def wait_for(what: str, check: Callable[[], bool], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def analyst_channel(institute: Institute, address: str) -> grpc.Channel:
    directory = institute.network.directory
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(directory / "ca" / "ca.pem").read_bytes(),
        private_key=(directory / "analyst" / "tls.key").read_bytes(),
        certificate_chain=(directory / "analyst" / "tls.pem").read_bytes(),
    )
    return grpc.secure_channel(address, credentials)


def alerts_seen(institute: Institute, address: str, count: int) -> list[authority_pb2.Alert]:
    """Subscribe from the start as the institute's analyst; read ``count`` alerts."""
    with analyst_channel(institute, address) as channel:
        stub = authority_pb2_grpc.AuthorityServiceStub(channel)
        stream = stub.SubscribeAlerts(
            authority_pb2.SubscribeAlertsRequest(resume_after_cursor=0), timeout=WAIT_S
        )
        seen = []
        for alert in stream:
            seen.append(alert)
            if len(seen) == count:
                stream.cancel()
                break
        return seen


def peer_status(institute: Institute) -> dict[str, dict[str, object]]:
    result = run_cli("authority", "peers", "--config", str(institute.config_path), "--json")
    assert result.returncode == 0, result.stderr
    return {row["peer_id"]: row for row in json.loads(result.stdout)}


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[tuple[list[Institute], list[RunningAuthority]]]:
    eu, us, uk = (make_institute(tmp_path, i) for i in ("eu-ai-office", "us-caisi", "uk-aisi"))
    federate([eu, us, uk], extra_toml=QUIET)
    running = [build(AuthorityConfig.load(i.config_path)) for i in (eu, us)]
    for authority in running:
        authority.start()
    yield [eu, us, uk], running
    for authority in running:
        authority.stop()


def raise_case(institute: Institute, running: RunningAuthority, case_id: str) -> str:
    app = running.app
    reports = [make_report(lab) for lab in ("lab-aurora", "lab-borealis")]
    for report in reports:
        file_report(app, institute.network, report)
    (raised,) = alert_service_of(app).raise_for_case(snapshot(app, case_id, reports))
    assert set(raised.peers) == {"eu-ai-office", "us-caisi", "uk-aisi"} - {institute.authority_id}
    return raised.alert_id


def test_a_peer_down_for_a_while_receives_everything_once(federation, tmp_path: Path) -> None:
    (eu, us, uk), (eu_run, us_run) = federation
    uk_process: AuthorityProcess = start_authority(uk.config_path, tmp_path / "uk-1.log")
    try:
        first = raise_case(eu, eu_run, "eu-case-1")
        assert [a.alert_id for a in alerts_seen(uk, uk_process.address, 1)] == [first]
        assert [a.alert_id for a in alerts_seen(us, us_run.address, 1)] == [first]
    finally:
        uk_process.stop()

    # uk is down: alerts raised meanwhile wait in the senders' outboxes.
    second = raise_case(eu, eu_run, "eu-case-2")
    third = raise_case(us, us_run, "us-case-1")
    # eu's analyst sees eu's own two alerts and us's, which us delivered at once.
    assert {a.alert_id for a in alerts_seen(eu, eu_run.address, 3)} == {first, second, third}
    wait_for("eu to owe uk one alert", lambda: peer_status(eu)["uk-aisi"]["backlog"] == 1)
    assert peer_status(us)["uk-aisi"]["backlog"] == 1

    uk_process = start_authority(uk.config_path, tmp_path / "uk-2.log")
    try:
        wait_for("the backlogs to drain", lambda: peer_status(eu)["uk-aisi"]["backlog"] == 0)
        wait_for("us's backlog to drain", lambda: peer_status(us)["uk-aisi"]["backlog"] == 0)
        seen = alerts_seen(uk, uk_process.address, 3)
        assert sorted(a.alert_id for a in seen) == sorted([first, second, third])
        assert [a.cursor for a in seen] == [1, 2, 3]
        assert {a.origin_authority for a in seen} == {"eu-ai-office", "us-caisi"}
        listed = run_cli("authority", "alerts", "--config", str(uk.config_path), "--json")
        assert listed.returncode == 0, listed.stderr
        rows = json.loads(listed.stdout)
        assert sorted(row["alert_id"] for row in rows) == sorted([first, second, third])
        assert {row["received_from"] for row in rows} == {"eu-ai-office", "us-caisi"}
    finally:
        uk_process.stop()
    assert peer_status(eu)["uk-aisi"]["delivered"] == 2


def test_a_peer_whose_ca_is_not_pinned_is_refused(federation, tmp_path: Path) -> None:
    (eu, _us, _uk), (eu_run, _us_run) = federation
    stranger = make_institute(tmp_path, "jp-aisi")
    directory = stranger.network.directory
    credentials = grpc.ssl_channel_credentials(
        root_certificates=eu.ca_certificate.read_bytes(),
        private_key=(directory / "jp-aisi" / "tls.key").read_bytes(),
        certificate_chain=(directory / "jp-aisi" / "tls.pem").read_bytes(),
    )
    with grpc.secure_channel(eu.federation_address, credentials) as channel:
        stub = federation_pb2_grpc.FederationServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.PublishAggregate(federation_pb2.PublishAggregateRequest(), timeout=10)
    assert refused.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED)
    assert eu_run.app.config.authority_id == "eu-ai-office"
