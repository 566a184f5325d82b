"""Redaction never touches the network (tldextract's public-suffix download included)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from node.redaction import Redactor


def test_email_and_url_recognizers_run_offline(no_network: list[Any], tmp_path: Path) -> None:
    # A fresh Redactor builds Presidio's recognizers under the network block (names off:
    # the NER model is local files, and loading it again would only cost time).
    no_names = tmp_path / "no-names.yaml"
    no_names.write_text("kind: redaction\nversion: 1\nrules:\n  - id: person\n"
                        "    enabled: false\n")
    fresh = Redactor.from_packs([no_names])
    out = fresh.redact_text("Mail ops@fabrikam.co.uk; DSN https://u:p4ssw0rd@git.fabrikam.io/x")
    assert "<EMAIL_1>" in out.text and "<URL_CREDENTIALS_1>" in out.text
    assert no_network == []


def test_tldextract_has_no_urls_configured() -> None:
    import tldextract.tldextract as module

    from node.redaction.offline import make_tldextract_offline

    make_tldextract_offline()
    assert module.TLD_EXTRACTOR.suffix_list_urls == ()


def test_names_run_offline(redactor: Redactor, no_network: list[Any]) -> None:
    assert "<PERSON_1>" in redactor.redact_text("The analyst Priya Raman flagged it.").text
    assert no_network == []
