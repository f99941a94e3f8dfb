"""The `clef` suite: check-worthiness of debate sentences, without a model.

Each debate is held out in turn (leave-one-debate-out): a profile is fitted on the other
debates with `assistant.calibration` (the word log-odds model included, refitted on those
debates only), its threshold chosen on them, and the held-out debate is scored. The same
folds without the word features are scored beside it (`features_only_*`). The transparent score of `assistant.text.signals` at the claims step's cut
(`Options.min_check_worthiness`, 0.3) is scored on the same sentences, and the shipped
profile as well (in-sample: it was fitted on these debates, so it is an upper bound).
Intervals resample whole debates.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from assistant.calibration import (
    CHECKWORTHINESS_TRANSPARENT_FEATURES,
    Profile,
    add_word_features,
    cross_validate,
    cross_validate_checkworthiness,
    find_profile,
    neighbours_of,
    texts_features,
)
from assistant.evals.items import SentenceItem
from assistant.evals.results import ItemRecord, ItemScore, MetricResult, aggregate
from assistant.steps.options import Options

TRANSPARENT_CUT = Options().analysis.min_check_worthiness


def checkworthiness_metrics(items: Sequence[SentenceItem], *, resamples: int, seed: int,
                            folds: int | None = None, model: str | None = None,
                            ) -> tuple[list[MetricResult], list[ItemRecord]]:
    texts, labels, groups = [i.text for i in items], [i.label for i in items], [i.group for i in items]
    t0 = time.perf_counter()
    rows, extractor, transparent = texts_features(texts, groups)
    feature_s = time.perf_counter() - t0
    k = folds or len(set(groups))
    cv = cross_validate_checkworthiness(rows, texts, labels, groups, k=k)
    before = cross_validate(rows, labels, groups, CHECKWORTHINESS_TRANSPARENT_FEATURES, k=k)
    choice = find_profile("checkworthiness", model, extractor)
    t1 = time.perf_counter()
    shipped = _shipped(choice.profile, rows, texts, groups) if choice else []
    per_item_s = (feature_s + time.perf_counter() - t1) / max(len(items), 1)
    scheme = "leave-one-debate-out" if k >= len(set(groups)) else f"grouped {k}-fold by debate"

    def scores(value: Sequence[float], pred: Sequence[int] | None) -> list[ItemScore]:
        return [ItemScore(item_id=it.id, value=v, label=it.label, group=it.group,
                          prediction=None if pred is None else pred[n])
                for n, (it, v) in enumerate(zip(items, value, strict=True))]

    def add(name: str, description: str, s: list[ItemScore], statistic: str) -> None:
        metrics.append(aggregate(name, description, s, statistic=statistic,  # type: ignore[arg-type]
                                 resamples=resamples, seed=seed))

    metrics: list[MetricResult] = []
    add("balanced_accuracy", f"calibrated features ({extractor}), {scheme}, each fold at the threshold "
        "chosen on its training debates", scores(cv.probabilities, cv.predictions), "balanced_accuracy")
    add("average_precision", f"calibrated probability ranked over all sentences, {scheme}",
        scores(cv.probabilities, None), "average_precision")
    add("features_only_balanced_accuracy", f"the transparent features without the word model, {scheme}",
        scores(before.probabilities, before.predictions), "balanced_accuracy")
    add("features_only_average_precision", f"the transparent features without the word model, {scheme}",
        scores(before.probabilities, None), "average_precision")
    add("transparent_balanced_accuracy", f"signals' weighted-sum score at {TRANSPARENT_CUT} "
        "(no fitting)", scores(transparent, [int(t >= TRANSPARENT_CUT) for t in transparent]),
        "balanced_accuracy")
    add("transparent_average_precision", "signals' weighted-sum score ranked over all sentences",
        scores(transparent, None), "average_precision")
    if choice:
        add("shipped_balanced_accuracy", f"shipped profile {choice.profile.key} at its threshold "
            "(in-sample: fitted on these debates)",
            scores(shipped, [int(p >= choice.profile.threshold) for p in shipped]), "balanced_accuracy")
    metrics.append(aggregate("seconds_per_item", "feature extraction and scoring per sentence (shipped profile)",
                             [ItemScore(item_id="all", value=round(per_item_s, 6))], unit="seconds",
                             higher_is_better=False, resamples=0))
    records = [ItemRecord(id=it.id, title=it.text[:80],
                          output={"label": it.label, "probability": round(cv.probabilities[n], 4),
                                  "prediction": cv.predictions[n], "transparent": transparent[n]})
               for n, it in enumerate(items)]
    return metrics, records



def _shipped(profile: Profile, rows: Sequence[dict[str, float]], texts: Sequence[str],
             groups: Sequence[str]) -> list[float]:
    """The shipped profile's probability per sentence, with its own word model and each
    sentence's neighbours in its debate, as `checkworthiness_scores` scores an article."""
    if profile.word_model is not None:
        wm = profile.word_model
        rows = add_word_features(rows, [wm.scores(t) for t in texts], neighbours_of(groups))
    fit = profile.fit()
    return [fit.probability(r) for r in rows]
