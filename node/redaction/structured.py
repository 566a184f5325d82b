"""Structured personal data through Microsoft Presidio's own recognizers.

Rules this module enforces:

- We run Presidio's predefined recognizers ourselves (``recognizers.CompiledRecognizer``:
  their patterns, scores and validators, with no NLP artifacts), not its
  ``AnalyzerEngine``: the engine would run spaCy over every text for every recognizer,
  which is where most of its time goes, and names are found once, elsewhere
  (``names.py``).
- A recognizer's finding counts when its score reaches 0.5, or when it is weaker but one
  of its own context words stands before it (``recognizers`` has the exact rule).
- Payment cards are Luhn-checked (Presidio's validator); we add one pattern for the
  groupings its regex misses (Amex 4-6-5, 19-digit cards), checked the same way.
- E-mail validation uses tldextract: ``offline.make_tldextract_offline`` runs before
  any recognizer is built, so no public-suffix download is attempted.
- A URL whose authority carries ``user:password@`` is redacted whole (scheme to path).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from node.redaction.gov_ids import DEFAULT_RECOGNIZERS as DEFAULT_GOV_ID_RECOGNIZERS
from node.redaction.gov_ids import GovIdMatcher
from node.redaction.prefilter import text_runs
from node.redaction.recognizers import CompiledRecognizer, predefined

Span = tuple[int, int]

_URL_CREDENTIALS = re.compile(
    r"\b[a-zA-Z][a-zA-Z0-9+.\-]{1,15}://[^\s:/?#@\"'<>]*:[^\s/?#@\"'<>]+@[^\s\"'<>]+"
)
_URL_TRAILING = ".,;:)]}'\""
_DOT = r"\s*(?:\.|\[dot\]|\(dot\)|\{dot\})\s*"
_OBFUSCATED_EMAIL = re.compile(
    rf"\b[\w+\-]+(?:{_DOT}[\w+\-]+)*\s*(?:\[at\]|\(at\)|\{{at\}}|@)\s*[\w\-]+(?:{_DOT}[\w\-]+)+\b",
    re.IGNORECASE,
)
_OBFUSCATION = re.compile(r"\[(?:at|dot)\]|\((?:at|dot)\)|\{(?:at|dot)\}", re.IGNORECASE)
# Presidio's e-mail recognizer refuses domains outside the public-suffix list, but labs
# write internal addresses (``ops@build.corp``, ``x@lab.internal``): take those too.
_EMAIL_ANY_DOMAIN = re.compile(
    r"(?<![\w.+\-])[A-Za-z0-9][\w.+\-]*@[A-Za-z0-9](?:[\w\-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[\w\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b"
)
_CARD_EXTRA = re.compile(r"(?<![\w\-])(?:\d[ \-]?){12,18}\d(?![\w\-])")


@dataclass(frozen=True)
class StructuredDetectors:
    """Presidio recognizers, built once per Redactor (building them costs ~1 ms each)."""

    email: CompiledRecognizer
    card: CompiledRecognizer
    iban: CompiledRecognizer
    ip: CompiledRecognizer
    gov_ids: GovIdMatcher

    @classmethod
    def build(cls, gov_id_recognizers: Sequence[str] = DEFAULT_GOV_ID_RECOGNIZERS,
              *, source: str = "", rule_id: str = "government-id") -> StructuredDetectors:
        presidio = predefined()
        return cls(
            email=CompiledRecognizer.of(presidio.EmailRecognizer()),
            card=CompiledRecognizer.of(presidio.CreditCardRecognizer()),
            iban=CompiledRecognizer.of(presidio.IbanRecognizer()),
            ip=CompiledRecognizer.of(presidio.IpRecognizer()),
            gov_ids=GovIdMatcher.build(gov_id_recognizers, source=source, rule_id=rule_id),
        )


def find_emails(text: str, detectors: StructuredDetectors) -> Iterator[Span]:
    if "@" in text:
        yield from detectors.email.find(text, text_runs(text))
        for match in _EMAIL_ANY_DOMAIN.finditer(text):
            yield match.span()
    if not _OBFUSCATION.search(text):
        return  # every obfuscated address carries one of the markers
    for match in _OBFUSCATED_EMAIL.finditer(text):
        if _OBFUSCATION.search(match.group()):
            yield match.span()


def find_cards(text: str, detectors: StructuredDetectors) -> Iterator[Span]:
    yield from detectors.card.find(text, text_runs(text))
    for match in _CARD_EXTRA.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and detectors.card.validate(digits):
            yield match.span()


def find_ibans(text: str, detectors: StructuredDetectors) -> Iterator[Span]:
    yield from detectors.iban.find(text, text_runs(text))


def find_ips(text: str, detectors: StructuredDetectors) -> Iterator[Span]:
    if "." in text or ":" in text:
        yield from detectors.ip.find(text, text_runs(text))


def find_gov_ids(text: str, detectors: StructuredDetectors) -> Iterator[Span]:
    yield from detectors.gov_ids.find(text)


def find_url_credentials(text: str) -> Iterator[Span]:
    if "://" not in text:
        return
    for match in _URL_CREDENTIALS.finditer(text):
        value = match.group().rstrip(_URL_TRAILING)
        yield match.start(), match.start() + len(value)
