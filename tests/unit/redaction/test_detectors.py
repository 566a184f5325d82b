"""Each entity type is found and replaced by its typed placeholder; hard negatives stay."""

from __future__ import annotations

import pytest

from node.redaction import Redactor, new_mapping

JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9l"
       "IiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9OiZ1BjP5CE/Wm/Rr50\n"
       "0Pq8Yt2Yx1vhR7TqLk9Zs3dE4fGhJkLm\n-----END RSA PRIVATE KEY-----")

CASES = [
    ("EMAIL", "Write to priya.raman@northwind-analytics.com today.", "priya.raman@"),
    ("EMAIL", "Internal address ops@build.corp was used.", "ops@build.corp"),
    ("EMAIL", "Reach him at k.mensah [at] proton [dot] me please.", "k.mensah"),
    ("PHONE", "Call +44 20 7946 0958 after lunch.", "7946"),
    ("PHONE", "Her mobile: (415) 555-2671.", "555-2671"),
    ("PHONE", "Support on +49 30 12345678 answered.", "12345678"),
    ("IP_ADDRESS", "Traffic from 203.0.113.45 and 2001:db8::7334 was blocked.", "203.0.113.45"),
    ("CREDIT_CARD", "Card 4111-1111-1111-1111 was pasted.", "4111"),
    ("CREDIT_CARD", "Amex 3782 822463 10005 appeared.", "822463"),
    ("IBAN", "Wire to GB82 WEST 1234 5698 7654 32 now.", "WEST"),
    ("IBAN", "Account DE89370400440532013000 received it.", "DE89"),
    ("GOV_ID", "Her SSN 536-22-1847 was in the prompt.", "536-22"),
    ("GOV_ID", "NI number AB123456C was in the prompt.", "AB123456C"),
    ("ADDRESS", "She lives at 221B Baker Street, London NW1 6XE.", "Baker"),
    ("ADDRESS", "Delivery to Lindenstraße 14, 10969 Berlin failed.", "Lindenstraße"),
    ("API_KEY", "Leaked key AKIAIOSFODNN7EXAMPLE in the gist.", "AKIAIOSFODNN7"),
    ("API_KEY", "Token ghp_1234567890abcdefghijABCDEFGHIJ123456 leaked.", "ghp_"),
    ("API_KEY", "Key sk-ant-api03-" + "a1B2c3D4e5" * 9 + "AA was shared.", "sk-ant"),
    ("API_KEY", "OpenAI key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z was used.", "sk-proj"),
    ("API_KEY", "Slack xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx leaked.",
     "xoxb"),
    ("JWT", f"Session {JWT} was copied.", "eyJhbGci"),
    ("PRIVATE_KEY", f"The agent printed\n{PEM}\nand stopped.", "MIIEpAIB"),
    ("URL_CREDENTIALS", "DSN postgres://admin:hunter22@db.internal:5432/x leaked.", "hunter22"),
    ("SECRET", "The config had password: Tr0ub4dor&3 in it.", "Tr0ub4dor"),
    ("SECRET", "A random token Zq8vN2kLp4Xw7RtY9bHc3Jm6 showed up.", "Zq8vN2kL"),
    ("PERSON", "On 12 March the analyst Priya Raman flagged it.", "Priya"),
    ("PERSON", "Escalated to Dr. Okafor by phone.", "Okafor"),
    ("PERSON", "The red team led by Siobhán Müller reproduced it.", "Müller"),
]


@pytest.mark.parametrize(("entity", "text", "secret"), CASES, ids=[c[0] + str(i) for i, c in
                                                                 enumerate(CASES)])
def test_each_type_is_redacted(redactor: Redactor, entity: str, text: str, secret: str) -> None:
    result = redactor.redact_text(text)
    assert secret not in result.text
    assert f"<{entity}_1>" in result.text, result.text
    assert result.counts.get(entity, 0) >= 1


HARD_NEGATIVES = [
    "Prompt hash sha256:9a0b1c2d3e4f5061728394a5b6c7d8e9f00112233445566778899aabbccddeef.",
    "Fixed in commit 3f786850e387550fdab836ed7e6dc881de23001b of the filter.",
    "Report 0193a7c2-6c2f-7d4e-8a21-3b5c7d9e1f22 matched technique AML.T0054.",
    "Version 3.8.0 of gpt-4o-mini-2024-07-18 ran on 2026-10-28 at 09:12 UTC.",
    "CVE-2024-3094 was referenced; 4,100 emails and $12,400 in losses.",
    "Epoch timestamp 1730281920 marks the first request; seed 5405483249 was used.",
    "Model Qwen2.5-72B answered where Llama-3.1-70B-Instruct refused.",
    "Our company Escalation team saw 4021 requests.",  # "pan" inside "company"
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives_are_kept(redactor: Redactor, text: str) -> None:
    assert redactor.redact_text(text).text == text


def test_digest_after_a_secret_keyword_is_redacted(redactor: Redactor) -> None:
    text = "api_key: 9a0b1c2d3e4f5061728394a5b6c7d8e9f00112233445566778899aabbccddeef"
    assert "9a0b1c2d" not in redactor.redact_text(text).text


def test_later_mentions_within_and_across_fields(redactor: Redactor) -> None:
    mapping = new_mapping()
    first = redactor.redact_text("Analyst Priya Raman filed it; Raman escalated.", mapping)
    assert first.text == "Analyst <PERSON_1> filed it; <PERSON_1> escalated."
    later = redactor.redact_text("Raman wrote it up.", mapping)  # known from the map only
    assert later.text == "<PERSON_1> wrote it up."


def test_phone_prefix_is_not_left_behind(redactor: Redactor) -> None:
    assert redactor.redact_text("Dial +1 415 555 2671 now.").text == "Dial <PHONE_1> now."
