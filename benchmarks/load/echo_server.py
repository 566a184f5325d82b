"""The baseline: a bare grpcio server that echoes request bytes, set up like the authority.

Rules that make it a fair baseline: the same certificate, key and CA as the authority
(mutual TLS, client certificate required), the same server options, thread pool size and
concurrency limit (imported from ``authority.server``), one unary method, in its own
process like the authority. It does no work beyond handing the bytes back.

Usage: ``python echo_server.py AUTHORITY_TOML PORT``; prints ``listening on HOST:PORT``
and serves until SIGTERM.

``python echo_server.py AUTHORITY_TOML PORT DELAY_MS`` waits DELAY_MS in each call
before it answers, asleep, as a call waiting on a database waits: the load benchmark's
``--delayed-echo`` target (its ``run.py``), which measures what answering this late costs
grpcio and the callers when the server does no more work.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from authority.config import AuthorityConfig
from authority.server import MAX_WORKERS, server_credentials, server_options

SERVICE = "nearmiss.bench.Echo"
METHOD = f"/{SERVICE}/Echo"


Handler = Callable[[bytes, grpc.ServicerContext], bytes]


def echo_handler(delay_s: float, sleep: Callable[[float], None] = time.sleep) -> Handler:
    """The method: the request bytes back, after ``delay_s`` asleep (none for 0)."""
    if delay_s <= 0:
        return lambda request, _context: request

    def delayed(request: bytes, _context: grpc.ServicerContext) -> bytes:
        sleep(delay_s)
        return request

    return delayed


def main(config_path: str, port: int, delay_ms: float = 0.0) -> None:
    config = AuthorityConfig.load(config_path)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="rpc"),
        options=server_options(config),
        maximum_concurrent_rpcs=2048,
    )
    handler = grpc.method_handlers_generic_handler(
        SERVICE, {"Echo": grpc.unary_unary_rpc_method_handler(echo_handler(delay_ms / 1000))}
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
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
