"""Check-worthiness features: named, transparent properties of one sentence.

Most come from `assistant.text.signals` (figures, entities, attribution, opinion, question,
fragments); the rest are word-class patterns that hold for news and for political speech
alike (person of the speaker, comparatives, change verbs, negation, time spans). No
feature is the identity of a content word, so a profile fitted on one corpus's topics
does not learn them.

Eighteen features. A first set of 32 (adding the claim type one-hot, years, minor
figures, specific dates, direct quotes, hedges, exclamations, absolutes, conditionals and
unnamed speakers) scored no better in leave-one-debate-out cross-validation on CLEF-2019
(balanced accuracy 0.699 against 0.706 for these, both at l2 = 0.1): the rare and
redundant ones were dropped. That choice was made on the same debates, so the profiles'
dev scores are slightly optimistic.

A profile is fitted on the features of one extractor: spaCy (`signals-spacy`) or the
regex fallback (`signals-regex`); their entity and verb features differ, so each has its
own weights.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Literal, NamedTuple

from assistant.schemas import Document, Sentence
from assistant.text.signals import SentenceSignals, analyze_sentences

Method = Literal["auto", "spacy", "regex"]

_I = re.compile(r"\b(?:I|me|my|mine|myself|I'm|I've|I'd|I'll)\b")
_WE = re.compile(r"\b(?:we|us|our|ours|ourselves|we're|we've|we'll)\b", re.I)
_YOU = re.compile(r"\b(?:you|your|yours|yourself|you're|you've)\b", re.I)
_COMPARATIVE = re.compile(
    r"\b(?:more|less|fewer|most|least|higher|lower|bigger|larger|smaller|greater|highest|lowest|"
    r"biggest|largest|smallest|greatest|fastest|slowest|worst|best|record|twice|double|triple|"
    r"half|times as|[a-z]{3,}er than|first|only)\b", re.I)
_CHANGE = re.compile(
    r"\b(?:increas|decreas|ris(?:e|es|en|ing)\b|rose\b|fall(?:s|en|ing)?\b|fell\b|grow|grew|"
    r"doubl|tripl|cut(?:s|ting)?\b|rais|lower(?:ed|s|ing)\b|drop|declin|soar|plummet|jump|"
    r"climb|reduc|shrank|shrunk|expand|creat|add(?:ed|s)\b|lost\b|los(?:e|es|ing)\b)", re.I)
_NEGATION = re.compile(r"\b(?:not|no|never|nothing|nobody|neither|nor|without)\b|n['\u2019]t\b", re.I)
_TIME_SPAN = re.compile(r"\b(?:since|ago|years?|decades?|months?|weeks?|centur(?:y|ies)|"
                        r"in the (?:last|past)|over the (?:last|past)|so far|until)\b", re.I)

FEATURES: tuple[str, ...] = (
    "central_number", "percent_or_money", "named_entities", "speaker_named", "action_verb",
    "opinion", "vague", "question", "fragment", "log_words", "short",
    "first_person_singular", "first_person_plural", "second_person", "comparative",
    "change_verb", "negation", "time_span",
)
"""Every check-worthiness feature, in the order a profile lists them."""


def sentence_features(signal: SentenceSignals, text: str) -> dict[str, float]:
    """The feature values of one sentence (0/1 flags, a capped count, log word count)."""
    f = signal.features
    kinds = {n.kind for n in signal.numbers}
    words = max(f.n_words, 1)
    flags = {
        "central_number": f.n_central_numbers > 0,
        "percent_or_money": bool(kinds & {"percent", "money"}),
        "speaker_named": f.speaker_kind == "named",
        "action_verb": f.has_action_verb,
        "opinion": bool(f.opinion_markers),
        "vague": f.is_vague,
        "question": f.is_question,
        "fragment": f.boilerplate_kind is not None,
        "short": words <= 6,
        "first_person_singular": bool(_I.search(text)),
        "first_person_plural": bool(_WE.search(text)),
        "second_person": bool(_YOU.search(text)),
        "comparative": bool(_COMPARATIVE.search(text)),
        "change_verb": bool(_CHANGE.search(text)),
        "negation": bool(_NEGATION.search(text)),
        "time_span": bool(_TIME_SPAN.search(text)),
    }
    out = {k: float(v) for k, v in flags.items()}
    out["named_entities"] = float(min(f.n_named_entities, 4))
    out["log_words"] = math.log1p(words)
    return {name: out[name] for name in FEATURES}


def extractor_name(signal_method: str) -> str:
    return f"signals-{signal_method}"


def document_of(texts: Sequence[str]) -> Document:
    """One document holding `texts` as its sentences, in order, in a single paragraph: a
    debate transcript or a user's list of sentences, without re-segmenting them."""
    parts, sentences, at = [], [], 0
    for n, raw in enumerate(texts, 1):
        text = " ".join(raw.split()) or "."
        sentences.append(Sentence(id=f"S{n}", index=n, start=at, end=at + len(text), text=text, paragraph=0))
        parts.append(text)
        at += len(text) + 1
    return Document(text=" ".join(parts), sentences=sentences)


class TextFeatures(NamedTuple):
    rows: list[dict[str, float]]
    extractor: str
    transparent: list[float]  # the signals' weighted-sum score, for comparison


def texts_features(texts: Sequence[str], groups: Sequence[str], method: Method = "auto") -> TextFeatures:
    """Features of labelled sentences (in input order), each group (debate, article) read
    as one document so pronouns and surnames resolve as they would in the article."""
    order: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        order.setdefault(g, []).append(i)
    rows: list[dict[str, float]] = [{} for _ in texts]
    transparent = [0.0] * len(texts)
    used = "regex"
    for idx in order.values():
        doc = document_of([texts[i] for i in idx])
        for i, sig in zip(idx, analyze_sentences(doc, method=method), strict=True):
            rows[i] = sentence_features(sig, doc.sentence(sig.sentence_id).text)
            transparent[i] = sig.checkworthiness
            used = sig.method
    return TextFeatures(rows, extractor_name(used), transparent)
