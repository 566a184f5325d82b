"""Wiring federation into an authority: its own gRPC server, one sender per peer.

Rules: federation is on only when authority.toml has a ``[federation]`` table. It
listens on its own port with its own TLS trust (pinned peer CAs only), never on the
AuthorityService port. It needs the alert service (``install_alerts`` first), becomes
its ``peer_sink``, and is started after and stopped before the main server with the
other components. On start it prints ``federation listening on HOST:PORT`` and writes
the port to ``data_dir/federation.port``.
"""

from __future__ import annotations

import logging
from concurrent import futures

import grpc
from sqlmodel import Session

from authority.alerts.component import alert_service_of
from authority.app import AuthorityApp
from authority.database import session_scope
from authority.federation.config import FederationConfig
from authority.federation.outbox import FederationOutbox
from authority.federation.receiver import FederationServicer
from authority.federation.sender import PeerSender
from authority.federation.trust import PeerAuthenticator, server_credentials
from authority.privacy.release import SignedRelease
from nearmiss.console import announce
from nearmiss.v1 import federation_pb2_grpc

logger = logging.getLogger("nearmiss.federation")
MAX_WORKERS = 8


class FederationComponent:
    name = "federation"

    def __init__(self, app: AuthorityApp, config: FederationConfig):
        self.config = config
        self._app = app
        alerts = alert_service_of(app)
        self.outbox = FederationOutbox(sorted(config.peers))
        alerts.peer_sink = self.outbox
        self.servicer = FederationServicer(
            authenticator=PeerAuthenticator(config.peers),
            engine=app.engine,
            alerts=alerts,
        )
        self.senders = [
            PeerSender(
                config=config,
                peer=peer,
                engine=app.engine,
                log=app.log,
                signing_key=app.signing_key,
                wake=self.outbox.wake_event(peer_id),
            )
            for peer_id, peer in sorted(config.peers.items())
        ]
        self._server: grpc.Server | None = None
        self.port = 0

    @property
    def address(self) -> str:
        return f"{self.config.listen.rsplit(':', 1)[0]}:{self.port}"

    def start(self) -> None:
        if self.config.peers:
            server = grpc.server(
                futures.ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="federation"),
                options=[("grpc.max_receive_message_length", 4 * 1024 * 1024)],
            )
            federation_pb2_grpc.add_FederationServiceServicer_to_server(self.servicer, server)
            self.port = server.add_secure_port(self.config.listen, server_credentials(self.config))
            server.start()
            self._server = server
            (self._app.config.data_dir / "federation.port").write_text(f"{self.port}\n")
            announce(f"federation listening on {self.address}")
        else:
            logger.warning("[federation] lists no peers: not listening")
        for sender in self.senders:
            sender.start()

    def stop(self) -> None:
        for sender in self.senders:
            sender.stop()
        if self._server is not None:
            self._server.stop(2.0).wait()

    def publish_aggregate(self, signed: SignedRelease, session: Session | None = None) -> None:
        """Queue a signed aggregate release for every peer (commits unless given a session)."""
        if session is not None:
            self._enqueue_release(session, signed)
            return
        with session_scope(self._app.engine) as own:
            self._enqueue_release(own, signed)

    def _enqueue_release(self, session: Session, signed: SignedRelease) -> None:
        self.outbox.enqueue_aggregate(
            session,
            release_id=signed.release.release_id,
            payload=signed.payload,
            signature=signed.signature,
            signing_key_id=signed.signing_key_id,
        )


def install_federation(app: AuthorityApp) -> FederationComponent | None:
    config = FederationConfig.from_authority(app.config)
    if config is None:
        return None
    component = FederationComponent(app, config)
    app.components.append(component)
    return component


def federation_of(app: AuthorityApp) -> FederationComponent | None:
    """The app's federation component, if federation is configured."""
    for component in app.components:
        if isinstance(component, FederationComponent):
            return component
    return None
