"""Phone numbers, validated by libphonenumber (the ``phonenumbers`` package).

Rules this module enforces:

- A candidate is a run of 7-15 digits with the separators people write (space, dot,
  dash, slash, parentheses), optionally led by ``+`` or ``00``; the whole run including
  its prefix is redacted (Presidio's recognizer left a "+1" behind).
- International form (``+``/``00``) counts when libphonenumber finds it a *possible*
  number for its country code; national form must be *valid* in one of the pack's
  regions.
- Dates, times, IPv4 addresses, SSN-shaped runs and version-like dotted runs are
  refused before parsing.
- A bare run of digits with no separator and no ``+`` is taken only when a phone word
  (phone, tel, call, mobile, whatsapp...) precedes it: bare digit runs are more often
  ids, timestamps or counts than phone numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import phonenumbers

Span = tuple[int, int]

_CANDIDATE = re.compile(
    r"(?<![\w+\-./])(?:\+|00)?\s?(?:\(\s?\+?\d{1,4}\s?\)\s?)?\d(?:[\s.\-/]{0,2}\(?\d+\)?){2,}"
    r"(?:\s?(?:ext\.?|x)\s?\d{1,5})?(?![\w\-]|\.\d)"
)
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
_DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_SSN_SHAPE = re.compile(r"\d{3}-\d{2}-\d{4}")  # US SSN layout; no numbering plan writes it
_CONTEXT = re.compile(
    r"(?i)(?:phone|tel|telephone|call|called|mobile|cell|whatsapp|signal|sms|text|fax|"
    r"hotline|number|dial|reach|contact|ph|mob)\b[^\n.;]{0,15}$"
)


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _is_valid(candidate: str, regions: Sequence[str]) -> bool:
    stripped = candidate.strip()
    if stripped.startswith("00"):
        stripped = "+" + stripped[2:]
    try:
        if stripped.startswith("+") or stripped.startswith("(+"):
            # International form is strong evidence on its own: numbering plans change
            # faster than libphonenumber's metadata, so a possible length suffices.
            return bool(phonenumbers.is_possible_number(phonenumbers.parse(stripped, None)))
        for region in regions:
            number = phonenumbers.parse(stripped, region)
            if phonenumbers.is_valid_number(number):
                return True
    except phonenumbers.NumberParseException:
        return False
    return False


def find_phones(text: str, regions: Sequence[str]) -> Iterator[Span]:
    for match in _CANDIDATE.finditer(text):
        value = match.group()
        start = match.start() + (len(value) - len(value.lstrip()))
        value = value.strip()
        if value.endswith(")") and value.count(")") > value.count("("):
            value = value[:-1]
        digits = _digits(value)
        if not 7 <= len(digits) <= 15:
            continue
        if _DATE.fullmatch(value) or _DOTTED_QUAD.fullmatch(value) or _SSN_SHAPE.fullmatch(value):
            continue
        if re.fullmatch(r"\d+(?:\.\d+)+", value) and not re.fullmatch(r"\d+(?:\.\d+){2,}", value):
            continue
        has_shape = value.startswith(("+", "(")) or not value.isdigit()
        if not has_shape and not _CONTEXT.search(text[max(0, start - 40):start]):
            continue
        if _is_valid(value, regions):
            yield start, start + len(value)
