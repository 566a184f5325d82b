"""AuthorityService over gRPC: thin methods that authenticate, authorize, call a domain
service and map our errors to status codes (nearmiss.rpc_errors), all in one place.

Rules: every RPC declares the roles that may call it (``RPC_ROLES``); a refused call is
written to the security audit trail; an unexpected exception becomes INTERNAL with a
fixed message, and is logged by type and stack frames only — never its message, which
might quote request content.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

import grpc
from sqlmodel import Session

from authority.grpc_handlers import UndecodableRequest
from authority.ingest import IngestService
from authority.log import TransparencyLog
from authority.parties import PartyRegistry
from authority.ratelimit import TokenBuckets
from authority.security_log import SecurityLog
from nearmiss.errors import (
    AuthenticationError,
    NearmissError,
    NotFoundError,
    PermissionDeniedError,
    ReportInvalidError,
)
from nearmiss.identity import Party, Role, party_from_pem
from nearmiss.rpc_errors import status_for
from nearmiss.v1 import authority_pb2, authority_pb2_grpc, log_pb2

logger = logging.getLogger("nearmiss.authority")
T = TypeVar("T")

ALL_ROLES = frozenset(Role)
RPC_ROLES: dict[str, frozenset[Role]] = {
    "SubmitReport": frozenset({Role.LAB}),
    "SubmitReports": frozenset({Role.LAB}),
    "GetReceipt": frozenset({Role.LAB}),
    "SubscribeAlerts": frozenset({Role.LAB, Role.INSTITUTE, Role.ANALYST}),
    "AckAlert": frozenset({Role.LAB, Role.INSTITUTE, Role.ANALYST}),
    "GetTreeHead": ALL_ROLES,
    "GetInclusionProof": ALL_ROLES,
    "GetConsistencyProof": ALL_ROLES,
}


class AlertFeed(Protocol):
    """What the alerts component provides to the gRPC layer (authority.alerts)."""

    def subscribe(
        self, party: Party, resume_after_cursor: int, is_active: Callable[[], bool]
    ) -> Iterator[authority_pb2.Alert]: ...

    def acknowledge(self, party: Party, alert_id: str) -> authority_pb2.AckAlertResponse: ...


def require_decoded(request: object) -> None:
    """Refuse a request whose bytes did not decode (see authority.grpc_handlers)."""
    if isinstance(request, UndecodableRequest):
        raise ReportInvalidError(
            f"the request ({request.size_bytes} bytes) is not a valid "
            f"{request.message_type} protobuf message"
        )


# Distinct client certificates remembered (a network has tens to hundreds of parties).
PARTY_CACHE_SIZE = 4096


class CallGuard:
    """Authentication, authorization, rate limiting and the refusal trail for each call."""

    def __init__(
        self,
        *,
        registry: PartyRegistry,
        buckets: TokenBuckets,
        security_log: SecurityLog,
        rpc_roles: dict[str, frozenset[Role]],
    ):
        self._registry = registry
        self._buckets = buckets
        self._security_log = security_log
        self._rpc_roles = rpc_roles
        # Parsing the certificate is the costliest part of authentication and its answer
        # never changes for the same bytes; revocation is still checked on every call.
        self._party_by_certificate: dict[bytes, Party] = {}

    def authenticate(self, context: grpc.ServicerContext) -> Party:
        certificates = context.auth_context().get("x509_pem_cert")
        if not certificates:
            raise AuthenticationError("a client certificate is required")
        pem = certificates[0]
        party = self._party_by_certificate.get(pem)
        if party is None:
            party = party_from_pem(pem)
            if len(self._party_by_certificate) >= PARTY_CACHE_SIZE:
                self._party_by_certificate.clear()
            self._party_by_certificate[pem] = party
        self._registry.admit(party)
        return party

    def authorize(self, party: Party, rpc: str) -> None:
        allowed = self._rpc_roles.get(rpc, frozenset())
        if party.role not in allowed:
            raise PermissionDeniedError(
                f"{party} may not call {rpc} (allowed: "
                f"{', '.join(sorted(r.value for r in allowed)) or 'nobody'})"
            )

    def run(
        self,
        context: grpc.ServicerContext,
        rpc: str,
        action: Callable[[Party], T],
        request: object = None,
    ) -> T:
        party: Party | None = None
        try:
            party = self.authenticate(context)
            self.authorize(party, rpc)
            self._buckets.take(party.party_id)
            require_decoded(request)
            return action(party)
        except NearmissError as error:
            self.refuse(context, party, rpc, error)
        except Exception as error:  # a bug: never leak its message
            self.internal_error(context, rpc, error)
        raise AssertionError("unreachable: context.abort raises")

    def refuse(
        self,
        context: grpc.ServicerContext,
        party: Party | None,
        rpc: str,
        error: NearmissError,
    ) -> None:
        code, message = status_for(error)
        self._security_log.refusal(
            party=party, rpc=rpc, code=code, reason=message, peer=context.peer()
        )
        context.abort(code, message)

    def internal_error(self, context: grpc.ServicerContext, rpc: str, error: Exception) -> None:
        if isinstance(error, grpc.RpcError) or type(error).__name__ == "_AbortException":
            raise error  # an abort already in flight
        frames = "".join(traceback.format_tb(error.__traceback__))
        logger.error("internal error in %s: %s\n%s", rpc, type(error).__name__, frames)
        code, message = status_for(error)
        context.abort(code, message)


class AuthorityServicer(authority_pb2_grpc.AuthorityServiceServicer):
    def __init__(
        self,
        *,
        guard: CallGuard,
        ingest: IngestService,
        log: TransparencyLog,
        session_factory: Callable[[], Session],
        alerts: AlertFeed | None = None,
    ):
        self._guard = guard
        self._ingest = ingest
        self._log = log
        self._session_factory = session_factory
        self._alerts = alerts

    def SubmitReport(
        self, request: authority_pb2.SubmitReportRequest, context: grpc.ServicerContext
    ) -> authority_pb2.Receipt:
        def submit(party: Party) -> authority_pb2.Receipt:
            if not request.HasField("signed_report"):
                raise ReportInvalidError("is required", field="signed_report")
            return self._ingest.submit(party, request.signed_report)

        return self._guard.run(context, "SubmitReport", submit, request)

    def SubmitReports(
        self,
        request_iterator: Iterator[authority_pb2.SubmitReportRequest],
        context: grpc.ServicerContext,
    ) -> authority_pb2.SubmitReportsResponse:
        def submit_all(party: Party) -> authority_pb2.SubmitReportsResponse:
            response = authority_pb2.SubmitReportsResponse()
            for request in request_iterator:
                result = response.results.add()
                try:
                    require_decoded(request)
                    if not request.HasField("signed_report"):
                        raise ReportInvalidError("is required", field="signed_report")
                    receipt = self._ingest.submit(party, request.signed_report)
                    result.report_id = receipt.statement.report_id
                    result.receipt.CopyFrom(receipt)
                except NearmissError as error:
                    code, message = status_for(error)
                    result.error.code = code.value[0]
                    result.error.message = message
            return response

        return self._guard.run(context, "SubmitReports", submit_all)

    def GetReceipt(
        self, request: authority_pb2.GetReceiptRequest, context: grpc.ServicerContext
    ) -> authority_pb2.Receipt:
        return self._guard.run(
            context,
            "GetReceipt",
            lambda party: self._ingest.receipt_for(party, request.report_id),
            request,
        )

    def SubscribeAlerts(
        self, request: authority_pb2.SubscribeAlertsRequest, context: grpc.ServicerContext
    ) -> Iterator[authority_pb2.Alert]:
        alerts = self._alerts
        if alerts is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "this authority does not serve alerts")
            return
        stream = self._guard.run(
            context,
            "SubscribeAlerts",
            lambda party: alerts.subscribe(party, request.resume_after_cursor, context.is_active),
            request,
        )
        yield from stream

    def AckAlert(
        self, request: authority_pb2.AckAlertRequest, context: grpc.ServicerContext
    ) -> authority_pb2.AckAlertResponse:
        alerts = self._alerts
        if alerts is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "this authority does not serve alerts")
        assert alerts is not None
        return self._guard.run(
            context,
            "AckAlert",
            lambda party: alerts.acknowledge(party, request.alert_id),
            request,
        )

    def GetTreeHead(
        self, request: authority_pb2.GetTreeHeadRequest, context: grpc.ServicerContext
    ) -> log_pb2.SignedTreeHead:
        def head(_party: Party) -> log_pb2.SignedTreeHead:
            with self._session_factory() as session:
                head = self._log.signed_tree_head(session)
                session.commit()  # a head may be new; it is handed out only once stored
                return head

        return self._guard.run(context, "GetTreeHead", head, request)

    def GetInclusionProof(
        self, request: authority_pb2.GetInclusionProofRequest, context: grpc.ServicerContext
    ) -> log_pb2.InclusionProof:
        def proof(_party: Party) -> log_pb2.InclusionProof:
            with self._session_factory() as session:
                index = request.leaf_index
                if request.leaf_hash:
                    found = self._log.index_of(session, request.leaf_hash)
                    if found is None:
                        raise NotFoundError("no log entry has that leaf hash")
                    index = found
                size = request.tree_size or self._log.size(session)
                return self._log.inclusion_proof(session, index, size)

        return self._guard.run(context, "GetInclusionProof", proof, request)

    def GetConsistencyProof(
        self, request: authority_pb2.GetConsistencyProofRequest, context: grpc.ServicerContext
    ) -> log_pb2.ConsistencyProof:
        def proof(_party: Party) -> log_pb2.ConsistencyProof:
            with self._session_factory() as session:
                second = request.second_size or self._log.size(session)
                return self._log.consistency_proof(session, request.first_size, second)

        return self._guard.run(context, "GetConsistencyProof", proof, request)
