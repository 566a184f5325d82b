"""Checking a receipt as the lab that filed the report (or anyone holding it).

A receipt is accepted only if: the statement is signed by the authority's key; it names
the report id and lab that were sent; its leaf hash equals the hash of exactly what was
sent; the tree head is signed by the same key; and the inclusion proof places that leaf
at the stated index under the tree head's root.
"""

from __future__ import annotations

from nearmiss.errors import VerificationError
from nearmiss.proofs import verify_inclusion, verify_tree_head
from nearmiss.signed_report import leaf_hash
from nearmiss.signing import SigningContext, VerifyingKey
from nearmiss.v1 import authority_pb2, report_pb2


def verify_receipt(
    receipt: authority_pb2.Receipt,
    *,
    sent: report_pb2.SignedReport,
    report_id: str,
    lab_id: str,
    authority_key: VerifyingKey,
) -> None:
    statement = receipt.statement
    if receipt.authority_key_id != authority_key.key_id:
        raise VerificationError(
            f"receipt is signed with key {receipt.authority_key_id or '(none)'}, expected "
            f"the authority's key {authority_key.key_id}"
        )
    authority_key.verify(
        SigningContext.RECEIPT,
        statement.SerializeToString(deterministic=True),
        receipt.statement_signature,
    )
    if statement.report_id != report_id or statement.lab_id != lab_id:
        raise VerificationError(
            f"receipt is for report {statement.report_id} of {statement.lab_id}, expected "
            f"report {report_id} of {lab_id}"
        )
    expected_leaf = leaf_hash(sent)
    if statement.leaf_hash != expected_leaf:
        raise VerificationError(
            f"receipt leaf hash {statement.leaf_hash.hex()[:16]}… differs from the hash of "
            f"what was sent {expected_leaf.hex()[:16]}…: the authority holds other bytes"
        )
    verify_tree_head(receipt.tree_head, authority_key)
    proof = receipt.inclusion_proof
    if proof.leaf_index != statement.log_index or proof.tree_size != receipt.tree_head.tree_size:
        raise VerificationError(
            f"inclusion proof is for leaf {proof.leaf_index} in a tree of {proof.tree_size}, "
            f"expected leaf {statement.log_index} in a tree of {receipt.tree_head.tree_size}"
        )
    verify_inclusion(
        expected_leaf,
        statement.log_index,
        receipt.tree_head.tree_size,
        list(proof.audit_path),
        receipt.tree_head.root_hash,
    )
