"""authority.log.merkle: the perfect-subtree arithmetic, against the RFC reference."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authority.log.merkle import Frontier, perfect_subtrees
from authority.log.reference import mth
from nearmiss.proofs import hash_leaf


def test_perfect_subtrees_are_aligned_and_cover_the_range() -> None:
    assert perfect_subtrees(0, 13) == [(3, 0), (2, 2), (0, 12)]
    assert perfect_subtrees(6, 16) == [(1, 3), (3, 1)]
    for start in range(0, 40):
        for end in range(start, 70):
            covered: list[int] = []
            for level, index in perfect_subtrees(start, end):
                covered += range(index << level, (index + 1) << level)
            assert covered == list(range(start, end))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=37), max_size=12))
def test_frontier_root_matches_reference_for_any_batching(batches: list[int]) -> None:
    frontier = Frontier.empty()
    leaves: list[bytes] = []
    created_nodes = 0
    for batch in batches:
        new = [hash_leaf(len(leaves).to_bytes(4, "big") + bytes([i])) for i in range(batch)]
        frontier, created = frontier.append(new)
        leaves += new
        created_nodes += len(created)
        assert frontier.root() == mth(leaves)
        assert Frontier.decode(frontier.size, frontier.encode()) == frontier
    # Every perfect subtree is created exactly once: n leaves + (n - popcount(n)) parents.
    assert created_nodes == 2 * len(leaves) - len(leaves).bit_count()


def test_damaged_frontier_is_refused() -> None:
    with pytest.raises(ValueError, match="frontier of size 3 needs 2 hashes, found 32 bytes"):
        Frontier.decode(3, bytes(32))
