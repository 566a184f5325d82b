"""Storing a batch of verified reports: one transaction, one log lock, one signed head.

Rules:

* Idempotency on ``report_id``: a report already stored with the same signed bytes gets
  its stored receipt statement (``already_stored``); other bytes are a ConflictError for
  that report only. A report id twice in one batch is stored once; its later copies are
  answered as repeats.
* New reports are appended to the log and inserted in the same transaction, so a report
  is stored and logged, or neither. The tree head is signed inside that transaction,
  after the appends, so it covers every leaf of the batch; it is handed out only after
  the commit succeeded (a rolled-back head is never seen by anyone).
* Replicas race only at the log lock: when another replica commits one of our reports
  between our lookup and our append (the leaf or the report id is then already there),
  the whole batch is rolled back and looked up again; nothing partial is ever kept.
* A connection the server dropped is retried once on a fresh one. Database failures
  (read-only, disk full, server gone) become UnavailableError with the
  database's own short reason, never with report content: the node keeps the report and
  retries. A database that refuses writes still answers repeats (a repeat needs no
  write), in a second, read-only transaction.
* Which reports are stored already is asked in the log's locking statement (on
  PostgreSQL one round trip for both), and the new rows are written in the log's write
  statement (``authority.log.LoggedRows``).
* On PostgreSQL a batch is first tried as a *guarded* append, in autocommit
  (``TransparencyLog.guarded``): one statement reads the log's state and the look-up,
  one writes everything if the log did not grow meanwhile — two round trips, where a
  locked transaction takes four (BEGIN, lock, write, COMMIT). A batch that finds the log
  moved (another replica appended) is retried under the lock, which always progresses.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    SQLAlchemyError,
)

from authority.batch_proofs import BatchProofs
from authority.database import database_reason, reading_engine, session_scope
from authority.driver_sql import Scope, placeholders, scope_dialect
from authority.held_connection import HeldConnection
from authority.log import LoggedRows, LogMoved, TransparencyLog
from authority.log.merkle import NodeId
from authority.receipts import assemble_receipt, statement_for
from authority.records import ReportRecord
from nearmiss.errors import ConflictError, NearmissError, UnavailableError
from nearmiss.model import IncidentReport
from nearmiss.signed_report import leaf_data, leaf_hash
from nearmiss.signing import SigningKey
from nearmiss.v1 import authority_pb2, log_pb2, report_pb2

REPORT_TABLE = ReportRecord.__table__  # type: ignore[attr-defined]

# How often a batch is retried after losing a race to another replica before its callers
# are told to retry (each retry sees the other replica's commit, so one is usually enough).
RACE_RETRIES = 5
# Columns a receipt or a repeat check needs; rows are plain tuples, not ORM objects
# (building a SQLModel object per report cost more than its SQL).
_RECEIPT_COLUMNS = ("report_id", "lab_id", "log_index", "leaf_hash", "received_at",
                    "canonical_report", "signature")


@dataclass(frozen=True)
class Submission:
    """A report that passed every check and only needs storing."""

    report: IncidentReport
    signed: report_pb2.SignedReport


class _RaceLost(Exception):
    """Internal: another replica committed one of this batch's reports meanwhile."""


@dataclass(frozen=True)
class Stored:
    """A stored report's receipt, unsigned: the caller signs the statement on its own
    thread, so the single writer thread does only what must be serial."""

    statement: authority_pb2.ReceiptStatement
    head: log_pb2.SignedTreeHead
    proof: log_pb2.InclusionProof
    already_stored: bool

    def receipt(self, signing_key: SigningKey) -> authority_pb2.Receipt:
        return assemble_receipt(
            self.statement,
            head=self.head,
            proof=self.proof,
            signing_key=signing_key,
            already_stored=self.already_stored,
        )


@dataclass
class _Planned:
    """What one submission becomes: a stored row (new or repeat), or an error."""

    row: dict[str, Any] | None
    already_stored: bool
    error: NearmissError | None = None


def database_unavailable(error: DBAPIError) -> UnavailableError:
    """A person-readable refusal for a database failure, without request content."""
    return UnavailableError(
        f"the database cannot store reports now ({database_reason(error)}); retry later"
    )


class ReportStore:
    def __init__(self, *, engine: Engine, log: TransparencyLog, one_thread: bool = False):
        """``one_thread``: only one thread ever stores here (the ingest process), so each
        batch's transaction runs on a connection kept between batches
        (``authority.held_connection``) instead of a session and a pool checkout."""
        self._engine = engine
        self._log = log
        self._proofs = BatchProofs()
        # Repeats answered while the database refuses writes (module rules) only read.
        self._reading_engine = reading_engine(engine)
        # Guarded appends (module rules) run on the same pool, in autocommit.
        self._autocommit_engine: Engine | None = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql" else None
        )
        self._held: dict[Engine, HeldConnection] | None = None
        if one_thread:
            self._held = {engine: HeldConnection(engine)}
            if self._autocommit_engine is not None:
                self._held[self._autocommit_engine] = HeldConnection(self._autocommit_engine)

    def close(self) -> None:
        """Give back the connections this store holds (``one_thread``)."""
        for held in (self._held or {}).values():
            held.close()

    def _transaction(self, engine: Engine) -> contextlib.AbstractContextManager[Scope]:
        """One batch's transaction: committed if the block succeeds, else rolled back."""
        if self._held is not None:
            return self._held[engine].transaction()
        return session_scope(engine)

    def store_batch(
        self, batch: Sequence[Submission]
    ) -> list[Stored | BaseException]:
        """One outcome per submission, in order (see the module rules)."""
        reconnected = False
        guarded = self._autocommit_engine is not None
        for _ in range(RACE_RETRIES):
            try:
                return self._try_store(batch, guarded=guarded)
            except (_RaceLost, IntegrityError):
                guarded = False  # under the lock from now on: a locked append progresses
                continue
            except DBAPIError as error:
                if error.connection_invalidated and not reconnected:
                    # The server dropped our connection (restart, failover, an admin):
                    # SQLAlchemy discarded it and nothing was committed. One retry on a
                    # fresh connection, instead of a ping before every batch.
                    reconnected = True
                    continue
                # A database that refuses writes (read-only, full) refuses the log's
                # lock or the guarded write too; what is stored can still be answered.
                return self._answer_repeats(batch, database_unavailable(error))
            except SQLAlchemyError as error:  # e.g. a connection invalidated mid-batch
                failure: BaseException = UnavailableError(
                    f"the database cannot store reports now ({type(error).__name__}); "
                    "retry later"
                )
                return [failure] * len(batch)
        busy = UnavailableError(
            f"the report store lost {RACE_RETRIES} races with other replicas; retry later"
        )
        return [busy] * len(batch)

    def _try_store(
        self, batch: Sequence[Submission], *, guarded: bool
    ) -> list[Stored | BaseException]:
        autocommit = self._autocommit_engine if guarded else None
        with self._transaction(autocommit or self._engine) as session:
            ids = _report_ids(batch)
            # The log's lock (or its state, for a guarded append) first, asking in the
            # same statement which of the batch's reports are stored already.
            look_up = _stored_ids_sql(session, len(ids))
            if autocommit is not None:
                maybe = self._log.guarded(session, look_up=look_up, params=ids)
                if maybe is None:  # no state row yet: the lock starts the tree
                    raise _RaceLost()
                locked = maybe
            else:
                locked = self._log.lock(session, look_up=look_up, params=ids)
            known = self._stored_rows(session, _stored_ids(locked.looked_up))
            plans, new = self._plan(batch, known)
            if not new:
                # Only repeats and conflicts: nothing to log; repeats get the current head.
                if all(plan.row is None for plan in plans):
                    return [plan.error or ConflictError("nothing was stored") for plan in plans]
                try:
                    # A guarded batch holds no lock, so it may not sign a new head.
                    head = self._log.signed_tree_head(session, may_sign=autocommit is None)
                except LogMoved:
                    raise _RaceLost() from None
                in_transaction: dict[NodeId, bytes] = {}
            else:
                rows = LoggedRows(REPORT_TABLE, [row for _, row in new], "log_index")
                try:
                    appended = locked.append_batch(
                        [leaf_data(s) for s, _ in new], with_rows=rows
                    )
                except (ConflictError, LogMoved):
                    raise _RaceLost() from None
                head, in_transaction = appended.head, appended.nodes
            proofs, nodes_used = self._proofs_for(session, plans, head, in_transaction)
        return self._outcomes(plans, head, proofs, nodes_used)

    def _answer_repeats(
        self, batch: Sequence[Submission], failure: UnavailableError
    ) -> list[Stored | BaseException]:
        """Reports stored already get their receipts (a repeat needs no write); the rest
        get ``failure``. Without the log's lock: nothing is written."""
        try:
            with session_scope(self._reading_engine) as session:
                known = self._stored_rows(session, _report_ids(batch))
                if not known:
                    return [failure] * len(batch)
                plans = []
                for submission in batch:
                    existing = known.get(submission.report.report_id)
                    plans.append(_Planned(None, False, failure) if existing is None
                                 else _repeat(submission, existing))
                head = self._log.signed_tree_head(session)
                proofs, nodes_used = self._proofs_for(session, plans, head, {})
        except SQLAlchemyError:
            return [failure] * len(batch)
        return self._outcomes(plans, head, proofs, nodes_used)

    def _proofs_for(
        self,
        session: Scope,
        plans: list[_Planned],
        head: log_pb2.SignedTreeHead,
        in_transaction: dict[NodeId, bytes],
    ) -> tuple[dict[int, log_pb2.InclusionProof], dict[NodeId, bytes]]:
        """Inclusion proofs against ``head`` for every plan with a row (new or repeat)."""
        indexes = [p.row["log_index"] for p in plans if p.row is not None]
        return self._proofs.proofs(session, indexes, head.tree_size, in_transaction)

    def _outcomes(
        self,
        plans: list[_Planned],
        head: log_pb2.SignedTreeHead,
        proofs: dict[int, log_pb2.InclusionProof],
        nodes_used: dict[NodeId, bytes],
    ) -> list[Stored | BaseException]:
        """After the commit: remember the nodes the proofs used, and answer each plan."""
        self._proofs.remember(nodes_used)
        return [self._outcome(plan, head, proofs) for plan in plans]

    def _outcome(
        self,
        plan: _Planned,
        head: log_pb2.SignedTreeHead,
        proofs: dict[int, log_pb2.InclusionProof],
    ) -> Stored | BaseException:
        if plan.row is None:
            return plan.error or ConflictError("the report was not stored")
        row = plan.row
        return Stored(
            statement=statement_for(
                report_id=row["report_id"],
                lab_id=row["lab_id"],
                log_index=row["log_index"],
                leaf_hash=bytes(row["leaf_hash"]),
                received_at=row["received_at"],
            ),
            head=head,
            proof=proofs[row["log_index"]],
            already_stored=plan.already_stored,
        )

    @staticmethod
    def _plan(
        batch: Sequence[Submission], known: dict[str, dict[str, Any]]
    ) -> tuple[list[_Planned], list[tuple[report_pb2.SignedReport, dict[str, Any]]]]:
        plans: list[_Planned] = []
        new: list[tuple[report_pb2.SignedReport, dict[str, Any]]] = []
        for submission in batch:
            report, signed = submission.report, submission.signed
            existing = known.get(report.report_id)
            if existing is None:
                row = _new_row(report, signed)
                known[report.report_id] = row
                new.append((signed, row))
                plans.append(_Planned(row, already_stored=False))
            else:
                plans.append(_repeat(submission, existing))
        return plans, new

    @staticmethod
    def _stored_rows(session: Scope, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The stored rows of ``ids``, read through Core, which converts their dates
        (only repeats get here; the common answer to the look-up is none)."""
        if not ids:
            return {}
        columns = [REPORT_TABLE.c[name] for name in _RECEIPT_COLUMNS]
        return {
            row.report_id: dict(row._mapping)
            for row in session.execute(
                select(*columns).where(REPORT_TABLE.c.report_id.in_(ids))
            )
        }


def _report_ids(batch: Sequence[Submission]) -> list[str]:
    return sorted({s.report.report_id for s in batch})


def _repeat(submission: Submission, existing: dict[str, Any]) -> _Planned:
    """A report id stored already: the same signed bytes are a repeat (so is an id sent
    twice in one batch: stored once, then a repeat), other bytes a conflict."""
    signed = submission.signed
    if (
        bytes(existing["canonical_report"]) != signed.canonical_report
        or bytes(existing["signature"]) != signed.signature
    ):
        return _Planned(None, False, ConflictError(
            f"report {submission.report.report_id} is already stored with different "
            "content; a changed report needs a new report_id"
        ))
    return _Planned(existing, already_stored=True)


def _stored_ids_sql(session: Scope, count: int) -> str:
    """A scalar query: which of ``count`` report ids are stored, as one value (an array on
    PostgreSQL, a JSON array on SQLite), so it fits in the log's locking statement."""
    dialect = scope_dialect(session).name
    aggregate = "array_agg(report_id)" if dialect == "postgresql" else "json_group_array(report_id)"
    return (
        f"SELECT {aggregate} FROM {REPORT_TABLE.name} "
        f"WHERE report_id IN ({placeholders(count)})"
    )


def _stored_ids(looked_up: Any) -> list[str]:
    """The look-up's value as a list: NULL (PostgreSQL, none found), a list, or JSON."""
    if looked_up is None:
        return []
    if isinstance(looked_up, str):
        return [str(report_id) for report_id in json.loads(looked_up)]
    return [str(report_id) for report_id in looked_up]


def _new_row(report: IncidentReport, signed: report_pb2.SignedReport) -> dict[str, Any]:
    return {
        "report_id": report.report_id,
        "lab_id": report.lab_id,
        "canonical_report": signed.canonical_report,
        "signature": signed.signature,
        "signing_key_id": signed.signing_key_id,
        "leaf_hash": leaf_hash(signed),
        "log_index": -1,  # set from the log append, in the same transaction
        "received_at": datetime.now(UTC),
        "kind": report.kind.value,
        "severity": report.severity,
        "harm_domains": " ".join(d.value for d in report.harm_domains),
        "occurred_at": report.occurred_at,
        "detected_at": report.detected_at,
        "linked_at": None,
    }
