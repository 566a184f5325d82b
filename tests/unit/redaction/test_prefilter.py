"""The prefilter never skips a text a pattern matches: checked on the patterns we run."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.redaction.gov_ids import DEFAULT_RECOGNIZERS
from node.redaction.prefilter import Needs, Runs, required, text_runs
from node.redaction.recognizers import predefined
from node.redaction.secrets import SecretPatterns


def _presidio_patterns() -> list[tuple[str, int]]:
    presidio = predefined()
    names = [*DEFAULT_RECOGNIZERS, "EmailRecognizer", "CreditCardRecognizer", "IpRecognizer"]
    out = []
    for name in names:
        recognizer: Any = getattr(presidio, name)()
        flags = int(recognizer.global_regex_flags) & (re.I | re.M | re.S)
        out.extend((pattern.regex, flags) for pattern in recognizer.patterns)
    return out


PATTERNS = _presidio_patterns() + [
    (p.pattern, p.flags & (re.I | re.M | re.S)) for p in SecretPatterns.build().keys]


def test_required_reads_runs_and_strings() -> None:
    ssn = required(r"\b(\d{3})-(\d{2})-(\d{4})\b")
    assert ssn == Needs(Runs(digits=4, alnum=4, word=11), frozenset({"-"}))
    assert required(r"hf_[A-Za-z0-9]{30,}").strings == frozenset({"hf_"})
    # Case-insensitive: letters may fold ("ſ" matches "s"), so only other characters count.
    assert required(r"sk-[a-z]{4}", re.IGNORECASE).strings == frozenset({"-"})
    # Alternatives require only what they share.
    assert required(r"ab@x|cd@y").strings == frozenset({"@"})
    assert required(r"\d{2}|\d{7}").runs.digits == 2


def test_unknown_constructs_require_nothing() -> None:
    assert required(r"(a)\1{5}").runs.alnum <= 1
    assert required(r"(?(1)a|b)") == Needs()
    assert required(r"[") == Needs()  # does not compile: nothing is assumed


def test_text_runs() -> None:
    assert text_runs("id 123-4567 key_ab-c9 x") == Runs(digits=4, alnum=4, word=9)


@pytest.mark.parametrize("sample", [
    "SSN 536-22-1847, NI AB 12 34 56 C, card 4111-1111-1111-1111, ops@build.corp",
    "Aadhaar 4962 4728 9819, PESEL 44051401359, IP 2001:db8::7334 and 203.0.113.45",
    "key AKIAIOSFODNN7EXAMPLE and sk-ant-api03-" + "a1B2c3D4e5" * 5 + " and xoxb-1-2-abc",
    "cloudant_password='" + "a" * 24 + "' RSSMRA85T10A562S ghp_" + "x" * 36,
])
def test_matching_texts_are_admitted(sample: str) -> None:
    runs = text_runs(sample)
    for pattern, flags in PATTERNS:
        if re.search(pattern, sample, flags):
            assert required(pattern, flags).admit(sample, runs), pattern


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_matches_are_admitted(data: st.DataObject) -> None:
    """Strings made to match each pattern always satisfy what it is said to require."""
    pattern, flags = data.draw(st.sampled_from(PATTERNS))
    try:
        strategy = st.from_regex(re.compile(pattern, flags))
    except Exception:  # hypothesis cannot build strings for every regex
        return
    sample = data.draw(strategy)
    match = re.search(pattern, sample, flags)
    if match is not None:
        assert required(pattern, flags).admit(match.group(), text_runs(match.group())), pattern
