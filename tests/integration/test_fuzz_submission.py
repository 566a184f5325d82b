"""Bounded fuzzing of the submission RPCs on a live authority: random bytes, mutated
messages and random field values. The server must stay up, refuse with a meaningful
status (never UNKNOWN or INTERNAL), and store a row only for a report it accepted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from authority.config import AuthorityConfig
from nearmiss.canonical import report_to_proto
from nearmiss.devnet import DevNetwork
from nearmiss.reportfile import load_report
from nearmiss.signed_report import sign_report
from nearmiss.signing import SigningContext, SigningKey
from nearmiss.v1 import authority_pb2, report_pb2
from node.client import GrpcAuthorityClient
from node.config import NodeConfig
from node.signer import prepare_for_sending
from tests.conftest import EXAMPLES
from tests.integration.network import AuthorityProcess, make_network, start_authority

pytestmark = pytest.mark.integration

ALLOWED = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
SUBMIT = "/nearmiss.v1.AuthorityService/SubmitReport"


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> DevNetwork:
    return make_network(tmp_path_factory.mktemp("fuzz") / "net")


@pytest.fixture(scope="module")
def authority(
    net: DevNetwork, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AuthorityProcess]:
    process = start_authority(
        net.authority_config_path(), tmp_path_factory.mktemp("logs") / "authority.log"
    )
    yield process
    process.stop()


@pytest.fixture(scope="module")
def client(net: DevNetwork, authority: AuthorityProcess) -> Iterator[GrpcAuthorityClient]:
    config = NodeConfig.load(net.node_config_path("lab-aurora"))
    with GrpcAuthorityClient.connect(authority.address, config.tls) as connected:
        yield connected


@pytest.fixture(scope="module")
def key(net: DevNetwork) -> SigningKey:
    return SigningKey.from_file(net.directory / "lab-aurora" / "signing.key")


class Outcomes:
    def __init__(self) -> None:
        self.accepted: set[str] = set()

    def call(self, client: GrpcAuthorityClient, payload: bytes) -> None:
        raw = client._channel.unary_unary(
            SUBMIT, request_serializer=None, response_deserializer=None
        )
        try:
            response = authority_pb2.Receipt.FromString(raw(payload, timeout=10))
            self.accepted.add(response.statement.report_id)
        except grpc.RpcError as error:
            assert error.code() in ALLOWED, (error.code(), error.details())
            assert "Traceback" not in (error.details() or "")


@pytest.fixture(scope="module")
def outcomes() -> Outcomes:
    return Outcomes()


FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(payload=st.binary(max_size=2048))
def test_random_bytes(client: GrpcAuthorityClient, outcomes: Outcomes, payload: bytes) -> None:
    outcomes.call(client, payload)


def _valid_signed(key: SigningKey) -> report_pb2.SignedReport:
    report = prepare_for_sending(
        load_report(EXAMPLES / "nm-agent-oversight-tampering.yaml"), lab_id="lab-aurora"
    )
    return sign_report(report, key)


@FUZZ
@given(data=st.data())
def test_mutated_messages(
    client: GrpcAuthorityClient, outcomes: Outcomes, key: SigningKey, data: st.DataObject
) -> None:
    payload = bytearray(
        authority_pb2.SubmitReportRequest(signed_report=_valid_signed(key)).SerializeToString()
    )
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(payload) - 1))
        action = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        if action == "flip":
            payload[position] ^= data.draw(st.integers(1, 255))
        elif action == "delete":
            del payload[position]
        else:
            payload.insert(position, data.draw(st.integers(0, 255)))
    outcomes.call(client, bytes(payload))


@FUZZ
@given(
    severity=st.integers(0, 2**32 - 1),
    kind=st.integers(0, 50),
    domains=st.lists(st.integers(0, 50), max_size=5),
    title=st.text(max_size=400),
    report_id=st.one_of(st.uuids().map(str), st.text(max_size=40)),
    lab_id=st.sampled_from(["lab-aurora", "lab-borealis", "", "LAB AURORA"]),
    seconds=st.integers(-(2**40), 2**40),
)
def test_random_field_values_correctly_signed(
    client: GrpcAuthorityClient,
    outcomes: Outcomes,
    key: SigningKey,
    severity: int,
    kind: int,
    domains: list[int],
    title: str,
    report_id: str,
    lab_id: str,
    seconds: int,
) -> None:
    message = report_to_proto(
        prepare_for_sending(
            load_report(EXAMPLES / "nm-agent-oversight-tampering.yaml"), lab_id="lab-aurora"
        )
    )
    message.severity = severity
    message.kind = kind  # type: ignore[assignment]
    del message.harm_domains[:]
    message.harm_domains.extend(domains)  # type: ignore[arg-type]
    message.title = title
    message.report_id = report_id
    message.lab_id = lab_id
    message.detected_at.seconds = max(min(seconds, 253402300799), -62135596800)
    data = message.SerializeToString(deterministic=True)
    signed = report_pb2.SignedReport(
        canonical_report=data,
        signature=key.sign(SigningContext.REPORT, data),
        signing_key_id=key.key_id,
    )
    outcomes.call(
        client, authority_pb2.SubmitReportRequest(signed_report=signed).SerializeToString()
    )


def test_after_fuzzing_only_accepted_reports_are_stored(
    net: DevNetwork, authority: AuthorityProcess, outcomes: Outcomes, tmp_path: Path
) -> None:
    assert authority.is_running()
    engine = create_engine(AuthorityConfig.load(net.authority_config_path()).database_url)
    with engine.connect() as connection:
        stored = {row[0] for row in connection.execute(text("SELECT report_id FROM nm_report"))}
    engine.dispose()
    assert stored == outcomes.accepted
    assert "Traceback" not in authority.output()
