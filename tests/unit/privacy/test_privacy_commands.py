"""``nearmiss authority release`` and ``nearmiss authority ledger`` on a real database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from privacy_authority import file_last_week, privacy_authority, queued_aggregates
from sqlmodel import Session, select
from typer.testing import CliRunner

from authority.privacy.aggregates import Period
from authority.privacy.tables import AggregateReleaseRow, PrivacyLedgerRow
from nearmiss.cli import app
from nearmiss.errors import ConfigError, PreconditionError


def table_row(output: str, label: str) -> list[str]:
    """The cells of the first table row that starts with ``label``."""
    line = next(line for line in output.splitlines() if line.strip("│ ").startswith(label))
    return [cell.strip() for cell in line.strip("│").split("│")]


def test_release_by_hand_dry_run_refusal_and_ledger(tmp_path: Path) -> None:
    authority = privacy_authority(tmp_path / "net", federated=True)
    week = Period.week_containing(file_last_week(authority)).label
    config = str(authority.network.authority_config_path())
    runner = CliRunner(env={"COLUMNS": "220"})

    dry = runner.invoke(app, ["authority", "release", "-c", config, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"dry-run: period {week}" in dry.output and "would accept" in dry.output
    assert table_row(dry.output, "reports received (exact, not private)")[1] == "4"
    assert table_row(dry.output, "labs (exact, not private)")[1] == "3"
    with Session(authority.app.engine) as session:
        assert session.exec(select(PrivacyLedgerRow)).all() == []  # the dry run wrote nothing

    made = runner.invoke(app, ["authority", "release", "-c", config, "--period", week])
    assert made.exit_code == 0, made.output
    assert (
        f"released: period {week}" in made.output
        and table_row(made.output, "queued to peers")[1] == "yes"
    )
    with Session(authority.app.engine) as session:
        (row,) = session.exec(select(AggregateReleaseRow)).all()
    assert queued_aggregates(authority) == [("us-caisi", row.release_id, row.payload)]

    again = runner.invoke(app, ["authority", "release", "-c", config, "--period", week])
    assert again.exit_code == 1
    assert "already has 1 release(s) in ledger 'default'" in again.output
    assert "error: privacy budget exceeded" in again.output and "period" in again.output
    dry_again = runner.invoke(app, ["authority", "release", "-c", config, "--dry-run"])
    assert dry_again.exit_code == 0 and "would refuse" in dry_again.output

    ledger = runner.invoke(app, ["authority", "ledger", "-c", config, "--recompute"])
    assert ledger.exit_code == 0, ledger.output
    # period, spent, limit, remaining, releases, recomputed: stored and recomputed agree.
    lifetime = table_row(ledger.output, "lifetime")
    assert lifetime[2] == "10" and lifetime[4] == "1" and lifetime[1] == lifetime[5]
    assert table_row(ledger.output, week)[2] == "1.1"
    assert "1 releases" in ledger.output and f"{row.noise_sigma:.4g}" in ledger.output


def test_release_refuses_bad_and_open_periods(tmp_path: Path) -> None:
    authority = privacy_authority(tmp_path / "net")
    config = str(authority.network.authority_config_path())
    runner = CliRunner()
    bad = runner.invoke(app, ["authority", "release", "-c", config, "--period", "2026-W60"])
    assert isinstance(bad.exception, ConfigError) and "no ISO week 60" in str(bad.exception)
    current = Period.week_containing(datetime.now(UTC)).label
    open_week = runner.invoke(app, ["authority", "release", "-c", config, "--period", current])
    assert isinstance(open_week.exception, PreconditionError)
    with Session(authority.app.engine) as session:
        assert session.exec(select(PrivacyLedgerRow)).all() == []
