"""Verifying the authority's transparency log: Merkle proofs and signed tree heads.

Rules this module enforces (nodes and auditors rely on them):

* Hashing is RFC 9162 §2.1.1 (same as RFC 6962 §2.1): SHA-256, a leaf hash is
  ``HASH(0x00 || data)``, an interior node ``HASH(0x01 || left || right)``, the empty tree
  hashes to ``HASH()``.
* Inclusion proofs are checked with the algorithm of RFC 9162 §2.1.3.2, consistency proofs
  with RFC 9162 §2.1.4.2, step by step. Before running them, a proof's length is compared
  with the one length a correct proof can have (as transparency-dev/merkle does), so a
  padded or truncated proof is refused with both numbers in the message.
* The two cases RFC 9162 leaves out of §2.1.4.2 (``first == second`` and ``first == 0``)
  take an empty proof, and ``first == second`` also needs equal roots.
* A tree head is accepted only if its key id is the expected authority key and its
  Ed25519 signature covers ``u64be(tree_size) || root_hash || u64be(timestamp_ms)`` under
  ``SigningContext.TREE_HEAD`` (see ``proto/nearmiss/v1/log.proto``).

Every proof mismatch raises ``VerificationError``; a bad tree-head signature raises
``SignatureError``, as the error tree in ``nearmiss.errors`` says.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence

from nearmiss.errors import VerificationError
from nearmiss.signing import SigningContext, VerifyingKey
from nearmiss.v1 import log_pb2

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "consistency_proof_length",
    "hash_children",
    "hash_leaf",
    "head_timestamp_ms",
    "inclusion_proof_length",
    "root_from_inclusion_proof",
    "tree_head_message",
    "verify_consistency",
    "verify_inclusion",
    "verify_inclusion_proof",
    "verify_tree_head",
]

# RFC 9162 §2.1.1 with SHA-256 (the only hash algorithm nearmiss logs use).
HASH_SIZE = 32
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def hash_leaf(data: bytes) -> bytes:
    """RFC 9162 §2.1.1: MTH({d(0)}) = HASH(0x00 || d(0))."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n]))."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def inclusion_proof_length(leaf_index: int, tree_size: int) -> int:
    """The length every correct inclusion proof for this index and size has.

    The path climbs ``bit_length(index ^ (size - 1))`` levels inside the perfect subtree
    the leaf shares with the last leaf, then one hash per left-hand perfect subtree above
    (transparency-dev/merkle ``proof.decompInclProof``).
    """
    _check_index(leaf_index, tree_size)
    inner = (leaf_index ^ (tree_size - 1)).bit_length()
    border = (leaf_index >> inner).bit_count()
    return inner + border


def consistency_proof_length(first_size: int, second_size: int) -> int:
    """The length every correct consistency proof between the two sizes has."""
    _check_sizes(first_size, second_size)
    if first_size in (0, second_size):
        return 0
    inner = ((first_size - 1) ^ (second_size - 1)).bit_length()
    border = ((first_size - 1) >> inner).bit_count()
    shift = (first_size & -first_size).bit_length() - 1
    # When first_size is a power of two its root is the proof's implicit first node
    # (RFC 9162 §2.1.4.2 step 2), otherwise the proof carries that node itself.
    seed = 0 if first_size == 1 << shift else 1
    return seed + inner - shift + border


def root_from_inclusion_proof(
    leaf_hash: bytes, leaf_index: int, tree_size: int, audit_path: Sequence[bytes]
) -> bytes:
    """The root a correct proof leads to: RFC 9162 §2.1.3.2 steps 1 to 4, and the check
    that ``sn`` reached 0 (step 5). Raises VerificationError for a malformed proof."""
    _check_hash("leaf hash", leaf_hash)
    expected = inclusion_proof_length(leaf_index, tree_size)
    if len(audit_path) != expected:
        raise VerificationError(
            f"inclusion proof for leaf {leaf_index} in a tree of size {tree_size} has "
            f"wrong length: expected {expected}, got {len(audit_path)}"
        )
    fn, sn = leaf_index, tree_size - 1  # step 2
    r = leaf_hash  # step 3
    for position, p in enumerate(audit_path):  # step 4
        _check_hash(f"inclusion proof hash {position}", p)
        if sn == 0:  # step 4a
            raise VerificationError(
                f"inclusion proof for leaf {leaf_index} has more hashes than tree size "
                f"{tree_size} allows"
            )
        if fn & 1 or fn == sn:  # step 4b
            r = hash_children(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1  # step 4c
        sn >>= 1
    if sn != 0:  # step 5
        raise VerificationError(
            f"inclusion proof for leaf {leaf_index} ends below the root of a tree of size "
            f"{tree_size}"
        )
    return r


def verify_inclusion(
    leaf_hash: bytes,
    leaf_index: int,
    tree_size: int,
    audit_path: Sequence[bytes],
    root_hash: bytes,
) -> None:
    """Raise VerificationError unless the audit path proves the leaf is in the tree."""
    _check_hash("root hash", root_hash)
    computed = root_from_inclusion_proof(leaf_hash, leaf_index, tree_size, audit_path)
    if computed != root_hash:
        raise VerificationError(
            f"inclusion proof for leaf {leaf_index} in a tree of size {tree_size} leads to "
            f"root {computed.hex()[:16]}..., but the tree head says {root_hash.hex()[:16]}..."
        )


def verify_inclusion_proof(
    leaf_hash: bytes, proof: log_pb2.InclusionProof, head: log_pb2.SignedTreeHead
) -> None:
    """The receipt check: ``proof`` shows ``leaf_hash`` in the tree ``head`` describes.

    The head's signature is not checked here; call ``verify_tree_head`` for that.
    """
    if proof.tree_size != head.tree_size:
        raise VerificationError(
            f"inclusion proof is for tree size {proof.tree_size}, but the tree head is for "
            f"size {head.tree_size}"
        )
    verify_inclusion(
        leaf_hash, proof.leaf_index, proof.tree_size, list(proof.audit_path), head.root_hash
    )


def verify_consistency(
    first_size: int,
    second_size: int,
    first_root: bytes,
    second_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """Raise VerificationError unless the tree of ``second_size`` extends the tree of
    ``first_size`` (same first leaves, appended only): RFC 9162 §2.1.4.2."""
    _check_hash("first root hash", first_root)
    _check_hash("second root hash", second_root)
    expected = consistency_proof_length(first_size, second_size)
    if len(proof) != expected:
        raise VerificationError(
            f"consistency proof from size {first_size} to {second_size} has wrong length: "
            f"expected {expected}, got {len(proof)}"
        )
    if first_size == second_size:
        if first_root != second_root:
            raise VerificationError(
                f"two tree heads for size {first_size} have different roots "
                f"({first_root.hex()[:16]}... and {second_root.hex()[:16]}...): the log forked"
            )
        return
    if first_size == 0:
        return  # Every tree extends the empty tree.
    for position, c in enumerate(proof):
        _check_hash(f"consistency proof hash {position}", c)
    path = list(proof)
    # Step 1 (an empty path fails) is covered by the length check: expected >= 1 here.
    if first_size & (first_size - 1) == 0:  # step 2: first is an exact power of 2
        path.insert(0, first_root)
    fn, sn = first_size - 1, second_size - 1  # step 3
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:  # step 6a
            raise VerificationError(
                f"consistency proof from size {first_size} to {second_size} has more hashes "
                "than the sizes allow"
            )
        if fn & 1 or fn == sn:  # step 6b
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1  # step 6c
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise VerificationError(
            f"consistency proof from size {first_size} to {second_size} ends below the root"
        )
    if fr != first_root:
        raise VerificationError(
            f"consistency proof from size {first_size} to {second_size} does not lead to the "
            f"first root: computed {fr.hex()[:16]}..., expected {first_root.hex()[:16]}..."
        )
    if sr != second_root:
        raise VerificationError(
            f"consistency proof from size {first_size} to {second_size} does not lead to the "
            f"second root: computed {sr.hex()[:16]}..., expected {second_root.hex()[:16]}..."
        )


def tree_head_message(tree_size: int, root_hash: bytes, timestamp_ms: int) -> bytes:
    """What the authority signs for a tree head (see log.proto):
    ``u64be(tree_size) || root_hash || u64be(timestamp_ms)``."""
    _check_hash("root hash", root_hash)
    return struct.pack(">Q", tree_size) + root_hash + struct.pack(">Q", timestamp_ms)


def head_timestamp_ms(head: log_pb2.SignedTreeHead) -> int:
    """The head's timestamp in whole milliseconds since the epoch, as signed."""
    return head.timestamp.seconds * 1000 + head.timestamp.nanos // 1_000_000


def verify_tree_head(head: log_pb2.SignedTreeHead, key: VerifyingKey) -> None:
    """Raise unless ``head`` is signed by ``key``: VerificationError for a malformed head
    or a head naming another key, SignatureError for a signature that does not verify."""
    if head.authority_key_id != key.key_id:
        raise VerificationError(
            f"tree head is signed with key {head.authority_key_id or '(none)'}, but the "
            f"authority's key is {key.key_id}"
        )
    if head.timestamp.nanos % 1_000_000:
        raise VerificationError(
            "tree head timestamp has sub-millisecond precision, which the signature cannot cover"
        )
    if head.timestamp.seconds < 0:
        raise VerificationError("tree head timestamp is before 1970")
    message = tree_head_message(head.tree_size, head.root_hash, head_timestamp_ms(head))
    key.verify(SigningContext.TREE_HEAD, message, head.signature)


def _check_index(leaf_index: int, tree_size: int) -> None:
    if not 0 <= leaf_index < tree_size:
        raise VerificationError(f"leaf index {leaf_index} is outside a tree of size {tree_size}")


def _check_sizes(first_size: int, second_size: int) -> None:
    if first_size < 0 or second_size < first_size:
        raise VerificationError(
            f"no consistency proof exists from size {first_size} to size {second_size}: "
            "a log never shrinks"
        )


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise VerificationError(f"{what} has {len(value)} bytes, expected {HASH_SIZE}")
