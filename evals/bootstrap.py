"""Seeded percentile bootstrap, optionally resampling whole groups.

Items that share a source (SummEdits: 819 summaries of 25 articles) are not independent;
resampling the groups rather than the items keeps the interval honest.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import TypeVar

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
