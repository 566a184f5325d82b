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
(``authority.report_store``). Stores are group-committed: concurrent submissions share
one transaction, one fsync and one signed tree head, and the caller waits for its own
outcome.

Where it runs: ``authority serve`` runs checks 2–5, storing and the receipt in a child
process (``authority.ingest_process``, ADR 0008), so they do not compete with the RPC
threads for one interpreter lock; embedded uses (tests, tools) run them on the caller's
thread with ``authority.group_commit``. The answers are the same either way.
"""

from __future__ import annotations

import threading

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from authority.config import LimitsConfig
from authority.group_commit import DEFAULT_MAX_BATCH, GroupCommitter
from authority.ingest_process import IngestProcess, IngestSettings
from authority.log import TransparencyLog
from authority.parties import PartyRegistry
from authority.receipts import build_receipt
from authority.records import ReportRecord
from authority.report_checks import ReportChecks
from authority.report_store import ReportStore, Stored, Submission, database_unavailable
from nearmiss.errors import NotFoundError
from nearmiss.identity import Party
from nearmiss.signing import SigningKey
from nearmiss.v1 import authority_pb2, report_pb2


class _InProcessIngest:
    """Ingest on the caller's thread, stores group-committed by one writer thread."""

    def __init__(
        self,
        *,
        checks: ReportChecks,
        store: ReportStore,
        signing_key: SigningKey,
        on_stored: threading.Event,
        max_batch: int,
    ) -> None:
        self._checks = checks
        self._signing_key = signing_key
        self._on_stored = on_stored
        self._committer: GroupCommitter[Submission, Stored] = GroupCommitter(
            store.store_batch, max_batch=max_batch, name="ingest-writer"
        )

    def submit(self, party: Party, signed: report_pb2.SignedReport) -> authority_pb2.Receipt:
        with self._committer.arriving():
            report = self._checks.verify(party, signed)
            stored = self._committer.submit(Submission(report, signed))
        receipt = stored.receipt(self._signing_key)
        if not receipt.already_stored:
            self._on_stored.set()
        return receipt

    def close(self) -> None:
        self._committer.close()


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
        process: IngestSettings | None = None,
    ):
        self._engine = engine
        self._log = log
        self._signing_key = signing_key
        self.accepted_event = threading.Event()
        # Where ingest runs: a child process (authority.ingest_process), or the caller's
        # thread with a writer thread here. Both answer alike.
        self._ingest: IngestProcess | _InProcessIngest
        if process is not None:
            self._ingest = IngestProcess(process, on_stored=self.accepted_event)
            self._ingest.start()
        else:
            self._ingest = _InProcessIngest(
                checks=ReportChecks(registry=registry, limits=limits),
                store=ReportStore(engine=engine, log=log),
                signing_key=signing_key,
                on_stored=self.accepted_event,
                max_batch=max_batch,
            )

    def submit(self, party: Party, signed: report_pb2.SignedReport) -> authority_pb2.Receipt:
        return self._ingest.submit(party, signed)

    def close(self) -> None:
        """Store what is queued, then stop ingest (the server calls this on shutdown)."""
        self._ingest.close()

    def receipt_for(self, party: Party, report_id: str) -> authority_pb2.Receipt:
        try:
            with Session(self._engine) as session:
                record = session.get(ReportRecord, report_id)
                # A lab may read only its own receipts; say "not found" either way, so that
                # report ids of other labs cannot be probed.
                if record is None or record.lab_id != party.party_id:
                    raise NotFoundError(f"no receipt for report {report_id} filed by {party}")
                receipt = build_receipt(
                    session,
                    record,
                    log=self._log,
                    signing_key=self._signing_key,
                    already_stored=True,
                )
                session.commit()  # its tree head may be new; handed out only once stored
                return receipt
        except DBAPIError as error:
            raise database_unavailable(error) from None
