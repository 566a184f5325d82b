"""The vector index: FAISS inner-product k-NN over unit vectors, exact or approximate.

Rules this module enforces:

- ids are caller-chosen int64 (>= 0); vectors must be ``dim`` wide, and are renormalised
  on the way in, so a score is a cosine;
- the index keeps its own copy of every vector (``_store``). That copy is the truth:
  the FAISS structures are derived from it and can always be rebuilt from it, which is
  what makes switching, retraining, GPU mirroring and snapshots simple;
- up to ``exact_max`` vectors the search is exact (``IndexIDMap2(IndexFlatIP)``); past
  it the index switches, once, to ``IndexIVFFlat`` (inner product) trained on the stored
  vectors with ``nlist = clamp(sqrt(n), 64, 16384)`` lists (rounded to a power of two),
  probed with ``nprobe`` lists per query. IVF rather than HNSW because IVF supports
  removal, incremental add and has a GPU implementation; HNSW has none of the three.
  When the collection has grown ``retrain_growth`` times past the size it was trained
  at, the IVF structure is retrained so lists stay balanced;
- when a GPU and faiss-gpu are present (``faiss.get_num_gpus() > 0``) searches run on
  a GPU mirror made with ``StandardGpuResources`` + ``index_cpu_to_gpu``; adds go to
  both; a removal goes to the CPU structure and marks the mirror stale, to be re-cloned
  before the next search (GPU indexes cannot remove). The API and, on the exact path,
  the results are the same with or without a GPU;
- there is no range search (GPU indexes have none): callers ask for k neighbours and
  filter by score themselves;
- a snapshot is three files (vectors+ids ``.npz``, FAISS structure, JSON metadata with
  the model id); loading refuses a snapshot whose model id, dimension or counts do not
  match, so a caller rebuilds from the database instead of searching stale vectors.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np
from numpy.typing import NDArray

from dedup.embedder import Vectors, normalise_rows
from nearmiss.errors import ConfigError, ConflictError, PreconditionError

IndexKind = Literal["exact", "ivf"]
Ids = NDArray[np.int64]

SNAPSHOT_FORMAT = 1


@dataclass(frozen=True, slots=True)
class IndexConfig:
    """Tuning of :class:`VectorIndex` (defaults measured in benchmarks/dedup/RESULTS.md)."""

    exact_max: int = 50_000
    nprobe: int = 32
    min_nlist: int = 64
    max_nlist: int = 16_384
    train_points_per_list: int = 40
    retrain_growth: float = 4.0
    use_gpu: bool | None = None  # None: when faiss sees a GPU
    gpu_device: int = 0
    # The linker searches one report at a time, and one query is fastest on one OpenMP
    # thread (docs/FIELD-NOTES: with 2+ threads, spin-waiting cost 70 ms per query on a
    # busy 2-core machine). None leaves faiss's own setting alone.
    threads: int | None = 1


def gpu_available() -> bool:
    """True when this faiss build has GPU support and sees at least one GPU."""
    get = getattr(faiss, "get_num_gpus", None)
    return bool(get and get() > 0 and hasattr(faiss, "StandardGpuResources"))


def nlist_for(n: int, config: IndexConfig) -> int:
    """Power of two near sqrt(n), clamped; the number of IVF lists trained for n vectors."""
    target = max(config.min_nlist, min(config.max_nlist, int(math.sqrt(max(n, 1)))))
    return int(2 ** round(math.log2(target)))


class VectorIndex:
    """k-NN over unit vectors with caller ids; exact then IVF; CPU or GPU; snapshots."""

    def __init__(self, dim: int, *, model_id: str = "", config: IndexConfig | None = None):
        if dim <= 0:
            raise ConfigError(f"vector dimension must be positive, got {dim}")
        self.dim = dim
        self.model_id = model_id
        self.config = config or IndexConfig()
        if self.config.threads:
            faiss.omp_set_num_threads(self.config.threads)
        self._vectors: Vectors = np.zeros((0, dim), dtype=np.float32)
        self._ids: Ids = np.zeros(0, dtype=np.int64)
        self._count = 0
        self._row_of: dict[int, int] = {}
        self._kind: IndexKind = "exact"
        self._trained_at = 0
        self._cpu: Any = self._new_exact()
        want_gpu = self.config.use_gpu
        self._use_gpu = gpu_available() if want_gpu is None else want_gpu
        if self._use_gpu and not gpu_available():
            raise ConfigError("use_gpu=True but faiss sees no GPU (is faiss-gpu installed?)")
        self._gpu_res: Any = faiss.StandardGpuResources() if self._use_gpu else None
        self._gpu: Any = None
        self._gpu_stale = True

    # -- introspection ---------------------------------------------------------------

    def __len__(self) -> int:
        return self._count

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._row_of

    @property
    def kind(self) -> IndexKind:
        return self._kind

    @property
    def on_gpu(self) -> bool:
        return self._use_gpu

    @property
    def ids(self) -> Ids:
        return self._ids[: self._count].copy()

    def vectors(self, ids: Iterable[int]) -> Vectors:
        """Stored (normalised) vectors of ``ids``; raises KeyError for an unknown id."""
        rows = [self._row_of[int(i)] for i in ids]
        return self._vectors[rows].copy()

    # -- mutation ----------------------------------------------------------------------

    def add(self, ids: Iterable[int], vectors: NDArray[Any]) -> None:
        """Add new vectors. An id already present is a conflict (remove it first)."""
        new_ids = np.asarray(list(ids), dtype=np.int64)
        vecs = normalise_rows(np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim))
        if len(new_ids) != len(vecs):
            raise ConfigError(f"{len(new_ids)} ids for {len(vecs)} vectors")
        if len(new_ids) == 0:
            return
        if (new_ids < 0).any():
            raise ConfigError("vector ids must be non-negative")
        if len(set(new_ids.tolist())) != len(new_ids) or any(
            int(i) in self._row_of for i in new_ids
        ):
            raise ConflictError("a vector id is added twice; remove the old vector first")
        self._append_store(new_ids, vecs)
        if self._needs_build():
            self._build_ivf()
        else:
            self._cpu.add_with_ids(vecs, new_ids)
            if self._gpu is not None and not self._gpu_stale:
                self._gpu.add_with_ids(vecs, new_ids)

    def remove(self, ids: Iterable[int]) -> int:
        """Remove vectors by id (unknown ids are ignored); returns how many were removed."""
        gone = [int(i) for i in ids if int(i) in self._row_of]
        if not gone:
            return 0
        for item_id in gone:
            row = self._row_of.pop(item_id)
            last = self._count - 1
            if row != last:
                moved = int(self._ids[last])
                self._vectors[row] = self._vectors[last]
                self._ids[row] = moved
                self._row_of[moved] = row
            self._count = last
        removed = self._cpu.remove_ids(faiss.IDSelectorBatch(np.asarray(gone, dtype=np.int64)))
        if int(removed) != len(gone):
            raise PreconditionError(
                f"index structure out of step with its store: removed {removed} of {len(gone)}"
            )
        self._gpu_stale = True
        return len(gone)

    # -- search ------------------------------------------------------------------------

    def search(self, queries: NDArray[Any], k: int) -> tuple[NDArray[np.float32], Ids]:
        """The ``k`` best (cosine, id) per query row, best first; id -1 pads short rows."""
        q = normalise_rows(np.asarray(queries, dtype=np.float32).reshape(-1, self.dim))
        if k <= 0 or len(q) == 0:
            empty = np.zeros((len(q), max(k, 0)))
            return empty.astype(np.float32), empty.astype(np.int64) - 1
        if self._count == 0:
            return (
                np.full((len(q), k), -np.inf, dtype=np.float32),
                np.full((len(q), k), -1, dtype=np.int64),
            )
        index = self._search_structure()
        scores, labels = index.search(q, min(k, self._count))
        if labels.shape[1] < k:
            pad = k - labels.shape[1]
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
            labels = np.pad(labels, ((0, 0), (0, pad)), constant_values=-1)
        return np.asarray(scores, dtype=np.float32), np.asarray(labels, dtype=np.int64)

    # -- snapshots ---------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Write a snapshot; files are replaced atomically one by one, metadata last."""
        directory.mkdir(parents=True, exist_ok=True)
        _atomic(directory / "vectors.npz", lambda p: np.savez(
            p, ids=self._ids[: self._count], vectors=self._vectors[: self._count]
        ))
        _atomic(directory / "faiss.index", lambda p: faiss.write_index(self._cpu, str(p)))
        meta = {
            "format": SNAPSHOT_FORMAT,
            "dim": self.dim,
            "model_id": self.model_id,
            "count": self._count,
            "kind": self._kind,
            "trained_at": self._trained_at,
        }
        _atomic(directory / "meta.json", lambda p: p.write_text(json.dumps(meta, indent=2)))

    @classmethod
    def load(
        cls, directory: Path, *, model_id: str, config: IndexConfig | None = None
    ) -> VectorIndex:
        """Read a snapshot written by :meth:`save`, refusing one that does not match."""
        try:
            meta = json.loads((directory / "meta.json").read_text())
            with np.load(directory / "vectors.npz") as data:
                ids = np.asarray(data["ids"], dtype=np.int64)
                vecs = np.asarray(data["vectors"], dtype=np.float32)
            structure: Any = faiss.read_index(str(directory / "faiss.index"))
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise PreconditionError(
                f"index snapshot in {directory} is unreadable; rebuild from the database"
            ) from exc
        if meta.get("format") != SNAPSHOT_FORMAT or meta.get("model_id") != model_id:
            raise PreconditionError(
                f"index snapshot in {directory} was made by model {meta.get('model_id')!r}, "
                f"not {model_id!r}; rebuild from the database"
            )
        count = int(meta["count"])
        if len(ids) != count or int(structure.ntotal) != count or vecs.shape[1:] != (meta["dim"],):
            raise PreconditionError(
                f"index snapshot in {directory} is inconsistent ({len(ids)} ids, "
                f"{structure.ntotal} indexed, {count} expected); rebuild from the database"
            )
        index = cls(int(meta["dim"]), model_id=model_id, config=config)
        index._append_store(ids, vecs)
        index._kind = meta["kind"]
        index._trained_at = int(meta["trained_at"])
        index._cpu = structure
        if index._kind == "ivf":
            structure.nprobe = index.config.nprobe
        return index

    @classmethod
    def from_vectors(
        cls,
        ids: Iterable[int],
        vectors: NDArray[Any],
        *,
        model_id: str = "",
        config: IndexConfig | None = None,
    ) -> VectorIndex:
        """Rebuild from stored vectors (what the authority keeps in its database)."""
        vecs = np.asarray(vectors, dtype=np.float32)
        index = cls(vecs.shape[1], model_id=model_id, config=config)
        index.add(ids, vecs)
        return index

    # -- internals ---------------------------------------------------------------------

    def _new_exact(self) -> Any:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def _append_store(self, ids: Ids, vecs: Vectors) -> None:
        need = self._count + len(ids)
        if need > len(self._vectors):
            capacity = max(need, 2 * len(self._vectors), 1024)
            grown = np.zeros((capacity, self.dim), dtype=np.float32)
            grown[: self._count] = self._vectors[: self._count]
            grown_ids = np.zeros(capacity, dtype=np.int64)
            grown_ids[: self._count] = self._ids[: self._count]
            self._vectors, self._ids = grown, grown_ids
        self._vectors[self._count : need] = vecs
        self._ids[self._count : need] = ids
        for offset, item_id in enumerate(ids.tolist()):
            self._row_of[int(item_id)] = self._count + offset
        self._count = need

    def _needs_build(self) -> bool:
        """Past ``exact_max`` (switch to IVF) or grown ``retrain_growth``-fold (retrain)."""
        if self._kind == "exact":
            return self._count > self.config.exact_max
        return self._count > self.config.retrain_growth * self._trained_at

    def _build_ivf(self) -> None:
        """(Re)train an IVF structure on the stored vectors and index them all."""
        n = self._count
        nlist = nlist_for(n, self.config)
        quantizer: Any = faiss.IndexFlatIP(self.dim)
        ivf = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        sample_size = min(n, nlist * self.config.train_points_per_list)
        rng = np.random.default_rng(n)  # seeded by size: a rebuild trains the same way
        rows = np.sort(rng.choice(n, size=sample_size, replace=False))
        ivf.cp.max_points_per_centroid = self.config.train_points_per_list
        ivf.train(self._vectors[rows])
        ivf.add_with_ids(self._vectors[:n], self._ids[:n])
        ivf.nprobe = self.config.nprobe
        quantizer.this.disown()
        ivf.own_fields = True
        self._cpu = ivf
        self._kind = "ivf"
        self._trained_at = n
        self._gpu_stale = True

    def _search_structure(self) -> Any:
        if not self._use_gpu:
            return self._cpu
        if self._gpu is None or self._gpu_stale:
            self._gpu = faiss.index_cpu_to_gpu(self._gpu_res, self.config.gpu_device, self._cpu)
            if self._kind == "ivf":
                self._gpu.nprobe = self.config.nprobe
            self._gpu_stale = False
        return self._gpu


def _atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    write(tmp)
    os.replace(tmp, path)
