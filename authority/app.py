"""One authority process, assembled from its config: the object every component shares.

Rules: nothing here is global; components get the ``AuthorityApp`` they belong to.
Background components (dedup worker, scheduler, dashboard, federation) register in
``install_components`` and are started after the gRPC server and stopped before it, so
ingest is never waiting on them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import grpc
from sqlalchemy.engine import Engine
from sqlmodel import Session

from authority.config import AuthorityConfig
from authority.database import open_database
from authority.ingest import IngestService
from authority.ingest_process import IngestSettings
from authority.log import TransparencyLog
from authority.parties import PartyRegistry, RevocationList
from authority.ratelimit import TokenBuckets
from authority.security_log import SecurityLog
from authority.servicer import RPC_ROLES, AlertFeed, CallGuard
from nearmiss.signing import SigningKey

if TYPE_CHECKING:
    from policies.engine import PolicyEngine

logger = logging.getLogger("nearmiss.authority")


class Component(Protocol):
    """A part of the authority with its own lifecycle (threads, servers, schedules)."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class AuthorityApp:
    config: AuthorityConfig
    engine: Engine
    signing_key: SigningKey
    registry: PartyRegistry
    log: TransparencyLog
    ingest: IngestService
    guard: CallGuard
    components: list[Component] = field(default_factory=list)
    # Extra gRPC services: each is called with the server to register itself.
    service_installers: list[Callable[[grpc.Server], None]] = field(default_factory=list)
    alerts: AlertFeed | None = None
    # The policy packs in force (safe harbor, disclosure, alert routing); set by
    # authority.disclosure.components.ensure_policies, shared by every deciding component.
    policies: PolicyEngine | None = None

    @classmethod
    def from_config(cls, config: AuthorityConfig, *, serving: bool = False) -> AuthorityApp:
        """``serving``: built for ``authority serve``, which runs ingest in a child process
        when the config says so (``[authority] ingest_process``, on by default); embedded
        and test uses keep ingest on the caller's thread."""
        config.data_dir.mkdir(parents=True, exist_ok=True)
        engine = open_database(config.database_url)
        signing_key = SigningKey.from_file(config.signing_key_path)
        registry = PartyRegistry(config.parties, RevocationList(config.revoked_serials_file))
        log = TransparencyLog(signing_key=signing_key, authority_id=config.authority_id)
        ingest = IngestService(
            engine=engine,
            registry=registry,
            log=log,
            signing_key=signing_key,
            limits=config.limits,
            process=ingest_settings(config) if serving and config.ingest_process else None,
        )
        guard = CallGuard(
            registry=registry,
            buckets=TokenBuckets(rate=config.limits.requests_per_second, burst=config.limits.burst),
            security_log=SecurityLog(),
            rpc_roles=RPC_ROLES,
        )
        return cls(
            config=config,
            engine=engine,
            signing_key=signing_key,
            registry=registry,
            log=log,
            ingest=ingest,
            guard=guard,
        )

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def start_components(self) -> None:
        for component in self.components:
            logger.info("starting %s", component.name)
            component.start()

    def stop_components(self) -> None:
        for component in reversed(self.components):
            try:
                component.stop()
            except Exception:
                logger.exception("stopping %s failed", component.name)


def ingest_settings(config: AuthorityConfig) -> IngestSettings:
    return IngestSettings(
        database_url=config.database_url,
        authority_id=config.authority_id,
        signing_key_path=config.signing_key_path,
        parties=config.parties,
        limits=config.limits,
    )


def install_components(app: AuthorityApp) -> None:
    """Attach the optional parts of the authority. Each line owns one component."""
    # Components are added here by their packages (dedup worker, scheduler, dashboard,
    # federation); each import is local so a minimal authority starts fast.
    from authority.disclosure.components import (
        ensure_policies,
        install_dashboard,
        install_disclosure,
    )

    ensure_policies(app)
    install_disclosure(app)
    install_dashboard(app)

    from authority.alerts import install_alerts
    from authority.federation import install_federation

    install_alerts(app)
    install_federation(app)

    from authority.cases import install_cases  # after alerts: it tells them of case changes

    install_cases(app)

    from authority.privacy.job import install_privacy  # after federation: queues to peers

    install_privacy(app)
