"""Quality benchmark: cluster each labelled file through ``CaseLinker`` and score it.

Rules:
- the method is exactly the library's ``CaseLinker`` with its default ``LinkPolicy``,
  fed the file in order in batches of ``BATCH`` (the authority's code path);
- baselines (TF-IDF cosine, MinHash-LSH) run in the same process on the same text with
  thresholds tuned on the dev files (``baselines.TUNED``);
- ablations change one choice at a time (or all at once, "naive") to show what each
  buys; they go through the same ``CaseLinker``;
- quick mode subsamples files above ``QUICK_MAX_ITEMS`` items (whole groups, seeded) and
  runs the ablations on the smallest file only; ablations always run on at most
  ``QUICK_MAX_ITEMS`` items of a file (same subsample).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from baselines import MINHASH_GRID, TFIDF_GRID, MinHashBaseline, TfidfBaseline, threshold_for
from data import LabelledFile, load_dir, subsample
from metrics import Scores, pooled, score

from dedup import CaseLinker, LinkPolicy, MiniLMEmbedder, TextEmbedder, body_text

BATCH = 64
QUICK_MAX_ITEMS = 1500

# One choice changed at a time; where the change shifts the scale of the score, the
# threshold was re-tuned for the variant on asrs-dev (so each variant is at its best).
ABLATIONS: dict[str, dict[str, Any]] = {
    "no_centring": {"centre": False, "link_threshold": 1.0},
    "no_lexical": {"lexical_weight": 0.0, "link_threshold": 0.5},
    "no_date_gate": {"use_date_gate": False},
    "no_mutual_no_cohesion": {"require_mutual": False, "cohesion_slack": 10.0},
    "naive_cosine": {
        "centre": False,
        "lexical_weight": 0.0,
        "use_date_gate": False,
        "require_mutual": False,
        "cohesion_slack": 10.0,
        "near_jaccard": 1.01,
        "link_threshold": 0.8,
    },
}


def cluster(
    data: LabelledFile, embedder: TextEmbedder, policy: LinkPolicy | None = None
) -> list[int]:
    linker = CaseLinker(embedder, policy=policy)
    for start in range(0, len(data.items), BATCH):
        linker.link_batch(data.items[start : start + BATCH])
    return [linker.case_of(item.item_id) for item in data.items]


def _best(grid: tuple[float, ...], run: Callable[[float], list[int]], truth: list[str]) -> float:
    results = [(score(run(t), truth).pairwise_f1, t) for t in grid]
    return max(results)[1]


def tune_baselines(directory: Path) -> dict[str, dict[str, float]]:
    """Best threshold per baseline per dev file (to be copied into baselines.TUNED)."""
    from baselines import kind_of

    tuned: dict[str, dict[str, float]] = {"tfidf": {}, "minhash": {}}
    for data in load_dir(directory):
        texts = [body_text(i) for i in data.items]
        tfidf, mh = TfidfBaseline(texts), MinHashBaseline(texts)
        tuned["tfidf"][kind_of(data.name)] = _best(TFIDF_GRID, tfidf.cluster, data.groups)
        tuned["minhash"][kind_of(data.name)] = _best(MINHASH_GRID, mh.cluster, data.groups)
    return tuned


def evaluate(
    directory: Path, embedder: TextEmbedder, *, quick: bool, truncating: TextEmbedder | None,
    log: Callable[[str], None],
) -> dict[str, Any]:
    files = load_dir(directory)
    if quick:
        files = [subsample(f, QUICK_MAX_ITEMS) for f in files]
    per_file: dict[str, dict[str, Any]] = {}
    ours: list[Scores] = []
    tfidf_all: list[Scores] = []
    minhash_all: list[Scores] = []
    ablation_files = files if not quick else sorted(files, key=lambda f: len(f.items))[:1]
    for data in files:
        started = time.perf_counter()
        labels = cluster(data, embedder)
        took = time.perf_counter() - started
        mine = score(labels, data.groups)
        texts = [body_text(i) for i in data.items]
        t_tfidf = threshold_for("tfidf", data.name)
        t_minhash = threshold_for("minhash", data.name)
        tfidf = score(TfidfBaseline(texts).cluster(t_tfidf), data.groups)
        minhash = score(MinHashBaseline(texts).cluster(t_minhash), data.groups)
        ours.append(mine)
        tfidf_all.append(tfidf)
        minhash_all.append(minhash)
        entry: dict[str, Any] = {
            "items": len(data.items),
            **mine.as_dict(),
            "tfidf_pairwise_f1": round(tfidf.pairwise_f1, 4),
            "tfidf_false_pairs": tfidf.false_pairs,
            "tfidf_threshold": t_tfidf,
            "minhash_pairwise_f1": round(minhash.pairwise_f1, 4),
            "minhash_false_pairs": minhash.false_pairs,
            "minhash_threshold": t_minhash,
            "link_seconds": round(took, 1),
        }
        log(f"{data.name}: ours {mine.pairwise_f1:.3f} (P {mine.pair_precision:.3f} "
            f"R {mine.pair_recall:.3f}, {mine.false_pairs} false pairs), "
            f"tfidf {tfidf.pairwise_f1:.3f}, minhash {minhash.pairwise_f1:.3f}, {took:.0f}s")
        if data in ablation_files:
            small = subsample(data, QUICK_MAX_ITEMS)
            entry["ablations"] = _ablations(small, embedder, truncating, log)
        per_file[data.name] = entry
    total = pooled(ours)
    return {
        **total.as_dict(),
        "tfidf_pairwise_f1": round(pooled(tfidf_all).pairwise_f1, 4),
        "minhash_pairwise_f1": round(pooled(minhash_all).pairwise_f1, 4),
        "files": per_file,
    }


def _ablations(
    data: LabelledFile, embedder: TextEmbedder, truncating: TextEmbedder | None,
    log: Callable[[str], None],
) -> dict[str, dict[str, float | int]]:
    out: dict[str, dict[str, float | int]] = {}
    base = LinkPolicy()
    for name, change in ABLATIONS.items():
        result = score(cluster(data, embedder, dataclasses.replace(base, **change)), data.groups)
        out[name] = _brief(result)
        log(f"  {data.name} ablation {name}: {result.pairwise_f1:.3f} "
            f"({result.false_pairs} false pairs)")
    if truncating is not None:
        result = score(cluster(data, truncating), data.groups)
        out["no_chunking"] = _brief(result)
        log(f"  {data.name} ablation no_chunking: {result.pairwise_f1:.3f}")
    return out


def _brief(s: Scores) -> dict[str, float | int]:
    return {
        "pairwise_f1": round(s.pairwise_f1, 4),
        "pair_precision": round(s.pair_precision, 4),
        "pair_recall": round(s.pair_recall, 4),
        "false_pairs": s.false_pairs,
    }


def make_embedders(cache_dir: Path) -> tuple[MiniLMEmbedder, MiniLMEmbedder]:
    from cache import DiskChunkCache

    cache = DiskChunkCache(cache_dir)
    return MiniLMEmbedder(cache=cache), MiniLMEmbedder(cache=cache, chunk_tokens=None)
