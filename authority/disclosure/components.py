"""Wiring: the policy engine, the disclosure scheduler and the dashboard as components.

Rules: one :class:`PolicyEngine` per authority (``app.policies``), shared by every
component that decides (disclosures here; alerts and federation call the same engine
for routing and safe-harbor decisions). Each part reads its own config table
(``[policies]``, ``[disclosure]``, ``[dashboard]``) and can be switched off with
``enabled = false``. A broken pack at start stops the start, with the pack's error.
"""

from __future__ import annotations

from pathlib import Path

from authority.app import AuthorityApp
from authority.cases.source import case_source_for
from authority.dashboard.server import DEFAULT_LISTEN, DashboardServer
from authority.dashboard.web import context_for, create_dashboard
from authority.disclosure.job import DisclosureJob
from authority.disclosure.scheduler import DEFAULT_INTERVAL_S, DisclosureScheduler
from authority.privacy.config import PrivacyConfig
from policies.engine import PolicyEngine, PolicyWatcher


def ensure_policies(app: AuthorityApp) -> PolicyEngine:
    """The app's policy engine, created (with its hot-reload watcher) on first use."""
    if app.policies is None:
        app.policies = PolicyEngine.from_config(app.config.extra.get("policies"))
        app.components.append(PolicyWatcher(app.policies))
    return app.policies


def disclosure_job(app: AuthorityApp) -> DisclosureJob:
    return DisclosureJob(
        engine=app.engine,
        policies=ensure_policies(app),
        signing_key=app.signing_key,
        authority_id=app.config.authority_id,
        cases=case_source_for(app.config),
    )


def install_disclosure(app: AuthorityApp) -> None:
    table = app.config.extra.get("disclosure")
    if table is not None and not table.boolean("enabled", True):
        return
    interval = DEFAULT_INTERVAL_S if table is None else table.number(
        "interval_seconds", DEFAULT_INTERVAL_S, minimum=1.0
    )
    app.components.append(DisclosureScheduler(disclosure_job(app), interval_seconds=interval))


def _grpc_address(app: AuthorityApp) -> str:
    port_file = Path(app.config.data_dir) / "authority.port"
    host = app.config.listen.rsplit(":", 1)[0]
    if port_file.exists():
        return f"{host}:{port_file.read_text().strip()}"
    return app.config.listen


def install_dashboard(app: AuthorityApp) -> None:
    table = app.config.extra.get("dashboard")
    if table is not None and not table.boolean("enabled", True):
        return
    listen = DEFAULT_LISTEN if table is None else table.string("listen", DEFAULT_LISTEN)
    dashboard = create_dashboard(
        context_for(
            engine=app.engine,
            log=app.log,
            authority_id=app.config.authority_id,
            verifying_key=app.signing_key.verifying_key,
            grpc_address=lambda: _grpc_address(app),
            cases=case_source_for(app.config),
            privacy=PrivacyConfig.from_authority(app.config),
        )
    )
    app.components.append(
        DashboardServer(dashboard, listen=listen, port_file=app.config.data_dir / "dashboard.port")
    )
