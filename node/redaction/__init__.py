"""Redaction on the lab node: nothing confidential leaves unredacted.

Public API (everything else in this package is private)::

    redact(text, *, pack=None) -> str            # default pack, or default + a lab pack
    Redactor(policy, *, workers=1) / Redactor.from_packs([lab.yaml], workers=1)
        .redact_text(text, mapping) -> RedactionResult(text, counts)
        .redact_many(texts, mappings) -> list[RedactionResult]   # workers>=2: big batches
        .find_many(texts, known_names) -> list[list[Finding]]    #   run in worker processes
        .close() / with Redactor(...) as r:       # stops the workers, if any
        .is_sendable(scope) -> bool               # False for LAB_ONLY
        .content_hash                             # which packs redacted a report
    ReportRedaction(redactor)                     # one report: .text() .sections() .tree()
    new_mapping() -> PlaceholderMap               # value -> <ENTITY_n>, one per report
    preview_table(rows), PreviewRow, inline_diff  # for `submit --dry-run`

Rules: the redaction policy comes from YAML packs in ``policies/packs`` (validated by
``policies.redaction_pack``); models load once per Redactor and never from a network;
the placeholder map never leaves the node.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from node.redaction.placeholders import PlaceholderMap, new_mapping
from node.redaction.preview import PreviewRow, inline_diff, preview_table
from node.redaction.redactor import RedactionResult, Redactor
from node.redaction.report import ReportRedaction

__all__ = [
    "PlaceholderMap",
    "PreviewRow",
    "RedactionResult",
    "Redactor",
    "ReportRedaction",
    "inline_diff",
    "new_mapping",
    "preview_table",
    "redact",
]


@lru_cache(maxsize=4)
def _redactor_for(pack: str | None) -> Redactor:
    # A memo, not state: loading spaCy takes seconds, and the same pack path always
    # builds the same Redactor. Edit a pack file -> restart, or build a Redactor yourself.
    return Redactor.from_packs([pack] if pack is not None else [])


def redact(text: str, *, pack: str | Path | None = None) -> str:
    """Redact one text with the default pack, or the default merged with ``pack``.

    Each call is its own report: placeholders restart at 1. For several fields of one
    report, use :class:`ReportRedaction`.
    """
    key = str(Path(pack).resolve()) if pack is not None else None
    return _redactor_for(key).redact_text(text).text
