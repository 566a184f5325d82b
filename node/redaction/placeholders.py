"""Typed, stable placeholders: the same value gets the same ``<ENTITY_n>`` in one report.

Rules this module enforces:

- Numbering is per entity type and per report, from 1, in order of first appearance:
  ``<PERSON_1>``, ``<PERSON_2>``, ``<EMAIL_1>``.
- "The same value" is judged after normalising the way people vary it: e-mail case,
  phone and card separators, IBAN spacing, whitespace and case in names; and a later
  mention of one part of a known multi-word name ("Raman" after "Priya Raman") gets
  that name's placeholder.
- The map from values to placeholders is confidential: it lives in memory for one
  report and is never serialised by this package; ``repr`` shows only counts. A node
  that keeps it (to answer an authority's follow-up) must store it locally, encrypted
  or with owner-only file permissions (docs/adr/0003-redaction.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_DIGITS_ONLY = {"PHONE", "CREDIT_CARD"}
_ALNUM_ONLY = {"IBAN", "GOV_ID"}


def normalise(entity: str, value: str) -> str:
    value = unicodedata.normalize("NFKC", value)
    if entity in _DIGITS_ONLY:
        digits = re.sub(r"\D", "", value)
        return digits[-9:] if entity == "PHONE" else digits  # +44 20… == 020…
    if entity in _ALNUM_ONLY:
        return re.sub(r"[^0-9A-Za-z]", "", value).upper()
    if entity == "PERSON":
        value = re.sub(r"(?:'s|’s)$", "", value)
    return " ".join(value.split()).casefold()


class PlaceholderMap:
    """Value → placeholder for one report. Pass the same instance for every field."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], str] = {}
        self._counts: Counter[str] = Counter()
        self._name_parts: dict[str, str] = {}
        self._names: list[str] = []

    def placeholder(self, entity: str, value: str) -> str:
        key = (entity, normalise(entity, value))
        found = self._by_key.get(key)
        if found is not None:
            return found
        if entity == "PERSON":
            found = self._person_by_part(key[1])
            if found is not None:
                self._by_key[key] = found
                return found
        self._counts[entity] += 1
        found = f"<{entity}_{self._counts[entity]}>"
        self._by_key[key] = found
        if entity == "PERSON":
            self._remember_parts(key[1], found)
            self._names.append(" ".join(value.split()))
        return found

    def _person_by_part(self, name: str) -> str | None:
        parts = name.split()
        if len(parts) == 1:
            return self._name_parts.get(parts[0])
        return None

    def _remember_parts(self, name: str, placeholder: str) -> None:
        parts = name.split()
        if len(parts) > 1:
            for part in parts:
                if len(part) >= 3:
                    self._name_parts.setdefault(part, placeholder)

    def known_names(self) -> tuple[str, ...]:
        """Person names already placed in this report, as written (to find re-mentions)."""
        return tuple(self._names)

    def __len__(self) -> int:
        return len(self._by_key)

    def __repr__(self) -> str:
        return f"PlaceholderMap({dict(self._counts)})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a PlaceholderMap holds confidential values and is never pickled")


def new_mapping() -> PlaceholderMap:
    """A fresh map for one report."""
    return PlaceholderMap()
