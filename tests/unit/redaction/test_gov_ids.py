"""National ids: Presidio's recognizers as the pack lists them, context on whole words."""

from __future__ import annotations

from pathlib import Path

import pytest

from nearmiss.errors import ConfigError
from node.redaction import Redactor
from node.redaction.gov_ids import GovIdMatcher
from node.redaction.recognizers import context_pattern, has_context

ONLY_SSN = """\
kind: redaction
version: 1
rules:
  - id: government-id
    options:
      recognizers: [UsSsnRecognizer]
  - id: person
    enabled: false
"""


def test_context_word_must_be_a_whole_word() -> None:
    context = context_pattern(["pan", "national insurance"])
    assert context is not None
    text = "The company record ABCDE1234F; national  insurance AB123456C"
    assert not has_context(context, text, text.index("ABCDE"))  # "pan" inside "company"
    assert has_context(context, text, text.index("AB123456C"))
    assert not has_context(context, "pan " + "x" * 60 + "Q", 64)  # more than 50 before


def test_weak_finding_needs_its_context(redactor: Redactor) -> None:
    # InPan's weakest pattern takes any 10-character word when 4 digits follow anywhere;
    # with "pan" matched inside "company" it used to redact an ordinary word.
    text = "Our company Escalation team saw 4021 requests."
    assert redactor.redact_text(text).text == text
    assert redactor.redact_text("Her passport 912803456 was scanned.").counts == {"GOV_ID": 1}


def test_the_pack_chooses_the_recognizers(tmp_path: Path) -> None:
    pack = tmp_path / "ssn-only.yaml"
    pack.write_text(ONLY_SSN)
    ssn_only = Redactor.from_packs([pack])
    text = "SSN 536-22-1847 and NI number AB123456C."
    assert ssn_only.redact_text(text).text == "SSN <GOV_ID_1> and NI number AB123456C."


def test_unknown_recognizer_is_refused() -> None:
    with pytest.raises(ConfigError, match="no recognizer named 'NoSuchRecognizer'"):
        GovIdMatcher.build(["UsSsnRecognizer", "NoSuchRecognizer"])


def test_digits_inside_a_longer_token_are_kept() -> None:
    matcher = GovIdMatcher.build()
    text = "build 9a536-22-1847x and id 536-22-1847"
    assert list(matcher.find(text)) == [(text.rindex("536"), len(text))]
