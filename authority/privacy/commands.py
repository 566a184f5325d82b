"""``nearmiss authority release`` and ``nearmiss authority ledger``.

Rules: both work on the authority's database directly (run them on the authority's host,
with its config). ``release`` makes one release by hand through the same
:class:`ReleaseJob` the scheduler uses, so the ledger is charged and may refuse exactly
as it would; ``--dry-run`` asks the ledger and rolls back, drawing no noise and writing
nothing. A release made here is queued to the federation peers at once (their senders
pick it up within ``poll_seconds``). Output shows epsilon, delta, sigma and spend; exact
report counts appear only in a dry run, for the operator, and are marked as not private.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table
from sqlalchemy.engine import Engine
from sqlmodel import Session

from authority.config import AuthorityConfig
from authority.database import open_database, session_scope
from authority.privacy.config import PrivacyConfig
from authority.privacy.job import (
    DRY_RUN,
    REFUSED,
    AggregatePublisher,
    ReleaseJob,
    ReleaseOutcome,
    releases_of,
)
from authority.privacy.schedule import due_period, parse_period
from authority.privacy.summary import ERROR_LEVEL, LedgerView, ledger_view
from nearmiss.console import report_error, stdout
from nearmiss.errors import PreconditionError
from nearmiss.signing import SigningKey

if TYPE_CHECKING:
    from authority.privacy.release import SignedRelease


class _OutboxPublisher:
    """Queues a release in the federation outbox of this database (no senders here)."""

    def __init__(self, engine: Engine, peer_ids: list[str]):
        from authority.federation.outbox import FederationOutbox

        self._engine = engine
        self._outbox = FederationOutbox(peer_ids)

    def publish_aggregate(self, signed: SignedRelease, session: Session | None = None) -> None:
        with session_scope(self._engine) as own:
            self._outbox.enqueue_aggregate(
                session or own,
                release_id=signed.release.release_id,
                payload=signed.payload,
                signature=signed.signature,
                signing_key_id=signed.signing_key_id,
            )


def _publisher(settings: AuthorityConfig, engine: Engine) -> AggregatePublisher | None:
    from authority.federation.config import FederationConfig

    federation = FederationConfig.from_authority(settings)
    if federation is None or not federation.peers:
        return None
    return _OutboxPublisher(engine, sorted(federation.peers))


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _print_outcome(outcome: ReleaseOutcome, privacy: PrivacyConfig) -> None:
    from authority.privacy.release import error_bar

    table = Table(title=f"{outcome.status}: period {outcome.period.label}", title_justify="left")
    table.add_column("")
    table.add_column("value")
    table.add_row(
        "receipt times", f"{outcome.period.start:%Y-%m-%d} to {outcome.period.end:%Y-%m-%d} (UTC)"
    )
    table.add_row("epsilon / delta", f"{outcome.epsilon:.4g} / {outcome.delta:.3g}")
    table.add_row("mechanism", privacy.mechanism)
    table.add_row("noise sigma", f"{outcome.sigma:.4g}")
    table.add_row("95% error bar per cell", f"± {error_bar(outcome.sigma, level=ERROR_LEVEL):.4g}")
    table.add_row("caps (cell / lab)", f"{privacy.cell_cap} / {privacy.lab_cap}")
    period_spend = f"period {_fmt(outcome.period_spent)} of {_fmt(privacy.period_epsilon)}"
    lifetime = f"lifetime {_fmt(outcome.lifetime_spent)} of {_fmt(privacy.lifetime_epsilon)}"
    spend = f"{period_spend}, {lifetime}"
    table.add_row("ledger spend after", spend)
    if outcome.release is not None:
        table.add_row("release id", outcome.release.release.release_id)
        table.add_row("queued to peers", "yes" if outcome.queued_to_peers else "no peers")
    if outcome.status == DRY_RUN:
        table.add_row("reports received (exact, not private)", str(outcome.reports))
        table.add_row("labs (exact, not private)", str(outcome.labs))
        table.add_row(
            "items kept / dropped by caps", f"{outcome.items_kept} / {outcome.items_dropped}"
        )
        table.add_row("ledger", "would refuse" if outcome.refusal else "would accept")
    stdout.print(table)


def release_command(
    config: Path = typer.Option(..., "--config", "-c", help="authority.toml"),
    period: str = typer.Option(
        "", "--period", help="2026-W46 or 2026-Q4 (default: the period the schedule has due)"
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="show what would be released and whether the ledger allows it"
    ),
) -> None:
    """Release one period's DP aggregates now, charged to the privacy ledger."""
    settings = AuthorityConfig.load(config)
    privacy = PrivacyConfig.from_authority(settings)
    chosen = parse_period(period) if period else due_period(privacy.schedule, datetime.now(UTC))
    engine = open_database(settings.database_url)
    try:
        with Session(engine) as session:
            earlier = releases_of(session, scope=privacy.scope, period=chosen.label)
        if earlier:
            stdout.print(
                f"period {chosen.label} already has {earlier} release(s) in ledger "
                f"{privacy.scope!r}; another one is charged again"
            )
        job = ReleaseJob(
            engine=engine,
            config=privacy,
            authority_id=settings.authority_id,
            signing_key=SigningKey.from_file(settings.signing_key_path),
            publisher=None if dry_run else _publisher(settings, engine),
        )
        outcome = job.release(chosen, dry_run=dry_run)
        _print_outcome(outcome, privacy)
        if outcome.status == REFUSED:
            raise typer.Exit(report_error(PreconditionError(outcome.refusal)))
        if outcome.refusal:
            stdout.print(f"the ledger would refuse it: {outcome.refusal}", highlight=False)
    finally:
        engine.dispose()


def _ledger_tables(view: LedgerView, recomputed: dict[str | None, float] | None) -> None:
    spend = Table(
        title=f"privacy ledger {view.scope!r} (delta {view.delta:.3g})", title_justify="left"
    )
    for column in ("period", "spent ε", "limit ε", "remaining ε", "releases"):
        spend.add_column(column, justify="left" if column == "period" else "right")
    if recomputed is not None:
        spend.add_column("recomputed ε", justify="right")
    for item in (view.lifetime, *view.periods):
        cells = [
            item.period or "lifetime", f"{item.spent:.4f}", f"{item.limit:.4g}",
            f"{item.remaining:.4f}", str(item.releases),
        ]  # fmt: skip
        if recomputed is not None:
            cells.append(f"{recomputed[item.period]:.4f}")
        spend.add_row(*cells)
    stdout.print(spend)
    releases = Table(title=f"{len(view.releases)} releases", title_justify="left")
    for column in ("period", "released (UTC)", "release id", "mechanism", "ε", "δ", "σ",
                   "± 95% per cell"):  # fmt: skip
        releases.add_column(column)
    for shown in view.releases:
        release = shown.release
        releases.add_row(
            release.period.label, f"{release.released_at:%Y-%m-%d %H:%M}",
            release.release_id[:8], release.mechanism, f"{release.epsilon:.4g}",
            f"{release.delta:.3g}", f"{release.noise_sigma:.4g}", f"± {shown.error_cell:.4g}",
        )  # fmt: skip
    stdout.print(releases)


def ledger_command(
    config: Path = typer.Option(..., "--config", "-c", help="authority.toml"),
    recompute: bool = typer.Option(
        False, "--recompute", help="also compose every release again with the accountants"
    ),
) -> None:
    """Show the privacy ledger: spend per period and lifetime, and every release."""
    settings = AuthorityConfig.load(config)
    privacy = PrivacyConfig.from_authority(settings)
    engine = open_database(settings.database_url)
    try:
        with Session(engine) as session:
            view = ledger_view(session, scope=privacy.scope, budget=privacy.budget())
            recomputed: dict[str | None, float] | None = None
            if recompute:
                ledger = privacy.ledger()
                recomputed = {
                    item.period: ledger.spent(session, period=item.period).epsilon
                    for item in (view.lifetime, *view.periods)
                }
        _ledger_tables(view, recomputed)
    finally:
        engine.dispose()
