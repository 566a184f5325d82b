"""``node status``: figures from one snapshot, rendered for a person."""

from __future__ import annotations

from rich.console import Console

from nearmiss.model import IncidentReport
from nearmiss.signed_report import sign_report
from nearmiss.signing import SigningKey
from node.outbox import Digests, Outbox
from node.status import read_status, render, to_proto
from node.store import NodeStore
from tests.unit.node.fakes import FakeAuthority


def test_status_counts_and_renders(
    store: NodeStore, outbox: Outbox, report: IncidentReport, lab_key: SigningKey,
    fake_authority: FakeAuthority,
) -> None:
    empty = read_status(store)
    assert empty.outbox_depth == 0 and empty.oldest_pending_at is None
    ids = []
    for n in range(3):
        item = report.model_copy(update={"report_id": f"00000000-0000-4000-8000-00000000000{n}"})
        outbox.enqueue(item.report_id, sign_report(item, lab_key), Digests(f"{n}", f"{n}"),
                       now=100.0 + n)
        ids.append(item.report_id)
    receipt = fake_authority.submit(outbox.get(ids[0]).signed)
    outbox.record_receipt(ids[0], receipt, now=200.0)
    outbox.record_retry([ids[1]], "UNAVAILABLE: connection refused", now=201.0, delays=[5.0])
    outbox.record_refusal(ids[2], "INVALID_ARGUMENT: too old", now=202.0)
    snapshot = read_status(store)
    assert snapshot.outbox_depth == 1 and snapshot.oldest_pending_id == ids[1]
    assert snapshot.delivered == 1 and snapshot.refused == 1 and snapshot.receipts_held == 1
    assert snapshot.last_receipt_report_id == ids[0] and snapshot.last_receipt_log_index == 0
    assert [f.reason for f in snapshot.recent_failures] == [
        "INVALID_ARGUMENT: too old",
        "UNAVAILABLE: connection refused",
    ]
    message = to_proto(snapshot)
    assert message.outbox_depth == 1 and message.reports_refused == 1
    assert message.recent_failures[0].report_id == ids[2]
    console = Console(record=True, width=160)
    console.print(render(snapshot, lab_id="lab-aurora", now=260.0))
    text = console.export_text()
    for expected in ("outbox depth", "oldest pending", ids[1], "last receipt", "log index 0",
                     "recent failures", "too old", "1.0 min ago"):
        assert expected in text
