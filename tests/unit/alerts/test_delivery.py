"""Subscribing, resuming by cursor, waking on commit, acknowledging."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from authority.alerts.delivery import deliver, next_cursor
from authority.database import open_database, session_scope
from nearmiss.errors import NotFoundError
from nearmiss.identity import Party, Role
from nearmiss.v1 import authority_pb2
from tests.integration.network import postgres_database
from tests.unit.alerts.support import build_app, file_report, make_network, make_report, snapshot

LAB = Party("lab-cygnus", Role.LAB)


@pytest.fixture
def setup(tmp_path: Path):
    network = make_network(tmp_path / "net")
    app, service = build_app(network)
    yield network, app, service
    service.close()
    app.engine.dispose()


def raise_cases(network, app, service, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        reports = [make_report(lab) for lab in ("lab-aurora", "lab-borealis")]
        for report in reports:
            file_report(app, network, report)
        case_id = f"case-{uuid.uuid4()}"
        ids += [a.alert_id for a in service.raise_for_case(snapshot(app, case_id, reports))]
    return ids


def take(stream: Iterator[authority_pb2.Alert], count: int) -> list[authority_pb2.Alert]:
    return [next(stream) for _ in range(count)]


def test_cursors_are_dense_and_resume_is_gap_and_duplicate_free(setup) -> None:
    network, app, service = setup
    alert_ids = raise_cases(network, app, service, 3)
    active = threading.Event()
    active.set()
    first = take(service.subscribe(LAB, 0, active.is_set), 3)
    assert [a.cursor for a in first] == [1, 2, 3]
    assert [a.alert_id for a in first] == alert_ids
    resumed = service.subscribe(LAB, 1, active.is_set)
    assert [a.cursor for a in take(resumed, 2)] == [2, 3]
    more = raise_cases(network, app, service, 1)
    assert [(a.cursor, a.alert_id) for a in take(resumed, 1)] == [(4, more[0])]


def test_a_waiting_subscriber_is_woken_by_the_commit(setup) -> None:
    network, app, service = setup
    active = threading.Event()
    active.set()
    received: list[authority_pb2.Alert] = []
    stream = service.subscribe(LAB, 0, active.is_set)
    reader = threading.Thread(target=lambda: received.append(next(stream)))
    reader.start()
    alert_ids = raise_cases(network, app, service, 1)
    reader.join(timeout=30)
    assert [a.alert_id for a in received] == alert_ids
    active.clear()


def test_only_the_recipient_can_acknowledge(setup) -> None:
    network, app, service = setup
    (alert_id,) = raise_cases(network, app, service, 1)
    response = service.acknowledge(LAB, alert_id)
    assert response.acknowledged_at.seconds > 0
    again = service.acknowledge(LAB, alert_id)
    assert again.acknowledged_at == response.acknowledged_at
    with pytest.raises(NotFoundError):
        service.acknowledge(Party("auditor", Role.AUDITOR), alert_id)
    with pytest.raises(NotFoundError):
        service.acknowledge(LAB, "00000000-0000-0000-0000-000000000000")


def test_cursor_counters_on_postgresql_are_per_recipient_and_dense(tmp_path: Path) -> None:
    with postgres_database() as url:
        engine = open_database(url)
        try:
            with session_scope(engine) as session:
                cursors = [next_cursor(session, "lab-a") for _ in range(3)]
                cursors.append(next_cursor(session, "lab-b"))
                now = datetime.now(UTC)
                for expected in (4, None):
                    got = deliver(session, recipient="lab-a", alert_id="x", payload=b"", now=now)
                    assert got == expected
            assert cursors == [1, 2, 3, 1]
        finally:
            engine.dispose()
