"""Speed benchmark: FAISS against numpy brute force, and reports/s end to end.

Rules:
- vectors are synthetic, 384-d, unit length, drawn around 1,000 random centres (real
  embeddings are clustered; on uniform random vectors approximate indexes look
  falsely bad), seeded;
- for each size: add throughput (vectors/s into ``VectorIndex``, including the IVF
  training once past ``exact_max``), single-query latency p50/p99 for k = 10 for FAISS
  and for numpy brute force (``argpartition`` over a matrix product) on the same
  queries, their ratio, and recall@10 of the index against brute force;
- end to end: real texts through ``CaseLinker`` (embed -> search -> link) on this
  machine's device; reports/s over the whole batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from dedup import CaseLinker, DedupItem, IndexConfig, TextEmbedder, VectorIndex
from dedup.embedder import normalise_rows

DIM = 384
QUERIES = 200
K = 10
SPREAD = 0.7  # within-cluster cosine about 0.67, like a paraphrase pair of MiniLM


def synthetic(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = normalise_rows(rng.standard_normal((1000, DIM)))
    picks = rng.integers(0, len(centres), n)
    noise = rng.standard_normal((n, DIM)).astype(np.float32) * (SPREAD / np.sqrt(DIM))
    return normalise_rows(centres[picks] + noise)


def _latencies(search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray) -> list[float]:
    out = []
    for q in queries:
        started = time.perf_counter()
        search(q[None, :])
        out.append((time.perf_counter() - started) * 1000)
    return out


def bench_size(n: int, config: IndexConfig, log: Callable[[str], None]) -> dict[str, Any]:
    both = synthetic(n + QUERIES)
    data, queries = both[:n], both[n:]
    index = VectorIndex(DIM, config=config)
    started = time.perf_counter()
    for start in range(0, n, 10_000):
        index.add(range(start, min(n, start + 10_000)), data[start : start + 10_000])
    add_s = time.perf_counter() - started

    def brute(q: np.ndarray) -> np.ndarray:
        scores = data @ q[0]
        top = np.argpartition(-scores, K)[:K]
        return top[np.argsort(-scores[top])]

    faiss_ms = _latencies(lambda q: index.search(q, K)[1], queries)
    numpy_ms = _latencies(brute, queries)
    truth = [set(brute(q[None, :]).tolist()) for q in queries]
    found = index.search(queries, K)[1]
    recall = float(np.mean([len(truth[i] & set(found[i].tolist())) / K for i in range(QUERIES)]))
    p50f, p99f = np.percentile(faiss_ms, [50, 99])
    p50n, p99n = np.percentile(numpy_ms, [50, 99])
    row = {
        "n": n,
        "index": index.kind,
        "gpu": index.on_gpu,
        "add_per_s": round(n / add_s),
        "faiss_p50_ms": round(float(p50f), 3),
        "faiss_p99_ms": round(float(p99f), 3),
        "numpy_p50_ms": round(float(p50n), 3),
        "numpy_p99_ms": round(float(p99n), 3),
        "speedup_p50": round(float(p50n / p50f), 1),
        "recall_at_10": round(recall, 4),
    }
    log(f"speed {n}: {row}")
    return row


def bench_end_to_end(
    embedder: TextEmbedder, items: list[DedupItem], log: Callable[[str], None]
) -> dict[str, Any]:
    """Reports/s through embed -> search -> link; the embedder's cache is bypassed."""
    linker = CaseLinker(embedder)
    started = time.perf_counter()
    for start in range(0, len(items), 64):
        linker.link_batch(items[start : start + 64])
    took = time.perf_counter() - started
    row = {
        "reports": len(items),
        "seconds": round(took, 1),
        "reports_per_s": round(len(items) / took, 1),
    }
    log(f"end to end: {row}")
    return row


def run(sizes: list[int], log: Callable[[str], None]) -> list[dict[str, Any]]:
    config = IndexConfig(threads=1)  # one query at a time: one thread is fastest
    return [bench_size(n, config, log) for n in sizes]
