"""The node's connection to its authority: mutual TLS, deadlines, our errors.

Rules: every call has a deadline; a gRPC status comes back as one of our errors
(nearmiss.rpc_errors.error_for) so callers never handle grpc.RpcError; UNAVAILABLE and
DEADLINE_EXCEEDED mean "retry later" (the outbox keeps the report). The alert stream is
the one call without a deadline; keepalive pings find a dead connection instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import grpc

from nearmiss.config import TlsFiles
from nearmiss.rpc_errors import error_for
from nearmiss.v1 import authority_pb2, authority_pb2_grpc, log_pb2, report_pb2

DEFAULT_DEADLINE_S = 15.0


class AuthorityApi(Protocol):
    """What the node needs from an authority; a fake implements it in unit tests."""

    def submit(self, signed: report_pb2.SignedReport) -> authority_pb2.Receipt: ...

    def submit_many(
        self, signed: Iterable[report_pb2.SignedReport]
    ) -> list[authority_pb2.SubmitResult]: ...

    def tree_head(self) -> log_pb2.SignedTreeHead: ...


class AlertStream(Protocol):
    """An open SubscribeAlerts stream; ``cancel`` ends it from another thread."""

    def __iter__(self) -> Iterator[authority_pb2.Alert]: ...

    def cancel(self) -> None: ...


class AlertApi(Protocol):
    """What the alert inbox needs from an authority."""

    def subscribe_alerts(self, resume_after_cursor: int) -> AlertStream: ...

    def ack_alert(self, alert_id: str) -> authority_pb2.AckAlertResponse: ...

    def close(self) -> None: ...


class _AlertCall:
    """A server-streaming call whose failures surface as our errors; a cancel we asked
    for ends the iteration quietly."""

    def __init__(self, call: Any):
        self._call = call
        self._cancelled = False

    def __iter__(self) -> Iterator[authority_pb2.Alert]:
        try:
            yield from self._call
        except grpc.RpcError as error:
            if self._cancelled and error.code() == grpc.StatusCode.CANCELLED:
                return
            raise error_for(error.code(), error.details() or "") from None

    def cancel(self) -> None:
        self._cancelled = True
        self._call.cancel()


def secure_channel(
    address: str, tls: TlsFiles, *, server_name: str = "localhost"
) -> grpc.Channel:
    ca, certificate, key = tls.read()
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=certificate
    )
    return grpc.secure_channel(
        address,
        credentials,
        options=[
            ("grpc.ssl_target_name_override", server_name),
            ("grpc.max_receive_message_length", 16 * 1024 * 1024),
            ("grpc.enable_retries", 0),
            # Long-lived alert streams: notice a dead connection within a minute.
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
        ],
    )


class GrpcAuthorityClient:
    def __init__(self, channel: grpc.Channel, *, deadline_s: float = DEFAULT_DEADLINE_S):
        """Owns ``channel`` (closes it on ``close``)."""
        self._channel = channel
        self._stub = authority_pb2_grpc.AuthorityServiceStub(channel)
        self._deadline_s = deadline_s

    @classmethod
    def connect(
        cls,
        address: str,
        tls: TlsFiles,
        *,
        server_name: str = "localhost",
        deadline_s: float = DEFAULT_DEADLINE_S,
    ) -> GrpcAuthorityClient:
        return cls(secure_channel(address, tls, server_name=server_name), deadline_s=deadline_s)

    @property
    def stub(self) -> authority_pb2_grpc.AuthorityServiceStub:
        return self._stub

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> GrpcAuthorityClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def submit(self, signed: report_pb2.SignedReport) -> authority_pb2.Receipt:
        try:
            receipt: authority_pb2.Receipt = self._stub.SubmitReport(
                authority_pb2.SubmitReportRequest(signed_report=signed), timeout=self._deadline_s
            )
            return receipt
        except grpc.RpcError as error:
            raise error_for(error.code(), error.details() or "") from None

    def submit_many(
        self, signed: Iterable[report_pb2.SignedReport]
    ) -> list[authority_pb2.SubmitResult]:
        requests: Iterator[authority_pb2.SubmitReportRequest] = (
            authority_pb2.SubmitReportRequest(signed_report=item) for item in signed
        )
        try:
            response = self._stub.SubmitReports(requests, timeout=self._deadline_s * 4)
        except grpc.RpcError as error:
            raise error_for(error.code(), error.details() or "") from None
        return list(response.results)

    def get_receipt(self, report_id: str) -> authority_pb2.Receipt:
        try:
            receipt: authority_pb2.Receipt = self._stub.GetReceipt(
                authority_pb2.GetReceiptRequest(report_id=report_id), timeout=self._deadline_s
            )
            return receipt
        except grpc.RpcError as error:
            raise error_for(error.code(), error.details() or "") from None

    def subscribe_alerts(self, resume_after_cursor: int) -> AlertStream:
        """Alerts after ``resume_after_cursor``, then live; no deadline (it stays open)."""
        call = self._stub.SubscribeAlerts(
            authority_pb2.SubscribeAlertsRequest(resume_after_cursor=resume_after_cursor)
        )
        return _AlertCall(call)

    def ack_alert(self, alert_id: str) -> authority_pb2.AckAlertResponse:
        try:
            response: authority_pb2.AckAlertResponse = self._stub.AckAlert(
                authority_pb2.AckAlertRequest(alert_id=alert_id), timeout=self._deadline_s
            )
            return response
        except grpc.RpcError as error:
            raise error_for(error.code(), error.details() or "") from None

    def tree_head(self) -> log_pb2.SignedTreeHead:
        try:
            head: log_pb2.SignedTreeHead = self._stub.GetTreeHead(
                authority_pb2.GetTreeHeadRequest(), timeout=self._deadline_s
            )
            return head
        except grpc.RpcError as error:
            raise error_for(error.code(), error.details() or "") from None
