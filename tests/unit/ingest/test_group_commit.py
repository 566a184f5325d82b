"""GroupCommitter: each caller hears its own outcome; waiting callers share a batch."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from authority.group_commit import GroupCommitter
from nearmiss.errors import ConflictError, UnavailableError


def test_each_caller_gets_its_own_result_or_error() -> None:
    def handle(items: Sequence[int]) -> list[int | BaseException]:
        return [ConflictError(f"odd {i}") if i % 2 else i * 10 for i in items]

    committer: GroupCommitter[int, int] = GroupCommitter(handle)
    try:
        assert committer.submit(4) == 40
        with pytest.raises(ConflictError, match="odd 3"):
            committer.submit(3)
    finally:
        committer.close()


def test_callers_waiting_during_a_batch_share_the_next_one() -> None:
    release = threading.Event()
    sizes: list[int] = []

    def handle(items: Sequence[int]) -> list[int | BaseException]:
        sizes.append(len(items))
        if len(sizes) == 1:
            release.wait(30)
        return list(items)

    committer: GroupCommitter[int, int] = GroupCommitter(handle, max_batch=4)
    results: dict[int, int] = {}

    def call(n: int) -> None:
        results[n] = committer.submit(n)

    first = threading.Thread(target=call, args=(0,))
    first.start()
    while not sizes:  # the first batch (one item) is being handled
        threading.Event().wait(0.01)
    others = [threading.Thread(target=call, args=(n,)) for n in range(1, 7)]
    for thread in others:
        thread.start()
    while committer.pending() < 6:
        threading.Event().wait(0.01)
    release.set()
    for thread in [first, *others]:
        thread.join(30)
    committer.close()
    assert results == {n: n for n in range(7)}
    assert sizes == [1, 4, 2]  # six waiting callers, at most four per batch


def test_a_failing_batch_fails_every_caller_in_it() -> None:
    def handle(items: Sequence[int]) -> list[int | BaseException]:
        raise RuntimeError("disk on fire")

    committer: GroupCommitter[int, int] = GroupCommitter(handle)
    try:
        with pytest.raises(RuntimeError):
            committer.submit(1)
    finally:
        committer.close()


def test_after_close_new_submissions_are_refused() -> None:
    committer: GroupCommitter[int, int] = GroupCommitter(lambda items: list(items))
    committer.close()
    with pytest.raises(UnavailableError, match="shutting down"):
        committer.submit(1)
