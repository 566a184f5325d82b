"""Deduplication of reports into incident cases (see docs/adr/0004-dedup.md).

The public surface: build :class:`DedupItem`s from redacted reports, hand batches to a
:class:`CaseLinker` (which embeds with a :class:`TextEmbedder`, searches a
:class:`VectorIndex` and assigns cases), store what its :class:`LinkDecision`s say.
"""

from dedup.cases import CaseStore, HumanDecision
from dedup.decisions import LinkDecision, LinkEvidence, LinkMethod
from dedup.embedder import ChunkCache, MiniLMEmbedder, TextEmbedder
from dedup.index import IndexConfig, VectorIndex, gpu_available
from dedup.item import DatePrecision, DedupItem, body_text, embedding_text
from dedup.linker import CaseLinker
from dedup.persist import restore_linker, save_linker
from dedup.policy import LinkPolicy

__all__ = [
    "CaseLinker",
    "CaseStore",
    "ChunkCache",
    "DatePrecision",
    "DedupItem",
    "HumanDecision",
    "IndexConfig",
    "LinkDecision",
    "LinkEvidence",
    "LinkMethod",
    "LinkPolicy",
    "MiniLMEmbedder",
    "TextEmbedder",
    "VectorIndex",
    "body_text",
    "embedding_text",
    "gpu_available",
    "restore_linker",
    "save_linker",
]
