"""Cheap necessary conditions for regular expressions, found by reading the pattern.

Rules this module enforces:

- ``required(pattern)`` returns what *every* match of a pattern must contain: a run of
  digits and a run of letters-or-digits of some length (``\\d{3}-\\d{2}-\\d{4}`` needs
  a run of 4 of each), and literal characters that are not letters (``-`` there; ``@``
  in an e-mail pattern). A text whose longest runs are shorter, or that lacks one of
  the characters, cannot match, so the pattern need not be run on it at all.
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


@dataclass(frozen=True)
class Runs:
    """Longest digit run and longest letter-or-digit run: of a text, or required."""

    digits: int = 0
    alnum: int = 0

    def admits(self, required: Runs) -> bool:
        return self.digits >= required.digits and self.alnum >= required.alnum


@dataclass(frozen=True)
class Needs:
    """What every match of a pattern contains (nothing, when unknown)."""

    runs: Runs = Runs()
    chars: frozenset[str] = frozenset()

    def admit(self, text: str, runs: Runs) -> bool:
        """False only when ``text`` (whose runs are ``runs``) cannot hold a match."""
        return runs.admits(self.runs) and all(char in text for char in self.chars)


@lru_cache(maxsize=16)
def text_runs(text: str) -> Runs:
    """The longest runs in a text (two C-level scans).

    Memoised (a pure function of the text): several detectors ask about the same text
    one after the other, and a string's hash is computed once and kept by Python.
    """
    digits = max((m.end() - m.start() for m in _DIGIT_RUN.finditer(text)), default=0)
    alnum = max((m.end() - m.start() for m in _ALNUM_RUN.finditer(text)), default=0)
    return Runs(digits, alnum)


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
        runs = Runs(_sequence(tree, _is_digit).inner, _sequence(tree, _is_alnum).inner)
        return Needs(runs, frozenset(_chars(tree)))
    except (TypeError, ValueError):  # a parse-tree shape this reader does not know
        return Needs()


def _chars(items: Iterable[tuple[Any, Any]]) -> set[str]:
    """Non-letter literal characters every match of a sequence contains."""
    found: set[str] = set()
    for op, av in items:
        name = str(op)
        if name == "LITERAL" and not chr(av).isalpha():
            found.add(chr(av))  # not a letter, so case-insensitive matching keeps it
        elif name == "SUBPATTERN":
            found |= _chars(av[-1])
        elif name == "ATOMIC_GROUP":
            found |= _chars(av)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[0] >= 1:
            found |= _chars(av[2])
        elif name == "BRANCH":
            branches = [_chars(branch) for branch in av[1]]
            found |= set.intersection(*branches) if branches else set()
    return found


def _is_digit(char: str) -> bool:
    return char.isdecimal()


def _is_alnum(char: str) -> bool:
    return char.isalnum()


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
            if str(av) not in ("CATEGORY_DIGIT", "CATEGORY_UNI_DIGIT"):
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
