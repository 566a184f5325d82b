"""The node's connection to its authority: mutual TLS, deadlines, our errors.

Rules: every call has a deadline; a gRPC status comes back as one of our errors
(nearmiss.rpc_errors.error_for) so callers never handle grpc.RpcError; UNAVAILABLE and
DEADLINE_EXCEEDED mean "retry later" (the outbox keeps the report).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

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
        ],
    )


class GrpcAuthorityClient:
    def __init__(self, channel: grpc.Channel, *, deadline_s: float = DEFAULT_DEADLINE_S):
        self._channel = channel
        self._stub = authority_pb2_grpc.AuthorityServiceStub(channel)
        self._deadline_s = deadline_s

    @classmethod
    def connect(
        cls, address: str, tls: TlsFiles, *, server_name: str = "localhost"
    ) -> GrpcAuthorityClient:
        return cls(secure_channel(address, tls, server_name=server_name))

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

    def tree_head(self) -> log_pb2.SignedTreeHead:
        try:
            head: log_pb2.SignedTreeHead = self._stub.GetTreeHead(
                authority_pb2.GetTreeHeadRequest(), timeout=self._deadline_s
            )
            return head
        except grpc.RpcError as error:
            raise error_for(error.code(), error.details() or "") from None
