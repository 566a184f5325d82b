"""Provenance of federated items: signing them as origin, verifying them as receiver.

Rules (the receiver checks all of them; any failure drops the item):

1. ``origin_authority`` is the peer that sent it (items are not relayed) and
   ``origin_key_id`` is that peer's configured signing key;
2. the Ed25519 signature covers the payload under ``SigningContext.FEDERATED_ITEM``;
3. for items derived from a log entry (alerts): the tree head is signed by the same
   key (``nearmiss.proofs.verify_tree_head``), the inclusion proof is for the stated
   log index and the head's size, and it proves the stated leaf hash is in that tree.
   Aggregate releases have no log entry; a tree head they carry is checked all the same.

The signature covers the payload only (the wire contract); the log entry is bound by
the inclusion proof under a head the origin signed. docs/adr/0006 discusses this.
"""

from __future__ import annotations

from sqlmodel import Session

from authority.federation.config import PeerConfig
from authority.log import TransparencyLog
from nearmiss.errors import VerificationError
from nearmiss.proofs import verify_inclusion_proof, verify_tree_head
from nearmiss.signing import SigningContext, SigningKey
from nearmiss.v1 import federation_pb2


def sign_alert(
    session: Session,
    *,
    log: TransparencyLog,
    signing_key: SigningKey,
    payload: bytes,
    log_index: int,
    leaf_hash: bytes,
) -> federation_pb2.Provenance:
    """Provenance for an alert raised from log entry ``log_index`` (caller commits: the
    tree head may be new and must be stored before anyone relies on it)."""
    head = log.signed_tree_head(session)
    proof = log.inclusion_proof(session, log_index, head.tree_size)
    return federation_pb2.Provenance(
        origin_authority=log.authority_id,
        origin_key_id=signing_key.key_id,
        signature=signing_key.sign(SigningContext.FEDERATED_ITEM, payload),
        log_index=log_index,
        leaf_hash=leaf_hash,
        tree_head=head,
        inclusion_proof=proof,
    )


def verify(
    provenance: federation_pb2.Provenance,
    payload: bytes,
    peer: PeerConfig,
    *,
    needs_log_entry: bool,
) -> None:
    """Raise VerificationError or SignatureError unless every rule above holds."""
    if provenance.origin_authority != peer.peer_id:
        raise VerificationError(
            f"item names origin {provenance.origin_authority or '(none)'} but came from "
            f"{peer.peer_id}"
        )
    key = peer.signing_key
    if provenance.origin_key_id != key.key_id:
        raise VerificationError(
            f"item is signed with key {provenance.origin_key_id or '(none)'}, but "
            f"{peer.peer_id}'s key is {key.key_id}"
        )
    key.verify(SigningContext.FEDERATED_ITEM, payload, provenance.signature)
    if not needs_log_entry and not provenance.HasField("tree_head"):
        return
    if not provenance.HasField("tree_head") or not provenance.HasField("inclusion_proof"):
        raise VerificationError("item carries no tree head and inclusion proof")
    head = provenance.tree_head
    verify_tree_head(head, key)
    proof = provenance.inclusion_proof
    if proof.leaf_index != provenance.log_index:
        raise VerificationError(
            f"inclusion proof is for leaf {proof.leaf_index}, but the item names log index "
            f"{provenance.log_index}"
        )
    verify_inclusion_proof(provenance.leaf_hash, proof, head)
