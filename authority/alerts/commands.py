"""``nearmiss authority alerts`` and ``nearmiss authority peers``: operators' views.

Rules: both read the authority's database directly (run them on its host with its
config) and print ids, states, counts and times — never alert or report text.
``--json`` prints one JSON array instead of a table.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table
from sqlmodel import Session

from authority.alerts.listing import AlertState, list_alerts
from authority.config import AuthorityConfig
from authority.database import open_database
from nearmiss.console import stdout
from nearmiss.errors import ConfigError


def alerts_command(
    config: Path = typer.Option(..., "--config", "-c", help="authority.toml"),
    state: AlertState | None = typer.Option(None, "--state", help="only this state"),
    limit: int = typer.Option(200, "--limit", min=1),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Alerts raised here or received from peers: open, acknowledged, escalated."""
    settings = AuthorityConfig.load(config)
    engine = open_database(settings.database_url)
    try:
        with Session(engine) as session:
            rows = list_alerts(session, state=state, limit=limit)
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps([row.as_json() for row in rows], indent=2))
        return
    table = Table(
        "alert", "state", "origin", "case", "rule", "sev", "acked", "held", "tier", "raised (UTC)"
    )
    for row in rows:
        origin = row.origin_authority if row.received_from is None else f"{row.origin_authority}*"
        table.add_row(
            row.alert_id[:8],
            row.state.value,
            origin,
            row.case_id[:12],
            row.rule_id,
            str(row.severity),
            f"{row.acknowledged}/{row.recipients}",
            str(row.held),
            str(row.escalation_tier),
            row.raised_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    stdout.print(table)
    stdout.print(f"{len(rows)} alert(s); * = received from that peer")


def peers_command(
    config: Path = typer.Option(..., "--config", "-c", help="authority.toml"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Federation peers: last contact, backlog owed to each, counts, last error."""
    from authority.federation.config import FederationConfig
    from authority.federation.status import peer_rows

    settings = AuthorityConfig.load(config)
    federation = FederationConfig.from_authority(settings)
    if federation is None:
        raise ConfigError("has no [federation] table", source=str(config))
    engine = open_database(settings.database_url)
    try:
        with Session(engine) as session:
            rows = peer_rows(session, federation)
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps([row.as_json() for row in rows], indent=2))
        return
    table = Table(
        "peer",
        "address",
        "last contact (UTC)",
        "backlog",
        "delivered",
        "rejected",
        "received",
        "dropped",
        "last error",
    )
    for row in rows:
        contact = (
            row.last_contact_at.strftime("%Y-%m-%d %H:%M:%S") if row.last_contact_at else "never"
        )
        table.add_row(
            row.peer_id,
            row.address,
            contact,
            str(row.backlog),
            str(row.delivered),
            str(row.rejected),
            str(row.received),
            str(row.dropped),
            row.last_error or "-",
        )
    stdout.print(table)
