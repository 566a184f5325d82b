"""Running the authority: the gRPC server with mutual TLS, health, and clean shutdown.

Rules: clients must present a certificate from our CA (``require_client_auth``); the
standard gRPC health service reports SERVING once ready; SIGTERM or SIGINT stops
accepting calls, lets in-flight calls finish (``SHUTDOWN_GRACE_S``), stops components,
then exits. On start it prints ``listening on HOST:PORT`` (the real port when the config
says port 0) and writes the port to ``data_dir/authority.port`` for scripts.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from authority.app import AuthorityApp, install_components
from authority.config import AuthorityConfig
from authority.grpc_handlers import add_tolerant_servicer
from authority.servicer import AuthorityServicer
from nearmiss.console import announce
from nearmiss.v1 import authority_pb2_grpc

SHUTDOWN_GRACE_S = 5.0
MAX_WORKERS = 32
logger = logging.getLogger("nearmiss.authority")


def server_options(config: AuthorityConfig) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", config.limits.max_message_bytes),
        ("grpc.max_send_message_length", 16 * 1024 * 1024),
        ("grpc.max_concurrent_streams", 256),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.server.max_pending_requests", 4096),
    ]


def server_credentials(config: AuthorityConfig) -> grpc.ServerCredentials:
    ca, certificate, key = config.tls.read()
    return grpc.ssl_server_credentials(
        [(key, certificate)], root_certificates=ca, require_client_auth=True
    )


class RunningAuthority:
    """A started authority; ``stop()`` is safe to call from any thread, once or more."""

    def __init__(self, app: AuthorityApp):
        self.app = app
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="rpc"),
            options=server_options(app.config),
            maximum_concurrent_rpcs=2048,
        )
        self.health = health.HealthServicer()
        add_tolerant_servicer(
            authority_pb2_grpc.add_AuthorityServiceServicer_to_server,
            AuthorityServicer(
                guard=app.guard,
                ingest=app.ingest,
                log=app.log,
                session_factory=app.session,
                alerts=app.alerts,
            ),
            self.server,
        )
        for installer in app.service_installers:
            installer(self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.port = self.server.add_secure_port(app.config.listen, server_credentials(app.config))
        self._stopped = threading.Event()
        self._stop_lock = threading.Lock()

    @property
    def address(self) -> str:
        host = self.app.config.listen.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    def start(self) -> None:
        self.server.start()
        self.app.start_components()
        for service in ("", "nearmiss.v1.AuthorityService"):
            self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
        (self.app.config.data_dir / "authority.port").write_text(f"{self.port}\n")

    def stop(self) -> None:
        with self._stop_lock:
            if self._stopped.is_set():
                return
            self.health.enter_graceful_shutdown()
            self.server.stop(SHUTDOWN_GRACE_S).wait()
            self.app.ingest.close()
            self.app.stop_components()
            self.app.engine.dispose()
            self._stopped.set()

    def wait(self) -> None:
        self._stopped.wait()


def build(config: AuthorityConfig) -> RunningAuthority:
    app = AuthorityApp.from_config(config, serving=True)
    install_components(app)
    return RunningAuthority(app)


def serve(config: AuthorityConfig) -> None:
    """Run until SIGTERM/SIGINT."""
    running = build(config)
    running.start()
    # Start-up made most of the objects this process will ever hold (modules, tables,
    # models); move them out of the collector's way so a full collection under load
    # walks only what requests allocate (p99, benchmarks/load/RESULTS.md).
    gc.freeze()
    announce(f"listening on {running.address}")
    logger.info("authority %s listening on %s", config.authority_id, running.address)

    def on_signal(signum: int, _frame: object) -> None:
        logger.info("signal %d: shutting down", signum)
        threading.Thread(target=running.stop, name="shutdown").start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    running.wait()
    print("authority stopped", file=sys.stderr, flush=True)
