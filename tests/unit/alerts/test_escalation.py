"""Escalation of unacknowledged high-severity alerts, driven by an explicit clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from authority.alerts.escalation import escalate_due
from authority.alerts.tables import AlertDelivery
from nearmiss.identity import Party, Role
from tests.unit.alerts.support import build_app, file_report, make_network, make_report, snapshot

ESCALATION = """
[alerts]
escalate_min_severity = 4
escalate_after_seconds = 60

[alerts.tiers.default]
tier_1 = ["inst-duty"]

[alerts.tiers.lab-cygnus]
tier_1 = ["inst-duty"]
tier_2 = ["inst-head"]
"""


@pytest.fixture
def setup(tmp_path: Path):
    network = make_network(
        tmp_path / "net", institutes=("inst-duty", "inst-head"), extra_toml=ESCALATION
    )
    app, service = build_app(network)
    yield network, app, service
    app.engine.dispose()


def raise_alert(network, app, service, severity: int) -> tuple[str, datetime]:
    reports = [make_report(lab, severity=severity) for lab in ("lab-aurora", "lab-borealis")]
    for report in reports:
        file_report(app, network, report)
    raised = service.raise_for_case(snapshot(app, "case-e", reports))
    (alert_id,) = [a.alert_id for a in raised if a.rule_id == "multi-lab-within-24h"]
    return alert_id, datetime.now(UTC)


def tiers(app, alert_id: str) -> set[tuple[str, int]]:
    with Session(app.engine) as session:
        rows = session.exec(select(AlertDelivery).where(AlertDelivery.alert_id == alert_id))
        return {(row.recipient, row.escalation_tier) for row in rows}


def test_unacknowledged_severe_alert_climbs_one_tier_per_interval(setup) -> None:
    network, app, service = setup
    alert_id, raised_at = raise_alert(network, app, service, severity=4)
    assert escalate_due(service, app.engine, raised_at + timedelta(seconds=30)) == []
    made = escalate_due(service, app.engine, raised_at + timedelta(seconds=61))
    # Every first-tier recipient with a chain escalated.
    assert {(e.on_behalf_of, e.tier) for e in made} >= {("lab-cygnus", 1), ("lab-aurora", 1)}
    # Running the job again at the same moment changes nothing.
    assert escalate_due(service, app.engine, raised_at + timedelta(seconds=61)) == []
    later = escalate_due(service, app.engine, raised_at + timedelta(seconds=125))
    assert {(e.on_behalf_of, e.tier, e.contacts) for e in later} == {
        ("lab-cygnus", 2, "inst-head")
    }
    # Contacts get a delivery of their own per tier, even if they had the alert already.
    assert {("inst-duty", 0), ("inst-duty", 1), ("inst-head", 0), ("inst-head", 2)} <= tiers(
        app, alert_id
    )
    # The chain ends after its last tier.
    assert escalate_due(service, app.engine, raised_at + timedelta(seconds=600)) == []


def test_an_acknowledgement_anywhere_in_the_chain_settles_it(setup) -> None:
    network, app, service = setup
    alert_id, raised_at = raise_alert(network, app, service, severity=5)
    service.acknowledge(Party("lab-cygnus", Role.LAB), alert_id)
    made = escalate_due(service, app.engine, raised_at + timedelta(seconds=61))
    chains = {e.on_behalf_of for e in made if e.alert_id == alert_id}
    assert "lab-cygnus" not in chains and "lab-aurora" in chains
    # inst-duty is tier 1 of every chain: its acknowledgement settles them all.
    service.acknowledge(Party("inst-duty", Role.INSTITUTE), alert_id)
    later = escalate_due(service, app.engine, raised_at + timedelta(seconds=200))
    assert [e for e in later if e.alert_id == alert_id] == []


def test_below_the_severity_threshold_nothing_escalates(setup) -> None:
    network, app, service = setup
    _alert_id, raised_at = raise_alert(network, app, service, severity=3)
    assert escalate_due(service, app.engine, raised_at + timedelta(hours=5)) == []
