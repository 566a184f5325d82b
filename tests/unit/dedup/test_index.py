"""VectorIndex: exact results equal numpy's, the IVF switch, removal and snapshots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dedup import IndexConfig, VectorIndex, gpu_available
from dedup.embedder import normalise_rows
from nearmiss.errors import ConflictError, PreconditionError


def clustered(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, dim))
    return normalise_rows(centres[rng.integers(0, 20, n)] + 0.3 * rng.standard_normal((n, dim)))


def brute_force(data: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    scores = queries @ data.T
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return ids[order]


def test_exact_path_matches_numpy_brute_force() -> None:
    data = clustered(500)
    ids = np.arange(1000, 1500, dtype=np.int64)
    index = VectorIndex(32, config=IndexConfig(exact_max=1000))
    index.add(ids, data)
    queries = clustered(20, seed=1)
    scores, found = index.search(queries, 5)
    assert index.kind == "exact"
    np.testing.assert_array_equal(found, brute_force(data, ids, queries, 5))
    np.testing.assert_allclose(scores, np.sort(queries @ data.T, axis=1)[:, ::-1][:, :5], atol=1e-5)


def test_switches_to_ivf_past_threshold_and_still_finds_neighbours() -> None:
    data = clustered(3000)
    index = VectorIndex(32, config=IndexConfig(exact_max=1000, min_nlist=16, nprobe=8))
    index.add(range(1000), data[:1000])
    assert index.kind == "exact"
    index.add(range(1000, 3000), data[1000:])
    assert index.kind == "ivf"
    _, found = index.search(data[:50], 1)
    assert (found[:, 0] == np.arange(50)).mean() > 0.95


def test_remove_then_search_never_returns_removed_ids() -> None:
    data = clustered(200)
    index = VectorIndex(32)
    index.add(range(200), data)
    assert index.remove([0, 5, 7, 999]) == 3
    assert len(index) == 197 and 5 not in index
    _, found = index.search(data[[0, 5, 7]], 10)
    assert not {0, 5, 7} & set(found.ravel().tolist())
    np.testing.assert_allclose(index.vectors([8]), data[[8]], atol=1e-6)


def test_adding_an_id_twice_is_a_conflict() -> None:
    index = VectorIndex(32)
    index.add([1], clustered(1))
    with pytest.raises(ConflictError):
        index.add([1], clustered(1, seed=2))


def test_short_index_pads_with_minus_one() -> None:
    index = VectorIndex(32)
    index.add([4, 9], clustered(2))
    scores, found = index.search(clustered(1, seed=3), 5)
    assert found[0, 2:].tolist() == [-1, -1, -1]
    assert np.isinf(scores[0, 2:]).all()


@pytest.mark.parametrize("exact_max", [10_000, 100])
def test_snapshot_round_trip_gives_identical_results(tmp_path: Path, exact_max: int) -> None:
    data = clustered(400)
    config = IndexConfig(exact_max=exact_max, min_nlist=8)
    index = VectorIndex(32, model_id="m1", config=config)
    index.add(range(400), data)
    index.remove(range(0, 400, 3))
    index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path, model_id="m1", config=config)
    queries = clustered(30, seed=4)
    assert loaded.kind == index.kind and len(loaded) == len(index)
    np.testing.assert_array_equal(loaded.search(queries, 7)[1], index.search(queries, 7)[1])
    loaded.add([5000], clustered(1, seed=5))
    assert 5000 in loaded


def test_snapshot_of_another_model_is_refused(tmp_path: Path) -> None:
    index = VectorIndex(32, model_id="m1")
    index.add([1], clustered(1))
    index.save(tmp_path)
    with pytest.raises(PreconditionError, match="rebuild"):
        VectorIndex.load(tmp_path, model_id="m2")


def test_rebuild_from_vectors_equals_incremental() -> None:
    data = clustered(300)
    incremental = VectorIndex(32)
    for start in range(0, 300, 50):
        incremental.add(range(start, start + 50), data[start : start + 50])
    rebuilt = VectorIndex.from_vectors(range(300), data)
    queries = clustered(10, seed=6)
    np.testing.assert_array_equal(incremental.search(queries, 5)[1], rebuilt.search(queries, 5)[1])


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs a CUDA GPU and faiss-gpu (none here)")
def test_gpu_and_cpu_give_the_same_exact_results() -> None:
    data = clustered(2000)
    queries = clustered(50, seed=7)
    cpu = VectorIndex(32, config=IndexConfig(use_gpu=False))
    gpu = VectorIndex(32, config=IndexConfig(use_gpu=True))
    for index in (cpu, gpu):
        index.add(range(2000), data)
        index.remove([3, 4])
    assert gpu.on_gpu
    np.testing.assert_array_equal(cpu.search(queries, 10)[1], gpu.search(queries, 10)[1])
