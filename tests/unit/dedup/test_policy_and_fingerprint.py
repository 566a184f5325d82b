"""Date gate at mixed precisions; fingerprints that survive formatting changes."""

from __future__ import annotations

from datetime import UTC, datetime

from dedup import LinkPolicy
from dedup.fingerprint import NearDuplicateIndex, content_hash, minhash
from dedup.policy import date_gap_days, date_key, dates_compatible

POLICY = LinkPolicy(max_date_gap_days=14)


def key(day: str, precision: str = "day"):  # type: ignore[no-untyped-def]
    return date_key(datetime.fromisoformat(day).replace(tzinfo=UTC), precision)  # type: ignore[arg-type]


def test_day_precision_gate_uses_the_gap_in_days() -> None:
    assert dates_compatible(key("2026-03-01"), key("2026-03-15"), POLICY)
    assert not dates_compatible(key("2026-03-01"), key("2026-03-16"), POLICY)


def test_month_precise_reports_must_share_the_month() -> None:
    assert dates_compatible(key("2026-03-01", "month"), key("2026-03-30"), POLICY)
    assert not dates_compatible(key("2026-03-01", "month"), key("2026-04-01", "month"), POLICY)
    assert date_gap_days(key("2026-01-01", "year"), key("2026-12-31")) == 0


def test_missing_date_never_blocks() -> None:
    assert dates_compatible(None, key("2026-03-01"), POLICY)


def test_content_hash_ignores_case_punctuation_and_spacing() -> None:
    assert content_hash("Jailbreak via  role-play!") == content_hash("jailbreak via role play")
    assert content_hash("jailbreak via role play") != content_hash("jailbreak via roleplay prompt")


def test_near_duplicates_are_found_and_removal_forgets_them() -> None:
    base = "the model produced step by step synthesis instructions after a long role play prompt"
    index = NearDuplicateIndex()
    index.add("a", content_hash(base), minhash(base))
    index.add("b", content_hash("unrelated"), minhash("an entirely unrelated report on phishing"))
    found = index.near(minhash(base + " in french"), 0.7)
    assert [i for i, _ in found] == ["a"]
    index.remove(["a"])
    assert index.near(minhash(base), 0.7) == [] and index.exact(content_hash(base)) == set()
