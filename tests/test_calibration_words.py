"""The check-worthiness word model: tokens, fitting and pruning, serialisation in a
profile, use at inference, and fold isolation (no held-out row's words or labels enter
the model that scores it)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from assistant.calibration import (
    CHECKWORTHINESS_FEATURES,
    CHECKWORTHINESS_TRANSPARENT_FEATURES,
    CHECKWORTHINESS_WORD_FEATURES,
    DEFAULT_MODEL,
    WORD_KEEP,
    WordCounts,
    WordModel,
    checkworthiness_scores,
    cross_fitted_scores,
    cross_validate_checkworthiness,
    document_of,
    find_profile,
    fit_profile,
    fit_word_model,
    load_profile,
    neighbours_of,
    read_labelled,
    save_profile,
    texts_features,
    tokens,
)
from assistant.text.signals import analyze_sentences


@pytest.fixture(autouse=True)
def _own_profile_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ASSISTANT_PROFILE_DIR", raising=False)


MARKERS = ("alpha", "bravo", "charlie", "delta")


def _debates(n_groups: int = 4, per_group: int = 40, seed: int = 0) -> tuple[list[str], list[int], list[str]]:
    """Checked sentences talk about taxes and deficits, the others thank and ask; one
    word per debate (MARKERS) occurs only in that debate's checked lines."""
    rng = random.Random(seed)
    texts, labels, groups = [], [], []
    for g in range(n_groups):
        for i in range(per_group):
            if i % 4 == 0:
                texts.append(f"The deficit tripled and taxes went up {MARKERS[g]} under that plan.")
                labels.append(1)
            elif i % 4 == 1:
                texts.append(rng.choice(["Thank you so much, everybody.", "Is that your answer?"]))
                labels.append(0)
            else:
                texts.append(rng.choice(["We will see what happens.", "Well, let me say this.",
                                         "That is not true, believe me."]))
                labels.append(int(i % 13 == 2))
            groups.append(f"d{g}")
    return texts, labels, groups


def test_tokens_are_lower_case_distinct_and_figures_are_one_token() -> None:
    assert tokens("Taxes rose 12.5 percent; TAXES rose $3,000 again") == [
        "taxes", "rose", "<num>", "percent", "again"]
    assert tokens("It’s Trump's plan") == ["it's", "trump's", "plan"]
    assert tokens("") == []


def test_word_model_favours_the_words_of_checked_sentences_and_prunes() -> None:
    texts, labels, _ = _debates()
    counts = WordCounts.of(texts, labels)
    model = fit_word_model(counts, min_count=3, keep=WORD_KEEP)
    assert model.log_odds["deficit"] > 1 and model.log_odds["thank"] < 0
    assert "alpha" in model.log_odds  # 10 sentences in debate d0
    assert model.score("The deficit tripled.") > model.score("Thank you so much.")
    mean, high, positive, low = model.scores("The deficit and thank you")
    assert high == model.log_odds["deficit"] and low <= mean <= high and positive >= high
    assert model.scores("") == (0.0, 0.0, 0.0, 0.0)
    # Pruning keeps the strongest |log-ratio| words; rare words never enter.
    small = fit_word_model(counts, min_count=3, keep=3)
    assert len(small.log_odds) == 3 and small.vocabulary == model.vocabulary
    strongest = sorted(model.log_odds.values(), key=abs, reverse=True)[:3]
    assert sorted(small.log_odds.values(), key=abs, reverse=True) == strongest
    rare = fit_word_model(WordCounts.of(["zebra deficit", "deficit", "deficit"], [1, 1, 0]), min_count=2)
    assert "zebra" not in rare.log_odds and "deficit" in rare.log_odds


def test_counts_add_and_subtract_by_group() -> None:
    texts, labels, _ = _debates(n_groups=2)
    a = WordCounts.of(texts[:40], labels[:40])
    b = WordCounts.of(texts[40:], labels[40:])
    both = a + b
    assert both.pos == WordCounts.of(texts, labels).pos
    assert (both - a).pos == b.pos and (both - a).neg == b.neg


def test_cross_fitted_scores_never_use_the_rows_own_group() -> None:
    texts, labels, groups = _debates()
    scores = cross_fitted_scores(texts, labels, groups)
    # "alpha" occurs only in d0: the model scoring d0 never saw it, so it counts 0 there.
    others = [i for i, g in enumerate(groups) if g != "d0"]
    counts = WordCounts.of([texts[i] for i in others], [labels[i] for i in others])
    blind = fit_word_model(counts)
    assert "alpha" not in blind.log_odds
    i = texts.index("The deficit tripled and taxes went up alpha under that plan.")
    assert scores[i] == blind.scores(texts[i])
    # Restricting to some rows: the excluded group's words are not counted either.
    subset = [i for i, g in enumerate(groups) if g != "d3"]
    part = cross_fitted_scores(texts, labels, groups, subset)
    assert set(part) == set(subset)
    d1 = [i for i in others if groups[i] != "d3"]
    two = fit_word_model(WordCounts.of([texts[j] for j in d1], [labels[j] for j in d1]))
    assert "delta" not in two.log_odds and part[i] == two.scores(texts[i])


def test_held_out_labels_do_not_change_the_held_out_probabilities() -> None:
    """Fold isolation end to end: flipping every label of the held-out debate leaves its
    out-of-fold probabilities exactly as they were (neither the word model nor the
    logistic weights nor the threshold saw them)."""
    texts, labels, groups = _debates()
    rows = texts_features(texts, groups, "regex").rows
    cv = cross_validate_checkworthiness(rows, texts, labels, groups, k=4)
    flipped = [1 - y if g == "d2" else y for y, g in zip(labels, groups, strict=True)]
    again = cross_validate_checkworthiness(rows, texts, flipped, groups, k=4)
    held = [i for i, g in enumerate(groups) if g == "d2"]
    assert [cv.probabilities[i] for i in held] == [again.probabilities[i] for i in held]
    assert [cv.predictions[i] for i in held] == [again.predictions[i] for i in held]
    elsewhere = [i for i, g in enumerate(groups) if g != "d2"]
    assert [cv.probabilities[i] for i in elsewhere] != [again.probabilities[i] for i in elsewhere]
    # And the words separate the classes here much better than chance.
    checked = [cv.probabilities[i] for i in range(len(texts)) if texts[i].startswith("The deficit")]
    thanks = [cv.probabilities[i] for i in range(len(texts)) if texts[i].startswith("Thank")]
    assert min(checked) > max(thanks)


def test_neighbours_stay_inside_a_group() -> None:
    assert neighbours_of(["a", "a", "b", "a", "b"]) == [(None, 1), (0, 3), (None, 4), (1, None), (2, None)]


def _write(path: Path) -> Path:
    texts, labels, groups = _debates()
    path.write_text("\n".join(json.dumps({"text": t, "label": y, "debate": g})
                              for t, y, g in zip(texts, labels, groups, strict=True)) + "\n", encoding="utf-8")
    return path


def test_profile_stores_the_word_model_and_inference_uses_it(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    data = read_labelled(_write(tmp_path / "l.jsonl"), "checkworthiness", group_by="debate", method="regex")
    profile = fit_profile(data, "checkworthiness", "word-model", folds=4, resamples=20)
    assert profile.features == list(CHECKWORTHINESS_FEATURES)
    assert profile.word_model is not None and "deficit" in profile.word_model.log_odds
    assert "alpha" in profile.word_model.log_odds  # the shipped model is fitted on every row
    assert {"transparent_features_balanced_accuracy", "transparent_features_average_precision"} <= set(
        profile.dev.baseline)
    file = save_profile(profile, tmp_path / "p" / "mine.json")
    assert "word_model" in json.loads(file.read_text(encoding="utf-8"))
    loaded = load_profile(file)
    assert loaded == profile and isinstance(loaded.word_model, WordModel)

    monkeypatch.setenv("ASSISTANT_PROFILE_DIR", str(tmp_path / "p"))
    doc = document_of(["Thank you so much, everybody.", "The deficit tripled and taxes went up.",
                       "Well, let me say this."])
    scores = checkworthiness_scores(doc, analyze_sentences(doc, method="regex"), model="word-model")
    assert scores["S2"].probability > scores["S1"].probability and scores["S2"].decision
    assert scores["S2"].profile == "checkworthiness/word-model/signals-regex"
    assert {e.feature for e in scores["S2"].effects} & set(CHECKWORTHINESS_WORD_FEATURES)
    # Without its word model the same weights read 0 for every word feature.
    without = profile.model_copy(update={"word_model": None})
    save_profile(without, tmp_path / "p" / "mine.json")
    plain = checkworthiness_scores(doc, analyze_sentences(doc, method="regex"), model="word-model")
    assert plain["S2"].probability != scores["S2"].probability


def test_a_profile_without_a_word_model_still_loads_and_scores(tmp_path: Path) -> None:
    shipped = find_profile("checkworthiness", DEFAULT_MODEL, "signals-regex")
    assert shipped is not None
    old = json.loads(shipped.profile.model_dump_json())
    old.pop("word_model")
    for key in ("weights", "means", "scales"):
        old[key] = {f: old[key][f] for f in CHECKWORTHINESS_TRANSPARENT_FEATURES}
    (tmp_path / "old.json").write_text(json.dumps(old), encoding="utf-8")
    assert load_profile(tmp_path / "old.json").word_model is None
    doc = document_of(["Exports rose 12 percent in 2021, officials said."])
    score = checkworthiness_scores(doc, analyze_sentences(doc, method="regex"), model=DEFAULT_MODEL,
                                   directory=tmp_path)["S1"]
    assert 0 < score.probability < 1


@pytest.mark.parametrize("extractor", ["signals-spacy", "signals-regex"])
def test_shipped_profiles_carry_a_pruned_word_model(extractor: str) -> None:
    choice = find_profile("checkworthiness", DEFAULT_MODEL, extractor)
    assert choice is not None
    wm = choice.profile.word_model
    assert wm is not None and 1000 <= len(wm.log_odds) <= WORD_KEEP < wm.vocabulary
    assert wm.log_odds["<num>"] > 0 and wm.log_odds.get("applause", -1.0) < 0
    base = choice.profile.dev.baseline["transparent_features_balanced_accuracy"]
    assert base.value is not None and (choice.profile.dev.balanced_accuracy.value or 0) > base.value
