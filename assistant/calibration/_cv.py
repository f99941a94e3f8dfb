"""Grouped cross-validation and the dev scores a profile carries.

Sentences of one debate (summaries of one article) share a speaker, a topic and an
annotator: a fold holds whole groups, so no group is in training and test at once. Each
fold's threshold is chosen on its own training rows, never on the rows it is scored on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel, Field

from assistant.calibration._logistic import ClassWeight, Row, best_threshold, fit_logistic
from assistant.core.stats import average_precision, balanced_accuracy, bootstrap_ci


def grouped_folds(groups: Sequence[str], k: int) -> list[list[int]]:
    """Row indices of each test fold. Whole groups only; with `k` >= the number of groups,
    one group per fold (leave-one-group-out). Otherwise the largest groups go first, each
    to the fold with the fewest rows so far (deterministic)."""
    if k < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    if len(members) < 2:
        raise ValueError("cross-validation needs at least 2 groups")
    names = sorted(members, key=lambda g: (-len(members[g]), g))
    folds: list[list[int]] = [[] for _ in range(min(k, len(names)))]
    for g in names:
        min(folds, key=len).extend(members[g])
    return [sorted(f) for f in folds]


class Interval(BaseModel):
    value: float | None = Field(description="The statistic over all rows.")
    ci_low: float | None = Field(None, description="95 % bootstrap interval (groups resampled), lower.")
    ci_high: float | None = Field(None, description="Upper bound.")


class DevScores(BaseModel):
    """How a profile did on held-out groups of its own training data."""

    scheme: str = Field(description="e.g. 'grouped 5-fold by debate'.")
    folds: int = Field(description="Number of folds.")
    rows: int = Field(description="Rows scored.")
    positives: int = Field(description="Rows labelled 1.")
    groups: int = Field(description="Distinct groups.")
    balanced_accuracy: Interval = Field(description="Out-of-fold, each fold at its own training threshold.")
    average_precision: Interval = Field(description="Out-of-fold probabilities ranked over all rows.")
    per_group_balanced_accuracy: dict[str, float] = Field(
        default_factory=dict, description="Each group with both labels, scored by the fold that held it out.")
    baseline: dict[str, Interval] = Field(
        default_factory=dict, description="Reference scores on the same rows (e.g. the transparent score).")


class CrossValidation(BaseModel):
    probabilities: list[float] = Field(description="Out-of-fold probability per row.")
    predictions: list[int] = Field(description="Out-of-fold decision per row.")
    thresholds: list[float] = Field(description="Threshold per fold (chosen on its training rows).")
    fold_of: list[int] = Field(description="Fold index per row.")


def cross_validate(rows: Sequence[Row], labels: Sequence[int], groups: Sequence[str],
                   features: Sequence[str], *, k: int = 5, l2: float = 0.1,
                   class_weight: ClassWeight = "balanced",
                   fold_rows: Callable[[list[int], list[int]], Sequence[Row]] | None = None,
                   ) -> CrossValidation:
    """Out-of-fold probabilities and decisions, whole groups held out. `fold_rows(train,
    test)` gives the rows a fold fits and scores on, for features that must themselves be
    fitted on the training rows only (the check-worthiness word model); default `rows`."""
    folds = grouped_folds(groups, k)
    probs, preds, fold_of = [0.0] * len(rows), [0] * len(rows), [0] * len(rows)
    thresholds = []
    for n, test in enumerate(folds):
        held = set(test)
        train = [i for i in range(len(rows)) if i not in held]
        seen = fold_rows(train, test) if fold_rows is not None else rows
        fit = fit_logistic([seen[i] for i in train], [labels[i] for i in train], features,
                           l2=l2, class_weight=class_weight)
        cut = best_threshold([labels[i] for i in train], [fit.probability(seen[i]) for i in train])
        thresholds.append(cut)
        for i in test:
            probs[i] = fit.probability(seen[i])
            preds[i] = int(probs[i] >= cut)
            fold_of[i] = n
    return CrossValidation(probabilities=probs, predictions=preds, thresholds=thresholds, fold_of=fold_of)


def score_interval(labels: Sequence[int], scores: Sequence[float], groups: Sequence[str], *,
                   threshold: float | None, resamples: int = 1000, seed: int = 0) -> tuple[Interval, Interval]:
    """(balanced accuracy at `threshold`, average precision), each with a grouped bootstrap
    interval. With `threshold=None`, `scores` are already 0/1 decisions."""
    rows = list(zip(labels, scores, strict=True))

    def ba(sample: Sequence[tuple[int, float]]) -> float | None:
        return balanced_accuracy([(y, int(s >= threshold) if threshold is not None else int(s))
                                  for y, s in sample])

    def ap(sample: Sequence[tuple[int, float]]) -> float | None:
        return average_precision(sample)

    out = []
    for stat in (ba, ap):
        ci = bootstrap_ci(rows, stat, groups=list(groups), resamples=resamples, seed=seed) if resamples else None
        out.append(Interval(value=stat(rows), ci_low=ci[0] if ci else None, ci_high=ci[1] if ci else None))
    return out[0], out[1]


def dev_scores(cv: CrossValidation, labels: Sequence[int], groups: Sequence[str], *, scheme: str,
               resamples: int = 1000, seed: int = 0) -> DevScores:
    ba, _ = score_interval(labels, [float(p) for p in cv.predictions], groups, threshold=0.5,
                           resamples=resamples, seed=seed)
    _, ap = score_interval(labels, cv.probabilities, groups, threshold=None, resamples=resamples, seed=seed)
    per: dict[str, list[tuple[int, int]]] = {}
    for y, p, g in zip(labels, cv.predictions, groups, strict=True):
        per.setdefault(g, []).append((y, p))
    per_group = {g: round(v, 4) for g, pairs in sorted(per.items())
                 if len({y for y, _ in pairs}) == 2 and (v := balanced_accuracy(pairs)) is not None}
    return DevScores(scheme=scheme, folds=len(cv.thresholds), rows=len(labels), positives=sum(labels),
                     groups=len(set(groups)), balanced_accuracy=ba, average_precision=ap,
                     per_group_balanced_accuracy=per_group)

