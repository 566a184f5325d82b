"""CaseService over gRPC: analysts only, thin methods over ``CaseDesk``.

Rules: every RPC needs the ANALYST role (``CASE_RPC_ROLES``) and goes through a
``CallGuard`` (authentication, authorization, rate limit, refusal trail, error mapping
in one place); the analyst recorded with a merge or split is the certificate's party,
never a name from the request.
"""

from __future__ import annotations

import grpc

from authority.app import AuthorityApp
from authority.cases.convert import case_message, list_message
from authority.cases.service import CaseDesk
from authority.grpc_handlers import add_tolerant_servicer
from authority.ratelimit import TokenBuckets
from authority.security_log import SecurityLog
from authority.servicer import CallGuard
from nearmiss.identity import Party, Role
from nearmiss.v1 import cases_pb2, cases_pb2_grpc

ANALYSTS = frozenset({Role.ANALYST})
CASE_RPC_ROLES: dict[str, frozenset[Role]] = {
    "ListCases": ANALYSTS,
    "GetCase": ANALYSTS,
    "MergeCases": ANALYSTS,
    "SplitCase": ANALYSTS,
}


class CaseServicer(cases_pb2_grpc.CaseServiceServicer):
    def __init__(self, *, guard: CallGuard, desk: CaseDesk):
        self._guard = guard
        self._desk = desk

    def ListCases(
        self, request: cases_pb2.ListCasesRequest, context: grpc.ServicerContext
    ) -> cases_pb2.ListCasesResponse:
        def run(_party: Party) -> cases_pb2.ListCasesResponse:
            cases, total, unlinked = self._desk.list(
                limit=request.limit,
                before=request.before_case_number,
                min_reports=request.min_reports,
            )
            return list_message(cases, total, unlinked)

        return self._guard.run(context, "ListCases", run, request)

    def GetCase(
        self, request: cases_pb2.GetCaseRequest, context: grpc.ServicerContext
    ) -> cases_pb2.Case:
        return self._guard.run(
            context, "GetCase", lambda _p: case_message(self._desk.get(request.case)), request
        )

    def MergeCases(
        self, request: cases_pb2.MergeCasesRequest, context: grpc.ServicerContext
    ) -> cases_pb2.CaseChange:
        def run(party: Party) -> cases_pb2.CaseChange:
            kept = self._desk.merge(
                request.case, request.other_case, by=party.party_id, reason=request.reason
            )
            return cases_pb2.CaseChange(case=case_message(kept))

        return self._guard.run(context, "MergeCases", run, request)

    def SplitCase(
        self, request: cases_pb2.SplitCaseRequest, context: grpc.ServicerContext
    ) -> cases_pb2.CaseChange:
        def run(party: Party) -> cases_pb2.CaseChange:
            left, new = self._desk.split(
                request.case, list(request.report_ids), by=party.party_id, reason=request.reason
            )
            return cases_pb2.CaseChange(case=case_message(left), other=case_message(new))

        return self._guard.run(context, "SplitCase", run, request)


def case_guard(app: AuthorityApp) -> CallGuard:
    """A guard like the main service's, over the same parties, for the case RPCs."""
    limits = app.config.limits
    return CallGuard(
        registry=app.registry,
        buckets=TokenBuckets(rate=limits.requests_per_second, burst=limits.burst),
        security_log=SecurityLog(),
        rpc_roles=CASE_RPC_ROLES,
    )


def case_service_installer(app: AuthorityApp, desk: CaseDesk) -> None:
    """Register CaseService on the authority's gRPC server when it is built."""
    servicer = CaseServicer(guard=case_guard(app), desk=desk)

    def install(server: grpc.Server) -> None:
        add_tolerant_servicer(cases_pb2_grpc.add_CaseServiceServicer_to_server, servicer, server)

    app.service_installers.append(install)
