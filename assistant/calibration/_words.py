"""A word log-odds model: which words check-worthy sentences use more than the others.

Each word (lower-cased, a figure becomes `<num>`) gets the smoothed log-ratio of how
often it occurs in positive sentences against negative ones,

    log((pos_w + a) / (P + a V)) - log((neg_w + a) / (N + a V))

(`pos_w` / `neg_w`: sentences of each class containing it, `P` / `N`: their total word
counts, `V`: the vocabulary, `a` the smoothing), and a sentence's score is the mean over
its words, unknown words counting 0. The ratios are shrunk toward 0 for words seen in few
sentences and pruned to the `keep` words with the largest |ratio| x support, so a profile
stores a few thousand numbers, not the corpus.

The model is a feature of the calibrated logistic model, so it must never see the rows it
scores: `cross_fitted_scores` gives each group's rows the score of a model fitted on the
other groups only; the profile's final model is fitted on every row.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

_TOKEN = re.compile(r"[a-z]+(?:['\u2019][a-z]+)?|\d[\d,.]*")
NUMBER_TOKEN = "<num>"


def tokens(text: str) -> list[str]:
    """Distinct word tokens of `text`, in first-seen order; figures are `<num>`."""
    out = []
    for t in _TOKEN.findall(text.lower().replace("\u2019", "'")):
        out.append(NUMBER_TOKEN if t[0].isdigit() else t)
    return list(dict.fromkeys(out))


class WordCounts:
    """Sentence counts per word and class: additive, so a fold's counts are the total
    minus its held-out groups'."""

    def __init__(self) -> None:
        self.pos: Counter[str] = Counter()
        self.neg: Counter[str] = Counter()

    @classmethod
    def of(cls, texts: Sequence[str], labels: Sequence[int]) -> WordCounts:
        out = cls()
        for text, y in zip(texts, labels, strict=True):
            (out.pos if y else out.neg).update(tokens(text))
        return out

    def __add__(self, other: WordCounts) -> WordCounts:
        out = WordCounts()
        out.pos, out.neg = self.pos + other.pos, self.neg + other.neg
        return out

    def __sub__(self, other: WordCounts) -> WordCounts:
        out = WordCounts()
        out.pos, out.neg = self.pos - other.pos, self.neg - other.neg
        return out


class WordModel(BaseModel):
    """Smoothed log-ratios of the words kept; the sentence score is their mean."""

    model_config = ConfigDict(extra="forbid")
    log_odds: dict[str, float] = Field(description="Word -> smoothed log-ratio, positives against negatives.")
    smoothing: float = Field(description="Pseudo-count added to every word's count in each class.")
    min_count: int = Field(description="Words in fewer sentences than this were dropped.")
    vocabulary: int = Field(description="Words seen in fitting, before pruning.")

    def score(self, text: str) -> float:
        """Mean log-ratio of the sentence's distinct words (0 for an unknown word or an
        empty sentence)."""
        return self.scores(text)[0]

    def scores(self, text: str) -> tuple[float, float, float, float]:
        """(mean, max, sum of the positive, min) log-ratio over the sentence's distinct
        words: the mean says how the sentence reads overall, the max and the positive sum
        catch one telling word ("percent", "billion") in a long sentence, the min one
        that marks talk about the debate itself ("applause", "question")."""
        values = [self.log_odds.get(w, 0.0) for w in tokens(text)] or [0.0]
        return (sum(values) / len(values), max(values), sum(v for v in values if v > 0), min(values))

    def top(self, n: int = 10) -> list[tuple[str, float]]:
        return sorted(self.log_odds.items(), key=lambda kv: -kv[1])[:n]


def fit_word_model(counts: WordCounts, *, smoothing: float = 1.0, min_count: int = 3,
                   keep: int = 3000) -> WordModel:
    """The log-ratio of every word seen in at least `min_count` sentences, shrunk by its
    support (n / (n + 10)), the `keep` strongest kept."""
    vocab = set(counts.pos) | set(counts.neg)
    v = len(vocab) or 1
    p_total = sum(counts.pos.values()) + smoothing * v
    n_total = sum(counts.neg.values()) + smoothing * v
    scored = []
    for w in vocab:
        n = counts.pos[w] + counts.neg[w]
        if n < min_count:
            continue
        ratio = math.log((counts.pos[w] + smoothing) / p_total) - math.log((counts.neg[w] + smoothing) / n_total)
        scored.append((w, ratio * n / (n + 10.0)))
    scored.sort(key=lambda wr: (-abs(wr[1]), wr[0]))
    return WordModel(log_odds={w: round(r, 4) for w, r in scored[:keep]}, smoothing=smoothing,
                     min_count=min_count, vocabulary=len(vocab))


def group_counts(texts: Sequence[str], labels: Sequence[int], groups: Sequence[str]) -> dict[str, WordCounts]:
    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    return {g: WordCounts.of([texts[i] for i in idx], [labels[i] for i in idx]) for g, idx in members.items()}


def cross_fitted_scores(texts: Sequence[str], labels: Sequence[int], groups: Sequence[str],
                        rows: Sequence[int] | None = None, *, keep: int = 3000,
                        per_group: dict[str, WordCounts] | None = None,
                        ) -> dict[int, tuple[float, float, float, float]]:
    """Word scores (`WordModel.scores`) of each row in `rows` (default: all) from a model
    fitted on the other groups among `rows` only: no row's own words, nor its group's,
    nor those of any row outside `rows`, enter its scores."""
    idx = list(range(len(texts))) if rows is None else list(rows)
    chosen = {groups[i] for i in idx}
    per_group = per_group if per_group is not None else group_counts(
        [texts[i] for i in idx], [labels[i] for i in idx], [groups[i] for i in idx])
    total = WordCounts()
    for g in chosen:
        total = total + per_group[g]
    models = {g: fit_word_model(total - per_group[g], keep=keep) for g in chosen}
    return {i: models[groups[i]].scores(texts[i]) for i in idx}
