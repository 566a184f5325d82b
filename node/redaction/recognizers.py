"""Presidio pattern recognizers, compiled once and run only where they can match.

Rules this module enforces:

- A recognizer keeps Presidio's patterns, scores, checksums (``validate_result``) and
  exclusions (``invalidate_result``), applied exactly as Presidio's ``PatternRecognizer``
  applies them: a validator's verdict sets the score to 1 or 0, an exclusion to 0.
- A finding counts when its score reaches 0.5 (Presidio's default threshold), or when it
  is weaker but one of the recognizer's own context words stands, as a whole word,
  within 50 characters before it — Presidio's context rule without spaCy lemmas, and on
  whole words, not substrings ("pan" must not be found inside "company").
- Speed without changing results: each pattern is compiled once, with Presidio's own
  engine (the ``regex`` module, so matches are Presidio's), and is run on a text only
  when the text can hold a match: a pattern that needs a run of 7 digits is skipped on
  a text whose longest digit run is 6, one that needs ``@`` on a text without it
  (``prefilter``); a weak pattern with no validator is skipped unless one of its
  context words is in the text. Presidio's per-match explanation objects are not built.
- A recognizer of another kind (one that overrides ``analyze``) is run through its own
  ``analyze``, with the same acceptance rule.
- Presidio is imported through ``predefined()``: offline (``offline.py``), and without
  its optional Hugging Face engine, which we never use and whose import (transformers)
  doubles the cost of starting a node or a redaction worker (~3.5 s of CPU).
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from node.redaction.offline import make_tldextract_offline
from node.redaction.prefilter import Needs, Runs, required

Span = tuple[int, int]

STRONG = 0.5  # Presidio's default acceptance threshold
CONTEXT_WINDOW = 50  # characters before a weak finding searched for a context word


def predefined() -> Any:
    """Presidio's ``predefined_recognizers`` module, imported offline and light.

    Presidio guards ``from transformers import pipeline`` with ``except ImportError``;
    while it is first imported, a ``None`` entry for ``transformers`` in ``sys.modules``
    makes that import fail at once. The entry is removed straight after, so anything
    else may still import transformers; only Presidio's own Hugging Face engine stays
    unavailable in this process. Nothing is done when either package is already loaded.
    """
    make_tldextract_offline()
    if "presidio_analyzer" not in sys.modules and "transformers" not in sys.modules:
        sys.modules["transformers"] = None  # type: ignore[assignment]
        try:
            importlib.import_module("presidio_analyzer")
        finally:
            if sys.modules.get("transformers", 0) is None:
                del sys.modules["transformers"]
    return importlib.import_module("presidio_analyzer.predefined_recognizers")


def context_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern finding any of the words as whole words."""
    parts = sorted({w.strip().lower() for w in words if w.strip()}, key=len, reverse=True)
    if not parts:
        return None
    body = "|".join(r"\s+".join(re.escape(piece) for piece in part.split()) for part in parts)
    return re.compile(rf"(?<![^\W_])(?:{body})(?![^\W_])", re.IGNORECASE)


def has_context(context: re.Pattern[str] | None, text: str, start: int) -> bool:
    """A context word ends within ``CONTEXT_WINDOW`` characters before ``start``."""
    if context is None:
        return False
    return context.search(text, max(0, start - CONTEXT_WINDOW), start) is not None


@dataclass(frozen=True)
class _Pattern:
    regex: Any  # compiled by Presidio's engine, the ``regex`` module
    score: float
    needs: Needs
    weak: bool  # cannot reach STRONG without a context word (low score, no validator)


@dataclass(frozen=True)
class CompiledRecognizer:
    """One Presidio recognizer, ready to run many times."""

    presidio: Any
    patterns: tuple[_Pattern, ...]
    context: re.Pattern[str] | None
    compiled: bool  # False: a recognizer of another shape, run through its own analyze()
    context_keys: tuple[str, ...] = ()  # lower-case substrings a context word contains

    @classmethod
    def of(cls, recognizer: Any) -> CompiledRecognizer:
        predefined()
        pattern_recognizer: Any = importlib.import_module("presidio_analyzer").PatternRecognizer
        words = [str(w) for w in getattr(recognizer, "context", None) or []]
        context = context_pattern(words)
        if not isinstance(recognizer, pattern_recognizer) or (
                type(recognizer).analyze is not pattern_recognizer.analyze):
            return cls(recognizer, (), context, compiled=False)
        validates = (type(recognizer).validate_result
                     is not pattern_recognizer.validate_result)
        flags = int(recognizer.global_regex_flags or 0)
        std_flags = flags & (re.I | re.M | re.S)  # the ones both engines share
        engine: Any = importlib.import_module("regex")
        patterns: list[_Pattern] = []
        presidio_patterns: Any = getattr(recognizer, "patterns", [])
        for pattern in presidio_patterns:
            weak = pattern.score < STRONG and not validates
            patterns.append(_Pattern(engine.compile(pattern.regex, flags), float(pattern.score),
                                     required(pattern.regex, std_flags), weak))
        keys = tuple(sorted({w.split()[0].lower() for w in words if w.strip()}))
        return cls(recognizer, tuple(patterns), context, compiled=True, context_keys=keys)

    def _context_in(self, text: str) -> bool:
        """Whether any context word is in the text (substring test first: it is cheap)."""
        if self.context is None:
            return False
        lowered = text.lower()
        return (any(key in lowered for key in self.context_keys)
                and self.context.search(text) is not None)

    def validate(self, value: str) -> bool | None:
        """The recognizer's own checksum (Luhn, mod-97...); None when it has none."""
        result = self.presidio.validate_result(value)
        return None if result is None else bool(result)

    def find(self, text: str, runs: Runs) -> Iterator[Span]:
        """Accepted findings; ``runs`` are the text's (``prefilter.text_runs``)."""
        if not self.compiled:
            for result in self.presidio.analyze(text, self.presidio.supported_entities, None):
                if result.score >= STRONG or (
                        result.score > 0 and has_context(self.context, text, result.start)):
                    yield result.start, result.end
            return
        context_in_text: bool | None = None
        for pattern in self.patterns:
            if not pattern.needs.admit(text, runs):
                continue
            if pattern.weak:
                if context_in_text is None:
                    context_in_text = self._context_in(text)
                if not context_in_text:
                    continue
            for match in pattern.regex.finditer(text):
                start, end = match.span()
                if start == end:
                    continue
                score = self._score(pattern.score, text[start:end])
                if score >= STRONG or (score > 0 and has_context(self.context, text, start)):
                    yield start, end

    def _score(self, score: float, value: str) -> float:
        valid = self.presidio.validate_result(value)
        if valid is not None:
            score = 1.0 if valid else 0.0
        if self.presidio.invalidate_result(value):
            score = 0.0
        return score
