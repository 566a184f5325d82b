"""Tree arithmetic for a log stored as perfect subtrees: which nodes a proof needs.

Rules:

* A stored node ``(level, index)`` is the root of the *perfect* subtree over leaves
  ``[index * 2**level, (index + 1) * 2**level)``. Once a node exists it never changes:
  appending only creates new nodes.
* Every subtree RFC 9162 §2.1 names, ``D[a:b]``, is split into the aligned perfect subtrees
  given by the binary digits of ``b - a`` (largest first). Because RFC 9162 always splits
  at the largest power of two smaller than the size, ``MTH(D[a:b])`` is those subtrees'
  hashes folded from the right. A proof therefore costs O(log n) stored nodes.
* The *frontier* of a tree of size n is ``perfect_subtrees(0, n)``: the O(log n) nodes an
  append merges with and the root is folded from.

Nothing here touches the database; ``authority.log.log`` reads the nodes this module names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from nearmiss.proofs import EMPTY_ROOT, hash_children

NodeId = tuple[int, int]
"""(level, index) of a perfect subtree."""

Range = tuple[int, int]
"""[start, end) leaf range of a subtree named by RFC 9162."""


def largest_power_of_two_below(n: int) -> int:
    """RFC 9162 §2.1.1's k: the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_subtrees(start: int, end: int) -> list[NodeId]:
    """The maximal aligned perfect subtrees covering [start, end), left to right."""
    nodes: list[NodeId] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its perfect subtrees' hashes; the empty range is HASH()."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = hash_children(left, result)
    return result


def inclusion_ranges(leaf_index: int, tree_size: int) -> list[Range]:
    """The subtrees whose hashes form PATH(m, D[n]) (RFC 9162 §2.1.3.1), leaf to root."""
    ranges: list[Range] = []
    low, high = 0, tree_size
    while high - low > 1:
        k = largest_power_of_two_below(high - low)
        if leaf_index < low + k:
            ranges.append((low + k, high))
            high = low + k
        else:
            ranges.append((low, low + k))
            low += k
    ranges.reverse()
    return ranges


def consistency_ranges(first_size: int, second_size: int) -> list[Range]:
    """The subtrees whose hashes form PROOF(m, D[n]) (RFC 9162 §2.1.4.1), in proof order.

    Callers ensure 0 < first_size < second_size; outside that the proof is empty.
    """
    ranges: list[Range] = []
    low, high, m, whole = 0, second_size, first_size, True
    while True:
        n = high - low
        if m == n:
            # SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}.
            if not whole:
                ranges.append((low, high))
            break
        k = largest_power_of_two_below(n)
        if m <= k:
            ranges.append((low + k, high))
            high = low + k
        else:
            ranges.append((low, low + k))
            low += k
            m -= k
            whole = False
    ranges.reverse()
    return ranges


def nodes_for(ranges: Iterable[Range]) -> list[NodeId]:
    """Every stored node the ranges need, without duplicates."""
    seen: dict[NodeId, None] = {}
    for start, end in ranges:
        for node in perfect_subtrees(start, end):
            seen[node] = None
    return list(seen)


def range_hashes(ranges: Sequence[Range], node_hash: Callable[[NodeId], bytes]) -> list[bytes]:
    """MTH of each range, from the stored nodes ``node_hash`` returns."""
    return [fold_right([node_hash(n) for n in perfect_subtrees(s, e)]) for s, e in ranges]


@dataclass(frozen=True)
class Frontier:
    """The perfect subtrees of a tree of ``size`` leaves (left to right) and their hashes.

    Serialized as the concatenated 32-byte hashes: the levels follow from ``size``'s
    binary digits, so nothing else needs storing.
    """

    size: int
    hashes: tuple[bytes, ...]

    @classmethod
    def empty(cls) -> Frontier:
        return cls(0, ())

    @classmethod
    def decode(cls, size: int, blob: bytes) -> Frontier:
        count = size.bit_count()
        if len(blob) != 32 * count:
            raise ValueError(
                f"frontier of size {size} needs {count} hashes, found {len(blob)} bytes"
            )
        return cls(size, tuple(blob[i : i + 32] for i in range(0, len(blob), 32)))

    def encode(self) -> bytes:
        return b"".join(self.hashes)

    def root(self) -> bytes:
        return fold_right(self.hashes)

    def append(self, leaf_hashes: Sequence[bytes]) -> tuple[Frontier, list[tuple[NodeId, bytes]]]:
        """The frontier after appending, and every node that became complete (leaves
        included), in creation order. Each merge reads only the frontier's right edge."""
        stack = list(zip(perfect_subtrees(0, self.size), self.hashes, strict=True))
        created: list[tuple[NodeId, bytes]] = []
        for offset, leaf in enumerate(leaf_hashes):
            node: tuple[NodeId, bytes] = ((0, self.size + offset), leaf)
            created.append(node)
            while stack and stack[-1][0][0] == node[0][0]:
                (level, left_index), left_hash = stack.pop()
                node = ((level + 1, left_index >> 1), hash_children(left_hash, node[1]))
                created.append(node)
            stack.append(node)
        size = self.size + len(leaf_hashes)
        return Frontier(size, tuple(h for _, h in stack)), created
