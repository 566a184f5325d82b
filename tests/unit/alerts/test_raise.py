"""Raising alerts from case changes: routing, safe harbor per audience, idempotency, holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from authority.alerts.tables import AlertDelivery, AlertHold, AlertRecord
from authority.database import session_scope
from nearmiss.model import SensitivityScope
from nearmiss.v1 import authority_pb2
from tests.unit.alerts.support import (
    build_app,
    file_report,
    make_network,
    make_report,
    section,
    snapshot,
)


@pytest.fixture
def setup(tmp_path: Path):
    network = make_network(tmp_path / "net")
    app, service = build_app(network)
    yield network, app, service
    app.engine.dispose()


def deliveries(app, alert_id: str) -> dict[str, authority_pb2.Alert]:
    with Session(app.engine) as session:
        rows = session.exec(select(AlertDelivery).where(AlertDelivery.alert_id == alert_id))
        return {row.recipient: authority_pb2.Alert.FromString(row.payload) for row in rows}


def test_multi_lab_case_alerts_every_audience_in_its_own_view(setup) -> None:
    network, app, service = setup
    first = make_report("lab-aurora")
    second = make_report("lab-borealis", severity=4)
    for report in (first, second):
        file_report(app, network, report)
    with session_scope(app.engine) as session:
        raised = service.on_case_changed(session, snapshot(app, "case-1", [first, second]))
    rules = {alert.rule_id for alert in raised}
    assert rules == {"multi-lab-within-24h"}
    got = deliveries(app, raised[0].alert_id)
    assert set(got) == {"analyst", "inst-duty", *("lab-aurora", "lab-borealis", "lab-cygnus")}
    # Analysts are the authority's own staff: the report as filed.
    assert got["analyst"].summary == second.summary
    assert got["analyst"].severity == 4
    # Institutes: the peer-institute view passes the summary and the exact severity.
    assert got["inst-duty"].summary == second.summary
    assert got["inst-duty"].severity == 4
    # Labs: no summary; severity only as its band ("high" -> 4); hashed indicators.
    lab = got["lab-cygnus"]
    assert lab.summary == "" and lab.title == second.title
    assert lab.severity == 4 and lab.reporting_lab_count == 2
    assert lab.indicators[0].value != "urgent-family-help.example"
    assert got["analyst"].indicators[0].value == "urgent-family-help.example"
    for alert in got.values():
        assert alert.origin_authority == "eu-ai-office"
        assert alert.case_id == "case-1"
        assert len(alert.policy_pack_hash) == 64


def test_same_case_state_raises_once_and_a_new_lab_raises_again(setup) -> None:
    network, app, service = setup
    reports = [make_report(lab) for lab in ("lab-aurora", "lab-borealis", "lab-cygnus")]
    for report in reports:
        file_report(app, network, report)
    first = service.raise_for_case(snapshot(app, "case-2", reports[:2]))
    again = service.raise_for_case(snapshot(app, "case-2", reports[:2]))
    grown = service.raise_for_case(snapshot(app, "case-2", reports))
    assert len(first) == 1 and again == []
    assert len(grown) == 1 and grown[0].alert_id != first[0].alert_id
    with Session(app.engine) as session:
        assert len(session.exec(select(AlertRecord)).all()) == 2


def test_single_report_outside_every_rule_raises_nothing(setup) -> None:
    network, app, service = setup
    report = make_report("lab-aurora", severity=2)
    file_report(app, network, report)
    assert service.raise_for_case(snapshot(app, "case-3", [report])) == []


def test_a_hold_delivers_nothing_to_that_audience_and_records_the_rule(setup) -> None:
    network, app, service = setup
    reports = [make_report(lab, domains=("CYBER",)) for lab in ("lab-aurora", "lab-borealis")]
    for report in reports:
        file_report(app, network, report)
    raised = service.raise_for_case(snapshot(app, "case-4", reports))
    got = deliveries(app, raised[0].alert_id)
    assert set(got) == {"analyst", "inst-duty"}
    with Session(app.engine) as session:
        holds = session.exec(select(AlertHold)).all()
    assert {h.recipient for h in holds} == {"lab-aurora", "lab-borealis", "lab-cygnus"}
    assert {(h.outcome, h.rule_id) for h in holds} == {("DELAY", "cyber-delay-for-labs")}
    assert all(h.not_before is not None for h in holds)


CANARY_SUMMARY = "Canary-7f3a: the customer list of enterprise customer Zyx was pricing-tiered."
CANARY_SECTIONS = ("Canary-lab-only-91c2", "Canary-authority-only-55d0", "Canary-shareable-aa01")


def test_canary_nothing_the_safe_harbor_pack_forbids_reaches_a_lab_or_institute(setup) -> None:
    network, app, service = setup
    canary = make_report(
        "lab-borealis",
        summary=CANARY_SUMMARY,
        sections=(
            section(SensitivityScope.LAB_ONLY, CANARY_SECTIONS[0]),
            section(SensitivityScope.AUTHORITY_ONLY, CANARY_SECTIONS[1]),
            section(SensitivityScope.SHAREABLE, CANARY_SECTIONS[2]),
        ),
    )
    other = make_report("lab-aurora")
    for report in (other, canary):
        file_report(app, network, report)
    raised = service.raise_for_case(snapshot(app, "case-5", [other, canary]))
    got = deliveries(app, raised[0].alert_id)
    for recipient, alert in got.items():
        wire = alert.SerializeToString()
        if recipient == "analyst":
            assert b"Canary-7f3a" in wire  # the authority's own staff see the summary
            continue
        assert b"Canary" not in wire, recipient
        assert b"lab-borealis" not in wire and canary.report_id.encode() not in wire
