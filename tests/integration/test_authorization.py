"""Authorization, revocation, anti-replay, skew, rate and size limits against a real
authority process over mutual TLS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives import serialization

from authority.config import AuthorityConfig
from nearmiss.config import TlsFiles
from nearmiss.devnet import DevNetwork
from nearmiss.identity import Role
from nearmiss.pki import CertificateAuthority, certificate_serial
from nearmiss.reportfile import load_report
from nearmiss.signed_report import sign_report
from nearmiss.signing import SigningKey
from nearmiss.v1 import authority_pb2
from node.client import GrpcAuthorityClient
from node.config import NodeConfig
from node.signer import prepare_for_sending
from tests.conftest import EXAMPLES
from tests.integration.network import AuthorityProcess, make_network, start_authority

pytestmark = pytest.mark.integration
EXAMPLE = EXAMPLES / "nm-agent-oversight-tampering.yaml"


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> DevNetwork:
    network = make_network(tmp_path_factory.mktemp("authz") / "net")
    config = network.authority_config_path()
    config.write_text(
        config.read_text() + "\n[limits]\nrequests_per_second = 2.0\nburst = 30\n"
        "max_message_bytes = 65536\n"
    )
    return network


@pytest.fixture(scope="module")
def authority(
    net: DevNetwork, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AuthorityProcess]:
    process = start_authority(
        net.authority_config_path(), tmp_path_factory.mktemp("logs") / "authority.log"
    )
    yield process
    process.stop()


def party_tls(net: DevNetwork, party: str) -> TlsFiles:
    return TlsFiles(
        ca_certificate=net.directory / "ca" / "ca.pem",
        certificate=net.directory / party / "tls.pem",
        private_key=net.directory / party / "tls.key",
    )


def lab(net: DevNetwork, lab_id: str, address: str) -> tuple[GrpcAuthorityClient, SigningKey]:
    config = NodeConfig.load(net.node_config_path(lab_id))
    return (
        GrpcAuthorityClient.connect(address, config.tls),
        SigningKey.from_file(config.signing_key_path),
    )


def code_of(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call()  # type: ignore[operator]
    return caught.value.code()  # type: ignore[no-any-return]


def test_roles_are_enforced_per_rpc(net: DevNetwork, authority: AuthorityProcess) -> None:
    report = prepare_for_sending(load_report(EXAMPLE), lab_id="lab-aurora")
    signed = sign_report(report, SigningKey.from_file(net.directory / "lab-aurora" / "signing.key"))
    request = authority_pb2.SubmitReportRequest(signed_report=signed)
    for party in ("analyst", "auditor"):
        with GrpcAuthorityClient.connect(authority.address, party_tls(net, party)) as client:
            with pytest.raises(grpc.RpcError) as caught:
                client.stub.SubmitReport(request, timeout=10)
            assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "may not call SubmitReport" in (caught.value.details() or "")
            # Everyone may read the log.
            head = client.stub.GetTreeHead(authority_pb2.GetTreeHeadRequest(), timeout=10)
            assert head.signature


def test_a_lab_reads_only_its_own_receipts(net: DevNetwork, authority: AuthorityProcess) -> None:
    aurora, key = lab(net, "lab-aurora", authority.address)
    borealis, _ = lab(net, "lab-borealis", authority.address)
    report = prepare_for_sending(load_report(EXAMPLE), lab_id="lab-aurora")
    with aurora, borealis:
        aurora.submit(sign_report(report, key))
        assert aurora.get_receipt(report.report_id).statement.report_id == report.report_id
        with pytest.raises(grpc.RpcError) as caught:
            borealis.stub.GetReceipt(
                authority_pb2.GetReceiptRequest(report_id=report.report_id), timeout=10
            )
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_signature_over_another_lab_id_is_refused(
    net: DevNetwork, authority: AuthorityProcess
) -> None:
    borealis, borealis_key = lab(net, "lab-borealis", authority.address)
    report = load_report(EXAMPLE)  # names lab-aurora
    stamped = report.model_copy(update={"reported_at": datetime.now(UTC).replace(microsecond=0)})
    with borealis, pytest.raises(grpc.RpcError) as caught:
        borealis.stub.SubmitReport(
            authority_pb2.SubmitReportRequest(signed_report=sign_report(stamped, borealis_key)),
            timeout=10,
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "names lab lab-aurora" in (caught.value.details() or "")


@pytest.mark.parametrize(
    ("shift", "reason"),
    [(timedelta(hours=1), "in the future"), (timedelta(days=-45), "days old")],
)
def test_timestamps_outside_the_skew_window_are_refused(
    net: DevNetwork, authority: AuthorityProcess, shift: timedelta, reason: str
) -> None:
    aurora, key = lab(net, "lab-aurora", authority.address)
    report = load_report(EXAMPLE)
    moved = (datetime.now(UTC) + shift).replace(microsecond=0)
    stamped = report.model_copy(
        update={
            "report_id": "11111111-2222-4333-8444-555555555555",
            "reported_at": moved,
            "detected_at": min(report.detected_at, moved),
            "occurred_at": min(report.detected_at, moved),
        }
    )
    with aurora, pytest.raises(grpc.RpcError) as caught:
        aurora.stub.SubmitReport(
            authority_pb2.SubmitReportRequest(signed_report=sign_report(stamped, key)), timeout=10
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason in (caught.value.details() or "")


def test_oversized_message_is_refused(net: DevNetwork, authority: AuthorityProcess) -> None:
    aurora, _ = lab(net, "lab-aurora", authority.address)
    request = authority_pb2.SubmitReportRequest()
    request.signed_report.canonical_report = b"x" * 100_000
    with aurora, pytest.raises(grpc.RpcError) as caught:
        aurora.stub.SubmitReport(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_unknown_party_from_our_ca_is_refused(
    net: DevNetwork, authority: AuthorityProcess, tmp_path: Path
) -> None:
    ca = CertificateAuthority.load(net.directory / "ca")
    certificate, key = ca.issue("lab-unlisted", Role.LAB)
    (tmp_path / "tls.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "tls.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    tls = TlsFiles(net.directory / "ca" / "ca.pem", tmp_path / "tls.pem", tmp_path / "tls.key")
    with (
        GrpcAuthorityClient.connect(authority.address, tls) as client,
        pytest.raises(grpc.RpcError) as caught,
    ):
        client.stub.GetTreeHead(authority_pb2.GetTreeHeadRequest(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "not a party of this authority" in (caught.value.details() or "")


def test_rate_limit_answers_resource_exhausted(
    net: DevNetwork, authority: AuthorityProcess
) -> None:
    with GrpcAuthorityClient.connect(authority.address, party_tls(net, "auditor")) as client:
        codes = []
        for _ in range(60):
            try:
                client.stub.GetTreeHead(authority_pb2.GetTreeHeadRequest(), timeout=10)
                codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as error:
                codes.append(error.code())
    assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}


def test_revocation_takes_effect_without_restart(
    net: DevNetwork, authority: AuthorityProcess
) -> None:
    """Runs last in this module: it revokes lab-cygnus for good."""
    cygnus, _ = lab(net, "lab-cygnus", authority.address)
    config = AuthorityConfig.load(net.authority_config_path())
    assert config.revoked_serials_file is not None
    with cygnus:
        cygnus.stub.GetTreeHead(authority_pb2.GetTreeHeadRequest(), timeout=10)
        serial = certificate_serial(net.directory / "lab-cygnus" / "tls.pem")
        with config.revoked_serials_file.open("a") as handle:
            handle.write(f"{serial:x}  # lab-cygnus key compromised\n")
        with pytest.raises(grpc.RpcError) as caught:
            cygnus.stub.GetTreeHead(authority_pb2.GetTreeHeadRequest(), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "revoked" in (caught.value.details() or "")
    assert authority.is_running()
    assert '"reason": "the certificate of lab lab-cygnus' in authority.output()
