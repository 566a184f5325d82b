"""The local API over a real gRPC server on a unix socket: same checks as the CLI,
INVALID_ARGUMENT naming the field, a private socket, status figures."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from nearmiss.canonical import report_to_proto
from nearmiss.model import IncidentReport
from nearmiss.signing import SigningKey
from nearmiss.v1 import node_pb2, node_pb2_grpc
from node.filing import Filer
from node.local_api import LocalApiServer, NodeApiServicer
from node.outbox import Outbox
from node.redact_report import ReportRedactor
from node.status import read_status
from node.store import NodeStore
from tests.unit.node.conftest import EXAMPLE, LAB


@pytest.fixture
def api(
    tmp_path: Path, store: NodeStore, lab_key: SigningKey, redactor: ReportRedactor
) -> Iterator[tuple[node_pb2_grpc.NodeServiceStub, Path]]:
    filer = Filer(lab_id=LAB, signing_key=lab_key, outbox=Outbox(store), redactor=lambda: redactor)
    servicer = NodeApiServicer(filer=filer, status=lambda: read_status(store))
    socket_file = tmp_path / "run" / "node.sock"
    server = LocalApiServer(servicer, f"unix:{socket_file}", socket_mode=0o600)
    channel = grpc.insecure_channel(server.address)
    try:
        yield node_pb2_grpc.NodeServiceStub(channel), socket_file
    finally:
        channel.close()
        server.stop(0)


def test_socket_is_owner_only(api: tuple[node_pb2_grpc.NodeServiceStub, Path]) -> None:
    _, socket_file = api
    assert stat.S_ISSOCK(socket_file.stat().st_mode)
    assert stat.S_IMODE(socket_file.stat().st_mode) == 0o600


def test_file_document_then_message_is_idempotent(
    api: tuple[node_pb2_grpc.NodeServiceStub, Path], report: IncidentReport, store: NodeStore
) -> None:
    stub, _ = api
    first = stub.FileReport(
        node_pb2.FileReportRequest(report_document=EXAMPLE.read_bytes(), source_name="a.yaml"),
        timeout=10,
    )
    assert first.report_id == report.report_id and not first.already_queued
    assert first.state == "pending" and first.sections_withheld == 1
    assert dict(first.redaction_counts) == {"CONFIDENTIAL": 1, "PERSON": 1, "EMAIL": 1}
    again = stub.FileReport(
        node_pb2.FileReportRequest(report=report_to_proto(report)), timeout=10
    )
    assert again.already_queued and again.report_id == report.report_id
    status = stub.GetNodeStatus(node_pb2.GetNodeStatusRequest(), timeout=10)
    assert status.outbox_depth == 1 and status.receipts_held == 0
    assert status.HasField("oldest_pending_at")


def test_bad_input_is_invalid_argument_naming_the_field_and_queues_nothing(
    api: tuple[node_pb2_grpc.NodeServiceStub, Path], report: IncidentReport, store: NodeStore
) -> None:
    stub, _ = api
    cases = [
        (b"severity: [\n", "ticket.yaml", "not valid YAML"),
        (b"\xff\xfe", "ticket.yaml", "not valid UTF-8"),
        (EXAMPLE.read_bytes().replace(b"severity: 2", b"severity: two"), "t.yaml", "severity"),
        (EXAMPLE.read_bytes().replace(b"kind:", b"kinds:"), "t.yaml", "kinds"),
        (EXAMPLE.read_bytes().replace(b"lab-aurora\n", b"lab-borealis\n", 1), "t.yaml", "lab_id"),
    ]
    for document, source, expected in cases:
        with pytest.raises(grpc.RpcError) as caught:
            stub.FileReport(
                node_pb2.FileReportRequest(report_document=document, source_name=source),
                timeout=10,
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        details = caught.value.details() or ""
        assert expected in details and source in details
    with pytest.raises(grpc.RpcError) as empty:
        stub.FileReport(node_pb2.FileReportRequest(), timeout=10)
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "input" in (empty.value.details() or "")
    changed = report_to_proto(report.model_copy(update={"severity": 4}))
    stub.FileReport(node_pb2.FileReportRequest(report=report_to_proto(report)), timeout=10)
    with pytest.raises(grpc.RpcError) as conflict:
        stub.FileReport(node_pb2.FileReportRequest(report=changed), timeout=10)
    assert conflict.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert report.report_id in (conflict.value.details() or "")
    with store.read() as db:
        assert db.scalar("SELECT COUNT(*) FROM reports") == 1
