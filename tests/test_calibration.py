"""Calibration: the logistic fitter, grouped folds, thresholds, profiles and their lookup,
check-worthiness scores, and `assistant calibrate` end to end."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from assistant.calibration import (
    CHECKWORTHINESS_FEATURES,
    DEFAULT_MODEL,
    PACKAGE_DIR,
    best_threshold,
    checkworthiness_scores,
    cross_validate,
    document_of,
    find_profile,
    fit_logistic,
    fit_profile,
    grouped_folds,
    load_profile,
    profile_filename,
    read_labelled,
    save_profile,
    sigmoid,
)
from assistant.cli import main
from assistant.core.stats import average_precision
from assistant.errors import InputError
from assistant.text.signals import analyze_sentences


@pytest.fixture(autouse=True)
def _own_profile_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's cache or $ASSISTANT_PROFILE_DIR must not leak into these tests."""
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ASSISTANT_PROFILE_DIR", raising=False)


def logit(p: float) -> float:
    return math.log(p / (1 - p))


# --------------------------------------------------------------------------- fitter


def test_one_binary_feature_recovers_the_closed_form_maximum_likelihood() -> None:
    # P(y=1 | x=0) = 2/10, P(y=1 | x=1) = 6/8: the MLE is the two groups' log-odds.
    rows = [{"x": 0.0}] * 10 + [{"x": 1.0}] * 8
    labels = [1] * 2 + [0] * 8 + [1] * 6 + [0] * 2
    fit = fit_logistic(rows, labels, ["x"], l2=0.0, class_weight="none")
    assert fit.converged
    assert fit.intercept == pytest.approx(logit(0.2), abs=1e-6)
    assert fit.weights[0] == pytest.approx(logit(0.75) - logit(0.2), abs=1e-6)


def test_balanced_class_weights_put_the_base_rate_at_one_half() -> None:
    # No feature carries information: balanced weights make the probability 0.5 whatever
    # the share of positives.
    rows = [{"x": float(i % 2)} for i in range(100)]
    labels = [1 if i < 10 else 0 for i in range(100)]
    labels = [labels[i] for i in sorted(range(100), key=lambda i: (i % 2, i))]
    fit = fit_logistic(rows, labels, ["x"], l2=0.0)
    assert sum(fit.probability(r) for r in rows) / len(rows) == pytest.approx(0.5, abs=0.02)


def test_separable_data_diverges_without_a_penalty_and_is_finite_with_one() -> None:
    rows = [{"x": float(v)} for v in range(-5, 6) if v != 0]
    labels = [int(r["x"] > 0) for r in rows]
    free = fit_logistic(rows, labels, ["x"], l2=0.0, max_iter=30)
    assert not free.converged and free.weights[0] > 10
    held = fit_logistic(rows, labels, ["x"], l2=0.1)
    assert held.converged and 0 < held.weights[0] < 10
    assert all((held.probability(r) >= 0.5) == bool(y) for r, y in zip(rows, labels, strict=True))


def test_penalty_is_on_standardised_weights_so_units_do_not_matter() -> None:
    rng = random.Random(4)
    xs = [rng.gauss(0, 1) for _ in range(400)]
    labels = [int(rng.random() < sigmoid(1.5 * x)) for x in xs]
    small = fit_logistic([{"x": x} for x in xs], labels, ["x"], l2=0.05)
    big = fit_logistic([{"x": 1000 * x} for x in xs], labels, ["x"], l2=0.05)
    assert big.weights[0] * 1000 == pytest.approx(small.weights[0], rel=1e-6)
    assert big.intercept == pytest.approx(small.intercept, abs=1e-6)


def test_inseparable_noisy_data_recovers_the_generating_weights() -> None:
    rng = random.Random(7)
    rows, labels = [], []
    for _ in range(6000):
        a, b = float(rng.random() < 0.4), rng.gauss(0, 1)
        rows.append({"a": a, "b": b})
        labels.append(int(rng.random() < sigmoid(-1.0 + 2.0 * a - 1.0 * b)))
    fit = fit_logistic(rows, labels, ["a", "b"], l2=0.0, class_weight="none")
    assert fit.converged
    assert fit.weights == pytest.approx([2.0, -1.0], abs=0.15)
    assert fit.intercept == pytest.approx(-1.0, abs=0.15)
    top = fit.contributions({"a": 1.0, "b": -2.0})
    assert [c[0] for c in top] == ["b", "a"] and top[0][2] > 0


def test_fitter_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="0 or 1"):
        fit_logistic([{"x": 1.0}], [2], ["x"])
    with pytest.raises(ValueError, match="both classes"):
        fit_logistic([{"x": 1.0}, {"x": 0.0}], [1, 1], ["x"])


# --------------------------------------------------------------------------- folds, thresholds


def test_grouped_folds_never_split_a_group() -> None:
    rng = random.Random(1)
    groups = [f"g{rng.randrange(13)}" for _ in range(500)]
    folds = grouped_folds(groups, 5)
    assert len(folds) == 5
    assert sorted(i for f in folds for i in f) == list(range(500))
    seen: dict[str, int] = {}
    for n, fold in enumerate(folds):
        for i in fold:
            assert seen.setdefault(groups[i], n) == n, f"group {groups[i]} in two folds"
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) < max(groups.count(g) for g in set(groups))


def test_more_folds_than_groups_is_leave_one_group_out() -> None:
    groups = ["a", "a", "b", "c", "c", "c"]
    assert sorted(map(sorted, grouped_folds(groups, 10))) == [[0, 1], [2], [3, 4, 5]]
    with pytest.raises(ValueError):
        grouped_folds(["a", "a"], 5)


def test_cross_validation_scores_each_group_with_a_model_that_never_saw_it() -> None:
    # In group "odd" the feature means the opposite of what it means elsewhere: a model
    # that saw that group's rows would score them better than chance; one that did not
    # gets them all wrong.
    rows, labels, groups = [], [], []
    for g in ("a", "b", "c", "odd"):
        for i in range(40):
            x = float(i % 2)
            rows.append({"x": x})
            labels.append(int(x) if g != "odd" else 1 - int(x))
            groups.append(g)
    cv = cross_validate(rows, labels, groups, ["x"], k=4, l2=1e-3)
    odd = [i for i, g in enumerate(groups) if g == "odd"]
    assert all(cv.predictions[i] != labels[i] for i in odd)
    others = [i for i, g in enumerate(groups) if g != "odd"]
    assert all(cv.predictions[i] == labels[i] for i in others)
    assert len({cv.fold_of[i] for i in odd}) == 1 and len(cv.thresholds) == 4


@pytest.mark.parametrize("labels, scores, lo, hi", [
    ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 0.2, 0.8),     # any cut between the classes
    ([0, 1, 0, 1], [0.1, 0.3, 0.35, 0.9], 0.35, 0.9),    # only 0.9 above the cut: BA 0.75
    ([1, 0, 0, 0], [0.2, 0.1, 0.1, 0.1], 0.1, 0.2),      # ties stay on one side
])
def test_threshold_maximises_balanced_accuracy(labels: list[int], scores: list[float],
                                               lo: float, hi: float) -> None:
    cut = best_threshold(labels, scores)
    assert lo < cut < hi


def test_average_precision_matches_hand_computed_values() -> None:
    assert average_precision([(1, 0.9), (0, 0.8), (1, 0.7), (0, 0.1)]) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision([(1, 0.5), (0, 0.5)]) == pytest.approx(0.5)  # a tie is one cut
    assert average_precision([(0, 0.3)]) is None


# --------------------------------------------------------------------------- profiles


def _labelled(path: Path, n_groups: int = 4) -> Path:
    """Sentences whose label follows the signals (a figure, a named speaker) with noise."""
    rng = random.Random(0)
    lines = []
    for g in range(n_groups):
        for i in range(30):
            if i % 3 == 0:
                text, label = f"Unemployment fell to {rng.randint(3, 9)}.{i} percent in {2000 + i}, the ministry said.", 1
            elif i % 3 == 1:
                text, label = "What do you think we should do about that?", 0
            else:
                text, label = "I think that is a great idea and we love it.", int(i % 10 == 2)
            lines.append(json.dumps({"text": text, "label": label, "debate": f"d{g}"}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_profile_round_trip_and_lookup_with_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = read_labelled(_labelled(tmp_path / "l.jsonl"), "checkworthiness", group_by="debate", method="regex")
    assert data.extractor == "signals-regex" and data.fitted_on.groups == 4
    profile = fit_profile(data, "checkworthiness", "my-model", folds=4, resamples=50)
    assert profile.dev.scheme == "leave-one-debate-out" and profile.dev.balanced_accuracy.value is not None
    file = save_profile(profile, tmp_path / "p" / profile_filename("checkworthiness", "my-model", "signals-regex"))
    assert load_profile(file) == profile

    monkeypatch.setenv("ASSISTANT_PROFILE_DIR", str(tmp_path / "p"))
    mine = find_profile("checkworthiness", "my-model", "signals-regex")
    assert mine is not None and not mine.default_used and mine.path == str(file)
    other = find_profile("checkworthiness", "someone-else", "signals-regex")
    assert other is not None and other.default_used and other.profile.model == DEFAULT_MODEL
    assert other.path.startswith(str(PACKAGE_DIR))
    assert find_profile("faithfulness", "my-model", "signals-regex") is None
    # A refitted file (new contents) is read again; an unchanged one is not re-parsed.
    again = find_profile("checkworthiness", "my-model", "signals-regex")
    assert again is not None and again.profile is mine.profile
    save_profile(profile.model_copy(update={"threshold": 0.123456}), file)
    refit = find_profile("checkworthiness", "my-model", "signals-regex")
    assert refit is not None and refit.profile.threshold == 0.123456


def test_broken_profile_file_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"task": "checkworthiness"}', encoding="utf-8")
    with pytest.raises(InputError, match="not a calibration profile"):
        load_profile(bad)


@pytest.mark.parametrize("extractor", ["signals-spacy", "signals-regex"])
def test_shipped_checkworthiness_profiles_are_complete(extractor: str) -> None:
    choice = find_profile("checkworthiness", DEFAULT_MODEL, extractor)
    assert choice is not None and not choice.default_used
    p = choice.profile
    assert p.features == list(CHECKWORTHINESS_FEATURES)
    assert p.fitted_on.rows == 16421 and p.fitted_on.positives == 440 and p.fitted_on.groups == 19
    ba = p.dev.balanced_accuracy
    assert ba.ci_low is not None and ba.ci_high is not None and ba.ci_low <= (ba.value or 0) <= ba.ci_high
    assert len(p.dev.per_group_balanced_accuracy) == 19


def test_checkworthiness_scores_rank_a_figure_above_a_question() -> None:
    doc = document_of(["Unemployment fell to 4.1 percent last year, the Labor Department said.",
                       "What do you think about that?"])
    signals = analyze_sentences(doc, method="regex")
    scores = checkworthiness_scores(doc, signals, model="unknown-model")
    fig, q = scores["S1"], scores["S2"]
    assert fig.probability > q.probability and fig.decision and not q.decision
    assert fig.default_used and fig.profile.endswith("/signals-regex")
    assert {"central_number", "question"} & {e.feature for e in fig.effects + q.effects}
    assert checkworthiness_scores(doc, signals, model=DEFAULT_MODEL)["S1"].default_used is False


# --------------------------------------------------------------------------- command line


def test_calibrate_command_writes_a_profile_that_later_lookups_use(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ASSISTANT_PROFILE_DIR", str(tmp_path / "profiles"))
    data = _labelled(tmp_path / "labelled.jsonl")
    code = main(["calibrate", "--task", "checkworthiness", "--data", str(data), "--group-by", "debate",
                 "--model", "local-llm", "--method", "regex", "--resamples", "50"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "balanced accuracy" in out and "leave-one-debate-out" in out
    written = list((tmp_path / "profiles").glob("*.json"))
    assert len(written) == 1
    doc = document_of(["Exports rose 12 percent in 2021, officials said."])
    score = checkworthiness_scores(doc, analyze_sentences(doc, method="regex"), model="local-llm")["S1"]
    assert score.profile == "checkworthiness/local-llm/signals-regex" and not score.default_used


def test_calibrate_command_takes_precomputed_rows_for_faithfulness(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(2)
    lines = []
    for i in range(80):
        p = rng.random()
        lines.append(json.dumps({"features": {"p_model": p, "mismatches": rng.randint(0, 2)},
                                 "label": int(p > 0.5), "group": f"doc{i % 5}"}))
    data = tmp_path / "faith.jsonl"
    data.write_text("\n".join(lines), encoding="utf-8")
    out = tmp_path / "faith.json"
    assert main(["calibrate", "--task", "faithfulness", "--data", str(data), "--out", str(out),
                 "--resamples", "20"]) == 0
    profile = load_profile(out)
    assert profile.extractor == "precomputed" and profile.features == ["mismatches", "p_model"]
    assert profile.weights["p_model"] > 0 and (profile.dev.balanced_accuracy.value or 0) > 0.9
    capsys.readouterr()


def test_calibrate_command_fits_a_refutation_profile_from_precomputed_rows(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.calibration import find_profile

    rng = random.Random(3)
    lines = []
    for i in range(80):
        about = rng.random()
        lines.append(json.dumps({"features": {"best_coverage": about, "logit_sup": rng.gauss(-1, 1)},
                                 "label": int(about > 0.6), "group": f"g{i % 8}"}))
    data = tmp_path / "refute.jsonl"
    data.write_text("\n".join(lines), encoding="utf-8")
    assert main(["calibrate", "--task", "refutation", "--data", str(data), "--model", "local-llm",
                 "--out", str(tmp_path / "refutation.local.json"), "--resamples", "20"]) == 0
    choice = find_profile("refutation", "local-llm", "precomputed", directory=tmp_path)
    assert choice is not None and not choice.default_used and choice.profile.task == "refutation"
    assert choice.profile.weights["best_coverage"] > 0
    assert "refutation/local-llm/precomputed" in capsys.readouterr().out


def test_calibrate_command_rejects_rows_without_features(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "v.jsonl"
    data.write_text('{"text": "a claim", "label": 1}\n', encoding="utf-8")
    assert main(["calibrate", "--task", "verdict", "--data", str(data)]) == 3
    assert "precomputed" in capsys.readouterr().err


def test_a_labelled_file_that_is_not_utf8_is_a_clear_input_error(tmp_path):
    from assistant.calibration import read_labelled
    from assistant.errors import InputError

    bad = tmp_path / "rows.jsonl"
    bad.write_bytes(b'{"text": "caf\xe9", "label": 1}\n')
    with pytest.raises(InputError, match="not UTF-8"):
        read_labelled(bad, "checkworthiness")
