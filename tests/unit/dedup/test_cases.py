"""CaseStore: analysts' splits and merges bind the algorithm afterwards."""

from __future__ import annotations

import pytest

from dedup import CaseStore
from nearmiss.errors import ConflictError, PreconditionError


def store_with(*groups: list[str]) -> tuple[CaseStore, list[int]]:
    store = CaseStore()
    ids = []
    for group in groups:
        case_id = store.new_case(group[0])
        for member in group[1:]:
            store.join(member, case_id)
        ids.append(case_id)
    return store, ids


def test_split_forbids_the_algorithm_from_merging_the_parts_again() -> None:
    store, (case,) = store_with(["a", "b", "c"])
    new = store.split_by_human(case, ["c"], by="ana")
    assert store.members(new) == {"c"} and store.members(case) == {"a", "b"}
    assert not store.can_merge(case, new)
    assert store.decisions[-1].kind == "cannot_link"


def test_human_merge_overrides_an_earlier_split() -> None:
    store, (case,) = store_with(["a", "b"])
    new = store.split_by_human(case, ["b"], by="ana")
    kept = store.merge_by_human(case, new, by="bo")
    assert kept == min(case, new) and store.members(kept) == {"a", "b"}
    assert [d.kind for d in store.decisions] == ["must_link"]


def test_merge_keeps_the_older_id_and_retires_the_other() -> None:
    store, (first, second) = store_with(["a"], ["b"])
    assert store.merge(second, first) == first
    assert store.case_of("b") == first and second not in store.cases()


def test_split_must_leave_someone_behind_and_item_cannot_join_twice() -> None:
    store, (case,) = store_with(["a", "b"])
    with pytest.raises(PreconditionError):
        store.split_by_human(case, ["a", "b"], by="ana")
    with pytest.raises(ConflictError):
        store.join("a", case)


def test_restore_continues_numbering_after_the_highest_case() -> None:
    store = CaseStore.restore({"a": 4, "b": 4, "c": 9})
    assert store.new_case("d") == 10 and store.members(4) == {"a", "b"}
