"""Synthetic faithfulness pairs made by code from real articles (FactCC-style).

Each pair is (article, one-sentence summary, label). A faithful summary is an article
sentence, whole or without its attribution tail; an unfaithful one is the same sentence
with exactly one edit of a named kind:

    entity   a name replaced by another name of the same kind from the same article
             (so every word of the summary is still in the article: lexical checks alone
             can't see it)
    speaker  an attributed sentence's speaker replaced by another person of the article
    number   a figure changed (digits or number words)
    date     a weekday, month or year changed
    negation a statement negated, or a negation dropped

The edits are deterministic for a seed, and each records the words it changed, so a
report can say which kinds a checker catches. Used by the `synthetic` eval suite
(articles: the project's fixtures, plus the Wikinews articles when `../shared/data` is
there) and as extra development rows for calibration; never as a test set on its own:
human-labelled data decides.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from assistant.schemas import Document
from assistant.text import signals as sig

KINDS = ("entity", "speaker", "number", "date", "negation")

_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]
_NUMBER_WORDS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                 "twelve", "twenty", "fifty", "hundred", "thousand", "million", "billion"]
_CALENDAR_RE = re.compile(r"\b(" + "|".join(_WEEKDAYS + _MONTHS) + r")\b")
_YEAR_RE = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
_FIGURE_RE = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w,]*\d)")
_NUMBER_WORD_RE = re.compile(r"\b(" + "|".join(_NUMBER_WORDS[:11]) + r")\b", re.IGNORECASE)
# One auxiliary (or a negated one) to flip; the first that occurs outside quotes is used.
_NEGATE = [(re.compile(rf"\b{w}\b"), f"{w} not") for w in
           ("is", "are", "was", "were", "will", "would", "has", "have", "had", "can", "could",
            "should")]
_UNNEGATE = [(re.compile(r"\b(is|are|was|were|will|would|has|have|had|could|should|does|did|do) not\b"), r"\1"),
             (re.compile(r"\bcannot\b"), "can"),
             (re.compile(r"\b(is|are|was|were|does|did|do|has|have|had|could|should|would)n['\u2019]t\b"), r"\1")]
_TAIL_RE = re.compile(r",\s*(?:he|she|they|[A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,3}) (?:said|says|told [^,.]+|added)\.?$")
_NAME_KINDS = {"PERSON": "person", "ORG": "org", "GPE": "place", "LOC": "place", "NORP": "group",
               "NAME": "name"}


@dataclass(frozen=True)
class SyntheticPair:
    """One generated summary of one article sentence."""

    id: str
    article_id: str
    sentence_id: str
    summary: str
    label: int  # 1 faithful, 0 not
    kind: str  # "faithful", "faithful_trimmed" or one of KINDS
    changed: str = ""  # "old -> new"


def _outside_quotes(text: str) -> list[tuple[int, int]]:
    """Spans of `text` not inside double quotes (edits stay out of quoted words)."""
    spans, start, inside = [], 0, False
    for m in re.finditer(r"[\"\u201c\u201d]", text):
        if not inside:
            spans.append((start, m.start()))
        inside = not inside
        start = m.end()
    if not inside:
        spans.append((start, len(text)))
    return spans


def _free(text: str, start: int, end: int) -> bool:
    return any(a <= start and end <= b for a, b in _outside_quotes(text))


def _replace(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def _number_edit(text: str, rng: random.Random) -> tuple[str, str] | None:
    for m in _FIGURE_RE.finditer(text):
        raw = m.group(1)
        if _YEAR_RE.fullmatch(raw) or not _free(text, m.start(), m.end()):
            continue
        value = float(raw.replace(",", ""))
        factor = rng.choice([2, 3, 0.5]) if value >= 4 else 1
        new_value = value * factor if factor != 1 else value + rng.choice([2, 3, 5])
        new = (f"{int(new_value):,}" if "," in raw else str(int(new_value))) if "." not in raw \
            else f"{new_value:.{len(raw.split('.')[1])}f}"
        if new != raw:
            return _replace(text, m.start(1), m.end(1), new), f"{raw} -> {new}"
    for m in _NUMBER_WORD_RE.finditer(text):
        if not _free(text, m.start(), m.end()):
            continue
        word = m.group(1)
        pool = [w for w in _NUMBER_WORDS[:11] if w != word.lower()]
        new = rng.choice(pool)
        new = new.capitalize() if word[0].isupper() else new
        return _replace(text, m.start(), m.end(), new), f"{word} -> {new}"
    return None


def _date_edit(text: str, rng: random.Random) -> tuple[str, str] | None:
    for m in _CALENDAR_RE.finditer(text):
        word = m.group(1)
        pool = _WEEKDAYS if word in _WEEKDAYS else _MONTHS
        new = rng.choice([w for w in pool if w != word])
        return _replace(text, m.start(), m.end(), new), f"{word} -> {new}"
    for m in _YEAR_RE.finditer(text):
        new = str(int(m.group(1)) + rng.choice([-3, -2, -1, 1, 2]))
        return _replace(text, m.start(), m.end(), new), f"{m.group(1)} -> {new}"
    return None


def _negation_edit(text: str) -> tuple[str, str] | None:
    for pattern, repl in _UNNEGATE:
        for m in pattern.finditer(text):
            if _free(text, m.start(), m.end()):
                new = m.expand(repl)
                return _replace(text, m.start(), m.end(), new), f"{m.group(0)} -> {new}"
    best: tuple[int, re.Match[str], str] | None = None
    for pattern, repl in _NEGATE:
        for m in pattern.finditer(text):
            if _free(text, m.start(), m.end()) and (best is None or m.start() < best[0]):
                best = (m.start(), m, repl)
                break
    if best is None:
        return None
    _, m, repl = best
    return _replace(text, m.start(), m.end(), repl), f"{m.group(0)} -> {repl}"


_INNER = frozenset({"of", "and", "for", "the", "de", "la", "van", "von", "al"})
_CREDIT_RE = re.compile(r"^\W*(?:Reporting|Writing|Editing|Additional reporting|Photo)\b", re.IGNORECASE)


def _clean_name(text: str) -> str | None:
    """A swappable name: capitalised words (inner "of", "and", ... allowed), no leading
    article or trailing function word; None when what is left is not a name."""
    words = text.split()
    while words and words[0].lower() in ("the", "a", "an"):
        words = words[1:]
    while words and words[-1].lower() in _INNER:
        words = words[:-1]
    if not words or any(not w[0].isupper() and w.lower() not in _INNER for w in words):
        return None
    name = " ".join(words)
    return name if len(name) > 2 else None


def _names(s: sig.SentenceSignals) -> list[tuple[str, str]]:
    return [(kind, e.text) for e in s.entities
            if (kind := _NAME_KINDS.get(e.label)) and _clean_name(e.text) == e.text]


def _names_by_kind(signals: Sequence[sig.SentenceSignals]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for s in signals:
        for kind, name in _names(s):
            if name not in out.setdefault(kind, []):
                out[kind].append(name)
    return out


def _entity_edit(doc: Document, s: sig.SentenceSignals, names: dict[str, list[str]],
                 rng: random.Random, skip: str | None) -> tuple[str, str] | None:
    sentence = doc.sentence(s.sentence_id)
    text = sentence.text
    for e in s.entities:
        kind = _NAME_KINDS.get(e.label)
        local = (e.start - sentence.start, e.end - sentence.start)
        if kind is None or _clean_name(e.text) != e.text or not _free(text, *local) \
                or (skip is not None and e.text in skip):  # the speaker: a speaker edit's job
            continue
        others = [n for n in names.get(kind, []) if n not in text and e.text not in n and n not in e.text]
        if others:
            new = rng.choice(others)
            return _replace(text, *local, new), f"{e.text} -> {new}"
    return None


def _speaker_edit(doc: Document, s: sig.SentenceSignals, people: list[str],
                  rng: random.Random) -> tuple[str, str] | None:
    start, end = (s.speaker_start, s.speaker_end) if s.speaker_start is not None \
        else (s.mention_start, s.mention_end)
    if start is None or end is None or not s.attribution.speaker:
        return None
    sentence = doc.sentence(s.sentence_id)
    old = doc.text[start:end]
    if _clean_name(old) != old:  # a pronoun or a role ("he", "the spokeswoman"): no name to swap
        return None
    others = [p for p in people if p not in sentence.text and old not in p and p not in old]
    if not others:
        return None
    new = rng.choice(others)
    return _replace(sentence.text, start - sentence.start, end - sentence.start, new), f"{old} -> {new}"


def article_pairs(doc: Document, article_id: str, *, per_kind: int = 2, seed: int = 0,
                  min_words: int = 8) -> list[SyntheticPair]:
    """Up to `per_kind` pairs of each kind (and as many faithful ones) for one article."""
    rng = random.Random(f"{seed}:{article_id}")
    signals = sig.analyze_sentences(doc)
    names = _names_by_kind(signals)
    people = list(dict.fromkeys([s.attribution.speaker for s in signals if s.attribution.speaker]
                                + names.get("person", [])))
    usable = [s for s in signals if not s.is_boilerplate
              and len(doc.sentence(s.sentence_id).text.split()) >= min_words
              and not _CREDIT_RE.match(doc.sentence(s.sentence_id).text)]
    order = usable[:]
    rng.shuffle(order)
    pairs: list[SyntheticPair] = []
    count = dict.fromkeys(KINDS, 0)

    def add(s: sig.SentenceSignals, summary: str, label: int, kind: str, changed: str = "") -> None:
        pairs.append(SyntheticPair(id=f"{article_id}:{s.sentence_id}:{kind}", article_id=article_id,
                                   sentence_id=s.sentence_id, summary=summary, label=label, kind=kind,
                                   changed=changed))

    for s in order:
        if len(pairs) >= len(usable) // 2:  # the other half stays for the faithful ones
            break
        text = doc.sentence(s.sentence_id).text
        edits = {
            "speaker": _speaker_edit(doc, s, people, rng),
            "entity": _entity_edit(doc, s, names, rng, skip=s.attribution.speaker),
            "number": _number_edit(text, rng),
            "date": _date_edit(text, rng),
            "negation": _negation_edit(text),
        }
        kind = next((k for k in rng.sample(KINDS, len(KINDS)) if edits[k] and count[k] < per_kind), None)
        if kind is None:
            continue
        summary, changed = edits[kind]  # type: ignore[misc]
        count[kind] += 1
        add(s, summary, 0, kind, changed)
    used = {p.sentence_id for p in pairs}
    faithful = [s for s in order if s.sentence_id not in used][:len(pairs)]
    for n, s in enumerate(faithful):
        text = doc.sentence(s.sentence_id).text
        trimmed = _TAIL_RE.sub(".", text)
        if n % 2 and trimmed != text and len(trimmed.split()) >= min_words:
            add(s, trimmed, 1, "faithful_trimmed")
        else:
            add(s, text, 1, "faithful")
    return sorted(pairs, key=lambda p: (int(p.sentence_id[1:]), p.kind))


def synthetic_pairs(docs: Iterable[tuple[str, Document]], *, per_kind: int = 2,
                    seed: int = 0) -> list[SyntheticPair]:
    """`article_pairs` over several (id, document) articles."""
    return [p for article_id, doc in docs for p in article_pairs(doc, article_id, per_kind=per_kind, seed=seed)]
