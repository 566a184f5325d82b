"""Packs: validation errors name file, rule and reason; a lab extension adds terms."""

from __future__ import annotations

from pathlib import Path

import pytest

from nearmiss.errors import ConfigError
from node.redaction import Redactor, redact
from policies.redaction_pack import load_pack, load_policy

LAB_PACK = """\
kind: redaction
version: 1
name: lab-borealis
allow: [abuse@borealis.example]
rules:
  - id: lab-confidential-terms
    terms: [Project Nightingale, Northwind Analytics]
  - id: lab-confidential-patterns
    patterns: ['borealis-\\d+(\\.\\d+)?-preview']
  - id: codenames-exact-case
    detector: terms
    entity: CODENAME
    terms: [KESTREL]
    case_sensitive: true
  - id: person          # names are tested elsewhere; this keeps spaCy out of these tests
    enabled: false
"""


@pytest.fixture(scope="module")
def lab_redactor(tmp_path_factory: pytest.TempPathFactory) -> Redactor:
    path = tmp_path_factory.mktemp("packs") / "lab.yaml"
    path.write_text(LAB_PACK)
    return Redactor.from_packs([path])


def test_default_pack_has_a_stable_hash() -> None:
    one, two = load_policy(), load_policy()
    assert len(one.packs[0].content_hash) == 64
    assert one.content_hash == two.content_hash


def test_lab_terms_case_insensitive_and_whole_word(lab_redactor: Redactor) -> None:
    text = ("project nightingale is run for NORTHWIND ANALYTICS; nightingales sing; "
            "Northwind Analytics's contract.")
    out = lab_redactor.redact_text(text).text
    assert out.startswith("<CONFIDENTIAL_1> is run for <CONFIDENTIAL_2>; nightingales sing;")
    assert "<CONFIDENTIAL_2>'s contract" in out


def test_lab_regex_and_case_sensitive_terms(lab_redactor: Redactor) -> None:
    out = lab_redactor.redact_text("borealis-5.1-preview and KESTREL but not kestrel.").text
    assert out == "<CONFIDENTIAL_1> and <CODENAME_1> but not kestrel."


def test_allow_list_keeps_a_value(lab_redactor: Redactor) -> None:
    assert lab_redactor.redact_text("Report to abuse@borealis.example.").text == (
        "Report to abuse@borealis.example.")


def test_redact_function_with_a_pack(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(LAB_PACK)
    assert redact("Project Nightingale", pack=path) == "<CONFIDENTIAL_1>"


@pytest.mark.parametrize(("body", "where", "why"), [
    ("kind: redaction\nversion: 1\nrules:\n  - id: bad\n    detector: regex\n"
     "    entity: X\n    patterns: ['(unclosed']\n", "rules[0] (id: bad)", "does not compile"),
    ("kind: redaction\nversion: 1\nrules:\n  - id: two\n    detector: telepathy\n"
     "    entity: X\n", "rules[0] (id: two).detector", "is not one of"),
    ("kind: redaction\nversion: 1\nrules:\n  - id: x\n    detector: terms\n    entity: lower\n"
     "    terms: []\n", "rules[0] (id: x).entity", "does not match"),
    ("kind: redaction\nversion: 1\nrules:\n  - id: new-rule\n    terms: [a]\n",
     "rules[0] (id: new-rule)", "must name detector and entity"),
    ("kind: safe-harbor\nversion: 1\nrules: []\n", "kind", "redaction"),
    ("kind: redaction\nversion: 1\nrules: [\n", None, "not valid YAML"),
])
def test_malformed_pack_names_file_rule_and_reason(
        tmp_path: Path, body: str, where: str | None, why: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as caught:
        load_policy([path])
    message = str(caught.value)
    assert str(path) in message
    assert why in message
    if where is not None:
        assert where in message


def test_pack_changing_a_rules_detector_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text("kind: redaction\nversion: 1\nrules:\n  - id: email\n    detector: regex\n"
                    "    patterns: [x]\n")
    with pytest.raises(ConfigError, match="changes the detector of rule 'email'"):
        load_policy([path])


def test_load_pack_reports_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read redaction pack"):
        load_pack(tmp_path / "absent.yaml")
