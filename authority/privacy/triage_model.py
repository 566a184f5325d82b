"""A small harm-domain classifier on report embeddings, trained with DP-SGD to be shared.

Rules this module enforces:

* The shareable model is trained only through opacus's ``PrivacyEngine``
  (``make_private``: per-example gradient clipping to ``max_grad_norm``, Gaussian noise,
  Poisson sampling) with the noise multiplier opacus's ``get_noise_multiplier`` finds for
  the target (epsilon, delta) over all epochs, and the file records the epsilon that
  opacus's RDP accountant reports for the run actually done. The unit of privacy is one training
  example (one report's embedding); a lab that contributed k reports is protected at
  group-privacy level k, which ADR 0005 spells out.
* The non-private baseline uses the same architecture and data; it exists to quote the
  price of privacy and is never written to a shareable file (``save`` refuses it).
* The file is a plain ``.npz`` of float arrays and a few scalars, loaded with
  ``allow_pickle=False``: a lab can load a model file from the authority without running
  anything it contains. Inference is numpy only; labs need no torch.
* opacus's ``secure_mode`` needs torchcsprng, which has no build for our torch; instead
  the noise generator is seeded from ``secrets`` unless a seed is given (see
  ``TrainingConfig.seed``). Torch's generator is not a CSPRNG: ADR 0005 records this.
"""

from __future__ import annotations

import json
import secrets
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import torch
from opacus import PrivacyEngine
from opacus.accountants.utils import get_noise_multiplier
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from nearmiss.errors import ConfigError
from nearmiss.model import HarmDomain

FloatArray = npt.NDArray[np.float32]
DOMAINS: tuple[HarmDomain, ...] = tuple(HarmDomain)
FORMAT = "nearmiss/triage-model/v1"
# Integer RDP orders: opacus computes subsampled-Gaussian RDP at integer orders in closed
# form (fractional orders cost ~1 s a call, PRV's domain sizing likewise). Looser than PRV
# by a few percent of epsilon at most, and a valid bound.
INTEGER_RDP_ORDERS: tuple[int, ...] = (*range(2, 65), 80, 96, 128, 160, 192, 256)


@dataclass(frozen=True)
class TrainingConfig:
    # Chosen on a validation split of the benchmark's training set (benchmarks/dp).
    epochs: int = 40
    batch_size: int = 256
    learning_rate: float = 5.0
    max_grad_norm: float = 1.0
    hidden: int = 0  # 0: multinomial logistic regression (fewest parameters for DP-SGD)
    # None seeds torch from the OS CSPRNG, so nobody can regenerate the DP-SGD noise; tests
    # and benchmarks pass a number to be reproducible.
    seed: int | None = None


@dataclass(frozen=True)
class TriageModel:
    """Layer weights (numpy) and how they were trained; ``epsilon`` None means non-private."""

    weights: tuple[FloatArray, ...]
    biases: tuple[FloatArray, ...]
    epsilon: float | None
    delta: float | None
    training_examples: int
    meta: dict[str, float | int | str] = field(default_factory=dict)

    def probabilities(self, embeddings: FloatArray) -> FloatArray:
        """Softmax over DOMAINS for each row of ``embeddings`` (n x dim)."""
        hidden = np.asarray(embeddings, dtype=np.float32)
        for index, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            hidden = hidden @ weight.T + bias
            if index < len(self.weights) - 1:
                hidden = np.maximum(hidden, 0.0)
        hidden = hidden - hidden.max(axis=1, keepdims=True)
        exp = np.exp(hidden)
        result: FloatArray = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
        return result

    def predict(self, embeddings: FloatArray) -> npt.NDArray[np.int64]:
        return np.asarray(self.probabilities(embeddings).argmax(axis=1), dtype=np.int64)

    def accuracy(self, embeddings: FloatArray, labels: npt.NDArray[np.int64]) -> float:
        return float((self.predict(embeddings) == labels).mean())

    def suggest_harm_domains(
        self, embedding: FloatArray, *, top_k: int = 3
    ) -> list[tuple[HarmDomain, float]]:
        """The most likely harm domains for one report embedding, most likely first."""
        probabilities = self.probabilities(np.asarray(embedding, dtype=np.float32)[None, :])[0]
        order = np.argsort(-probabilities)[:top_k]
        return [(DOMAINS[i], float(probabilities[i])) for i in order]

    def save(self, path: Path) -> None:
        """Write the shareable file; refuses a non-private model, which must not leave."""
        if self.epsilon is None or self.delta is None:
            raise ConfigError("a non-private triage model must not be saved for sharing")
        arrays = {f"weight_{i}": w for i, w in enumerate(self.weights)}
        arrays |= {f"bias_{i}": b for i, b in enumerate(self.biases)}
        header = {
            "format": FORMAT,
            "domains": [d.value for d in DOMAINS],
            "epsilon": self.epsilon,
            "delta": self.delta,
            "training_examples": self.training_examples,
            "meta": self.meta,
        }
        with path.open("wb") as handle:
            arrays["header"] = np.array(json.dumps(header, sort_keys=True))
            np.savez(handle, **cast(dict[str, Any], arrays))

    @classmethod
    def load(cls, path: Path) -> TriageModel:
        with np.load(path, allow_pickle=False) as archive:
            header = json.loads(str(archive["header"]))
            if header.get("format") != FORMAT or header.get("domains") != [
                d.value for d in DOMAINS
            ]:
                raise ConfigError("is not a triage model of this version", source=str(path))
            layers = sum(1 for name in archive.files if name.startswith("weight_"))
            weights = tuple(archive[f"weight_{i}"].astype(np.float32) for i in range(layers))
            biases = tuple(archive[f"bias_{i}"].astype(np.float32) for i in range(layers))
        return cls(
            weights, biases, header["epsilon"], header["delta"], header["training_examples"],
            header["meta"],
        )  # fmt: skip


def _seed(config: TrainingConfig) -> int:
    seed = secrets.randbits(63) if config.seed is None else config.seed
    torch.manual_seed(seed)
    return seed


def _network(dim: int, config: TrainingConfig) -> nn.Module:
    if config.hidden:
        return nn.Sequential(
            nn.Linear(dim, config.hidden), nn.ReLU(), nn.Linear(config.hidden, len(DOMAINS))
        )
    return nn.Sequential(nn.Linear(dim, len(DOMAINS)))


def _export(
    network: nn.Module,
    epsilon: float | None,
    delta: float | None,
    n: int,
    meta: dict[str, float | int | str],
) -> TriageModel:
    linears = [m for m in network.modules() if isinstance(m, nn.Linear)]
    weights = tuple(m.weight.detach().numpy().astype(np.float32).copy() for m in linears)
    biases = tuple(m.bias.detach().numpy().astype(np.float32).copy() for m in linears)
    return TriageModel(weights, biases, epsilon, delta, n, meta)


def _tensors(
    embeddings: FloatArray, labels: npt.NDArray[np.int64]
) -> tuple[torch.Tensor, torch.Tensor]:
    if embeddings.ndim != 2 or len(embeddings) != len(labels) or len(labels) == 0:
        raise ConfigError("need a non-empty n x dim embedding matrix and n labels")
    if labels.min() < 0 or labels.max() >= len(DOMAINS):
        raise ConfigError(f"labels must index the {len(DOMAINS)} harm domains")
    return torch.from_numpy(np.asarray(embeddings, np.float32)), torch.from_numpy(labels)


def train_private(
    embeddings: FloatArray,
    labels: npt.NDArray[np.int64],
    *,
    epsilon: float,
    delta: float,
    config: TrainingConfig | None = None,
) -> TriageModel:
    """DP-SGD through opacus, calibrated so the whole run spends at most (epsilon, delta)."""
    config = config or TrainingConfig()
    if not 0 < delta < 1.0 / len(labels):
        raise ConfigError(f"delta must be below 1/n = {1.0 / len(labels):.3g}", key="delta")
    _seed(config)
    features, targets = _tensors(embeddings, labels)
    network = _network(features.shape[1], config)
    optimizer = torch.optim.SGD(network.parameters(), lr=config.learning_rate)
    loader = DataLoader(TensorDataset(features, targets), batch_size=config.batch_size)
    with warnings.catch_warnings():
        # "Secure RNG turned off" (see the module docstring) and opacus's hook notice.
        warnings.filterwarnings("ignore", message="Secure RNG turned off")
        warnings.filterwarnings("ignore", message="Full backward hook")
        warnings.filterwarnings("ignore", message="Optimal order is the")
        return _train_private(network, optimizer, loader, epsilon, delta, config, len(labels))


def _train_private(
    network: nn.Module,
    optimizer: torch.optim.Optimizer,
    loader: DataLoader[tuple[torch.Tensor, ...]],
    epsilon: float,
    delta: float,
    config: TrainingConfig,
    n: int,
) -> TriageModel:
    sample_rate = 1.0 / len(loader)
    noise_multiplier = get_noise_multiplier(
        target_epsilon=epsilon,
        target_delta=delta,
        sample_rate=sample_rate,
        epochs=config.epochs,
        accountant="rdp",
        alphas=list(INTEGER_RDP_ORDERS),
    )
    engine = PrivacyEngine(accountant="rdp")
    private_net, dp_optimizer, private_loader = engine.make_private(
        module=network,
        optimizer=optimizer,
        data_loader=loader,
        noise_multiplier=noise_multiplier,
        max_grad_norm=config.max_grad_norm,
    )
    loss = nn.CrossEntropyLoss()
    for _ in range(config.epochs):
        for batch, target in private_loader:
            if len(batch) == 0:  # Poisson sampling can draw an empty batch
                continue
            dp_optimizer.zero_grad()
            loss(private_net(batch), target).backward()
            dp_optimizer.step()
    spent = float(engine.accountant.get_epsilon(delta=delta, alphas=list(INTEGER_RDP_ORDERS)))
    meta: dict[str, float | int | str] = {
        "noise_multiplier": float(dp_optimizer.noise_multiplier),
        "max_grad_norm": config.max_grad_norm,
        "epochs": config.epochs,
        "accountant": "rdp",
    }
    return _export(network, spent, delta, n, meta)


def train_baseline(
    embeddings: FloatArray, labels: npt.NDArray[np.int64], *, config: TrainingConfig | None = None
) -> TriageModel:
    """The same network without privacy: the yardstick for what DP-SGD costs."""
    config = config or TrainingConfig()
    seed = _seed(config)
    features, targets = _tensors(embeddings, labels)
    network = _network(features.shape[1], config)
    optimizer = torch.optim.SGD(network.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(
        TensorDataset(features, targets),
        batch_size=config.batch_size,
        shuffle=True,
        generator=generator,
    )
    loss = nn.CrossEntropyLoss()
    for _ in range(config.epochs):
        for batch, target in loader:
            optimizer.zero_grad()
            loss(network(batch), target).backward()
            optimizer.step()
    return _export(network, None, None, len(labels), {"epochs": config.epochs})
