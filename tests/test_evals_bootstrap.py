"""Bootstrap intervals, balanced accuracy and metric aggregation, with hand-computed values."""

from __future__ import annotations

import pytest

from assistant.evals.bootstrap import balanced_accuracy, bootstrap_ci, mean, quantile
from assistant.evals.results import ItemScore, aggregate, statistic_of


@pytest.mark.parametrize("values, q, expected", [
    ([1, 2, 3, 4], 0.5, 2.5),
    ([1, 2, 3, 4], 0.0, 1.0),
    ([1, 2, 3, 4], 1.0, 4.0),
    ([0, 10], 0.25, 2.5),
    ([7], 0.975, 7.0),
])
def test_quantile_interpolates_linearly(values: list[float], q: float, expected: float) -> None:
    assert quantile(values, q) == pytest.approx(expected)


def test_constant_values_give_a_point_interval() -> None:
    assert bootstrap_ci([0.4] * 7, mean) == pytest.approx((0.4, 0.4))


def test_interval_is_seeded_and_brackets_the_mean() -> None:
    values = [0.0, 1.0, 0.5, 0.25, 1.0, 0.75, 0.0, 1.0]
    a = bootstrap_ci(values, mean, seed=3)
    assert a == bootstrap_ci(values, mean, seed=3)
    assert a is not None and a[0] < sum(values) / len(values) < a[1]
    assert a[0] >= 0.0 and a[1] <= 1.0


def test_groups_are_resampled_whole() -> None:
    seen: set[float] = set()

    def record(sample: list[float]) -> float:
        seen.add(round(sum(sample) / len(sample), 6))
        return sum(sample) / len(sample)

    # Two groups of two identical items: a resample holds 0, 2 or 4 ones, never 1 or 3.
    bootstrap_ci([0.0, 0.0, 1.0, 1.0], record, groups=["a", "a", "b", "b"], resamples=200)
    assert seen <= {0.0, 0.5, 1.0}
    seen.clear()
    bootstrap_ci([0.0, 0.0, 1.0, 1.0], record, resamples=200)
    assert {0.25, 0.75} & seen


def test_undefined_resamples_are_skipped_and_empty_input_has_no_interval() -> None:
    assert bootstrap_ci([], mean) is None
    assert bootstrap_ci([1.0], lambda s: None) is None


@pytest.mark.parametrize("pairs, expected", [
    ([(1, 1), (1, 0), (0, 0), (0, 0), (0, 1)], (1 / 2 + 2 / 3) / 2),
    ([(1, 1), (1, 0)], 0.5),                     # one class present: its recall
    ([(0, 0), (1, 1)], 1.0),
    ([], None),
])
def test_balanced_accuracy(pairs: list[tuple[int, int]], expected: float | None) -> None:
    got = balanced_accuracy(pairs)
    assert got == (pytest.approx(expected) if expected is not None else None)


def test_aggregate_leaves_out_items_without_a_value() -> None:
    scores = [ItemScore(item_id=i, value=v) for i, v in zip("abcd", [1.0, 0.0, None, 0.5], strict=True)]
    m = aggregate("x", "test", scores, resamples=200)
    assert (m.mean, m.n) == (0.5, 3)
    assert m.ci_low is not None and m.ci_high is not None and m.ci_low <= 0.5 <= m.ci_high
    assert [s.item_id for s in m.per_item] == ["a", "b", "c", "d"]


def test_balanced_accuracy_statistic_counts_no_verdict_as_wrong() -> None:
    scores = [ItemScore(item_id="a", value=1.0, label=1, prediction=1),
              ItemScore(item_id="b", value=0.0, label=1, prediction=None),   # abstained
              ItemScore(item_id="c", value=1.0, label=0, prediction=0)]
    assert statistic_of("balanced_accuracy", scores) == pytest.approx((1 / 2 + 1) / 2)
    m = aggregate("ba", "test", scores, statistic="balanced_accuracy", resamples=200)
    assert m.mean == pytest.approx(0.75) and m.n == 3
