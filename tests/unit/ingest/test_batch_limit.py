"""How many requests the ingest process takes per batch (``authority.ingest_batches``):
half the callers taking turns, within the configured bounds."""

from __future__ import annotations

import pytest

from authority.ingest_batches import MIN_BATCH_LIMIT, batch_limit


@pytest.mark.parametrize(
    ("active", "expected"),
    [(16, 8), (17, 9), (32, 16), (3, 2), (1, 1)],
)
def test_a_batch_takes_half_the_active_callers(active: int, expected: int) -> None:
    assert batch_limit(active, max_batch=256) == max(MIN_BATCH_LIMIT, expected)


def test_the_limit_stays_within_its_bounds() -> None:
    assert batch_limit(1000, max_batch=256) == 256
    assert batch_limit(0, max_batch=256) == MIN_BATCH_LIMIT  # nobody recent: still take one
