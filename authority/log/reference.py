"""An in-memory RFC 9162 log written straight from the RFC's recursive definitions.

Rules: MTH is §2.1.1, PATH is §2.1.3.1, PROOF/SUBPROOF are §2.1.4.1, transcribed
without the perfect-subtree bookkeeping ``authority.log.log`` uses, so the two can be
checked against each other. Each call costs O(n) hashing: this is a reference and a
fake for tests, never the authority's log.
"""

from __future__ import annotations

from collections.abc import Sequence

from nearmiss.proofs import EMPTY_ROOT, hash_children, hash_leaf


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes (RFC 9162 §2.1.1)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return hash_children(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) (RFC 9162 §2.1.3.1)."""
    n = len(leaves)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def proof(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (RFC 9162 §2.1.4.1), for 0 < m <= n."""
    return _subproof(m, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], whole), mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), mth(leaves[:k])]


class ReferenceLog:
    """A list of leaf hashes with the RFC's definitions on top."""

    def __init__(self) -> None:
        self.leaves: list[bytes] = []

    def append(self, leaf_data: bytes) -> int:
        self.leaves.append(hash_leaf(leaf_data))
        return len(self.leaves) - 1

    def root(self, tree_size: int | None = None) -> bytes:
        return mth(self.leaves[: len(self.leaves) if tree_size is None else tree_size])

    def inclusion_path(self, leaf_index: int, tree_size: int) -> list[bytes]:
        return path(leaf_index, self.leaves[:tree_size])

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        if first in (0, second):
            return []
        return proof(first, self.leaves[:second])
