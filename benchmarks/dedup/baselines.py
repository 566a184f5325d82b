"""The two baselines the method must beat: TF-IDF cosine and MinHash-LSH, single-link.

Rules: each baseline links every pair whose similarity reaches its threshold and takes
connected components as clusters (what a simple deduplicator does). Each baseline has
one threshold per kind of data, tuned on the dev files by ``run --tune-baselines`` (grid
below, best pairwise F1) and recorded in ``TUNED``; a file is matched to its kind by the
part of its name before the first "-" (``asrs-dev`` tunes the threshold used for any
``asrs-*`` file). A kind never tuned uses the median of the tuned thresholds.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import numpy as np
from datasketch import MinHashLSH
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer

from dedup.fingerprint import NUM_PERM, minhash

TFIDF_GRID = (*(round(x, 2) for x in np.arange(0.2, 0.96, 0.05)), 0.97, 0.99)
MINHASH_GRID = (*(round(x, 2) for x in np.arange(0.1, 0.96, 0.05)), 0.97)  # LSH: b >= 2

# Filled in from ``run --tune-baselines`` on ../shared/data/dedup (see RESULTS.md).
TUNED: dict[str, dict[str, float]] = {
    "tfidf": {"asrs": 0.4, "mfsa": 0.95, "osv": 0.99},
    "minhash": {"asrs": 0.97, "mfsa": 0.95, "osv": 0.97},
}


def kind_of(file_name: str) -> str:
    return file_name.split("-", 1)[0].split(".", 1)[0]


def threshold_for(baseline: str, file_name: str) -> float:
    table = TUNED[baseline]
    if kind_of(file_name) in table:
        return table[kind_of(file_name)]
    if table:
        return float(statistics.median(table.values()))
    return 0.5


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def labels(self) -> list[int]:
        return [self.find(i) for i in range(len(self.parent))]


class TfidfBaseline:
    """Pairwise TF-IDF cosines (computed once), clustered at any threshold."""

    def __init__(self, texts: Sequence[str]) -> None:
        matrix = TfidfVectorizer(sublinear_tf=True).fit_transform(texts).tocsr()
        self.n = len(texts)
        lowest = min(TFIDF_GRID)
        sims, heads, tails = [], [], []
        for start in range(0, self.n, 1000):
            block = (matrix[start : start + 1000] @ matrix.T).toarray()
            rows, cols = np.nonzero(block >= lowest)
            upper = start + rows < cols
            sims.append(block[rows[upper], cols[upper]])
            heads.append(start + rows[upper])
            tails.append(cols[upper])
        self._sims = np.concatenate(sims) if sims else np.zeros(0)
        self._heads = np.concatenate(heads) if heads else np.zeros(0, dtype=np.int64)
        self._tails = np.concatenate(tails) if tails else np.zeros(0, dtype=np.int64)

    def cluster(self, threshold: float) -> list[int]:
        keep = self._sims >= threshold
        graph = coo_matrix(
            (np.ones(int(keep.sum())), (self._heads[keep], self._tails[keep])),
            shape=(self.n, self.n),
        )
        _, labels = connected_components(graph, directed=False)
        return [int(x) for x in labels]


class MinHashBaseline:
    """MinHash signatures (computed once); LSH at the threshold, verified by Jaccard."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.n = len(texts)
        self._signatures = [minhash(t) for t in texts]

    def cluster(self, threshold: float) -> list[int]:
        lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        uf = _UnionFind(self.n)
        for i, sig in enumerate(self._signatures):
            if sig is None:
                continue
            for j in lsh.query(sig):
                other = self._signatures[int(j)]
                if other is not None and sig.jaccard(other) >= threshold:
                    uf.union(i, int(j))
            lsh.insert(str(i), sig)
        return uf.labels()
