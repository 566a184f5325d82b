"""Delivery: exact bytes resent, receipts verified before they are kept, final vs
retryable refusals, backoff, and the crash window between "sent" and "receipt kept"."""

from __future__ import annotations

import random

import pytest

from nearmiss.model import IncidentReport
from nearmiss.signed_report import leaf_hash, sign_report
from nearmiss.signing import SigningKey
from node.delivery import Backoff, Deliverer, Outcome
from node.outbox import Digests, Outbox, ReportState
from node.store import NodeStore
from tests.unit.node.conftest import LAB
from tests.unit.node.fakes import FakeAuthority


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _queue(outbox: Outbox, report: IncidentReport, key: SigningKey, n: int) -> list[str]:
    ids = []
    for i in range(n):
        item = report.model_copy(update={"report_id": f"00000000-0000-4000-8000-{i:012d}"})
        outbox.enqueue(item.report_id, sign_report(item, key), Digests(f"i{i}", f"s{i}"), now=i)
        ids.append(item.report_id)
    return ids


def _deliverer(
    outbox: Outbox, authority: FakeAuthority, authority_key: SigningKey, clock: Clock,
    batch_size: int = 50,
) -> Deliverer:
    return Deliverer(
        outbox=outbox,
        authority=authority,
        lab_id=LAB,
        authority_key=authority_key.verifying_key,
        backoff=Backoff(1.0, 60.0),
        batch_size=batch_size,
        clock=clock,
        rng=random.Random(7),
    )


def test_backlog_goes_by_stream_in_batches_and_receipts_are_kept(
    outbox: Outbox, report: IncidentReport, lab_key: SigningKey, authority_key: SigningKey,
    fake_authority: FakeAuthority,
) -> None:
    ids = _queue(outbox, report, lab_key, 7)
    deliverer = _deliverer(outbox, fake_authority, authority_key, Clock(), batch_size=3)
    rounds = []
    while attempts := deliverer.deliver_due():
        rounds.append([a.outcome for a in attempts])
    assert rounds == [[Outcome.DELIVERED] * 3, [Outcome.DELIVERED] * 3, [Outcome.DELIVERED]]
    assert fake_authority.stream_calls == 2 and fake_authority.unary_calls == 1
    for report_id in ids:
        receipt = outbox.receipt(report_id)
        assert receipt is not None
        assert receipt.statement.leaf_hash == leaf_hash(outbox.get(report_id).signed)
        assert outbox.get(report_id).state is ReportState.DELIVERED


def test_unreachable_authority_backs_off_with_jitter_then_delivers(
    outbox: Outbox, report: IncidentReport, lab_key: SigningKey, authority_key: SigningKey,
    fake_authority: FakeAuthority,
) -> None:
    [report_id] = _queue(outbox, report, lab_key, 1)
    clock = Clock()
    deliverer = _deliverer(outbox, fake_authority, authority_key, clock)
    fake_authority.down = True
    delays = []
    for _ in range(5):
        clock.now = outbox.next_due_at() or clock.now
        [attempt] = deliverer.deliver_due()
        assert attempt.outcome is Outcome.RETRY
        delays.append(outbox.get(report_id).next_attempt_at - clock.now)
    # Equal jitter: attempt n waits between half and all of min(60, 2**n).
    for n, delay in enumerate(delays):
        base = min(60.0, 2.0**n)
        assert base / 2 <= delay <= base
    assert deliverer.deliver_due() == []  # not due yet
    fake_authority.down = False
    clock.now = outbox.next_due_at() or clock.now
    [attempt] = deliverer.deliver_due()
    assert attempt.outcome is Outcome.DELIVERED
    assert outbox.get(report_id).attempts == 6


def test_crash_after_authority_stored_resends_same_bytes_same_receipt(
    tmp_path: object, store: NodeStore, outbox: Outbox, report: IncidentReport,
    lab_key: SigningKey, authority_key: SigningKey, fake_authority: FakeAuthority,
) -> None:
    [report_id] = _queue(outbox, report, lab_key, 1)
    # The node sent it and died before keeping the receipt: the authority has it.
    first = fake_authority.submit(outbox.get(report_id).signed)
    [attempt] = _deliverer(outbox, fake_authority, authority_key, Clock()).deliver_due()
    assert attempt.outcome is Outcome.DELIVERED
    assert attempt.receipt is not None and attempt.receipt.already_stored
    assert attempt.receipt.statement == first.statement
    assert len(fake_authority.log.leaves) == 1


def test_receipt_signed_by_another_key_is_kept_aside_and_report_stays_pending(
    store: NodeStore, outbox: Outbox, report: IncidentReport, lab_key: SigningKey,
    authority_key: SigningKey, fake_authority: FakeAuthority,
) -> None:
    [report_id] = _queue(outbox, report, lab_key, 1)
    fake_authority.sign_receipts_with = SigningKey.generate()
    [attempt] = _deliverer(outbox, fake_authority, authority_key, Clock()).deliver_due()
    assert attempt.outcome is Outcome.BAD_RECEIPT
    assert "failed verification" in (attempt.reason or "")
    assert outbox.get(report_id).state is ReportState.PENDING
    assert outbox.receipt(report_id) is None
    with store.read() as db:
        assert db.scalar("SELECT COUNT(*) FROM bad_receipts WHERE report_id = ?", (report_id,)) == 1


def test_receipt_for_other_bytes_fails_verification(
    outbox: Outbox, report: IncidentReport, lab_key: SigningKey, authority_key: SigningKey,
    fake_authority: FakeAuthority,
) -> None:
    [report_id] = _queue(outbox, report, lab_key, 1)
    queued = outbox.get(report_id)

    class Swapping(FakeAuthority):
        def submit(self, signed):  # type: ignore[no-untyped-def]
            other = sign_report(report.model_copy(update={"report_id": report_id,
                                                          "title": "swapped"}), lab_key)
            return super().submit(other)

    swapping = Swapping(authority_key, lab_key.verifying_key)
    attempt = _deliverer(outbox, swapping, authority_key, Clock()).deliver(queued.report_id)
    assert attempt.outcome is Outcome.BAD_RECEIPT and "leaf hash" in (attempt.reason or "")


def test_conflict_at_the_authority_is_final(
    outbox: Outbox, report: IncidentReport, lab_key: SigningKey, authority_key: SigningKey,
    fake_authority: FakeAuthority,
) -> None:
    ids = _queue(outbox, report, lab_key, 2)
    # The authority already holds other bytes under the first id.
    other = report.model_copy(update={"report_id": ids[0], "title": "other"})
    fake_authority.submit(sign_report(other, lab_key))
    attempts = _deliverer(outbox, fake_authority, authority_key, Clock()).deliver_due()
    assert [a.outcome for a in attempts] == [Outcome.REFUSED, Outcome.DELIVERED]
    assert outbox.get(ids[0]).state is ReportState.REFUSED
    assert "different content" in (outbox.get(ids[0]).last_error or "")


@pytest.mark.parametrize("attempts", [0, 3, 10, 40])
def test_backoff_is_bounded(attempts: int) -> None:
    backoff = Backoff(0.5, 30.0)
    rng = random.Random(attempts)
    for _ in range(20):
        delay = backoff.delay(attempts, rng)
        base = min(30.0, 0.5 * 2**attempts)
        assert base / 2 <= delay <= base
