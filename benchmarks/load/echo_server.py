"""The baseline: a bare grpcio server that echoes request bytes, set up like the authority.

Rules that make it a fair baseline: the same certificate, key and CA as the authority
(mutual TLS, client certificate required), the same server options, thread pool size and
concurrency limit (imported from ``authority.server``), one unary method, in its own
process like the authority. It does no work beyond handing the bytes back.

Usage: ``python echo_server.py AUTHORITY_TOML PORT``; prints ``listening on HOST:PORT``
and serves until SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading
from concurrent import futures
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from authority.config import AuthorityConfig
from authority.server import MAX_WORKERS, server_credentials, server_options

SERVICE = "nearmiss.bench.Echo"
METHOD = f"/{SERVICE}/Echo"


def _echo(request: bytes, _context: grpc.ServicerContext) -> bytes:
    return request


def main(config_path: str, port: int) -> None:
    config = AuthorityConfig.load(config_path)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="rpc"),
        options=server_options(config),
        maximum_concurrent_rpcs=2048,
    )
    handler = grpc.method_handlers_generic_handler(
        SERVICE, {"Echo": grpc.unary_unary_rpc_method_handler(_echo)}
    )
    server.add_generic_rpc_handlers((handler,))
    bound = server.add_secure_port(f"127.0.0.1:{port}", server_credentials(config))
    server.start()
    print(f"listening on 127.0.0.1:{bound}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    server.stop(2).wait()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
