"""Receipts: the authority's signed statement that it holds a report, with the proof.

Rule: a receipt's statement (report id, lab, log index, leaf hash, time received) is
fixed at ingest and re-signed identically on every request (Ed25519 is deterministic),
so asking twice gives the same signed statement; the tree head and inclusion proof are
the newest available, which a node can check against its earlier ones.
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from sqlmodel import Session

from authority.log import TransparencyLog
from authority.records import ReportRecord
from nearmiss.signing import SigningContext, SigningKey
from nearmiss.v1 import authority_pb2, log_pb2


def statement_for(
    *, report_id: str, lab_id: str, log_index: int, leaf_hash: bytes, received_at: datetime
) -> authority_pb2.ReceiptStatement:
    received = Timestamp()
    if received_at.tzinfo is None:  # SQLite hands back naive UTC datetimes
        received_at = received_at.replace(tzinfo=UTC)
    received.FromDatetime(received_at.astimezone(UTC))
    return authority_pb2.ReceiptStatement(
        report_id=report_id,
        lab_id=lab_id,
        log_index=log_index,
        leaf_hash=leaf_hash,
        received_at=received,
    )


def receipt_statement(record: ReportRecord) -> authority_pb2.ReceiptStatement:
    return statement_for(
        report_id=record.report_id,
        lab_id=record.lab_id,
        log_index=record.log_index,
        leaf_hash=record.leaf_hash,
        received_at=record.received_at,
    )


def assemble_receipt(
    statement: authority_pb2.ReceiptStatement,
    *,
    head: log_pb2.SignedTreeHead,
    proof: log_pb2.InclusionProof,
    signing_key: SigningKey,
    already_stored: bool,
) -> authority_pb2.Receipt:
    """A receipt from a head and proof the caller already has (one head serves a batch)."""
    signature = signing_key.sign(
        SigningContext.RECEIPT, statement.SerializeToString(deterministic=True)
    )
    return authority_pb2.Receipt(
        statement=statement,
        statement_signature=signature,
        authority_key_id=signing_key.key_id,
        tree_head=head,
        inclusion_proof=proof,
        already_stored=already_stored,
    )


def build_receipt(
    session: Session,
    record: ReportRecord,
    *,
    log: TransparencyLog,
    signing_key: SigningKey,
    already_stored: bool,
) -> authority_pb2.Receipt:
    head = log.signed_tree_head(session, at_least_size=record.log_index + 1)
    proof = log.inclusion_proof(session, record.log_index, head.tree_size)
    return assemble_receipt(
        receipt_statement(record),
        head=head,
        proof=proof,
        signing_key=signing_key,
        already_stored=already_stored,
    )
