"""A signed report travels lab -> authority over mutual TLS, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import create_engine, text

from authority.config import AuthorityConfig
from nearmiss.config import TlsFiles
from nearmiss.devnet import DevNetwork
from nearmiss.errors import AuthenticationError, ConflictError, ReportInvalidError
from nearmiss.reportfile import load_report
from nearmiss.signed_report import sign_report
from nearmiss.signing import SigningKey
from nearmiss.v1 import authority_pb2, authority_pb2_grpc
from node.client import GrpcAuthorityClient
from node.config import NodeConfig
from node.signer import prepare_for_sending
from tests.conftest import EXAMPLES
from tests.integration.network import AuthorityProcess, make_network, run_cli

pytestmark = pytest.mark.integration

AURORA_EXAMPLE = EXAMPLES / "nm-agent-oversight-tampering.yaml"


def stored_report_ids(network: DevNetwork) -> list[str]:
    config = AuthorityConfig.load(network.authority_config_path())
    engine = create_engine(config.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT report_id FROM nm_report ORDER BY log_index"))
            return [row[0] for row in rows]
    finally:
        engine.dispose()


def lab_client(
    network: DevNetwork, lab: str, address: str
) -> tuple[GrpcAuthorityClient, SigningKey]:
    config = NodeConfig.load(network.node_config_path(lab))
    return (
        GrpcAuthorityClient.connect(address, config.tls),
        SigningKey.from_file(config.signing_key_path),
    )


def assert_healthy(network: DevNetwork, address: str) -> None:
    config = NodeConfig.load(network.node_config_path("lab-aurora"))
    with GrpcAuthorityClient.connect(address, config.tls) as client:
        health = health_pb2_grpc.HealthStub(client._channel)
        status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10).status
        assert status == health_pb2.HealthCheckResponse.SERVING


def stored_heads(network: DevNetwork) -> list[tuple[int, bytes]]:
    config = AuthorityConfig.load(network.authority_config_path())
    engine = create_engine(config.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT tree_size, signature FROM nm_log_tree_head ORDER BY id")
            )
            return [(int(row[0]), bytes(row[1])) for row in rows]
    finally:
        engine.dispose()


def test_a_tree_head_handed_to_a_reader_is_stored(
    network: DevNetwork, authority: AuthorityProcess
) -> None:
    # A new log has no head: the first reader's call signs one. A head is handed out only
    # once stored, so the second reader gets the same head, not a newer signature.
    client, _ = lab_client(network, "lab-aurora", authority.address)
    with client:
        first = client.stub.GetTreeHead(authority_pb2.GetTreeHeadRequest(), timeout=10)
        time.sleep(0.01)  # a second signature would carry a later timestamp
        second = client.stub.GetTreeHead(authority_pb2.GetTreeHeadRequest(), timeout=10)
    assert first.tree_size == 0 and second == first
    assert stored_heads(network) == [(0, first.signature)]


def test_cli_submit_stores_report_and_prints_verified_receipt(
    network: DevNetwork, authority: AuthorityProcess
) -> None:
    result = run_cli(
        "node",
        "submit",
        str(AURORA_EXAMPLE),
        "--config",
        str(network.node_config_path("lab-aurora")),
    )
    assert result.returncode == 0, result.stderr
    assert "receipt (verified)" in result.stdout
    report = load_report(AURORA_EXAMPLE)
    assert stored_report_ids(network) == [report.report_id]


def test_same_bytes_same_receipt_other_bytes_conflict(
    network: DevNetwork, authority: AuthorityProcess
) -> None:
    client, key = lab_client(network, "lab-aurora", authority.address)
    report = prepare_for_sending(load_report(AURORA_EXAMPLE), lab_id="lab-aurora")
    signed = sign_report(report, key)
    with client:
        first = client.submit(signed)
        again = client.submit(signed)
        assert not first.already_stored and again.already_stored
        assert again.statement == first.statement
        assert again.statement_signature == first.statement_signature
        changed = sign_report(report.model_copy(update={"title": "Another title"}), key)
        with pytest.raises(ConflictError, match="already stored with different content"):
            client.submit(changed)
    assert stored_report_ids(network) == [report.report_id]


def test_streaming_submission_judges_each_report(
    network: DevNetwork, authority: AuthorityProcess
) -> None:
    client, key = lab_client(network, "lab-borealis", authority.address)
    reports = [
        prepare_for_sending(load_report(path), lab_id="lab-borealis")
        for path in sorted(EXAMPLES.glob("*.yaml"))
        if load_report(path).lab_id == "lab-borealis"
    ]
    good = [sign_report(r, key) for r in reports]
    forged = sign_report(
        reports[0].model_copy(update={"report_id": "00000000-0000-4000-8000-000000000001"}),
        SigningKey.generate(),
    )
    with client:
        results = client.submit_many([*good, forged])
    assert [r.WhichOneof("outcome") for r in results] == ["receipt"] * len(good) + ["error"]
    assert results[-1].error.code == grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert sorted(stored_report_ids(network)) == sorted(r.report_id for r in reports)


def test_refusals_store_nothing_and_server_stays_healthy(
    network: DevNetwork, authority: AuthorityProcess, tmp_path: Path
) -> None:
    report = prepare_for_sending(load_report(AURORA_EXAMPLE), lab_id="lab-aurora")
    aurora = NodeConfig.load(network.node_config_path("lab-aurora"))

    # 1. No client certificate: the TLS handshake is refused.
    ca = aurora.tls.ca_certificate.read_bytes()
    channel = grpc.secure_channel(
        authority.address,
        grpc.ssl_channel_credentials(root_certificates=ca),
        options=[("grpc.ssl_target_name_override", "localhost")],
    )
    stub = authority_pb2_grpc.AuthorityServiceStub(channel)
    signed = sign_report(report, SigningKey.from_file(aurora.signing_key_path))
    with pytest.raises(grpc.RpcError) as caught:
        stub.SubmitReport(authority_pb2.SubmitReportRequest(signed_report=signed), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    channel.close()

    # 2. A certificate from another CA: refused in the handshake as well.
    stranger = make_network(tmp_path / "stranger", labs=("lab-aurora",))
    stranger_config = NodeConfig.load(stranger.node_config_path("lab-aurora"))
    foreign_tls = TlsFiles(
        ca_certificate=aurora.tls.ca_certificate,
        certificate=stranger_config.tls.certificate,
        private_key=stranger_config.tls.private_key,
    )
    with GrpcAuthorityClient.connect(authority.address, foreign_tls) as client:
        with pytest.raises(Exception) as refused:
            client.submit(signed)
        assert (
            "UNAVAILABLE" in str(refused.value)
            or type(refused.value).__name__ == "UnavailableError"
        )

    # 3. A bad signature (signed by a key that is not the lab's).
    client, _ = lab_client(network, "lab-aurora", authority.address)
    with client:
        with pytest.raises(AuthenticationError, match="signed with key"):
            client.submit(sign_report(report, SigningKey.generate()))
        # 4. A malformed report: bytes that are not a report.
        bad = authority_pb2.SubmitReportRequest()
        bad.signed_report.canonical_report = b"\x01\x02garbage"
        bad.signed_report.signing_key_id = signed.signing_key_id
        bad.signed_report.signature = SigningKey.from_file(aurora.signing_key_path).sign(
            __import__("nearmiss.signing", fromlist=["SigningContext"]).SigningContext.REPORT,
            b"\x01\x02garbage",
        )
        with pytest.raises(grpc.RpcError) as malformed:
            client.stub.SubmitReport(bad, timeout=10)
        assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "canonical_report" in (malformed.value.details() or "")
        # 5. A report naming another lab, filed over aurora's connection.
        borealis_key = SigningKey.from_file(
            NodeConfig.load(network.node_config_path("lab-borealis")).signing_key_path
        )
        with pytest.raises(AuthenticationError):
            client.submit(
                sign_report(report.model_copy(update={"lab_id": "lab-borealis"}), borealis_key)
            )
        # 6. A report with no signed_report at all.
        with pytest.raises(grpc.RpcError) as empty:
            client.stub.SubmitReport(authority_pb2.SubmitReportRequest(), timeout=10)
        assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    assert stored_report_ids(network) == []
    assert authority.is_running()
    assert_healthy(network, authority.address)
    assert '"event": "refused"' in authority.output()
    assert report.title not in authority.output()


def test_cli_errors_name_file_field_reason(network: DevNetwork, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    shutil.copy(AURORA_EXAMPLE, bad)
    bad.write_text(bad.read_text().replace("severity: 2", "severity: 9"))
    result = run_cli(
        "node", "submit", str(bad), "--config", str(network.node_config_path("lab-aurora"))
    )
    assert result.returncode == 2
    assert (
        "bad.yaml" in result.stderr
        and "severity" in result.stderr
        and "less than or equal to 5" in result.stderr
    )
    wrong_lab = run_cli(
        "node",
        "submit",
        str(AURORA_EXAMPLE),
        "--config",
        str(network.node_config_path("lab-borealis")),
    )
    assert wrong_lab.returncode == 2 and "lab_id" in wrong_lab.stderr


def test_report_invalid_error_is_not_raised_for_valid_examples() -> None:
    for path in EXAMPLES.glob("*.yaml"):
        try:
            load_report(path)
        except ReportInvalidError as error:  # pragma: no cover - shows which example broke
            pytest.fail(str(error))
