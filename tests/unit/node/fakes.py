"""An in-memory authority for node unit tests: real signatures, a real RFC 9162 log
(authority.log.reference), the authority's idempotency rule, and switches to make it
unreachable or dishonest. It stands beside the real-socket integration tests."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from authority.log.reference import ReferenceLog
from nearmiss.errors import ConflictError, UnavailableError
from nearmiss.proofs import tree_head_message
from nearmiss.signed_report import leaf_data, verify_signed_report
from nearmiss.signing import SigningContext, SigningKey, VerifyingKey
from nearmiss.v1 import authority_pb2, log_pb2, report_pb2


class FakeAuthority:
    def __init__(self, key: SigningKey, lab_key: VerifyingKey):
        self.key = key
        self.lab_key = lab_key
        self.log = ReferenceLog()
        self.stored: dict[str, tuple[bytes, authority_pb2.Receipt]] = {}
        self.down = False
        self.sign_receipts_with: SigningKey | None = None  # a dishonest authority
        self.unary_calls = 0
        self.stream_calls = 0

    def _receipt(self, signed: report_pb2.SignedReport) -> authority_pb2.Receipt:
        report = verify_signed_report(signed, self.lab_key)
        data = leaf_data(signed)
        known = self.stored.get(report.report_id)
        if known is not None:
            if known[0] != data:
                raise ConflictError(
                    f"report {report.report_id} is already stored with different content"
                )
            again = authority_pb2.Receipt()
            again.CopyFrom(known[1])
            again.already_stored = True
            return again
        index = self.log.append(data)
        size = len(self.log.leaves)
        key = self.sign_receipts_with or self.key
        statement = authority_pb2.ReceiptStatement(
            report_id=report.report_id,
            lab_id=report.lab_id,
            log_index=index,
            leaf_hash=self.log.leaves[index],
        )
        statement.received_at.FromDatetime(datetime(2026, 11, 22, tzinfo=UTC))
        stamp = Timestamp(seconds=1_795_000_000 + size)
        head = log_pb2.SignedTreeHead(
            tree_size=size,
            root_hash=self.log.root(size),
            timestamp=stamp,
            authority_key_id=key.key_id,
        )
        head.signature = key.sign(
            SigningContext.TREE_HEAD, tree_head_message(size, head.root_hash, stamp.seconds * 1000)
        )
        receipt = authority_pb2.Receipt(
            statement=statement,
            statement_signature=key.sign(
                SigningContext.RECEIPT, statement.SerializeToString(deterministic=True)
            ),
            authority_key_id=key.key_id,
            tree_head=head,
            inclusion_proof=log_pb2.InclusionProof(
                leaf_index=index, tree_size=size, audit_path=self.log.inclusion_path(index, size)
            ),
        )
        self.stored[report.report_id] = (data, receipt)
        return receipt

    def submit(self, signed: report_pb2.SignedReport) -> authority_pb2.Receipt:
        self.unary_calls += 1
        if self.down:
            raise UnavailableError("connection refused")
        return self._receipt(signed)

    def submit_many(
        self, signed: Iterable[report_pb2.SignedReport]
    ) -> list[authority_pb2.SubmitResult]:
        self.stream_calls += 1
        if self.down:
            raise UnavailableError("connection refused")
        results = []
        for item in signed:
            result = authority_pb2.SubmitResult()
            try:
                receipt = self._receipt(item)
                result.report_id = receipt.statement.report_id
                result.receipt.CopyFrom(receipt)
            except ConflictError as error:
                result.error.code = grpc.StatusCode.ALREADY_EXISTS.value[0]
                result.error.message = str(error)
            results.append(result)
        return results

    def tree_head(self) -> log_pb2.SignedTreeHead:
        raise NotImplementedError


class FakeAlertStream:
    def __init__(self, alerts: list[authority_pb2.Alert], error: Exception | None):
        self._alerts = alerts
        self._error = error
        self.cancelled = threading.Event()

    def __iter__(self) -> Iterator[authority_pb2.Alert]:
        for alert in self._alerts:
            if self.cancelled.is_set():
                return
            yield alert
        if self._error is not None:
            raise self._error

    def cancel(self) -> None:
        self.cancelled.set()


class FakeAlertFeed:
    """Serves ``alerts`` (cursor-ordered) in connections scripted by ``plan``: each entry
    is how many alerts that connection delivers before it drops (None: all, then end)."""

    def __init__(self, alerts: list[authority_pb2.Alert], plan: list[int | None]):
        self.alerts = alerts
        self.plan = list(plan)
        self.resumed_after: list[int] = []
        self.acknowledged: list[str] = []

    def subscribe_alerts(self, resume_after_cursor: int) -> FakeAlertStream:
        self.resumed_after.append(resume_after_cursor)
        # A real feed may resend the last alert around a reconnect; do so to test dedupe.
        start = [a for a in self.alerts if a.cursor >= resume_after_cursor]
        count = self.plan.pop(0) if self.plan else None
        if count is None:
            return FakeAlertStream(start, None)
        return FakeAlertStream(start[:count], UnavailableError("stream reset"))

    def ack_alert(self, alert_id: str) -> authority_pb2.AckAlertResponse:
        self.acknowledged.append(alert_id)
        return authority_pb2.AckAlertResponse()

    def close(self) -> None:
        pass


def make_alert(cursor: int, *, title: str = "Shared jailbreak pattern") -> authority_pb2.Alert:
    alert = authority_pb2.Alert(
        alert_id=f"alert-{cursor:04d}",
        cursor=cursor,
        case_id="case-1",
        severity=4,
        harm_domains=[report_pb2.HARM_DOMAIN_CYBER],
        title=title,
        summary="Three labs saw the same technique.",
        rule_id="route-cyber",
    )
    alert.raised_at.FromDatetime(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    return alert
