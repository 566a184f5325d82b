"""The scheduled release job on a real authority: SQL in, signed release out, ledger kept."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from privacy_authority import (
    SHARP,
    file_last_week,
    privacy_authority,
    queued_aggregates,
    reopen,
)
from sqlalchemy import func
from sqlmodel import Session, select

from authority.app import AuthorityApp
from authority.cases.tables import CaseMemberRow
from authority.federation.tables import OutboxItem
from authority.privacy.aggregates import CellKey, Period
from authority.privacy.job import (
    ALREADY_RELEASED,
    REFUSED,
    RELEASED,
    ReleaseJob,
    ReleaseScheduler,
    install_privacy,
)
from authority.privacy.release import list_releases
from authority.privacy.source import countable_reports
from authority.privacy.tables import AggregateReleaseRow, PrivacyLedgerRow
from authority.records import ReportRecord
from nearmiss.errors import ConfigError, PreconditionError
from nearmiss.model import HarmDomain, ReportKind


def job_of(app: AuthorityApp) -> ReleaseJob:
    component = install_privacy(app)
    assert isinstance(component, ReleaseScheduler)
    return component.job


def test_release_counts_the_stored_reports_and_their_cases(tmp_path: Path) -> None:
    authority = privacy_authority(tmp_path / "net", SHARP)
    received = file_last_week(authority)
    engine = authority.app.engine
    with Session(engine) as session:
        borealis = session.exec(
            select(ReportRecord.report_id).where(ReportRecord.lab_id == "lab-borealis")
        ).one()
        aurora = session.exec(
            select(ReportRecord.report_id).where(ReportRecord.lab_id == "lab-aurora")
        ).all()
        # Both aurora reports and the borealis one are linked into case 7.
        for report_id in (*aurora, borealis):
            session.add(CaseMemberRow(report_id=report_id, case_id=7, joined_at=received))
        session.commit()
    period = Period.week_containing(received)
    with Session(engine) as session:
        counted = countable_reports(session, period)
        assert (
            countable_reports(session, Period.week_containing(received + timedelta(days=7))) == []
        )
    assert Counter(r.lab_id for r in counted) == {
        "lab-aurora": 2,
        "lab-borealis": 1,
        "lab-cygnus": 1,
    }
    assert {r.case_id for r in counted} == {"7", None}

    outcome = job_of(authority.app).run_due()
    assert outcome.status == RELEASED and outcome.release is not None
    release = outcome.release.release
    assert release.period == period and release.origin_authority == "eu-ai-office"
    outcome.release.verify(authority.app.signing_key.verifying_key)
    expected = Counter(
        {
            CellKey(HarmDomain.CYBER, 3, ReportKind.INCIDENT, "reports"): 2,
            CellKey(HarmDomain.CYBER, 3, ReportKind.INCIDENT, "cases"): 1,  # distinct cases
            CellKey(HarmDomain.CYBER, 4, ReportKind.NEAR_MISS, "reports"): 1,
            CellKey(HarmDomain.CYBER, 4, ReportKind.NEAR_MISS, "cases"): 1,
            CellKey(HarmDomain.PRIVACY, 4, ReportKind.NEAR_MISS, "reports"): 1,
            CellKey(HarmDomain.PRIVACY, 4, ReportKind.NEAR_MISS, "cases"): 1,
            CellKey(HarmDomain.OTHER, 1, ReportKind.NEAR_MISS, "reports"): 1,
        }
    )
    assert len(release.cells) == 240
    off = {key: value for key, value in release.cells if abs(value - expected[key]) >= 1.5}
    assert off == {}


def test_second_release_of_a_period_is_refused_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    authority = privacy_authority(tmp_path / "net")  # defaults: 1.0 per release, 1.1 a period
    received = file_last_week(authority)
    job = job_of(authority.app)
    first = job.run_due()
    assert first.status == RELEASED and first.period == Period.week_containing(received)
    assert first.period_spent is not None and 1.0 <= first.period_spent <= 1.02

    assert job.run_due().status == ALREADY_RELEASED  # the scheduler does not charge twice
    with caplog.at_level(logging.WARNING, logger="nearmiss.authority.privacy"):
        again = job.release(first.period)
    assert again.status == REFUSED and again.release is None
    assert "privacy budget exceeded" in again.refusal and first.period.label in again.refusal
    (record,) = [r for r in caplog.records if "refused" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert first.period.label in record.getMessage() and "period spend" in record.getMessage()
    with Session(authority.app.engine) as session:
        assert session.exec(select(func.count()).select_from(PrivacyLedgerRow)).one() == 1
        assert session.exec(select(func.count()).select_from(AggregateReleaseRow)).one() == 1


def test_a_restarted_authority_keeps_the_ledger(tmp_path: Path) -> None:
    authority = privacy_authority(tmp_path / "net")
    file_last_week(authority)
    first = job_of(authority.app).run_due()
    assert first.status == RELEASED
    authority.app.engine.dispose()

    restarted = reopen(authority)
    job = job_of(restarted)
    assert job.run_due().status == ALREADY_RELEASED
    refused = job.release(first.period)
    assert refused.status == REFUSED
    with Session(restarted.engine) as session:
        ledger = job.config.ledger()
        assert ledger.spent(session).releases == 1
        assert ledger.spent(session).epsilon == pytest.approx(first.lifetime_spent, abs=1e-9)
        assert [s.release.release_id for s in list_releases(session)] == [
            first.release.release.release_id if first.release else ""
        ]


def test_open_periods_are_never_released_and_config_is_checked(tmp_path: Path) -> None:
    authority = privacy_authority(tmp_path / "net")
    job = job_of(authority.app)
    now = datetime.now(UTC)
    with pytest.raises(PreconditionError, match="only after it has ended"):
        job.release(Period.week_containing(now), now=now)
    with Session(authority.app.engine) as session:
        assert session.exec(select(func.count()).select_from(PrivacyLedgerRow)).one() == 0

    off = privacy_authority(tmp_path / "off", "enabled = false\n")
    assert install_privacy(off.app) is None
    bad = privacy_authority(tmp_path / "bad", "epsilon_per_release = 1.0\nperiod_epsilon = 1.0\n")
    with pytest.raises(ConfigError, match="can never fit") as raised:
        install_privacy(bad.app)
    assert raised.value.key == "privacy.period_epsilon"


def test_the_scheduler_fires_daily_at_five_past_midnight_utc(tmp_path: Path) -> None:
    authority = privacy_authority(tmp_path / "net")
    component = install_privacy(authority.app)
    assert component is not None and component in authority.app.components
    component.start()
    try:
        fire = component.next_run_time()
    finally:
        component.stop()
    assert fire is not None
    fire = fire.astimezone(UTC)
    assert (fire.hour, fire.minute, fire.second) == (0, 5, 0)
    assert timedelta(0) < fire - datetime.now(UTC) <= timedelta(days=1)


def test_a_release_is_queued_to_every_federation_peer(tmp_path: Path) -> None:
    from authority.alerts import install_alerts
    from authority.federation import federation_of, install_federation

    authority = privacy_authority(tmp_path / "net", federated=True)
    file_last_week(authority)
    install_alerts(authority.app)
    install_federation(authority.app)
    assert federation_of(authority.app) is not None
    job = job_of(authority.app)
    outcome = job.run_due()
    assert outcome.status == RELEASED and outcome.queued_to_peers and outcome.release
    signed = outcome.release
    assert queued_aggregates(authority) == [("us-caisi", signed.release.release_id, signed.payload)]
    # Queueing again (every scheduled run does, to survive a crash) adds nothing.
    assert job.requeue() == 1
    assert len(queued_aggregates(authority)) == 1
    with Session(authority.app.engine) as session:
        (item,) = session.exec(select(OutboxItem)).all()
    assert item.signature == signed.signature and item.signing_key_id == signed.signing_key_id
