"""Wiring the alert service into an authority process.

Rules: ``install_alerts`` builds one ``AlertService`` per app from ``[alerts]`` and
``[policies]``, makes it the app's ``alerts`` feed (SubscribeAlerts, AckAlert), and adds
the escalation scheduler and the policy watcher as components. Other parts find the
service with ``alert_service_of(app)``; there is no global instance.
"""

from __future__ import annotations

from authority.alerts.config import AlertsConfig
from authority.alerts.escalation import EscalationScheduler
from authority.alerts.service import AlertService
from authority.app import AuthorityApp
from nearmiss.errors import ConfigError
from policies.engine import PolicyEngine, PolicyWatcher


class _StreamCloser:
    """Component that ends open SubscribeAlerts streams at shutdown."""

    name = "alert-streams"

    def __init__(self, service: AlertService):
        self._service = service

    def start(self) -> None:
        return None

    def stop(self) -> None:
        self._service.close()


def install_alerts(app: AuthorityApp) -> AlertService:
    config = AlertsConfig.from_table(app.config.extra.get("alerts"))
    known = {known.entry.party_id for known in app.registry.parties()}
    for owner, chain in config.tiers.items():
        for contact in (c for tier in chain for c in tier):
            if contact not in known:
                raise ConfigError(
                    f"escalation contact {contact!r} is not a party of this authority",
                    source=str(app.config.source),
                    key=f"alerts.tiers.{owner}",
                )
    if app.policies is None:  # shared with every deciding component
        app.policies = PolicyEngine.from_config(app.config.extra.get("policies"))
        app.components.append(PolicyWatcher(app.policies))
    policies = app.policies
    service = AlertService(
        engine=app.engine,
        authority_id=app.config.authority_id,
        registry=app.registry,
        policies=policies,
        config=config,
    )
    app.alerts = service
    app.components.append(EscalationScheduler(service, app.engine))
    app.components.append(_StreamCloser(service))
    return service


def alert_service_of(app: AuthorityApp) -> AlertService:
    """The app's alert service (for case linking and federation)."""
    if not isinstance(app.alerts, AlertService):
        raise ConfigError("this authority has no alert service installed")
    return app.alerts
