"""Structured personal data through Microsoft Presidio's own recognizers.

Rules this module enforces:

- We call Presidio's predefined recognizers directly (``recognizer.analyze`` with no NLP
  artifacts), not its ``AnalyzerEngine``: the engine would run spaCy over every text
  for every recognizer, which is where most of its time goes, and names are found
  once, elsewhere (``names.py``).
- A recognizer's finding counts when its score reaches 0.5, or when it is weaker but one
  of the recognizer's own context words (e.g. "ssn", "passport") stands within 50
  characters before it — Presidio's context rule, done without spaCy lemmas.
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
from typing import Any

from nearmiss.errors import ConfigError
from node.redaction.offline import make_tldextract_offline

Span = tuple[int, int]

DEFAULT_GOV_ID_RECOGNIZERS = (
    "UsSsnRecognizer", "UsItinRecognizer", "UsPassportRecognizer", "UkNinoRecognizer",
    "NhsRecognizer", "EsNifRecognizer", "EsNieRecognizer", "ItFiscalCodeRecognizer",
    "InAadhaarRecognizer", "InPanRecognizer", "SgFinRecognizer", "AuTfnRecognizer",
    "PlPeselRecognizer", "FiPersonalIdentityCodeRecognizer", "CaSinRecognizer",
    "KrRrnRecognizer", "SePersonnummerRecognizer", "DeTaxIdRecognizer",
    "TrNationalIdRecognizer", "ZaIdNumberRecognizer", "NgNinRecognizer",
)
_STRONG = 0.5
_CONTEXT_WINDOW = 50

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
_ID_WORDS = ("id", "no.", "number", "ssn", "passport", "national", "tax", "insurance", "nino",
             "aadhaar", "pesel", "sin", "nhs", "dni", "nif", "nie", "personnummer", "fiscal")
# Presidio's e-mail recognizer refuses domains outside the public-suffix list, but labs
# write internal addresses (``ops@build.corp``, ``x@lab.internal``): take those too.
_EMAIL_ANY_DOMAIN = re.compile(
    r"(?<![\w.+\-])[A-Za-z0-9][\w.+\-]*@[A-Za-z0-9](?:[\w\-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[\w\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b"
)
_CARD_EXTRA = re.compile(r"(?<![\w\-])(?:\d[ \-]?){12,18}\d(?![\w\-])")


@dataclass
class StructuredDetectors:
    """Presidio recognizers, built once per Redactor (building them costs ~1 ms each)."""

    email: Any
    card: Any
    iban: Any
    ip: Any
    gov_ids: tuple[Any, ...]

    @classmethod
    def build(cls, gov_id_recognizers: Sequence[str] = DEFAULT_GOV_ID_RECOGNIZERS,
              *, source: str = "", rule_id: str = "government-id") -> StructuredDetectors:
        make_tldextract_offline()
        from presidio_analyzer import predefined_recognizers as predefined

        gov: list[Any] = []
        for name in gov_id_recognizers:
            factory = getattr(predefined, name, None)
            if factory is None:
                raise ConfigError(
                    f"rule {rule_id!r}: Presidio has no recognizer named {name!r}",
                    source=source or None, key="options.recognizers",
                )
            gov.append(factory())
        return cls(
            email=predefined.EmailRecognizer(),
            card=predefined.CreditCardRecognizer(),
            iban=predefined.IbanRecognizer(),
            ip=predefined.IpRecognizer(),
            gov_ids=tuple(gov),
        )


def _accepted(recognizer: Any, text: str) -> Iterator[Span]:
    context = [word.lower() for word in (getattr(recognizer, "context", None) or [])]
    for result in recognizer.analyze(text, recognizer.supported_entities, None):
        if result.score >= _STRONG:
            yield result.start, result.end
        elif result.score > 0 and context:
            before = text[max(0, result.start - _CONTEXT_WINDOW):result.start].lower()
            if any(word in before for word in context):
                yield result.start, result.end


def find_emails(text: str, detectors: StructuredDetectors) -> Iterator[Span]:
    if "@" in text:
        yield from _accepted(detectors.email, text)
        for match in _EMAIL_ANY_DOMAIN.finditer(text):
            yield match.span()
    for match in _OBFUSCATED_EMAIL.finditer(text):
        if _OBFUSCATION.search(match.group()):
            yield match.span()


def find_cards(text: str, detectors: StructuredDetectors) -> Iterator[Span]:
    yield from _accepted(detectors.card, text)
    for match in _CARD_EXTRA.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and detectors.card.validate_result(digits):
            yield match.span()


def find_ibans(text: str, detectors: StructuredDetectors) -> Iterator[Span]:
    yield from _accepted(detectors.iban, text)


def find_ips(text: str, detectors: StructuredDetectors) -> Iterator[Span]:
    if "." in text or ":" in text:
        yield from _accepted(detectors.ip, text)


def find_gov_ids(text: str, detectors: StructuredDetectors) -> Iterator[Span]:
    for recognizer in detectors.gov_ids:
        for start, end in _accepted(recognizer, text):
            glued = (start > 0 and text[start - 1].isalnum()) or (
                end < len(text) and text[end].isalnum())
            if glued:
                continue  # inside a longer token (a hash, an id)
            if text[start:end].isdigit():
                # A bare run of digits is more often a count, seed or timestamp than an
                # id: take it only with an id word just before it.
                before = text[max(0, start - 30):start].lower()
                if not any(word in before for word in _ID_WORDS):
                    continue
            yield start, end


def find_url_credentials(text: str) -> Iterator[Span]:
    if "://" not in text:
        return
    for match in _URL_CREDENTIALS.finditer(text):
        value = match.group().rstrip(_URL_TRAILING)
        yield match.start(), match.start() + len(value)
