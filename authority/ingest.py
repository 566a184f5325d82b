"""Accepting a signed report: the authority's one write path for reports.

Order of checks, each refusing with our own error and writing nothing:
1. the caller is a lab (authorization happens before this, by RPC);
2. the signature verifies with the calling lab's registered key (so a report signed by
   lab A cannot be filed over lab B's connection: B's key does not verify it);
3. the canonical bytes decode to a valid report whose ``lab_id`` is the caller;
4. ``reported_at`` is inside the skew window (not in the future beyond the allowed
   clock skew, not older than the maximum age) — replayed old reports are refused;
5. idempotency on ``report_id``: same bytes → the stored receipt; other bytes → conflict.
Then the report row and its log leaf are written in one transaction
(``authority.report_store``). Stores are group-committed (``authority.group_commit``):
concurrent submissions share one transaction, one fsync and one signed tree head, and the
caller waits for its own outcome.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from authority.config import LimitsConfig
from authority.group_commit import DEFAULT_MAX_BATCH, GroupCommitter
from authority.log import TransparencyLog
from authority.parties import PartyRegistry
from authority.receipts import build_receipt
from authority.records import ReportRecord
from authority.report_store import ReportStore, Stored, Submission, database_unavailable
from nearmiss.errors import (
    NotFoundError,
    PermissionDeniedError,
    ReportInvalidError,
)
from nearmiss.identity import Party
from nearmiss.model import IncidentReport
from nearmiss.signed_report import verify_signed_report
from nearmiss.signing import SigningKey
from nearmiss.v1 import authority_pb2, report_pb2


@dataclass(frozen=True)
class Accepted:
    """What ingest hands to background work (dedup, alerts): ids only, no text."""

    report_id: str
    log_index: int


class IngestService:
    def __init__(
        self,
        *,
        engine: Engine,
        registry: PartyRegistry,
        log: TransparencyLog,
        signing_key: SigningKey,
        limits: LimitsConfig,
        max_batch: int = DEFAULT_MAX_BATCH,
    ):
        self._engine = engine
        self._registry = registry
        self._log = log
        self._signing_key = signing_key
        self._limits = limits
        self.accepted_event = threading.Event()
        store = ReportStore(engine=engine, log=log)
        self._committer: GroupCommitter[Submission, Stored] = GroupCommitter(
            store.store_batch, max_batch=max_batch, name="ingest-writer"
        )

    def _check_timeline(self, report: IncidentReport, now: datetime) -> None:
        if report.reported_at is None:
            raise ReportInvalidError(
                "is required on the wire (the node sets it when it signs)", field="reported_at"
            )
        skew = timedelta(seconds=self._limits.clock_skew_future_seconds)
        if report.reported_at > now + skew:
            raise ReportInvalidError(
                f"is more than {self._limits.clock_skew_future_seconds} s in the future; "
                "check the node's clock",
                field="reported_at",
            )
        oldest = now - timedelta(days=self._limits.max_report_age_days)
        if report.reported_at < oldest:
            raise ReportInvalidError(
                f"is more than {self._limits.max_report_age_days} days old; "
                "re-sign the report to file it again",
                field="reported_at",
            )

    def verify(self, party: Party, signed: report_pb2.SignedReport) -> IncidentReport:
        key = self._registry.lab_signing_key(party.party_id)
        report = verify_signed_report(signed, key)
        if report.lab_id != party.party_id:
            raise PermissionDeniedError(
                f"the report names lab {report.lab_id}, but it was filed by {party}"
            )
        self._check_timeline(report, datetime.now(UTC))
        return report

    def submit(self, party: Party, signed: report_pb2.SignedReport) -> authority_pb2.Receipt:
        with self._committer.arriving():
            report = self.verify(party, signed)
            stored = self._committer.submit(Submission(report, signed))
        receipt = stored.receipt(self._signing_key)
        if not receipt.already_stored:
            self.accepted_event.set()
        return receipt

    def close(self) -> None:
        """Store what is queued, then stop the writer (the server calls this on shutdown)."""
        self._committer.close()

    def receipt_for(self, party: Party, report_id: str) -> authority_pb2.Receipt:
        try:
            with Session(self._engine) as session:
                record = session.get(ReportRecord, report_id)
                # A lab may read only its own receipts; say "not found" either way, so that
                # report ids of other labs cannot be probed.
                if record is None or record.lab_id != party.party_id:
                    raise NotFoundError(f"no receipt for report {report_id} filed by {party}")
                return build_receipt(
                    session,
                    record,
                    log=self._log,
                    signing_key=self._signing_key,
                    already_stored=True,
                )
        except DBAPIError as error:
            raise database_unavailable(error) from None
