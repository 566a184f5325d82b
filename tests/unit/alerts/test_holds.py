"""Releasing held copies: a delay that has passed (explicit clock), a person's approval,
errors that name what is wrong, the safe-harbor view of released copies, two replicas."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from authority.alerts.escalation import EscalationScheduler
from authority.alerts.holds import approve_hold, list_holds, release_due, releases_of
from authority.alerts.tables import AlertDelivery, AlertHold, AlertHoldRelease
from authority.app import AuthorityApp
from authority.cli import app as authority_cli
from authority.federation.outbox import pending
from nearmiss.errors import NotFoundError, PreconditionError
from nearmiss.model import IncidentReport, SensitivityScope
from nearmiss.v1 import authority_pb2
from policies.engine import PolicyEngine, default_pack_path
from tests.integration.network import postgres_database
from tests.unit.alerts.support import (
    LABS,
    build_app,
    file_report,
    make_network,
    make_report,
    section,
    snapshot,
)
from tests.unit.federation.support import build, institutes

HOURS = timedelta(hours=1)
CANARY_SUMMARY = "Canary-7f3a: the customer list of enterprise customer Zyx was pricing-tiered."
CANARY_SECTIONS = ("Canary-lab-only-91c2", "Canary-authority-only-55d0")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "sqlite":
        yield "sqlite:///authority.db"
        return
    with postgres_database() as url:
        yield url


@pytest.fixture
def setup(tmp_path: Path, database_url: str):
    network = make_network(tmp_path / "net", database_url=database_url)
    app, service = build_app(network)
    yield network, app, service
    service.close()
    app.engine.dispose()


def raise_case(network, app, service, domains: tuple[str, ...], **fields) -> list[str]:
    """A two-lab case in these harm domains; the alert ids it raised."""
    reports = [
        make_report("lab-aurora", domains=domains),
        make_report("lab-borealis", domains=domains, **fields),
    ]
    for report in reports:
        file_report(app, network, report)
    case_id = f"case-{uuid.uuid4()}"
    return [a.alert_id for a in service.raise_for_case(snapshot(app, case_id, reports))]


def canary_report() -> dict[str, object]:
    return {
        "summary": CANARY_SUMMARY,
        "sections": (
            section(SensitivityScope.LAB_ONLY, CANARY_SECTIONS[0]),
            section(SensitivityScope.AUTHORITY_ONLY, CANARY_SECTIONS[1]),
        ),
    }


def copies(app: AuthorityApp, alert_id: str) -> dict[str, list[authority_pb2.Alert]]:
    with Session(app.engine) as session:
        rows = session.exec(select(AlertDelivery).where(AlertDelivery.alert_id == alert_id))
        found: dict[str, list[authority_pb2.Alert]] = {}
        for row in rows:
            found.setdefault(row.recipient, []).append(authority_pb2.Alert.FromString(row.payload))
        return found


def releases(app: AuthorityApp) -> list[AlertHoldRelease]:
    with Session(app.engine) as session:
        return list(session.exec(select(AlertHoldRelease)))


def test_a_delayed_copy_arrives_once_after_its_delay_and_not_before(setup) -> None:
    network, app, service = setup
    (alert_id,) = raise_case(network, app, service, ("CYBER",), **canary_report())
    start = datetime.now(UTC)
    assert not set(LABS) & set(copies(app, alert_id))
    assert release_due(service, app.engine, start + 71 * HOURS) == []
    assert not set(LABS) & set(copies(app, alert_id)) and releases(app) == []

    made = release_due(service, app.engine, start + 73 * HOURS)
    assert sorted(r.recipient for r in made) == sorted(LABS)
    pack_hash = service.policies.current().safe_harbor.content_hash
    for release in made:
        assert release.cause == "delay elapsed" and release.approved_by is None
        assert release.rule_id == "lab-fields" and release.policy_pack_hash == pack_hash
        assert "cyber-delay-for-labs" in release.rule_trail.split()
        assert release.delivered_cursor == 1
    got = copies(app, alert_id)
    for lab in LABS:
        (copy,) = got[lab]
        assert copy.alert_id == alert_id and copy.summary == ""  # the lab view: no summary
        wire = copy.SerializeToString()
        assert b"Canary" not in wire and b"lab-borealis" not in wire, lab
        assert copy.indicators[0].value != "urgent-family-help.example"  # hashed for labs

    assert release_due(service, app.engine, start + 80 * HOURS) == []
    assert {lab: len(got[lab]) for lab in LABS} == {
        lab: len(c) for lab, c in copies(app, alert_id).items() if lab in LABS
    }
    assert len(releases(app)) == len(LABS)
    with Session(app.engine) as session:
        assert list_holds(session, start + 80 * HOURS) == []
        shown = list_holds(session, start + 80 * HOURS, include_released=True)
    assert {row.state for row in shown} == {"released"}


def test_a_copy_the_pack_in_force_still_holds_stays_held_and_nothing_is_recorded(
    setup, tmp_path: Path
) -> None:
    network, app, service = setup
    (alert_id,) = raise_case(network, app, service, ("CYBER",))
    longer = tmp_path / "safe-harbor-longer.yaml"
    text = default_pack_path("safe-harbor").read_text()
    assert "delay_hours: 72" in text
    longer.write_text(text.replace("delay_hours: 72", "delay_hours: 200"))
    shipped = service.policies
    service.policies = PolicyEngine(safe_harbor=longer)
    start = datetime.now(UTC)
    assert release_due(service, app.engine, start + 100 * HOURS) == []
    assert releases(app) == [] and not set(LABS) & set(copies(app, alert_id))
    with Session(app.engine) as session:
        assert {row.state for row in list_holds(session, start + 100 * HOURS)} == {"due"}
    service.policies = shipped
    assert len(release_due(service, app.engine, start + 100 * HOURS)) == len(LABS)


def test_an_approval_delivers_once_and_records_who_when_and_why(setup) -> None:
    network, app, service = setup
    raised = raise_case(network, app, service, ("BIO_CHEM",))
    assert len(raised) == 2  # cbrn-severe-all-institutes and multi-lab-within-24h
    alert_id = raised[0]
    assert "inst-duty" not in copies(app, alert_id)
    # An approval hold is never released by the clock.
    assert release_due(service, app.engine, datetime.now(UTC) + 1000 * HOURS) == []
    when = datetime.now(UTC) + HOURS
    release = approve_hold(
        service,
        app.engine,
        alert_id=alert_id[:8],
        recipient="inst-duty",
        approved_by="Dr. Ada Byron",
        reason="cleared with both labs",
        now=when,
    )
    assert (release.cause, release.approved_by, release.reason) == (
        "approved", "Dr. Ada Byron", "cleared with both labs",
    )
    assert release.rule_id == "peer-institute-fields"
    assert "cbrn-human-approval" in release.rule_trail.split()
    (copy,) = copies(app, alert_id)["inst-duty"]
    assert copy.alert_id == alert_id and copy.summary  # the institute view has the summary
    with pytest.raises(PreconditionError, match=r"already released .* by Dr\. Ada Byron"):
        approve_hold(
            service, app.engine, alert_id=alert_id, recipient="inst-duty", approved_by="Bob"
        )
    assert len(copies(app, alert_id)["inst-duty"]) == 1
    with Session(app.engine) as session:
        (audit,) = releases_of(session, alert_id)
        assert audit.released_at.replace(tzinfo=UTC) == when
        pending_holds = list_holds(session, datetime.now(UTC))
    assert {(row.alert_id, row.recipient) for row in pending_holds} == {
        (raised[1], "inst-duty"), *((raised[1], lab) for lab in LABS),
    }
    assert {row.state for row in pending_holds} == {"needs approval"}


def test_approving_a_delay_an_unknown_alert_or_recipient_names_what_is_wrong(setup) -> None:
    network, app, service = setup
    (alert_id,) = raise_case(network, app, service, ("CYBER",))

    def approve(alert: str, recipient: str, by: str = "Ada") -> None:
        approve_hold(service, app.engine, alert_id=alert, recipient=recipient, approved_by=by)

    with pytest.raises(PreconditionError, match=r"is a DELAY .*cyber-delay-for-labs.* not an"):
        approve(alert_id, "lab-cygnus")
    with pytest.raises(NotFoundError, match="no alert 00000000-0000"):
        approve("00000000-0000-0000-0000-000000000000", "lab-cygnus")
    with pytest.raises(NotFoundError, match=r"no held copy for 'lab-zeta'.*lab-aurora"):
        approve(alert_id, "lab-zeta")
    with pytest.raises(PreconditionError, match="name the person"):
        approve(alert_id, "lab-cygnus", by="  ")
    assert releases(app) == [] and "lab-cygnus" not in copies(app, alert_id)


def test_an_approved_copy_for_labs_holds_nothing_the_lab_view_withholds(setup) -> None:
    network, app, service = setup
    raised = raise_case(network, app, service, ("CHILD_SAFETY",), **canary_report())
    with Session(app.engine) as session:
        holds = session.exec(select(AlertHold).where(AlertHold.recipient == "lab-cygnus")).all()
    (hold,) = holds
    assert (hold.outcome, hold.rule_id) == ("NEEDS_APPROVAL", "child-safety-institutes-only")
    assert hold.alert_id in raised
    approve_hold(
        service, app.engine, alert_id=hold.alert_id, recipient="lab-cygnus", approved_by="Ada"
    )
    (copy,) = copies(app, hold.alert_id)["lab-cygnus"]
    wire = copy.SerializeToString()
    assert b"Canary" not in wire and b"lab-borealis" not in wire
    assert copy.title and copy.summary == ""
    # The authority's own analysts still see the report as filed.
    (internal,) = copies(app, hold.alert_id)["analyst"]
    assert internal.summary == CANARY_SUMMARY


def test_the_scheduled_job_releases_due_copies(setup) -> None:
    network, app, service = setup
    (alert_id,) = raise_case(network, app, service, ("CYBER",))
    later = datetime.now(UTC) + 73 * HOURS
    service.clock = lambda: later
    EscalationScheduler(service, app.engine).run_once()
    assert set(LABS) <= set(copies(app, alert_id))


def test_two_replicas_release_each_hold_once(tmp_path: Path) -> None:
    with postgres_database() as url:
        network = make_network(tmp_path / "net", database_url=url)
        app, service = build_app(network)
        other_app, other = build_app(network)
        try:
            (alert_id,) = raise_case(network, app, service, ("CYBER",))
            later = datetime.now(UTC) + 73 * HOURS
            made: list[list[AlertHoldRelease]] = []
            start = threading.Barrier(2)

            def job(replica) -> None:
                start.wait()
                made.append(release_due(replica, replica_engine[replica], later))

            replica_engine = {service: app.engine, other: other_app.engine}
            threads = [threading.Thread(target=job, args=(r,)) for r in (service, other)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert sorted(r.recipient for batch in made for r in batch) == sorted(LABS)
            got = copies(app, alert_id)
            assert all(len(got[lab]) == 1 for lab in LABS)
            assert len(releases(app)) == len(LABS)
        finally:
            for s, a in ((service, app), (other, other_app)):
                s.close()
                a.engine.dispose()


def test_a_peer_copy_approved_goes_through_the_federation_outbox(tmp_path: Path) -> None:
    eu, us = (build(i) for i in institutes(tmp_path, "eu-ai-office", "us-caisi"))
    try:
        reports: list[IncidentReport] = [
            make_report("lab-aurora", domains=("BIO_CHEM",)),
            make_report("lab-borealis", domains=("BIO_CHEM",), **canary_report()),
        ]
        for report in reports:
            file_report(eu.app, eu.institute.network, report)
        raised = eu.alerts.raise_for_case(snapshot(eu.app, "case-p", reports))
        assert all("peer:us-caisi" in alert.held for alert in raised)
        with Session(eu.app.engine) as session:
            assert pending(session, "us-caisi", 10) == []
        release = approve_hold(
            eu.alerts,
            eu.app.engine,
            alert_id=raised[0].alert_id,
            recipient="us-caisi",
            approved_by="Ada",
        )
        assert release.recipient == "peer:us-caisi" and release.delivered_cursor is None
        with Session(eu.app.engine) as session:
            (item,) = pending(session, "us-caisi", 10)
        alert = authority_pb2.Alert.FromString(item.payload)
        assert item.item_id == raised[0].alert_id and alert.alert_id == raised[0].alert_id
        assert b"Canary" not in item.payload and b"lab-borealis" not in item.payload
        assert item.log_index is not None and item.leaf_hash
    finally:
        eu.close()
        us.close()


def test_the_cli_lists_holds_and_approves(tmp_path: Path) -> None:
    network = make_network(tmp_path / "net")
    app, service = build_app(network)
    try:
        alert_id = raise_case(network, app, service, ("BIO_CHEM",))[0]
    finally:
        service.close()
        app.engine.dispose()
    config = str(network.authority_config_path())
    runner = CliRunner()
    listed = runner.invoke(authority_cli, ["alerts", "holds", "--config", config, "--json"])
    assert listed.exit_code == 0, listed.output
    assert f'"alert_id": "{alert_id}"' in listed.output and "needs approval" in listed.output
    approved = runner.invoke(
        authority_cli,
        ["alerts", "approve", "-c", config, alert_id[:8], "--recipient", "inst-duty",
         "--by", "Ada", "--reason", "cleared"],
    )
    assert approved.exit_code == 0, approved.output
    assert "approved by Ada and delivered under cursor" in approved.output
    again = runner.invoke(
        authority_cli,
        ["alerts", "approve", "-c", config, alert_id, "--recipient", "inst-duty", "--by", "Ada"],
    )
    assert isinstance(again.exception, PreconditionError)
    alerts = runner.invoke(authority_cli, ["alerts", "--config", config, "--json"])
    assert alerts.exit_code == 0 and alert_id in alerts.output
