"""Clustering quality against labels: pairwise precision/recall/F1 and B-cubed.

Rules: pairs are unordered pairs of items within one file; a predicted pair is two
items in one predicted cluster, a true pair two items with the same label. Pairwise F1
is the headline (most items are singletons, so B-cubed F1 of "never merge" is already
near 1 and says little). Precision of an empty prediction is taken as 1.0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Scores:
    pairwise_f1: float
    pair_precision: float
    pair_recall: float
    true_pairs: int
    predicted_pairs: int
    false_pairs: int
    bcubed_f1: float
    bcubed_precision: float
    bcubed_recall: float

    def as_dict(self) -> dict[str, float | int]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def score(predicted: Sequence[Hashable], truth: Sequence[Hashable]) -> Scores:
    if len(predicted) != len(truth):
        raise ValueError(f"{len(predicted)} predictions for {len(truth)} labels")
    pred_sizes = Counter(predicted)
    true_sizes = Counter(truth)
    joint = Counter(zip(predicted, truth, strict=True))
    tp = sum(_pairs(n) for n in joint.values())
    predicted_pairs = sum(_pairs(n) for n in pred_sizes.values())
    true_pairs = sum(_pairs(n) for n in true_sizes.values())
    precision = tp / predicted_pairs if predicted_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    n = len(truth) or 1
    b_p = sum(joint[(p, t)] / pred_sizes[p] for p, t in zip(predicted, truth, strict=True)) / n
    b_r = sum(joint[(p, t)] / true_sizes[t] for p, t in zip(predicted, truth, strict=True)) / n
    b_f = 2 * b_p * b_r / (b_p + b_r) if b_p + b_r else 0.0
    return Scores(f1, precision, recall, true_pairs, predicted_pairs, predicted_pairs - tp,
                  b_f, b_p, b_r)


def pooled(parts: Sequence[Scores]) -> Scores:
    """Scores over several files, pairs counted within each file and then summed."""
    true_pairs = sum(p.true_pairs for p in parts)
    predicted_pairs = sum(p.predicted_pairs for p in parts)
    false_pairs = sum(p.false_pairs for p in parts)
    tp = predicted_pairs - false_pairs
    precision = tp / predicted_pairs if predicted_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    k = len(parts) or 1
    b_p = sum(p.bcubed_precision for p in parts) / k
    b_r = sum(p.bcubed_recall for p in parts) / k
    b_f = 2 * b_p * b_r / (b_p + b_r) if b_p + b_r else 0.0
    return Scores(f1, precision, recall, true_pairs, predicted_pairs, false_pairs, b_f, b_p, b_r)
