"""LAB_ONLY sections are never sent; AUTHORITY_ONLY ones are sent redacted; canaries."""

from __future__ import annotations

from node.redaction import Redactor, ReportRedaction

CANARIES = {
    "email": "canary.person@fabrikam.io",
    "phone": "+44 20 7946 0958",
    "card": "4111 1111 1111 1111",
    "iban": "DE89 3704 0044 0532 0130 00",
    "key": "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "name": "Oluwaseun Adeyemi",
    "ip": "198.51.100.23",
}


def test_sections_by_scope(redactor: Redactor) -> None:
    job = ReportRedaction(redactor)
    sent = job.sections([
        {"scope": "SHAREABLE", "text": "Rotation every 110 emails."},
        {"scope": "AUTHORITY_ONLY", "text": "Leaked key sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c."},
        {"scope": "LAB_ONLY", "text": "Internal note about the customer."},
    ])
    assert [s["scope"] for s in sent] == ["SHAREABLE", "AUTHORITY_ONLY"]
    assert sent[1]["text"] == "Leaked key <API_KEY_1>."
    assert job.dropped_sections == 1
    assert not redactor.is_sendable("LAB_ONLY") and redactor.is_sendable("AUTHORITY_ONLY")


def test_planted_canaries_never_appear_in_output(redactor: Redactor) -> None:
    report = {
        "title": f"Misuse reported by {CANARIES['name']}",
        "summary": (f"{CANARIES['name']} ({CANARIES['email']}, {CANARIES['phone']}) pasted "
                    f"card {CANARIES['card']} and IBAN {CANARIES['iban']} from "
                    f"{CANARIES['ip']}."),
        "indicators": [{"type": "API_KEY", "value": CANARIES["key"]},
                       {"type": "AWS", "value": f"aws_access_key_id={CANARIES['aws']}"}],
    }
    job = ReportRedaction(redactor)
    out = job.tree(report, skip_keys={"type"})
    flat = repr(out)
    for name, value in CANARIES.items():
        assert value not in flat, name
    assert "Adeyemi" not in flat and "Oluwaseun" not in flat
    assert out["indicators"][0]["type"] == "API_KEY"
    assert "<PERSON_1>" in out["title"] and "<PERSON_1>" in out["summary"]
