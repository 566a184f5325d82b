"""Two or three institutes with separate PKIs, built in-process (no servers started)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from authority.alerts import AlertService, install_alerts
from authority.app import AuthorityApp
from authority.config import AuthorityConfig
from authority.federation import FederationComponent, install_federation
from tests.integration.federation_net import Institute, federate, make_institute


@dataclass
class Node:
    institute: Institute
    app: AuthorityApp
    alerts: AlertService
    federation: FederationComponent

    def close(self) -> None:
        self.alerts.close()
        self.app.engine.dispose()


def build(institute: Institute) -> Node:
    app = AuthorityApp.from_config(AuthorityConfig.load(institute.config_path))
    alerts = install_alerts(app)
    federation = install_federation(app)
    assert federation is not None
    return Node(institute, app, alerts, federation)


def institutes(root: Path, *ids: str, extra_toml: str = "") -> list[Institute]:
    made = [make_institute(root, authority_id) for authority_id in ids]
    federate(made, extra_toml=extra_toml)
    return made
