"""Cheap necessary conditions for regular expressions, found by reading the pattern.

Rules this module enforces:

- ``required(pattern)`` returns what *every* match of a pattern must contain: runs of
  digits, of letters-or-digits and of key characters (those and ``_ -``) of some
  length (``\\d{3}-\\d{2}-\\d{4}`` needs a run of 4 of each), and literal strings
  (``-`` there, ``@`` in an e-mail pattern, ``AKIA`` in a case-sensitive key pattern).
  A text whose longest runs are shorter, or that lacks one of the strings, cannot
  match, so the pattern need not be run on it at all.
- The analysis is conservative: anything it does not understand (back-references,
  conditionals, a pattern the standard ``re`` parser refuses) counts as requiring
  nothing, so a prefilter can skip work but never a match.
- Zero-width items (``\\b``, look-arounds) neither add to a run nor break it; an optional
  item that may match a non-digit is taken to break it (the run it would extend is
  then under-, never over-estimated).

The pattern is read with the standard library's own regex parser (``re._parser``, the
module long known as ``sre_parse``), the same code that compiles the pattern.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_MAX_CODEPOINT = 0x10FFFF
_ZERO_WIDTH = frozenset({"AT", "ASSERT", "ASSERT_NOT"})
_DIGIT_RUN = re.compile(r"\d+")
_ALNUM_RUN = re.compile(r"[^\W_]+")
_WORD_RUN = re.compile(r"[\w\-]+")


@dataclass(frozen=True)
class Runs:
    """Longest runs of digits, of letters-or-digits and of those plus ``_`` and ``-``
    (the characters of keys and tokens): of a text, or required by a pattern."""

    digits: int = 0
    alnum: int = 0
    word: int = 0

    def admits(self, required: Runs) -> bool:
        return (self.digits >= required.digits and self.alnum >= required.alnum
                and self.word >= required.word)


@dataclass(frozen=True)
class Needs:
    """What every match of a pattern contains (nothing, when unknown)."""

    runs: Runs = Runs()
    strings: frozenset[str] = frozenset()

    def admit(self, text: str, runs: Runs) -> bool:
        """False only when ``text`` (whose runs are ``runs``) cannot hold a match."""
        return runs.admits(self.runs) and all(piece in text for piece in self.strings)


@lru_cache(maxsize=16)
def text_runs(text: str) -> Runs:
    """The longest runs in a text (two C-level scans).

    Memoised (a pure function of the text): several detectors ask about the same text
    one after the other, and a string's hash is computed once and kept by Python.
    """
    return Runs(max(map(len, _DIGIT_RUN.findall(text)), default=0),
                max(map(len, _ALNUM_RUN.findall(text)), default=0),
                max(map(len, _WORD_RUN.findall(text)), default=0))


@dataclass(frozen=True)
class _Shape:
    """What every match of a piece of pattern is known to contain, for one char class."""

    all_in: bool  # every character it matches is in the class
    min_len: int  # shortest match (meaningful when all_in)
    prefix: int  # run of class characters every match starts with
    suffix: int  # ... ends with
    inner: int  # ... contains somewhere


_NOTHING = _Shape(False, 0, 0, 0, 0)
_EMPTY = _Shape(True, 0, 0, 0, 0)


def required(pattern: str, flags: int = 0) -> Needs:
    """What every match of ``pattern`` must contain; ``Needs()`` when unknown."""
    try:
        parser: Any = importlib.import_module("re._parser")
        tree = parser.parse(pattern, flags)
    except (ImportError, re.error, RecursionError):
        return Needs()
    try:
        runs = Runs(_sequence(tree, _is_digit).inner, _sequence(tree, _is_alnum).inner,
                    _sequence(tree, _is_word).inner)
        return Needs(runs, frozenset(_strings(tree, bool(flags & re.IGNORECASE))))
    except (TypeError, ValueError):  # a parse-tree shape this reader does not know
        return Needs()


def _strings(items: Iterable[tuple[Any, Any]], ignore_case: bool) -> set[str]:
    """Literal strings every match of a sequence contains (letters only when the
    pattern is case-sensitive: case-insensitive matching folds letters in ways a plain
    substring test would not, such as ``ſ`` for ``s``)."""
    found: set[str] = set()
    literal: list[str] = []

    def flush() -> None:
        if literal:
            found.add("".join(literal))
            literal.clear()

    for op, av in items:
        name = str(op)
        if name == "LITERAL" and not (ignore_case and _cased(chr(av))):
            literal.append(chr(av))
            continue
        if name in _ZERO_WIDTH:
            continue  # takes no characters: the literal run goes on
        flush()
        if name == "SUBPATTERN":
            found |= _strings(av[-1], ignore_case)
        elif name == "ATOMIC_GROUP":
            found |= _strings(av, ignore_case)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[0] >= 1:
            found |= _strings(av[2], ignore_case)
        elif name == "BRANCH":
            branches = [_strings(branch, ignore_case) for branch in av[1]]
            found |= _common(branches)
    flush()
    return found


def _cased(char: str) -> bool:
    return char.isalpha() or char.lower() != char or char.upper() != char


def _common(branches: list[set[str]]) -> set[str]:
    """Strings found in every branch's required strings (a substring of one counts)."""
    if not branches:
        return set()
    shared: set[str] = set()
    for candidate in {piece for strings in branches for whole in strings
                      for piece in _pieces(whole)}:
        if all(any(candidate in whole for whole in strings) for strings in branches):
            shared.add(candidate)
    return shared


def _pieces(whole: str) -> set[str]:
    """Single characters of a string and the string itself (enough for our patterns)."""
    return {whole, *whole}


def _is_digit(char: str) -> bool:
    return char.isdecimal()


def _is_alnum(char: str) -> bool:
    return char.isalnum()


def _is_word(char: str) -> bool:
    return char.isalnum() or char in "_-"


def _set_within(items: Iterable[tuple[Any, Any]], member: Callable[[str], bool]) -> bool:
    """True when a character set (``[...]``) only holds class characters."""
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            if not member(chr(av)):
                return False
        elif name == "RANGE":
            low, high = av
            if high - low > 64 or not all(member(chr(c)) for c in range(low, high + 1)):
                return False
        elif name == "CATEGORY":
            if str(av) in ("CATEGORY_DIGIT", "CATEGORY_UNI_DIGIT"):
                continue  # digits are in every class here
            if str(av) in ("CATEGORY_WORD", "CATEGORY_UNI_WORD") and member("_"):
                continue  # \w: letters, digits, underscore
            return False
        else:  # NEGATE and anything unknown
            return False
    return True


def _item(op: Any, av: Any, member: Callable[[str], bool]) -> _Shape:
    name = str(op)
    if name in _ZERO_WIDTH:
        return _EMPTY
    if name == "LITERAL":
        return _Shape(True, 1, 1, 1, 1) if member(chr(av)) else _Shape(False, 1, 0, 0, 0)
    if name == "IN":
        return _Shape(True, 1, 1, 1, 1) if _set_within(av, member) else _NOTHING
    if name == "SUBPATTERN":
        return _sequence(av[-1], member)
    if name == "ATOMIC_GROUP":
        return _sequence(av, member)
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, _high, body = av
        return _repeat(low, _sequence(body, member))
    if name == "BRANCH":
        shapes = [_sequence(branch, member) for branch in av[1]]
        return _Shape(all(s.all_in for s in shapes), min(s.min_len for s in shapes),
                      min(s.prefix for s in shapes), min(s.suffix for s in shapes),
                      min(s.inner for s in shapes))
    return _NOTHING  # ANY, NOT_LITERAL, GROUPREF, GROUPREF_EXISTS, ...


def _repeat(low: int, body: _Shape) -> _Shape:
    if body.all_in:
        length = low * body.min_len
        return _Shape(True, length, length, length, length)
    if low == 0:
        return _NOTHING
    inner = max(body.inner, body.suffix + body.prefix) if low >= 2 else body.inner
    return _Shape(False, 0, body.prefix, body.suffix, inner)


def _sequence(items: Iterable[tuple[Any, Any]], member: Callable[[str], bool]) -> _Shape:
    all_in, length = True, 0
    prefix, inner, current = 0, 0, 0
    for op, av in items:
        shape = _item(op, av, member)
        if shape.all_in:
            current += shape.min_len
            length += shape.min_len
            if all_in:
                prefix = current
        else:
            inner = max(inner, current + shape.prefix, shape.inner)
            if all_in:
                prefix = current + shape.prefix
            all_in = False
            current = shape.suffix
        inner = max(inner, current)
    if all_in:
        return _Shape(True, length, length, length, length)
    return _Shape(False, 0, prefix, current, inner)
