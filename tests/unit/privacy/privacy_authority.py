"""An in-process authority (real PKI, real ingest, SQLite) with a ``[privacy]`` table,
for the release job, CLI and dashboard tests. Imported by name (tests have no packages)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, select

from authority.app import AuthorityApp
from authority.config import AuthorityConfig
from authority.records import ReportRecord
from tests.unit.disclosure.support import LocalAuthority, local_authority, report

# Large enough that the noise (sigma 0.25) cannot hide a count: |noise| < 1.5 fails
# with probability ~2e-9 per cell.
SHARP = "epsilon_per_release = 400.0\nperiod_epsilon = 401.0\nlifetime_epsilon = 2000.0\n"


def privacy_authority(
    directory: Path, privacy_toml: str = "", *, federated: bool = False
) -> LocalAuthority:
    """A local authority whose authority.toml has ``[privacy]`` with ``privacy_toml``
    (and a ``[federation]`` table with one peer when ``federated``)."""
    authority = local_authority(directory)
    config = authority.network.authority_config_path()
    extra = federation_toml(authority) if federated else ""
    config.write_text(config.read_text() + f"\n[privacy]\n{privacy_toml}{extra}")
    authority.app.engine.dispose()
    authority.app = reopen(authority)
    return authority


def reopen(authority: LocalAuthority) -> AuthorityApp:
    """A new app on the same config and database: what a restart sees."""
    return AuthorityApp.from_config(AuthorityConfig.load(authority.network.authority_config_path()))


def file_last_week(authority: LocalAuthority) -> datetime:
    """File a fixed set of reports, then move their receipt a week back; returns that time.

    Receipt times are set by ingest (a lab cannot back-date them), so the test moves them
    in the database to get a period that has already ended.
    """
    filed = [
        report("lab-aurora", domains=("CYBER",), severity=3, kind="INCIDENT"),
        report("lab-aurora", domains=("CYBER",), severity=3, kind="INCIDENT"),
        report("lab-borealis", domains=("CYBER", "PRIVACY"), severity=4, kind="NEAR_MISS"),
        report("lab-cygnus", domains=("OTHER",), severity=1, kind="NEAR_MISS"),
    ]
    for item in filed:
        authority.file(item)
    moved = datetime.now(UTC) - timedelta(days=7)
    with Session(authority.app.engine) as session:
        session.execute(update(ReportRecord).values(received_at=moved))
        session.commit()
    return moved


def federation_toml(authority: LocalAuthority, peer_id: str = "us-caisi") -> str:
    """A ``[federation]`` table with one peer. Nothing connects to it: the tests only look
    at what is queued for it. Its CA and key are this network's (any valid files do)."""
    root = authority.network.directory
    return (
        '\n[federation]\nlisten = "127.0.0.1:0"\n'
        f"\n[federation.peers.{peer_id}]\n"
        'address = "127.0.0.1:9"\n'
        f'ca_certificate = "{root / "ca" / "ca.pem"}"\n'
        f'signing_public_key = "{root / "lab-aurora" / "signing.pub"}"\n'
    )


def queued_aggregates(authority: LocalAuthority) -> list[tuple[str, str, bytes]]:
    """(peer, release id, payload) of every aggregate in the federation outbox."""
    from authority.federation.tables import KIND_AGGREGATE, OutboxItem

    with Session(authority.app.engine) as session:
        rows = session.exec(select(OutboxItem).where(OutboxItem.kind == KIND_AGGREGATE)).all()
        return [(row.peer_id, row.item_id, row.payload) for row in rows]
