"""The Redactor: applies one merged redaction policy to texts.

Rules this module enforces:

- A Redactor is built from one :class:`RedactionPolicy` (the default pack merged with a
  lab's extensions) and keeps its compiled detectors and its NER model for its whole
  life; nothing is shared between instances and nothing global is cached.
- Every enabled rule runs on the whole text; overlapping findings are settled by
  ``spans.resolve`` (no value is ever half-redacted); values on the policy's ``allow``
  list are kept.
- Each finding is replaced by the placeholder the report's :class:`PlaceholderMap` gives
  its (entity, value); results carry counts per entity, never values.
- A pack rule that the code cannot honour (unknown detector, bad option) is refused
  when the Redactor is built, with the file and rule in the message.
- Large batches may run in worker processes (``pool``) and give exactly the findings
  one process would; the placeholder map and the replacing stay in this process.
"""

from __future__ import annotations

import re
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nearmiss.errors import ConfigError
from node.redaction import addresses, gov_ids, phones, secrets, structured, terms
from node.redaction.names import PersonFinder
from node.redaction.placeholders import PlaceholderMap
from node.redaction.pool import RedactionPool
from node.redaction.spans import Finding, finding, resolve
from policies.redaction_pack import RedactionPolicy, RedactionRule, load_policy

Detector = Callable[[str], Iterator[tuple[int, int]]]


@dataclass(frozen=True)
class RedactionResult:
    """A redacted text and how many values of each entity were replaced in it."""

    text: str
    counts: Mapping[str, int] = field(default_factory=dict)


PARALLEL_THRESHOLD = 64  # texts; below this, starting work elsewhere costs more than it saves


class Redactor:
    """Build once (it loads a model lazily), then redact any number of reports.

    With ``workers`` >= 2, batches of at least ``parallel_threshold`` texts given to
    :meth:`find_many` / :meth:`redact_many` are spread over that many worker processes
    (``pool.RedactionPool``, started on the first such batch; each loads the model
    once). Smaller batches, and every single report, stay in this process. Call
    :meth:`close` (or use ``with``) to stop the workers.
    """

    def __init__(self, policy: RedactionPolicy, *, workers: int = 1,
                 parallel_threshold: int = PARALLEL_THRESHOLD) -> None:
        if workers < 1 or parallel_threshold < 1:
            raise ValueError("workers and parallel_threshold must be at least 1")
        self.policy = policy
        self.workers = workers
        self.parallel_threshold = parallel_threshold
        self._pool: RedactionPool | None = None
        self._detectors: list[tuple[RedactionRule, Detector]] = []
        self._person: tuple[RedactionRule, PersonFinder] | None = None
        self._structured: structured.StructuredDetectors | None = None
        self._secret_patterns: secrets.SecretPatterns | None = None
        for rule in policy.enabled_rules:
            self._add(rule)

    @classmethod
    def from_packs(cls, extensions: Iterable[str | Path] = (), *,
                   include_default: bool = True, workers: int = 1) -> Redactor:
        """The default pack merged with a lab's extension files, in order."""
        return cls(load_policy(extensions, include_default=include_default), workers=workers)

    def close(self) -> None:
        """Stop the worker processes, if any were started (the Redactor stays usable)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def __enter__(self) -> Redactor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> None:
        raise TypeError("a Redactor is not pickled: build one from its policy instead")

    @property
    def content_hash(self) -> str:
        """Identifies the exact packs applied (record it beside the report)."""
        return self.policy.content_hash

    def is_sendable(self, scope: str) -> bool:
        """False for scopes the policy never sends (LAB_ONLY in the default pack)."""
        return scope not in self.policy.never_send

    # -- building -------------------------------------------------------------------

    def _structured_detectors(self) -> structured.StructuredDetectors:
        if self._structured is None:
            # The id recognizers come from the government-id rule, whichever structured
            # rule (e-mail, card...) happens to be built first.
            names: Sequence[str] = gov_ids.DEFAULT_RECOGNIZERS
            source, rule_id = "", "government-id"
            for rule in self.policy.enabled_rules:
                if rule.detector == "government_id":
                    source, rule_id = rule.source, rule.id
                    listed = rule.options.get("recognizers", names)
                    if not isinstance(listed, list | tuple) or not all(
                            isinstance(name, str) for name in listed):
                        raise ConfigError(f"rule {rule.id!r}: options.recognizers must be a "
                                          "list of Presidio recognizer names",
                                          source=rule.source, key="options.recognizers")
                    names = listed
            self._structured = structured.StructuredDetectors.build(
                names, source=source, rule_id=rule_id)
        return self._structured

    def _secrets(self) -> secrets.SecretPatterns:
        if self._secret_patterns is None:
            self._secret_patterns = secrets.SecretPatterns.build()
        return self._secret_patterns

    def _add(self, rule: RedactionRule) -> None:
        detector = self._make(rule)
        if detector is not None:
            self._detectors.append((rule, detector))

    def _make(self, rule: RedactionRule) -> Detector | None:
        kind = rule.detector
        options = rule.options
        if kind == "person":
            self._person = (rule, PersonFinder(options, source=rule.source, rule_id=rule.id))
            return None
        if kind == "private_key":
            patterns = self._secrets()
            return lambda text: secrets.find_private_keys(text, patterns)
        if kind == "jwt":
            return secrets.find_jwts
        if kind == "secret_keys":
            patterns = self._secrets()
            return lambda text: secrets.find_keys(text, patterns)
        if kind == "high_entropy":
            min_length = _int_option(rule, "min_length", 20)
            keep = options.get("digests", "keep") == "keep"
            return lambda text: secrets.find_high_entropy(text, min_length=min_length,
                                                          keep_digests=keep)
        if kind == "url_credentials":
            return structured.find_url_credentials
        if kind == "street_address":
            return addresses.find_addresses
        if kind == "phone":
            regions = [str(r).upper() for r in options.get("regions", ["US", "GB"])]
            return lambda text: phones.find_phones(text, regions)
        if kind in ("terms", "regex"):
            return self._make_terms(rule)
        finders = {
            "email": structured.find_emails,
            "credit_card": structured.find_cards,
            "iban": structured.find_ibans,
            "ip_address": structured.find_ips,
            "government_id": structured.find_gov_ids,
        }
        if kind in finders:
            detectors = self._structured_detectors()
            find = finders[kind]
            return lambda text: find(text, detectors)
        raise ConfigError(f"rule {rule.id!r} names unknown detector {kind!r}",
                          source=rule.source)

    def _make_terms(self, rule: RedactionRule) -> Detector | None:
        compiled: list[re.Pattern[str]] = []
        if rule.detector == "terms":
            pattern = terms.compile_terms(rule.terms, case_sensitive=rule.case_sensitive,
                                          whole_word=rule.whole_word)
            compiled.extend([pattern] if pattern is not None else [])
        else:
            compiled.extend(terms.compile_patterns(rule.patterns,
                                                   case_sensitive=rule.case_sensitive,
                                                   whole_word=rule.whole_word))
        if not compiled:
            return None
        return lambda text: terms.find_terms(text, compiled)

    # -- finding and replacing --------------------------------------------------------

    def find_many(self, texts: Sequence[str],
                  known_names: Sequence[Iterable[str]] | None = None) -> list[list[Finding]]:
        """Resolved findings per text (spans and entity labels; the benchmark scores these).

        ``known_names[i]`` are names already found elsewhere in text i's report.
        """
        known = [tuple(k) for k in known_names] if known_names is not None else [()] * len(texts)
        if len(known) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(known)} lists of known names")
        if self.workers >= 2 and len(texts) >= self.parallel_threshold:
            if self._pool is None:
                self._pool = RedactionPool(self.policy, workers=self.workers)
                weakref.finalize(self, self._pool.close)
            return self._pool.find_many(texts, known)
        return self._find_here(texts, known)

    def _find_here(self, texts: Sequence[str],
                   known: Sequence[tuple[str, ...]]) -> list[list[Finding]]:
        found: list[list[Finding]] = []
        for text in texts:
            found.append([finding(s, e, rule.entity, rule.detector)
                          for rule, detector in self._detectors for s, e in detector(text)])
        if self._person is not None:
            rule, finder = self._person
            names = finder.find_many(texts, [[(f.start, f.end) for f in fs] for fs in found])
            for text, person_spans, already, fs in zip(texts, names, known, found, strict=True):
                fs.extend(finding(s, e, rule.entity, "person") for s, e in person_spans)
                values = [text[s:e] for s, e in person_spans] + list(already)
                taken = [(f.start, f.end) for f in fs]
                fs.extend(finding(s, e, rule.entity, "person")
                          for s, e in finder.rementions(text, values, taken))
        allow = self.policy.allow
        return [[f for f in resolve(fs) if not allow or text[f.start:f.end].casefold() not in allow]
                for text, fs in zip(texts, found, strict=True)]

    def redact_text(self, text: str, mapping: PlaceholderMap | None = None) -> RedactionResult:
        """Redact one text. Pass the report's mapping so placeholders agree across fields."""
        mapping = mapping if mapping is not None else PlaceholderMap()
        return self.redact_many([text], [mapping])[0]

    def redact_many(self, texts: Sequence[str],
                    mappings: Sequence[PlaceholderMap] | None = None) -> list[RedactionResult]:
        """Redact a batch (NER batches across it). One mapping per text, or fresh ones."""
        maps = list(mappings) if mappings is not None else [PlaceholderMap() for _ in texts]
        if len(maps) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(maps)} mappings")
        known = [mapping.known_names() for mapping in maps]
        results = []
        for text, mapping, found in zip(texts, maps, self.find_many(texts, known), strict=True):
            results.append(_replace(text, found, mapping))
        return results


def _replace(text: str, found: Sequence[Finding], mapping: PlaceholderMap) -> RedactionResult:
    pieces: list[str] = []
    counts: Counter[str] = Counter()
    cursor = 0
    for item in found:
        pieces.append(text[cursor:item.start])
        pieces.append(mapping.placeholder(item.entity, text[item.start:item.end]))
        counts[item.entity] += 1
        cursor = item.end
    pieces.append(text[cursor:])
    return RedactionResult(text="".join(pieces), counts=dict(counts))


def _int_option(rule: RedactionRule, name: str, default: int) -> int:
    value = rule.options.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"rule {rule.id!r}: option {name} must be a positive integer",
                          source=rule.source, key=f"options.{name}")
    return value
