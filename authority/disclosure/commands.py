"""``nearmiss authority approve`` and ``nearmiss authority disclosures``.

Rules: both work on the authority's database directly (run them on the authority's
host with its config); ``approve`` records the person's answer, then runs the
disclosure job for that one case at once, so an approved case is public without
waiting for the next scheduled run. Output names case ids, rules and pack hashes —
never report text.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from sqlmodel import Session

from authority.cases.source import case_source_for
from authority.config import AuthorityConfig
from authority.database import open_database
from authority.disclosure.approval import approve, pending_approvals, reject
from authority.disclosure.job import DisclosureJob
from authority.disclosure.store import DisclosureFilters, latest_disclosures
from nearmiss.console import stdout
from nearmiss.signing import SigningKey
from policies.engine import PolicyEngine


def approve_command(
    case_id: str = typer.Argument(..., help="the case to decide (see `disclosures --pending`)"),
    config: Path = typer.Option(..., "--config", "-c", help="authority.toml"),
    by: str = typer.Option(..., "--by", help="who decides (kept in the authority, not public)"),
    note: str = typer.Option("", "--note", help="why (kept in the authority, not public)"),
    reject_it: bool = typer.Option(False, "--reject", help="refuse the disclosure instead"),
) -> None:
    """Approve (or --reject) a disclosure the policy left to a person."""
    settings = AuthorityConfig.load(config)
    engine = open_database(settings.database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            answer = (reject if reject_it else approve)(session, case_id, by=by, note=note)
        stdout.print(
            f"case {answer.case_id}: {answer.status.lower()} by {answer.decided_by} "
            f"(asked by rule {answer.rule_id}, pack {answer.pack_hash[:12]})"
        )
        if reject_it:
            return
        job = DisclosureJob(
            engine=engine,
            policies=PolicyEngine.from_config(settings.extra.get("policies")),
            signing_key=SigningKey.from_file(settings.signing_key_path),
            authority_id=settings.authority_id,
            cases=case_source_for(settings),
        )
        result = job.run_once(case_id=case_id)
        for published_case, version in result.published:
            stdout.print(f"case {published_case}: published as version {version}")
        if not result.published:
            outcomes = ", ".join(f"{k} {v}" for k, v in result.outcomes.items()) or "nothing"
            stdout.print(f"not published now (decision: {outcomes})")
    finally:
        engine.dispose()


def disclosures_command(
    config: Path = typer.Option(..., "--config", "-c", help="authority.toml"),
    pending: bool = typer.Option(False, "--pending", help="only cases waiting for a person"),
    run: bool = typer.Option(False, "--run", help="run the disclosure job once first"),
) -> None:
    """List pending approvals and published disclosures."""
    settings = AuthorityConfig.load(config)
    engine = open_database(settings.database_url)
    try:
        if run:
            result = DisclosureJob(
                engine=engine,
                policies=PolicyEngine.from_config(settings.extra.get("policies")),
                signing_key=SigningKey.from_file(settings.signing_key_path),
                authority_id=settings.authority_id,
                cases=case_source_for(settings),
            ).run_once()
            stdout.print(f"job: {dict(result.outcomes)}, published {len(result.published)}")
        with Session(engine) as session:
            waiting = pending_approvals(session)
            rows = [] if pending else latest_disclosures(session, DisclosureFilters(limit=1000))
        table = Table(title=f"{len(waiting)} waiting for approval", title_justify="left")
        for column in ("case", "asked at", "rule", "pack"):
            table.add_column(column)
        for row in waiting:
            table.add_row(
                row.case_id, row.requested_at.isoformat(timespec="seconds"), row.rule_id,
                row.pack_hash[:12],
            )
        stdout.print(table)
        if pending:
            return
        listing = Table(title=f"{len(rows)} published", title_justify="left")
        for column in ("case", "version", "published", "severity", "domains", "rule"):
            listing.add_column(column)
        for disclosure in rows:
            listing.add_row(
                disclosure.case_id, str(disclosure.version),
                disclosure.published_at.isoformat(timespec="seconds"), disclosure.severity_band,
                disclosure.harm_domains, disclosure.rule_id,
            )
        stdout.print(listing)
    finally:
        engine.dispose()
