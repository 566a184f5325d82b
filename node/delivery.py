"""Delivering the outbox to the authority and keeping verified receipts.

Rules this module enforces:

- A report is sent as the exact signed bytes the outbox holds. One due report goes by
  the unary ``SubmitReport``; a backlog goes by the streaming ``SubmitReports`` in
  batches (``[outbox] batch_size``), each report judged alone.
- A receipt is kept only after ``nearmiss.receipt_check.verify_receipt`` accepts it (the
  authority's signature, the report and lab ids, the leaf hash of what was sent, the
  signed tree head and the inclusion proof). Storing it and ending the report's life
  is one transaction (node.outbox).
- A receipt that fails verification is a loud error: it is kept in ``bad_receipts`` for
  inspection, and the report stays pending with backoff. Resending the same bytes gets
  the same receipt, so a persistent failure shows in ``node status`` until a person
  acts (a wrong authority key in node.toml, or an authority that misbehaves).
- The authority's answer decides what happens next: INVALID_ARGUMENT (the bytes break a
  rule) and ALREADY_EXISTS (it holds other bytes under this id) are final: the report
  becomes ``refused``. Anything else (unreachable, overloaded, rate limited, not
  authorized yet) is retried with exponential backoff and jitter.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import grpc

from nearmiss.errors import (
    AuthenticationError,
    ConflictError,
    NearmissError,
    PermissionDeniedError,
    RateLimitedError,
    ReportInvalidError,
    UnavailableError,
)
from nearmiss.receipt_check import verify_receipt
from nearmiss.signing import VerifyingKey
from nearmiss.v1 import authority_pb2
from node.client import AuthorityApi
from node.outbox import Outbox, QueuedReport, ReportState

logger = logging.getLogger("nearmiss.node")

# google.rpc.Code numbers (SubmitError.code) that mean "these bytes will never be taken".
FINAL_CODES = frozenset(
    {grpc.StatusCode.INVALID_ARGUMENT.value[0], grpc.StatusCode.ALREADY_EXISTS.value[0]}
)


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    REFUSED = "refused"
    # The authority answered, but its receipt did not verify; the report stays pending.
    BAD_RECEIPT = "bad_receipt"


@dataclass(frozen=True)
class Attempt:
    """What one delivery attempt of one report came to."""

    report_id: str
    outcome: Outcome
    receipt: authority_pb2.Receipt | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with "equal jitter": half the delay fixed, half random, so
    retries from many reports (or nodes) spread out instead of arriving together."""

    initial_s: float = 1.0
    max_s: float = 300.0

    def delay(self, attempts: int, rng: random.Random) -> float:
        base: float = min(self.max_s, self.initial_s * 2.0 ** min(attempts, 32))
        return base / 2 + rng.uniform(0, base / 2)


class Deliverer:
    def __init__(
        self,
        *,
        outbox: Outbox,
        authority: AuthorityApi,
        lab_id: str,
        authority_key: VerifyingKey,
        backoff: Backoff,
        batch_size: int = 50,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ):
        self._outbox = outbox
        self._authority = authority
        self._lab_id = lab_id
        self._authority_key = authority_key
        self._backoff = backoff
        self._batch_size = batch_size
        self._clock = clock
        self._rng = rng or random.Random()

    def deliver_due(self) -> list[Attempt]:
        """Send one batch of due reports; empty when nothing is due."""
        due = self._outbox.due(now=self._clock(), limit=self._batch_size)
        if not due:
            return []
        if len(due) == 1:
            return [self._send_one(due[0])]
        return self._send_batch(due)

    def deliver(self, report_id: str) -> Attempt:
        """Try one report now, whatever its schedule (``node submit``'s first try)."""
        queued = self._outbox.get(report_id)
        if queued.state is ReportState.DELIVERED:
            return Attempt(report_id, Outcome.DELIVERED, self._outbox.receipt(report_id))
        if queued.state is ReportState.REFUSED:
            return Attempt(report_id, Outcome.REFUSED, reason=queued.last_error)
        return self._send_one(queued)

    def _send_one(self, queued: QueuedReport) -> Attempt:
        try:
            receipt = self._authority.submit(queued.signed)
        except (ReportInvalidError, ConflictError) as error:
            return self._refuse(queued, str(error))
        except NearmissError as error:
            reason = describe(error)
            self._retry([queued], reason)
            return Attempt(queued.report_id, Outcome.RETRY, reason=reason)
        return self._accept(queued, receipt)

    def _send_batch(self, due: list[QueuedReport]) -> list[Attempt]:
        try:
            results = self._authority.submit_many([q.signed for q in due])
        except NearmissError as error:
            reason = describe(error)
            self._retry(due, reason)
            return [Attempt(q.report_id, Outcome.RETRY, reason=reason) for q in due]
        attempts: list[Attempt] = []
        for position, queued in enumerate(due):
            result = results[position] if position < len(results) else None
            attempts.append(self._judge(queued, result))
        return attempts

    def _judge(self, queued: QueuedReport, result: authority_pb2.SubmitResult | None) -> Attempt:
        if result is None:
            self._retry([queued], "the authority's stream ended before this report")
            return Attempt(queued.report_id, Outcome.RETRY, reason="no result")
        if result.WhichOneof("outcome") == "receipt":
            return self._accept(queued, result.receipt)
        code, message = result.error.code, result.error.message
        if code in FINAL_CODES:
            return self._refuse(queued, message)
        reason = f"{_code_name(code)}: {message}"
        self._retry([queued], reason)
        return Attempt(queued.report_id, Outcome.RETRY, reason=reason)

    def _accept(self, queued: QueuedReport, receipt: authority_pb2.Receipt) -> Attempt:
        try:
            verify_receipt(
                receipt,
                sent=queued.signed,
                report_id=queued.report_id,
                lab_id=self._lab_id,
                authority_key=self._authority_key,
            )
        except NearmissError as error:
            reason = f"the receipt failed verification: {error}"
            logger.error("report %s: %s", queued.report_id, reason)
            now = self._clock()
            self._outbox.record_bad_receipt(queued.report_id, receipt, reason, now=now)
            self._retry([queued], reason)
            return Attempt(queued.report_id, Outcome.BAD_RECEIPT, receipt, reason=reason)
        self._outbox.record_receipt(queued.report_id, receipt, now=self._clock())
        return Attempt(queued.report_id, Outcome.DELIVERED, receipt)

    def _refuse(self, queued: QueuedReport, reason: str) -> Attempt:
        logger.error("report %s refused by the authority: %s", queued.report_id, reason)
        self._outbox.record_refusal(queued.report_id, reason, now=self._clock())
        return Attempt(queued.report_id, Outcome.REFUSED, reason=reason)

    def _retry(self, queued: list[QueuedReport], reason: str) -> None:
        delays = [self._backoff.delay(q.attempts, self._rng) for q in queued]
        logger.warning(
            "%d report(s) not delivered, retrying in %.1f s or more: %s",
            len(queued),
            min(delays),
            reason,
        )
        self._outbox.record_retry(
            [q.report_id for q in queued], reason, now=self._clock(), delays=delays
        )



_KINDS: tuple[tuple[type[NearmissError], str], ...] = (
    (UnavailableError, "authority unreachable"),
    (RateLimitedError, "rate limited by the authority"),
    (AuthenticationError, "not authenticated by the authority"),
    (PermissionDeniedError, "not permitted by the authority"),
)


def describe(error: NearmissError) -> str:
    """A retryable failure as a short sentence for logs and ``node status``."""
    for kind, words in _KINDS:
        if isinstance(error, kind):
            return f"{words}: {error}"
    return str(error)


def _code_name(number: int) -> str:
    for status in grpc.StatusCode:
        if status.value[0] == number:
            return str(status.name)
    return f"code {number}"
