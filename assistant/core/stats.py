"""Statistics shared by the evals and the calibration fitter: a seeded percentile
bootstrap that can resample whole groups, balanced accuracy and average precision.

Items that share a source (SummEdits: 819 summaries of 25 articles; CLEF: 16,421
sentences of 19 debates) are not independent; resampling the groups rather than the items
keeps the interval honest.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["LEVEL", "RESAMPLES", "average_precision", "balanced_accuracy", "bootstrap_ci", "mean",
           "quantile"]

T = TypeVar("T")

RESAMPLES = 1000
LEVEL = 0.95


def quantile(ordered: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of sorted values (numpy's default method)."""
    if not ordered:
        raise ValueError("quantile of no values")
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def bootstrap_ci(values: Sequence[T], statistic: Callable[[Sequence[T]], float | None], *,
                 groups: Sequence[str | None] | None = None, resamples: int = RESAMPLES,
                 level: float = LEVEL, seed: int = 0) -> tuple[float, float] | None:
    """Percentile interval of `statistic` over resamples of `values` (with replacement).

    With `groups`, whole groups are drawn (an item without a group is its own group).
    Resamples where the statistic is undefined (None) are skipped; None when all are.
    """
    if not values:
        return None
    units: list[list[T]]
    if groups is None:
        units = [[v] for v in values]
    else:
        by: dict[str, list[T]] = {}
        for i, (v, g) in enumerate(zip(values, groups, strict=True)):
            by.setdefault(g if g is not None else f"\0{i}", []).append(v)
        units = list(by.values())
    rng = random.Random(seed)
    stats = []
    for _ in range(resamples):
        sample = [v for unit in rng.choices(units, k=len(units)) for v in unit]
        if (s := statistic(sample)) is not None:
            stats.append(s)
    if not stats:
        return None
    stats.sort()
    alpha = (1 - level) / 2
    return quantile(stats, alpha), quantile(stats, 1 - alpha)


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def balanced_accuracy(pairs: Sequence[tuple[int, int]]) -> float | None:
    """Mean of per-class recall over (label, prediction) pairs; classes absent are skipped."""
    recalls = []
    for cls in (0, 1):
        preds = [p for label, p in pairs if label == cls]
        if preds:
            recalls.append(sum(p == cls for p in preds) / len(preds))
    return sum(recalls) / len(recalls) if recalls else None


def average_precision(pairs: Sequence[tuple[int, float]]) -> float | None:
    """Average precision of (label, score) pairs ranked by score, highest first.

    The step-wise sum over distinct scores of (recall gain) x (precision), as scikit-learn
    computes it, so tied scores count as one threshold. None without a positive.
    """
    positives = sum(1 for label, _ in pairs if label == 1)
    if not positives:
        return None
    ranked = sorted(pairs, key=lambda p: -p[1])
    ap, tp, seen, i = 0.0, 0, 0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][1] == ranked[i][1]:
            j += 1
        gained = sum(1 for label, _ in ranked[i:j] if label == 1)
        tp, seen = tp + gained, seen + (j - i)
        ap += gained / positives * (tp / seen)
        i = j
    return ap
