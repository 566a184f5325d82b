"""DP-SGD smoke test on tiny synthetic data: it learns, spends what it says, and shares safely."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from authority.privacy.triage_model import (
    DOMAINS,
    TrainingConfig,
    TriageModel,
    train_baseline,
    train_private,
)
from nearmiss.errors import ConfigError


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    # Four well-separated classes in 16 dimensions: learnable even with DP noise.
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 16)).astype(np.float32) * 3
    labels = rng.integers(0, 4, size=800).astype(np.int64)
    embeddings = centres[labels] + rng.normal(size=(800, 16)).astype(np.float32) * 0.5
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return (embeddings / norms).astype(np.float32), labels


CONFIG = TrainingConfig(epochs=5, batch_size=64, learning_rate=1.0, seed=0)


def test_private_training_learns_and_stays_within_its_budget(
    data: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    embeddings, labels = data
    model = train_private(embeddings, labels, epsilon=8.0, delta=1e-4, config=CONFIG)
    assert model.epsilon is not None and model.epsilon <= 8.0 * 1.01
    assert model.accuracy(embeddings, labels) > 0.6  # chance is 0.25
    path = tmp_path / "triage.npz"
    model.save(path)
    loaded = TriageModel.load(path)
    np.testing.assert_array_equal(loaded.probabilities(embeddings), model.probabilities(embeddings))
    suggestions = loaded.suggest_harm_domains(embeddings[0], top_k=2)
    assert len(suggestions) == 2 and suggestions[0][0] == DOMAINS[labels[0]]
    assert suggestions[0][1] >= suggestions[1][1]


def test_baseline_learns_but_cannot_be_saved_for_sharing(
    data: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    embeddings, labels = data
    baseline = train_baseline(embeddings, labels, config=CONFIG)
    assert baseline.accuracy(embeddings, labels) > 0.9
    with pytest.raises(ConfigError, match="non-private"):
        baseline.save(tmp_path / "baseline.npz")


def test_delta_must_be_below_one_over_n(data: tuple[np.ndarray, np.ndarray]) -> None:
    embeddings, labels = data
    with pytest.raises(ConfigError, match="delta"):
        train_private(embeddings, labels, epsilon=1.0, delta=0.01, config=CONFIG)
