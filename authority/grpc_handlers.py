"""Registering servicers so that undecodable requests are refused as INVALID_ARGUMENT.

grpcio answers a request that fails protobuf decoding with INTERNAL ("Exception
deserializing request!") before our code runs. We register the generated handlers with a
tolerant deserializer instead: bytes that do not decode become an ``UndecodableRequest``,
which ``CallGuard`` refuses — after authentication, with a clear message — like any other
invalid input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc


@dataclass(frozen=True)
class UndecodableRequest:
    message_type: str
    size_bytes: int


def _tolerant(deserialize: Callable[[bytes], Any], message_type: str) -> Callable[[bytes], Any]:
    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception:
            return UndecodableRequest(message_type, len(data))

    return parse


class _Capture:
    """Stands in for a grpc.Server to collect what a generated ``add_…_to_server`` adds."""

    def __init__(self) -> None:
        self.generic: list[grpc.GenericRpcHandler] = []
        self.registered: list[tuple[str, dict[str, grpc.RpcMethodHandler]]] = []

    def add_generic_rpc_handlers(self, handlers: tuple[grpc.GenericRpcHandler, ...]) -> None:
        self.generic.extend(handlers)

    def add_registered_method_handlers(
        self, service_name: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        self.registered.append((service_name, handlers))


def _wrap(handlers: dict[str, Any]) -> dict[str, Any]:
    wrapped = {}
    for name, handler in handlers.items():
        deserialize = handler.request_deserializer
        if deserialize is None:
            wrapped[name] = handler
            continue
        message_type = getattr(getattr(deserialize, "__self__", None), "__name__", "request")
        wrapped[name] = handler._replace(request_deserializer=_tolerant(deserialize, message_type))
    return wrapped


def add_tolerant_servicer(
    add_to_server: Callable[[Any, Any], None], servicer: object, server: grpc.Server
) -> None:
    """``add_to_server(servicer, server)`` with tolerant request decoding."""
    capture = _Capture()
    add_to_server(servicer, capture)
    for service_name, handlers in capture.registered:
        tolerant = _wrap(handlers)
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(service_name, tolerant),)
        )
        server.add_registered_method_handlers(service_name, tolerant)
    if not capture.registered:
        server.add_generic_rpc_handlers(tuple(capture.generic))
