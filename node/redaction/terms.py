"""Lab-confidential terms: literal lists and regular expressions a lab defines.

Rules this module enforces:

- Matching is case-insensitive unless the rule sets ``case_sensitive: true``.
- With ``whole_word: true`` (the default) a term matches only where it is not glued to
  other letters or digits: "Nightingale" matches "Nightingale's" and "(Nightingale)"
  but not "Nightingales2". Boundaries are checked by look-around on word characters,
  not ``\\b``, so terms that start or end with punctuation ("borealis-5.1") work too.
- Inside a term, any run of whitespace matches any run of whitespace (a codename split
  over a line break is still found).
- Longer terms are tried first, so "Project Nightingale" wins over "Nightingale".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

Span = tuple[int, int]

_BEFORE = r"(?<![\w])"
_AFTER = r"(?![\w])"


def _flags(case_sensitive: bool) -> int:
    return 0 if case_sensitive else re.IGNORECASE


def compile_terms(terms: Iterable[str], *, case_sensitive: bool, whole_word: bool
                  ) -> re.Pattern[str] | None:
    """One alternation for all terms (one pass over the text, whatever the list size)."""
    unique = sorted({term.strip() for term in terms if term.strip()}, key=len, reverse=True)
    if not unique:
        return None
    parts = [r"\s+".join(re.escape(word) for word in term.split()) for term in unique]
    body = "(?:" + "|".join(parts) + ")"
    if whole_word:
        body = _BEFORE + body + _AFTER
    return re.compile(body, _flags(case_sensitive))


def compile_patterns(patterns: Iterable[str], *, case_sensitive: bool, whole_word: bool
                     ) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns:
        body = f"(?:{pattern})"
        if whole_word:
            body = _BEFORE + body + _AFTER
        compiled.append(re.compile(body, _flags(case_sensitive)))
    return tuple(compiled)


def find_terms(text: str, patterns: Iterable[re.Pattern[str]]) -> Iterator[Span]:
    for pattern in patterns:
        for match in pattern.finditer(text):
            if match.end() > match.start():
                yield match.span()
