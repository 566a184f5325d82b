"""The outbox: durable, idempotent on report_id, one transaction per state change."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from nearmiss.errors import ConflictError, NotFoundError
from nearmiss.model import IncidentReport
from nearmiss.signed_report import sign_report
from nearmiss.signing import SigningKey
from node.outbox import Digests, Outbox, ReportState
from node.store import NodeStore
from tests.unit.node.fakes import FakeAuthority


def test_enqueue_persists_signed_bytes_across_reopen(
    tmp_path: Path, report: IncidentReport, lab_key: SigningKey
) -> None:
    path = tmp_path / "data" / "node.db"
    signed = sign_report(report, lab_key)
    with NodeStore(path) as store:
        Outbox(store).enqueue(report.report_id, signed, Digests("a", "b"), now=100.0)
    with NodeStore(path) as store:
        queued = Outbox(store).get(report.report_id)
    assert queued.signed == signed
    assert queued.state is ReportState.PENDING
    assert queued.queued_at == 100.0


def test_database_and_directory_are_private(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "node.db"
    NodeStore(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_same_content_is_recognised_other_content_conflicts(
    outbox: Outbox, report: IncidentReport, lab_key: SigningKey
) -> None:
    first = sign_report(report, lab_key)
    outbox.enqueue(report.report_id, first, Digests("in-1", "sent-1"), now=1.0)
    # Same input digest, new signature (a re-stamp): the stored bytes are kept.
    restamped = sign_report(report.model_copy(update={"title": "restamped"}), lab_key)
    again = outbox.enqueue(report.report_id, restamped, Digests("in-1", "sent-x"), now=2.0)
    assert again.already_queued and again.report.signed == first
    # Same redacted content from a different input (e.g. only a LAB_ONLY note changed).
    same_sent = outbox.enqueue(report.report_id, restamped, Digests("in-2", "sent-1"), now=3.0)
    assert same_sent.already_queued and same_sent.report.signed == first
    with pytest.raises(ConflictError, match=report.report_id):
        outbox.enqueue(report.report_id, restamped, Digests("in-3", "sent-3"), now=4.0)
    assert outbox.get(report.report_id).signed == first


def test_due_orders_by_schedule_and_retry_pushes_back(
    outbox: Outbox, report: IncidentReport, lab_key: SigningKey
) -> None:
    ids = []
    for n in range(3):
        changed = report.model_copy(update={"report_id": f"00000000-0000-4000-8000-00000000000{n}"})
        outbox.enqueue(changed.report_id, sign_report(changed, lab_key), Digests(f"i{n}", f"s{n}"),
                       now=10.0 + n)
        ids.append(changed.report_id)
    assert [q.report_id for q in outbox.due(now=20.0, limit=10)] == ids
    assert [q.report_id for q in outbox.due(now=20.0, limit=2)] == ids[:2]
    outbox.record_retry([ids[0]], "UNAVAILABLE: down", now=20.0, delays=[30.0])
    assert [q.report_id for q in outbox.due(now=21.0, limit=10)] == ids[1:]
    retried = outbox.get(ids[0])
    assert retried.attempts == 1 and retried.next_attempt_at == 50.0
    assert retried.last_error == "UNAVAILABLE: down"
    assert outbox.next_due_at() == 11.0


def test_receipt_ends_life_once(
    outbox: Outbox, report: IncidentReport, lab_key: SigningKey, fake_authority: FakeAuthority
) -> None:
    signed = sign_report(report, lab_key)
    outbox.enqueue(report.report_id, signed, Digests("i", "s"), now=1.0)
    receipt = fake_authority.submit(signed)
    assert outbox.record_receipt(report.report_id, receipt, now=2.0)
    assert not outbox.record_receipt(report.report_id, receipt, now=3.0)
    assert outbox.get(report.report_id).state is ReportState.DELIVERED
    assert outbox.due(now=100.0, limit=10) == []
    assert outbox.receipt(report.report_id) == receipt


def test_refusal_stops_retries_until_requeued(
    outbox: Outbox, report: IncidentReport, lab_key: SigningKey
) -> None:
    outbox.enqueue(report.report_id, sign_report(report, lab_key), Digests("i", "s"), now=1.0)
    outbox.record_refusal(report.report_id, "INVALID_ARGUMENT: too old", now=2.0)
    assert outbox.due(now=100.0, limit=10) == []
    outbox.requeue(report.report_id, now=3.0)
    assert [q.report_id for q in outbox.due(now=3.0, limit=10)] == [report.report_id]
    with pytest.raises(NotFoundError):
        outbox.requeue(report.report_id, now=4.0)
