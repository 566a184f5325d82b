"""Receipts: the authority's signed statement that it holds a report, with the proof.

Rule: a receipt's statement (report id, lab, log index, leaf hash, time received) is
fixed at ingest and re-signed identically on every request (Ed25519 is deterministic),
so asking twice gives the same signed statement; the tree head and inclusion proof are
the newest available, which a node can check against its earlier ones.
"""

from __future__ import annotations

from datetime import UTC

from google.protobuf.timestamp_pb2 import Timestamp
from sqlmodel import Session

from authority.log import TransparencyLog
from authority.records import ReportRecord
from nearmiss.signing import SigningContext, SigningKey
from nearmiss.v1 import authority_pb2


def receipt_statement(record: ReportRecord) -> authority_pb2.ReceiptStatement:
    received = Timestamp()
    received.FromDatetime(record.received_at.astimezone(UTC))
    return authority_pb2.ReceiptStatement(
        report_id=record.report_id,
        lab_id=record.lab_id,
        log_index=record.log_index,
        leaf_hash=record.leaf_hash,
        received_at=received,
    )


def build_receipt(
    session: Session,
    record: ReportRecord,
    *,
    log: TransparencyLog,
    signing_key: SigningKey,
    already_stored: bool,
) -> authority_pb2.Receipt:
    statement = receipt_statement(record)
    signature = signing_key.sign(
        SigningContext.RECEIPT, statement.SerializeToString(deterministic=True)
    )
    head = log.signed_tree_head(session, at_least_size=record.log_index + 1)
    proof = log.inclusion_proof(session, record.log_index, head.tree_size)
    return authority_pb2.Receipt(
        statement=statement,
        statement_signature=signature,
        authority_key_id=signing_key.key_id,
        tree_head=head,
        inclusion_proof=proof,
        already_stored=already_stored,
    )
