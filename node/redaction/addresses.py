"""Street addresses: house number + street name + street type, in several languages.

Rules this module enforces:

- Presidio has no street-address recognizer and spaCy's small model tags places, not
  addresses (FAC/GPE/LOC), so addresses are found by shape: a house number and a street
  type word (English, German, Dutch, Scandinavian, French, Spanish, Portuguese, Italian),
  in the order each language writes them.
- A unit ("Apt 4B", "Flat 2", "Suite 300") directly before or after is taken with it,
  and so is a trailing postcode and town on the same line ("…, Springfield, IL 62704",
  "…, 10115 Berlin"): the street line is what identifies a person's home, the town
  alone does not, but leaving the tail beside a placeholder helps nobody.
- Street type words must start the match's last word (English) or end a compound word
  (German ``-straße``), so "Street Fighter" or "high road to success" do not match: a
  house number is required.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

Span = tuple[int, int]

_EN_TYPES = (
    r"Street|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Court|Ct|Place|Pl|"
    r"Terrace|Way|Close|Crescent|Cres|Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Cir|"
    r"Dr(?!\.?\s+[A-Z][a-z])|St(?!\.?\s+[A-Z][a-z])|"
    r"Row|Gardens|Grove|Mews|Walk|Hill|Trail|Plaza|Quay|Wharf|Parade|Embankment|Green"
)
_UNIT = r"(?:(?:Apt|Apartment|Flat|Suite|Ste|Unit|Floor|Fl|Room|Rm)\.?\s*#?\s*[A-Za-z0-9\-]{1,6})"
_NAME_WORD = r"(?:[A-Z][\w'’\-]*|\d{1,3}(?:st|nd|rd|th)|of|the|de|la|van|der)"
_TOWN_TAIL = (
    r"(?:,\s*[A-Z][a-zà-ÿ'’\-]+(?:\s[A-Z][a-zà-ÿ'’\-]+){0,2})?"
    r"(?:,?\s*(?:[A-Z]{2}\s+\d{5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|\d{4,5}))?"
)

_ENGLISH = re.compile(
    rf"(?:{_UNIT},?\s+)?\b\d{{1,5}}[A-Za-z]?(?:[-/]\d{{1,4}})?,?\s+(?:{_NAME_WORD}\s+){{0,3}}"
    rf"[A-Z][\w'’\-]*\s+(?:{_EN_TYPES})\b\.?(?:,?\s+{_UNIT})?{_TOWN_TAIL}"
)
_GERMANIC = re.compile(
    r"\b[A-ZÄÖÜ][\wäöüßÄÖÜéèå\-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|"
    r"straat|laan|gracht|plein|kade|vej|gade|gatan|vägen|veien|gata)\s+\d{1,4}\s?[a-zA-Z]?\b"
    r"(?:,\s*(?:\d{4,5}\s+)?[A-ZÄÖÜ][\wäöüß\-]+)?"
)
_ROMANCE = re.compile(
    r"\b(?:\d{1,4}(?:\s?(?:bis|ter))?,?\s+)?(?:[Rr]ue|Avenue|Boulevard|Bd|Chemin|Allée|Place|"
    r"Impasse|Quai|Calle|Avenida|Avda\.?|Paseo|Plaza|Carrer|Rua|Travessa|Via|Viale|Piazza|"
    r"Corso|Largo|Vicolo)\s+(?:(?:de|del|de la|des|du|della|do|da|dos|das|di|d')\s*)?"
    r"[A-ZÀ-Ý][\wÀ-ÿ'’\-]*(?:\s+[A-ZÀ-Ý][\wÀ-ÿ'’\-]*){0,3}(?:,?\s+(?:n\.?º?\s*)?\d{1,4}[a-zA-Z]?)?"
    r"(?:,\s*(?:\d{4,5}\s+)?[A-ZÀ-Ý][\wÀ-ÿ\-]+)?"
)
_GERMAN_PREFIXED = re.compile(
    r"\b(?:Am|An der|An den|Im|In der|Auf der|Auf dem|Zum|Zur|Hinter der|Unter den)\s+"
    r"[A-ZÄÖÜ][\wäöüß\-]+\s+\d{1,4}\s?[a-z]?\b"
)
_PO_BOX = re.compile(r"\b(?:P\.?\s?O\.?\s?Box|Postfach|Apartado)\s+\d{1,6}\b", re.IGNORECASE)


def find_addresses(text: str) -> Iterator[Span]:
    for match in _ENGLISH.finditer(text):
        yield match.span()
    for match in _GERMANIC.finditer(text):
        yield match.span()
    for match in _ROMANCE.finditer(text):
        # Romance street words are common nouns ("place", "via"): require a number.
        if re.search(r"\d", match.group()):
            yield match.span()
    for match in _GERMAN_PREFIXED.finditer(text):
        yield match.span()
    for match in _PO_BOX.finditer(text):
        yield match.span()
