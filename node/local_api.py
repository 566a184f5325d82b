"""The node's local API: ``NodeService`` over gRPC, for a lab's own systems.

Rules this module enforces:

- It listens on loopback or a unix socket only (node.config refuses anything else) and
  without TLS: on one machine TLS would protect nothing the kernel does not already
  protect, and it has no client authentication of its own, so who may file is decided
  by who can reach it: a unix socket is created with mode 0600 (or 0660 for a group,
  ``[local_api] socket_mode``) from the moment it exists; a loopback port is open to
  every local user of the machine (prefer the socket where that matters).
- A report gets exactly the checks, redaction and signing of ``nearmiss node submit``
  (node.filing); bad input is INVALID_ARGUMENT naming the source, the field and the
  reason; a report_id already filed with other content is ALREADY_EXISTS.
- Errors become status codes in one place (nearmiss.rpc_errors); anything unexpected is
  INTERNAL with a fixed message, logged by type only.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import TypeVar

import grpc

from nearmiss.errors import ConfigError, NearmissError, ReportInvalidError
from nearmiss.rpc_errors import status_for
from nearmiss.v1 import node_pb2, node_pb2_grpc
from node.config import socket_path
from node.filing import Filer
from node.intake import report_from_document, report_from_message
from node.status import NodeStatusSnapshot, to_proto

logger = logging.getLogger("nearmiss.node")
T = TypeVar("T")

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
MAX_WORKERS = 8


class NodeApiServicer(node_pb2_grpc.NodeServiceServicer):
    def __init__(
        self,
        *,
        filer: Filer,
        status: Callable[[], NodeStatusSnapshot],
        on_filed: Callable[[], None] = lambda: None,
    ):
        self._filer = filer
        self._status = status
        self._on_filed = on_filed

    def FileReport(
        self, request: node_pb2.FileReportRequest, context: grpc.ServicerContext
    ) -> node_pb2.FileReportResponse:
        def file() -> node_pb2.FileReportResponse:
            source = request.source_name or "local API request"
            which = request.WhichOneof("input")
            if which == "report":
                report = report_from_message(request.report, source=source)
            elif which == "report_document":
                report = report_from_document(request.report_document, source=source)
            else:
                raise ReportInvalidError(
                    "is required (give report or report_document)", field="input", source=source
                )
            filed = self._filer.file(report, source=source)
            if not filed.already_queued:
                self._on_filed()
            return node_pb2.FileReportResponse(
                report_id=filed.report_id,
                already_queued=filed.already_queued,
                redaction_counts=filed.counts,
                sections_withheld=filed.withheld_sections,
                state=filed.state.value,
            )

        return _guarded(context, "FileReport", file)

    def GetNodeStatus(
        self, request: node_pb2.GetNodeStatusRequest, context: grpc.ServicerContext
    ) -> node_pb2.NodeStatus:
        return _guarded(context, "GetNodeStatus", lambda: to_proto(self._status()))


def _guarded(context: grpc.ServicerContext, rpc: str, action: Callable[[], T]) -> T:
    try:
        return action()
    except NearmissError as error:
        code, message = status_for(error)
        context.abort(code, message)
    except Exception as error:  # a bug: never leak its message (it may quote a report)
        logger.error("internal error in %s: %s", rpc, type(error).__name__)
        context.abort(grpc.StatusCode.INTERNAL, "internal error in the node; see its log")
    raise AssertionError("unreachable: context.abort raises")


class LocalApiServer:
    """A started local API; ``address`` is what clients dial (the real port for port 0)."""

    def __init__(self, servicer: NodeApiServicer, listen: str, *, socket_mode: int = 0o600):
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="local-api"),
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ],
        )
        node_pb2_grpc.add_NodeServiceServicer_to_server(servicer, self.server)
        path = socket_path(listen)
        if path is not None:
            self.address = self._bind_socket(path, socket_mode)
        else:
            port = self.server.add_insecure_port(listen)
            if port == 0:
                raise ConfigError(f"cannot listen on {listen}", key="local_api.listen")
            host = listen.rpartition(":")[0]
            self.address = f"{host}:{port}"
        self.server.start()

    def _bind_socket(self, socket_file: Path, mode: int) -> str:
        socket_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if socket_file.is_socket():
            socket_file.unlink()  # left by a node that was killed; we hold the data dir
        # The umask makes the socket private from the moment it exists (no window in
        # which others could connect); chmod then widens it to 0660 when configured.
        previous = os.umask(0o777 & ~mode)
        try:
            port = self.server.add_insecure_port(f"unix:{socket_file}")
        finally:
            os.umask(previous)
        if port == 0:
            raise ConfigError(f"cannot listen on unix:{socket_file}", key="local_api.listen")
        os.chmod(socket_file, mode)
        return f"unix:{socket_file}"

    def stop(self, grace_s: float = 2.0) -> None:
        self.server.stop(grace_s).wait()
