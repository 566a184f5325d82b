"""The durable outbox: every signed report is written here before any network call.

States (docs/NODE.md)::

    pending ──receipt verified──► delivered        (receipt kept, row kept)
       │  ▲
       │  └── retryable failure: attempts+1, next_attempt_at = now + backoff
       └──── the authority refuses the bytes for good ──► refused   (kept for a person)

Rules this module enforces:

- The outbox keys on ``report_id`` and stores the signed bytes once; every retry sends
  those identical bytes, so the authority answers with the same receipt
  (``already_stored``) instead of a conflict, and a crash between "sent" and "receipt
  stored" costs one resend, never a duplicate.
- Filing a ``report_id`` that is already here is idempotent when the content matches
  (the report as filed, or what it redacts to — ``reported_at`` aside, since the node
  stamps it): the stored signed bytes are reused. Other content is a ConflictError
  naming the report_id.
- A report leaves ``pending`` only in the transaction that stores its verified receipt
  (or marks it refused); each state change is one transaction (node.store).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from nearmiss.errors import ConflictError, NotFoundError
from nearmiss.v1 import authority_pb2, report_pb2
from node.store import NodeStore, Transaction

RECENT_FAILURES_KEPT = 200


class ReportState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    REFUSED = "refused"


@dataclass(frozen=True)
class QueuedReport:
    report_id: str
    signed: report_pb2.SignedReport
    state: ReportState
    attempts: int
    queued_at: float
    next_attempt_at: float
    last_error: str | None


@dataclass(frozen=True)
class Enqueued:
    """What filing did: the row as it now stands, and whether it was there before."""

    report: QueuedReport
    already_queued: bool


@dataclass(frozen=True)
class Digests:
    """Content fingerprints used to recognise a re-filed report (node.filing)."""

    input_digest: str
    sent_digest: str


_COLUMNS = "report_id, signed, state, attempts, queued_at, next_attempt_at, last_error"


def _row(row: tuple[Any, ...]) -> QueuedReport:
    report_id, signed, state, attempts, queued_at, next_at, last_error = row
    message = report_pb2.SignedReport()
    message.ParseFromString(bytes(signed))
    return QueuedReport(
        report_id=str(report_id),
        signed=message,
        state=ReportState(str(state)),
        attempts=int(attempts),
        queued_at=float(queued_at),
        next_attempt_at=float(next_at),
        last_error=None if last_error is None else str(last_error),
    )


class Outbox:
    def __init__(self, store: NodeStore):
        self._store = store

    def enqueue(
        self,
        report_id: str,
        signed: report_pb2.SignedReport,
        digests: Digests,
        *,
        now: float,
    ) -> Enqueued:
        """Store a signed report for delivery, or recognise it as already here."""
        with self._store.write() as db:
            existing = db.one(
                "SELECT input_digest, sent_digest FROM reports WHERE report_id = ?", (report_id,)
            )
            if existing is not None:
                same = existing[0] == digests.input_digest or existing[1] == digests.sent_digest
                if not same:
                    state = db.scalar("SELECT state FROM reports WHERE report_id = ?", (report_id,))
                    raise ConflictError(
                        f"report {report_id} is already {state} on this node with different "
                        "content; file a changed report under a new report_id"
                    )
                return Enqueued(self._get(db, report_id), already_queued=True)
            db.execute(
                "INSERT INTO reports (report_id, signed, input_digest, sent_digest, state, "
                "queued_at, next_attempt_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                (
                    report_id,
                    signed.SerializeToString(deterministic=True),
                    digests.input_digest,
                    digests.sent_digest,
                    now,
                    now,
                ),
            )
            return Enqueued(self._get(db, report_id), already_queued=False)

    def find(self, report_id: str) -> tuple[Digests, ReportState] | None:
        """The fingerprints and state of a report already here, if any."""
        with self._store.read() as db:
            row = db.one(
                "SELECT input_digest, sent_digest, state FROM reports WHERE report_id = ?",
                (report_id,),
            )
        if row is None:
            return None
        return Digests(str(row[0]), str(row[1])), ReportState(str(row[2]))

    def get(self, report_id: str) -> QueuedReport:
        with self._store.read() as db:
            return self._get(db, report_id)

    @staticmethod
    def _get(db: Transaction, report_id: str) -> QueuedReport:
        row = db.one(f"SELECT {_COLUMNS} FROM reports WHERE report_id = ?", (report_id,))
        if row is None:
            raise NotFoundError(f"report {report_id} is not in this node's outbox")
        return _row(row)

    def due(self, *, now: float, limit: int) -> list[QueuedReport]:
        """Pending reports whose next attempt is due, oldest first."""
        with self._store.read() as db:
            rows = db.all(
                f"SELECT {_COLUMNS} FROM reports WHERE state = 'pending' AND next_attempt_at <= ? "
                "ORDER BY next_attempt_at, queued_at LIMIT ?",
                (now, limit),
            )
        return [_row(row) for row in rows]

    def next_due_at(self) -> float | None:
        with self._store.read() as db:
            value = db.scalar(
                "SELECT MIN(next_attempt_at) FROM reports WHERE state = 'pending'"
            )
        return None if value is None else float(value)

    def record_receipt(
        self, report_id: str, receipt: authority_pb2.Receipt, *, now: float
    ) -> bool:
        """Keep a verified receipt and end the report's life, in one transaction.

        Returns False when the report was already delivered (another process got there
        first); the first receipt stays.
        """
        with self._store.write() as db:
            state = db.scalar("SELECT state FROM reports WHERE report_id = ?", (report_id,))
            if state is None:
                raise NotFoundError(f"report {report_id} is not in this node's outbox")
            if state == ReportState.DELIVERED:
                return False
            db.execute(
                "INSERT OR REPLACE INTO receipts (report_id, receipt, log_index, tree_size, "
                "leaf_hash, already_stored, verified_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    report_id,
                    receipt.SerializeToString(deterministic=True),
                    receipt.statement.log_index,
                    receipt.tree_head.tree_size,
                    receipt.statement.leaf_hash,
                    int(receipt.already_stored),
                    now,
                ),
            )
            db.execute(
                "UPDATE reports SET state = 'delivered', finished_at = ?, last_error = NULL, "
                "attempts = attempts + 1 WHERE report_id = ?",
                (now, report_id),
            )
            return True

    def record_retry(
        self, report_ids: list[str], reason: str, *, now: float, delays: list[float]
    ) -> None:
        """A retryable failure: count the attempt and push the next one back."""
        with self._store.write() as db:
            for report_id, delay in zip(report_ids, delays, strict=True):
                db.execute(
                    "UPDATE reports SET attempts = attempts + 1, next_attempt_at = ?, "
                    "last_error = ? WHERE report_id = ? AND state = 'pending'",
                    (now + delay, reason, report_id),
                )
            _record_failure(db, report_ids[0] if len(report_ids) == 1 else None, reason, now)

    def record_refusal(self, report_id: str, reason: str, *, now: float) -> None:
        """The authority refuses these bytes for good: stop retrying, keep them to inspect."""
        with self._store.write() as db:
            db.execute(
                "UPDATE reports SET state = 'refused', attempts = attempts + 1, "
                "last_error = ?, finished_at = ? WHERE report_id = ? AND state = 'pending'",
                (reason, now, report_id),
            )
            _record_failure(db, report_id, reason, now)

    def record_bad_receipt(
        self, report_id: str, receipt: authority_pb2.Receipt, reason: str, *, now: float
    ) -> None:
        """Keep a receipt that failed verification, for a person to inspect."""
        with self._store.write() as db:
            db.execute(
                "INSERT INTO bad_receipts (report_id, receipt, reason, at) VALUES (?, ?, ?, ?)",
                (report_id, receipt.SerializeToString(deterministic=True), reason, now),
            )

    def receipt(self, report_id: str) -> authority_pb2.Receipt | None:
        with self._store.read() as db:
            blob = db.scalar("SELECT receipt FROM receipts WHERE report_id = ?", (report_id,))
        if blob is None:
            return None
        receipt = authority_pb2.Receipt()
        receipt.ParseFromString(bytes(blob))
        return receipt

    def receipts(self) -> list[authority_pb2.Receipt]:
        """Every verified receipt held, oldest log entry first (for auditors)."""
        with self._store.read() as db:
            blobs = db.all("SELECT receipt FROM receipts ORDER BY log_index")
        return [authority_pb2.Receipt.FromString(bytes(blob)) for (blob,) in blobs]

    def requeue(self, report_id: str, *, now: float) -> None:
        """Put a refused report back to pending (after a person fixed the cause)."""
        with self._store.write() as db:
            changed = db.execute(
                "UPDATE reports SET state = 'pending', next_attempt_at = ?, finished_at = NULL "
                "WHERE report_id = ? AND state = 'refused'",
                (now, report_id),
            ).rowcount
        if changed == 0:
            raise NotFoundError(f"no refused report {report_id} on this node")


def _record_failure(db: Transaction, report_id: str | None, reason: str, now: float) -> None:
    db.execute(
        "INSERT INTO failures (report_id, reason, at) VALUES (?, ?, ?)", (report_id, reason, now)
    )
    db.execute(
        "DELETE FROM failures WHERE id <= (SELECT MAX(id) FROM failures) - ?",
        (RECENT_FAILURES_KEPT,),
    )
