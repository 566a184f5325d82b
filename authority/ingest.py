"""Accepting a signed report: the authority's one write path for reports.

Order of checks, each refusing with our own error and writing nothing:
1. the caller is a lab (authorization happens before this, by RPC);
2. the signature verifies with the calling lab's registered key (so a report signed by
   lab A cannot be filed over lab B's connection: B's key does not verify it);
3. the canonical bytes decode to a valid report whose ``lab_id`` is the caller;
4. ``reported_at`` is inside the skew window (not in the future beyond the allowed
   clock skew, not older than the maximum age) — replayed old reports are refused;
5. idempotency on ``report_id``: same bytes → the stored receipt; other bytes → conflict.
Then the report row and its log leaf are written in one transaction.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from authority.config import LimitsConfig
from authority.database import session_scope
from authority.log import TransparencyLog
from authority.parties import PartyRegistry
from authority.receipts import build_receipt
from authority.records import ReportRecord
from nearmiss.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ReportInvalidError,
    UnavailableError,
)
from nearmiss.identity import Party
from nearmiss.model import IncidentReport
from nearmiss.signed_report import leaf_data, leaf_hash, verify_signed_report
from nearmiss.signing import SigningKey
from nearmiss.v1 import authority_pb2, report_pb2


class _StoredMeanwhile(Exception):
    """Internal: the report was committed by someone else while we were storing it."""


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
    ):
        self._engine = engine
        self._registry = registry
        self._log = log
        self._signing_key = signing_key
        self._limits = limits
        self._listeners: list[threading.Event] = []
        self.accepted_event = threading.Event()

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
        report = self.verify(party, signed)
        try:
            receipt = self._store(report, signed)
        except (IntegrityError, _StoredMeanwhile):
            # Another replica or thread stored the same report_id between our check and
            # insert: answer as for any repeat.
            receipt = self._store(report, signed)
        except OperationalError as error:
            raise UnavailableError(
                f"the database is unavailable ({type(error.orig).__name__}); retry later"
            ) from None
        if not receipt.already_stored:
            self.accepted_event.set()
        return receipt

    def _store(
        self, report: IncidentReport, signed: report_pb2.SignedReport
    ) -> authority_pb2.Receipt:
        with session_scope(self._engine) as session:
            existing = session.get(ReportRecord, report.report_id)
            if existing is not None:
                return self._repeat(session, existing, signed)
            try:
                entry = self._log.append(session, leaf_data(signed))
            except ConflictError:
                # The leaf is the signed report itself: it is in the log only if another
                # replica committed this very report after our lookup (PostgreSQL's READ
                # COMMITTED lets us see it once we hold the log lock). Look again.
                raise _StoredMeanwhile() from None
            record = ReportRecord(
                report_id=report.report_id,
                lab_id=report.lab_id,
                canonical_report=signed.canonical_report,
                signature=signed.signature,
                signing_key_id=signed.signing_key_id,
                leaf_hash=leaf_hash(signed),
                log_index=entry.index,
                received_at=datetime.now(UTC),
                kind=report.kind.value,
                severity=report.severity,
                harm_domains=" ".join(d.value for d in report.harm_domains),
                occurred_at=report.occurred_at,
                detected_at=report.detected_at,
            )
            session.add(record)
            session.flush()
        with Session(self._engine) as session:
            return build_receipt(
                session,
                record,
                log=self._log,
                signing_key=self._signing_key,
                already_stored=False,
            )

    def _repeat(
        self, session: Session, existing: ReportRecord, signed: report_pb2.SignedReport
    ) -> authority_pb2.Receipt:
        if (
            existing.canonical_report != signed.canonical_report
            or existing.signature != signed.signature
        ):
            raise ConflictError(
                f"report {existing.report_id} is already stored with different content; "
                "a changed report needs a new report_id"
            )
        return build_receipt(
            session,
            existing,
            log=self._log,
            signing_key=self._signing_key,
            already_stored=True,
        )

    def receipt_for(self, party: Party, report_id: str) -> authority_pb2.Receipt:
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
