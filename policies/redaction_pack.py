"""Redaction policy packs: loading, JSON-Schema validation, merging, identity.

Rules this module enforces:

- A pack is a YAML mapping with ``kind: redaction``; it must validate against
  ``policies/schemas/redaction-pack.schema.json``. Every regular expression it carries
  must compile. A pack that breaks either is refused with a :class:`ConfigError` that
  names the file, the rule (index and id) and the reason; never half-loaded.
- A pack is identified by the SHA-256 of its canonical content (JSON with sorted keys,
  no insignificant whitespace, UTF-8), so comments and key order do not change it.
- Packs merge in order (the default pack first, then a lab's extension files). Rules
  merge by id: a new id adds a rule (it must name ``detector`` and ``entity``); a known
  id changes that rule: scalars and ``options`` keys override, ``terms`` and
  ``patterns`` are appended. ``allow`` and ``scopes.never_send`` are unions.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from nearmiss.errors import ConfigError

PACKS_DIR = Path(__file__).resolve().parent / "packs"
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "redaction-pack.schema.json"
DEFAULT_PACK_PATH = PACKS_DIR / "redaction-default.yaml"


@dataclass(frozen=True)
class RedactionRule:
    """One merged rule. ``source`` is the last file that defined or changed it."""

    id: str
    detector: str
    entity: str
    source: str
    enabled: bool = True
    terms: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    case_sensitive: bool = False
    whole_word: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RedactionPack:
    """One validated pack file. ``document`` is the parsed YAML; do not mutate it."""

    source: str
    document: Mapping[str, Any]
    content_hash: str

    @property
    def name(self) -> str:
        return str(self.document.get("name", Path(self.source).stem))


@dataclass(frozen=True)
class RedactionPolicy:
    """The packs merged in order: what a :class:`node.redaction.Redactor` applies."""

    packs: tuple[RedactionPack, ...]
    rules: tuple[RedactionRule, ...]
    allow: frozenset[str]
    never_send: frozenset[str]

    @property
    def content_hash(self) -> str:
        """SHA-256 over the ordered pack hashes: names exactly what redacted a report."""
        joined = "\n".join(pack.content_hash for pack in self.packs)
        return hashlib.sha256(joined.encode()).hexdigest()

    @property
    def enabled_rules(self) -> tuple[RedactionRule, ...]:
        return tuple(rule for rule in self.rules if rule.enabled)


def canonical_hash(document: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON form: key order and YAML comments do not count."""
    blob = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _where(document: Mapping[str, Any], path: Sequence[Any]) -> str | None:
    """Turn a JSON-Schema error path into 'rules[3] (id: foo).options' for people."""
    if not path:
        return None
    parts: list[str] = []
    node: Any = document
    for step in path:
        if isinstance(step, int):
            parts[-1] = f"{parts[-1]}[{step}]"
            node = node[step] if isinstance(node, list) and step < len(node) else None
            if isinstance(node, Mapping) and "id" in node:
                parts[-1] += f" (id: {node['id']})"
        else:
            parts.append(str(step))
            node = node.get(step) if isinstance(node, Mapping) else None
    return ".".join(parts)


def parse_pack(document: Any, *, source: str) -> RedactionPack:
    """Validate an already-parsed document; ``source`` names it in errors."""
    if not isinstance(document, Mapping):
        raise ConfigError("a redaction pack must be a YAML mapping", source=source)
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        raise ConfigError(
            f"not a valid redaction pack: {first.message}",
            source=source,
            key=_where(document, list(first.absolute_path)),
        )
    _check_patterns(document, source)
    return RedactionPack(source=source, document=document, content_hash=canonical_hash(document))


def _check_patterns(document: Mapping[str, Any], source: str) -> None:
    """Compile every regex now so a bad one names its rule instead of failing mid-report."""
    for index, rule in enumerate(document.get("rules", [])):
        flags = 0 if rule.get("case_sensitive", False) else re.IGNORECASE
        for pattern in rule.get("patterns", []):
            try:
                re.compile(pattern, flags)
            except re.error as error:
                raise ConfigError(
                    f"pattern {pattern!r} does not compile: {error}",
                    source=source,
                    key=f"rules[{index}] (id: {rule['id']}).patterns",
                ) from error


def load_pack(path: str | Path) -> RedactionPack:
    """Read and validate one pack file."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read redaction pack: {error.strerror}", source=source) from error
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"not valid YAML{at}", source=source) from error
    return parse_pack(document, source=source)


def merge_packs(packs: Sequence[RedactionPack]) -> RedactionPolicy:
    """Merge packs in order into one policy (rules by id, lists appended)."""
    rules: dict[str, RedactionRule] = {}
    allow: set[str] = set()
    never_send: set[str] = set()
    for pack in packs:
        document = pack.document
        allow.update(value.casefold() for value in document.get("allow", []))
        never_send.update(document.get("scopes", {}).get("never_send", []))
        for index, raw in enumerate(document.get("rules", [])):
            rules[raw["id"]] = _merge_rule(rules.get(raw["id"]), raw, pack.source, index)
    return RedactionPolicy(
        packs=tuple(packs),
        rules=tuple(rules.values()),
        allow=frozenset(allow),
        never_send=frozenset(never_send),
    )


def _merge_rule(
    base: RedactionRule | None, raw: Mapping[str, Any], source: str, index: int
) -> RedactionRule:
    key = f"rules[{index}] (id: {raw['id']})"
    if base is None:
        missing = [name for name in ("detector", "entity") if name not in raw]
        if missing:
            raise ConfigError(
                f"a new rule must name {' and '.join(missing)}", source=source, key=key
            )
        return RedactionRule(
            id=raw["id"],
            detector=raw["detector"],
            entity=raw["entity"],
            source=source,
            enabled=raw.get("enabled", True),
            terms=tuple(raw.get("terms", ())),
            patterns=tuple(raw.get("patterns", ())),
            case_sensitive=raw.get("case_sensitive", False),
            whole_word=raw.get("whole_word", True),
            options=dict(raw.get("options", {})),
        )
    if "detector" in raw and raw["detector"] != base.detector:
        raise ConfigError(
            f"changes the detector of rule {base.id!r} from {base.detector!r} to "
            f"{raw['detector']!r}; give the new rule its own id",
            source=source,
            key=key,
        )
    return RedactionRule(
        id=base.id,
        detector=base.detector,
        entity=raw.get("entity", base.entity),
        source=source,
        enabled=raw.get("enabled", base.enabled),
        terms=base.terms + tuple(raw.get("terms", ())),
        patterns=base.patterns + tuple(raw.get("patterns", ())),
        case_sensitive=raw.get("case_sensitive", base.case_sensitive),
        whole_word=raw.get("whole_word", base.whole_word),
        options={**base.options, **raw.get("options", {})},
    )


def load_policy(
    extensions: Iterable[str | Path] = (), *, include_default: bool = True
) -> RedactionPolicy:
    """The default pack (unless told not to) merged with a lab's extension files."""
    paths: list[str | Path] = [DEFAULT_PACK_PATH] if include_default else []
    paths.extend(extensions)
    if not paths:
        raise ConfigError("no redaction pack given and the default pack is excluded")
    return merge_packs([load_pack(path) for path in paths])
