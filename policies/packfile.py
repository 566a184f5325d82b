"""Policy pack files, any kind: read YAML, validate against the kind's JSON Schema, hash.

Rules this module enforces (the same for every kind of pack, redaction included):

- A pack is a YAML mapping whose ``kind`` names its schema:
  ``policies/schemas/<kind>-pack.schema.json`` (JSON Schema 2020-12). A pack of another
  kind than the one asked for, a pack that breaks its schema, or a file that is not
  YAML is refused with :class:`PackError`, which names the file, the place in the
  document (``rules[2].embargo_days``) and the reason. Every problem is listed, so a
  person can fix them all in one go. Nothing is ever half-loaded.
- A pack is identified by the SHA-256 of its canonical content: JSON with sorted keys,
  no insignificant whitespace, UTF-8. Comments, key order and YAML style therefore do
  not change the hash; any change of meaning does. This hash is what every decision
  records as "the pack that decided".
- Rule ids are unique within a pack (checked here for any list of mappings named
  ``rules``), because an audit trail that names an ambiguous rule proves nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from nearmiss.errors import ConfigError

POLICIES_DIR = Path(__file__).resolve().parent
PACKS_DIR = POLICIES_DIR / "packs"
SCHEMAS_DIR = POLICIES_DIR / "schemas"
# A pack is configuration written by people; anything this large is a mistake.
MAX_PACK_BYTES = 1024 * 1024


class PackError(ConfigError):
    """A policy pack cannot be used. ``problems`` lists (where, reason) pairs."""

    def __init__(self, reason: str, *, source: str, problems: Sequence[tuple[str, str]] = ()):
        self.problems = list(problems) or [("", reason)]
        super().__init__(reason, source=source)


@dataclass(frozen=True)
class PackFile:
    """One validated pack. ``document`` is the parsed YAML: treat it as read-only."""

    kind: str
    source: str
    document: Mapping[str, Any]
    content_hash: str

    @property
    def version(self) -> int:
        return int(self.document.get("version", 1))

    @property
    def name(self) -> str:
        return str(self.document.get("name", Path(self.source).stem))

    @property
    def short_hash(self) -> str:
        return self.content_hash[:12]


def schema_path(kind: str) -> Path:
    return SCHEMAS_DIR / f"{kind}-pack.schema.json"


def default_pack_path(kind: str) -> Path:
    return PACKS_DIR / f"{kind}-default.yaml"


@cache
def _validator(kind: str) -> jsonschema.Draft202012Validator:
    path = schema_path(kind)
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"no schema for policy packs of kind {kind!r}", source=str(path)
        ) from None
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_document(kind: str) -> Mapping[str, Any]:
    """The published JSON Schema of one kind of pack."""
    schema: Mapping[str, Any] = json.loads(schema_path(kind).read_text(encoding="utf-8"))
    return schema


def _json_default(value: Any) -> str:
    # YAML turns bare dates into date objects; keep them as ISO text in the hash.
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot hash a value of type {type(value).__name__}")


def canonical_hash(document: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON form of a parsed pack."""
    blob = json.dumps(
        document,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=_json_default,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _where(path: Sequence[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _duplicate_rule_ids(document: Any, path: tuple[Any, ...] = ()) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if isinstance(document, Mapping):
        for key, value in document.items():
            child = (*path, key)
            if key == "rules" and isinstance(value, list):
                seen: set[str] = set()
                for index, rule in enumerate(value):
                    rule_id = rule.get("id") if isinstance(rule, Mapping) else None
                    if isinstance(rule_id, str):
                        if rule_id in seen:
                            where = _where((*child, index, "id"))
                            problems.append((where, f"rule id {rule_id!r} is used twice"))
                        seen.add(rule_id)
            problems += _duplicate_rule_ids(value, child)
    elif isinstance(document, list):
        for index, item in enumerate(document):
            problems += _duplicate_rule_ids(item, (*path, index))
    return problems


def parse_pack(text: str | bytes, *, source: str, kind: str) -> PackFile:
    """Validate pack text of ``kind``; raise PackError listing every problem."""
    if len(text) > MAX_PACK_BYTES:
        raise PackError(f"is larger than {MAX_PACK_BYTES} bytes", source=source)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise PackError(f"is not valid YAML{where}", source=source) from None
    if not isinstance(document, dict):
        raise PackError("must be a YAML mapping with a `kind` key", source=source)
    found = document.get("kind")
    if found != kind:
        raise PackError(
            f"is a pack of kind {found!r}, but a {kind!r} pack is needed here", source=source
        )
    problems = [
        (_where(error.absolute_path), error.message)
        for error in sorted(
            _validator(kind).iter_errors(document), key=lambda e: [str(p) for p in e.path]
        )
    ]
    problems += _duplicate_rule_ids(document)
    if problems:
        raise_problems(problems, source=source)
    try:
        content_hash = canonical_hash(document)
    except TypeError as error:
        raise PackError(str(error), source=source) from None
    return PackFile(kind=kind, source=source, document=document, content_hash=content_hash)


def raise_problems(problems: Sequence[tuple[str, str]], *, source: str) -> None:
    """Raise one PackError for all (where, reason) problems found in a pack."""
    listed = "; ".join(f"at {where}: {reason}" for where, reason in problems)
    count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
    raise PackError(f"is refused ({count}): {listed}", source=source, problems=problems)


def check_unique_ids(ids: Sequence[str], *, source: str) -> None:
    """Refuse a pack in which two rules of any section share an id."""
    duplicates = sorted({rule_id for rule_id in ids if list(ids).count(rule_id) > 1})
    if duplicates:
        raise_problems(
            [("(rule ids)", f"rule id {rule_id!r} is used twice") for rule_id in duplicates],
            source=source,
        )


def load_pack_file(path: str | Path, *, kind: str) -> PackFile:
    """Read and validate one pack file of ``kind``."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PackError("does not exist", source=str(path)) from None
    except OSError as error:
        raise PackError(f"cannot be read: {error.strerror}", source=str(path)) from None
    return parse_pack(data, source=str(path), kind=kind)
