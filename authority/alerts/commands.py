"""``nearmiss authority alerts [holds|approve]`` and ``nearmiss authority peers``.

Rules: they work on the authority's database directly (run them on its host with its
config) and print ids, states, counts, rules and times — never alert or report text.
``--json`` prints one JSON array instead of a table. ``alerts`` alone lists alerts (as
it always did); ``alerts holds`` lists held copies; ``alerts approve`` is a person's
release of a copy the safe-harbor pack holds for approval: it is delivered at once
(a subscriber's stream picks it up within ``poll_seconds``, a peer's sender within its
poll interval) and the approval is kept with who, when and why.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy.engine import Engine
from sqlmodel import Session

from authority.alerts.config import AlertsConfig
from authority.alerts.holds import approve_hold, list_holds
from authority.alerts.listing import AlertState, list_alerts
from authority.alerts.service import AlertService
from authority.config import AuthorityConfig
from authority.database import open_database
from authority.parties import PartyRegistry, RevocationList
from nearmiss.console import stdout
from nearmiss.errors import ConfigError
from policies.engine import PolicyEngine

alerts_app = typer.Typer(
    help="Alerts raised here or received from peers (listed when no command is given); "
    "held copies (holds) and their approval (approve)."
)


@alerts_app.callback(invoke_without_command=True)
def alerts_command(
    context: typer.Context,
    config: Path | None = typer.Option(None, "--config", "-c", help="authority.toml"),
    state: AlertState | None = typer.Option(None, "--state", help="only this state"),
    limit: int = typer.Option(200, "--limit", min=1),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Alerts raised here or received from peers: open, acknowledged, escalated.

    With a command (holds, approve), that command runs instead of the listing.
    """
    context.obj = config
    if context.invoked_subcommand is not None:
        return
    settings = AuthorityConfig.load(_config_of(context, None))
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


def _config_of(context: typer.Context, config: Path | None) -> Path:
    """The subcommand's --config, else the one given before it (``alerts -c X holds``)."""
    chosen = config or (context.obj if isinstance(context.obj, Path) else None)
    if chosen is None:
        raise typer.BadParameter("give the authority's config", param_hint="--config")
    return chosen


@alerts_app.command("holds")
def holds_command(
    context: typer.Context,
    config: Path | None = typer.Option(None, "--config", "-c", help="authority.toml"),
    include_released: bool = typer.Option(
        False, "--all", help="also released holds, with who released them and when"
    ),
    limit: int = typer.Option(200, "--limit", min=1),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Copies the safe-harbor pack held back: delayed, due, or waiting for approval."""
    settings = AuthorityConfig.load(_config_of(context, config))
    engine = open_database(settings.database_url)
    try:
        with Session(engine) as session:
            rows = list_holds(
                session, datetime.now(UTC), include_released=include_released, limit=limit
            )
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps([row.as_json() for row in rows], indent=2))
        return
    columns = ["alert", "recipient", "outcome", "rule", "not before (UTC)", "age", "state"]
    if include_released:
        columns += ["released (UTC)", "by"]
    table = Table(*columns)
    for row in rows:
        cells = [
            row.alert_id,
            row.recipient,
            row.outcome,
            row.rule_id,
            _time(row.not_before),
            _age(row.age_seconds),
            row.state,
        ]
        if include_released:
            cells += [_time(row.released_at), row.approved_by or row.cause or "-"]
        table.add_row(*cells)
    stdout.print(table)
    waiting = sum(1 for row in rows if row.state == "needs approval")
    stdout.print(
        f"{len(rows)} hold(s), {waiting} waiting for approval: "
        "nearmiss authority alerts approve -c CONFIG ALERT_ID --recipient NAME --by PERSON"
    )


@alerts_app.command("approve")
def approve_alert_command(
    context: typer.Context,
    alert_id: str = typer.Argument(..., help="the alert (its id, or 8+ first characters)"),
    config: Path | None = typer.Option(None, "--config", "-c", help="authority.toml"),
    recipient: str = typer.Option(
        ..., "--recipient", help="whose held copy: a party id, or a peer authority's id"
    ),
    by: str = typer.Option(..., "--by", help="who approves (kept in the authority)"),
    reason: str = typer.Option("", "--reason", help="why (kept in the authority)"),
) -> None:
    """Approve and deliver a copy the safe-harbor pack held for a person's approval."""
    settings = AuthorityConfig.load(_config_of(context, config))
    engine = open_database(settings.database_url)
    try:
        service = offline_alert_service(settings, engine)
        release = approve_hold(
            service, engine, alert_id=alert_id, recipient=recipient, approved_by=by, reason=reason
        )
    finally:
        engine.dispose()
    where = (
        f"delivered under cursor {release.delivered_cursor}"
        if release.delivered_cursor is not None
        else "queued for the peer" if release.recipient.startswith("peer:") else "delivered"
    )
    stdout.print(
        f"alert {release.alert_id}: the copy for {release.recipient} was approved by "
        f"{release.approved_by} and {where} (rule {release.rule_id}, "
        f"pack {release.policy_pack_hash[:12]})",
        soft_wrap=True,
    )


def offline_alert_service(settings: AuthorityConfig, engine: Engine) -> AlertService:
    """The alert service of this authority, built to write, not to serve: its parties,
    its policy packs and (with ``[federation]``) its peers' outbox, no threads."""
    service = AlertService(
        engine=engine,
        authority_id=settings.authority_id,
        registry=PartyRegistry(settings.parties, RevocationList(settings.revoked_serials_file)),
        policies=PolicyEngine.from_config(settings.extra.get("policies")),
        config=AlertsConfig.from_table(settings.extra.get("alerts")),
    )
    from authority.federation.config import FederationConfig
    from authority.federation.outbox import FederationOutbox

    federation = FederationConfig.from_authority(settings)
    if federation is not None:
        service.peer_sink = FederationOutbox(sorted(federation.peers))
    return service


def _time(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S") if when is not None else "-"


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    return f"{hours}h{minutes % 60:02d}m" if hours < 48 else f"{hours // 24}d{hours % 24:02d}h"


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
