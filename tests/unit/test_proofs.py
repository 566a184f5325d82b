"""nearmiss.proofs against published vectors, the RFC reference, and tampering.

Published vectors are copied (data only) from transparency-dev/merkle, which carries over
the Certificate Transparency project's merkle_tree_test.cc vectors:

* proof/verify_test.go at commit 02194e9afb6c1d95b5381350007963aa70fff472
  (``leaves``, ``roots``, ``inclusionProofs``, ``consistencyProofs``);
* rfc6962/rfc6962_test.go at commit 78493b07ef9b552e3379abf9e23d4da26fbe797c
  (leaf and node hash vectors).
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authority.log.reference import ReferenceLog
from nearmiss import proofs
from nearmiss.errors import SignatureError, VerificationError
from nearmiss.signing import SigningContext, SigningKey
from nearmiss.v1 import log_pb2

h = bytes.fromhex

# transparency-dev/merkle proof/verify_test.go: `leaves` and `roots` (root of the first
# i+1 leaves at position i).
LEAVES = [h(""), h("00"), h("10"), h("2021"), h("3031"), h("40414243"),
          h("5051525354555657"), h("606162636465666768696a6b6c6d6e6f")]
ROOTS = [
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]
# `inclusionProofs`: (leaf number counted from 1, tree size, audit path).
INCLUSION = [
    (1, 1, []),
    (1, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (6, 8, [h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (3, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (2, 5, [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
]
# `consistencyProofs`: (size1, size2, proof).
CONSISTENCY = [
    (1, 1, []),
    (1, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (6, 8, [h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (2, 5, [h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
    (6, 7, [h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
]
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


def vector_log() -> ReferenceLog:
    log = ReferenceLog()
    for leaf in LEAVES:
        log.append(leaf)
    return log


def test_hash_vectors_from_rfc6962_test_go() -> None:
    assert proofs.EMPTY_ROOT.hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert proofs.hash_leaf(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert proofs.hash_leaf(b"L123456").hex() == (
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert proofs.hash_children(b"N123", b"N456").hex() == (
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


def test_reference_roots_match_published_roots() -> None:
    log = vector_log()
    assert [log.root(size) for size in range(1, 9)] == ROOTS


@pytest.mark.parametrize(("leaf", "size", "path"), INCLUSION)
def test_published_inclusion_proofs(leaf: int, size: int, path: list[bytes]) -> None:
    leaf_hash = proofs.hash_leaf(LEAVES[leaf - 1])
    root = ROOTS[size - 1]
    proofs.verify_inclusion(leaf_hash, leaf - 1, size, path, root)
    assert vector_log().inclusion_path(leaf - 1, size) == path
    # The probes of transparency-dev's corruptInclusionProof must all fail.
    index = leaf - 1
    probes: list[tuple[int, int, bytes, bytes, list[bytes]]] = [
        (index + 1, size, root, leaf_hash, path),
        (index ^ 2, size, root, leaf_hash, path),
        (index, size * 2, root, leaf_hash, path),
        (index, size // 2, root, leaf_hash, path),
        (index, size, root, proofs.hash_leaf(b"WrongLeaf"), path),
        (index, size, proofs.EMPTY_ROOT, leaf_hash, path),
        (index, size, SOME_HASH, leaf_hash, path),
        (index, size, root, leaf_hash, [*path, b""]),
        (index, size, root, leaf_hash, [*path, root]),
        (index, size, root, leaf_hash, [b"", *path]),
        (index, size, root, leaf_hash, [root, *path]),
    ]
    if index > 0:
        probes.append((index - 1, size, root, leaf_hash, path))
    for i in range(len(path)):
        flipped = bytearray(path[i])
        flipped[0] ^= 8
        probes.append((index, size, root, leaf_hash, [*path[:i], bytes(flipped), *path[i + 1:]]))
    if path:
        probes.append((index, size, root, leaf_hash, path[:-1]))
    if len(path) > 1:
        probes.append((index, size, root, leaf_hash, [path[0], SOME_HASH, *path[1:]]))
    for probe in probes:
        with pytest.raises(VerificationError):
            proofs.verify_inclusion(probe[3], probe[0], probe[1], probe[4], probe[2])


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY)
def test_published_consistency_proofs(size1: int, size2: int, proof: list[bytes]) -> None:
    root1, root2 = ROOTS[size1 - 1], ROOTS[size2 - 1]
    proofs.verify_consistency(size1, size2, root1, root2, proof)
    assert vector_log().consistency_proof(size1, size2) == proof
    if not proof:
        return
    # transparency-dev's corruptConsistencyProof probes.
    probes: list[tuple[int, int, bytes, bytes, list[bytes]]] = [
        (size1 - 1, size2, root1, root2, proof),
        (size1 + 1, size2, root1, root2, proof),
        (size1 ^ 2, size2, root1, root2, proof),
        (size1, size2 * 2, root1, root2, proof),
        (size1, size2 // 2, root1, root2, proof),
        (size1, size2, SOME_HASH, root2, proof),
        (size1, size2, root1, SOME_HASH, proof),
        (size1, size2, root2, root1, proof),
        (size1, size2, root1, root2, []),
        (size1, size2, root1, root2, [*proof, b""]),
        (size1, size2, root1, root2, [*proof, root1]),
        (size1, size2, root1, root2, [*proof, root2]),
        (size1, size2, root1, root2, [b"", *proof]),
        (size1, size2, root1, root2, [root1, *proof]),
        (size1, size2, root1, root2, [root2, *proof]),
        (size1, size2, root1, root2, [proof[0], *proof]),
        (size1, size2, root1, root2, proof[:-1]),
    ]
    for i in range(len(proof)):
        flipped = bytearray(proof[i])
        flipped[0] ^= 16
        probes.append((size1, size2, root1, root2, [*proof[:i], bytes(flipped), *proof[i + 1:]]))
    for s1, s2, r1, r2, p in probes:
        with pytest.raises(VerificationError):
            proofs.verify_consistency(s1, s2, r1, r2, p)


def test_trivial_consistency_cases() -> None:
    root = ROOTS[0]
    proofs.verify_consistency(0, 5, proofs.EMPTY_ROOT, ROOTS[4], [])
    proofs.verify_consistency(3, 3, ROOTS[2], ROOTS[2], [])
    with pytest.raises(VerificationError, match="forked"):
        proofs.verify_consistency(3, 3, ROOTS[2], ROOTS[3], [])
    with pytest.raises(VerificationError, match="expected 0, got 1"):
        proofs.verify_consistency(0, 1, proofs.EMPTY_ROOT, root, [root])
    with pytest.raises(VerificationError, match="never shrinks"):
        proofs.verify_consistency(2, 1, ROOTS[1], root, [])


def test_wrong_length_message_names_both_numbers() -> None:
    leaf, size, path = INCLUSION[1]
    with pytest.raises(VerificationError, match="wrong length: expected 3, got 2"):
        proofs.verify_inclusion(
            proofs.hash_leaf(LEAVES[leaf - 1]), leaf - 1, size, path[:2], ROOTS[size - 1]
        )


@st.composite
def tree_and_pair(draw: st.DrawFn) -> tuple[ReferenceLog, int, int]:
    size = draw(st.integers(min_value=1, max_value=300))
    log = ReferenceLog()
    for i in range(size):
        log.append(i.to_bytes(4, "big"))
    first = draw(st.integers(min_value=0, max_value=size))
    return log, first, size


@settings(max_examples=25, deadline=None)
@given(tree_and_pair())
def test_reference_proofs_verify_and_have_the_predicted_length(
    case: tuple[ReferenceLog, int, int],
) -> None:
    log, first, size = case
    root = log.root()
    for index in range(size):
        path = log.inclusion_path(index, size)
        assert len(path) == proofs.inclusion_proof_length(index, size)
        proofs.verify_inclusion(log.leaves[index], index, size, path, root)
    proof = log.consistency_proof(first, size)
    assert len(proof) == proofs.consistency_proof_length(first, size)
    proofs.verify_consistency(first, size, log.root(first), root, proof)


@settings(max_examples=60, deadline=None)
@given(tree_and_pair(), st.data())
def test_any_flipped_byte_is_detected(
    case: tuple[ReferenceLog, int, int], data: st.DataObject
) -> None:
    log, first, size = case
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    path = log.inclusion_path(index, size)
    if path:
        which = data.draw(st.integers(min_value=0, max_value=len(path) - 1))
        byte = data.draw(st.integers(min_value=0, max_value=31))
        tampered = bytearray(path[which])
        tampered[byte] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
        path[which] = bytes(tampered)
        with pytest.raises(VerificationError):
            proofs.verify_inclusion(log.leaves[index], index, size, path, log.root())
    proof = log.consistency_proof(first, size)
    if proof:
        which = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        tampered = bytearray(proof[which])
        tampered[data.draw(st.integers(min_value=0, max_value=31))] ^= 0x80
        proof[which] = bytes(tampered)
        with pytest.raises(VerificationError):
            proofs.verify_consistency(first, size, log.root(first), log.root(), proof)


def signed_head(
    key: SigningKey, size: int, root: bytes, timestamp_ms: int
) -> log_pb2.SignedTreeHead:
    head = log_pb2.SignedTreeHead(
        tree_size=size,
        root_hash=root,
        signature=key.sign(
            SigningContext.TREE_HEAD, proofs.tree_head_message(size, root, timestamp_ms)
        ),
        authority_key_id=key.key_id,
    )
    head.timestamp.seconds, millis = divmod(timestamp_ms, 1000)
    head.timestamp.nanos = millis * 1_000_000
    return head


def test_tree_head_signature() -> None:
    key = SigningKey.generate()
    root = hashlib.sha256(b"root").digest()
    head = signed_head(key, 42, root, 1_795_000_000_123)
    proofs.verify_tree_head(head, key.verifying_key)
    assert proofs.head_timestamp_ms(head) == 1_795_000_000_123
    assert proofs.tree_head_message(42, root, 7) == (
        (42).to_bytes(8, "big") + root + (7).to_bytes(8, "big")
    )

    grown = log_pb2.SignedTreeHead()
    grown.CopyFrom(head)
    grown.tree_size = 43
    with pytest.raises(SignatureError):
        proofs.verify_tree_head(grown, key.verifying_key)

    later = log_pb2.SignedTreeHead()
    later.CopyFrom(head)
    later.timestamp.nanos += 1_000_000
    with pytest.raises(SignatureError):
        proofs.verify_tree_head(later, key.verifying_key)

    other = SigningKey.generate()
    with pytest.raises(VerificationError, match=f"authority's key is {other.key_id}"):
        proofs.verify_tree_head(head, other.verifying_key)

    # A signature made for another purpose never verifies as a tree head.
    receipt_signed = log_pb2.SignedTreeHead()
    receipt_signed.CopyFrom(head)
    receipt_signed.signature = key.sign(
        SigningContext.RECEIPT, proofs.tree_head_message(42, root, 1_795_000_000_123)
    )
    with pytest.raises(SignatureError):
        proofs.verify_tree_head(receipt_signed, key.verifying_key)


def test_inclusion_proof_message_must_match_head_size() -> None:
    log = vector_log()
    key = SigningKey.generate()
    head = signed_head(key, 8, log.root(8), 1)
    proof = log_pb2.InclusionProof(leaf_index=5, tree_size=8, audit_path=log.inclusion_path(5, 8))
    proofs.verify_inclusion_proof(log.leaves[5], proof, head)
    proof.tree_size = 7
    with pytest.raises(VerificationError, match="tree size 7, but the tree head is for size 8"):
        proofs.verify_inclusion_proof(log.leaves[5], proof, head)
