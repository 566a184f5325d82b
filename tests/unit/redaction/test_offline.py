"""Redaction never touches the network (tldextract's public-suffix download included)."""

from __future__ import annotations

from typing import Any

from node.redaction import Redactor


def test_email_and_url_recognizers_run_offline(no_network: list[Any]) -> None:
    # A fresh Redactor builds Presidio's recognizers under the network block.
    fresh = Redactor.from_packs()
    out = fresh.redact_text("Mail ops@fabrikam.co.uk; DSN https://u:p4ssw0rd@git.fabrikam.io/x")
    assert "<EMAIL_1>" in out.text and "<URL_CREDENTIALS_1>" in out.text
    assert no_network == []


def test_tldextract_has_no_urls_configured() -> None:
    import tldextract.tldextract as module

    from node.redaction.offline import make_tldextract_offline

    make_tldextract_offline()
    assert module.TLD_EXTRACTOR.suffix_list_urls == ()
