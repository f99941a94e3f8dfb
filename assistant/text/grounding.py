"""Grounding by code: sentence ids → exact quotes and offsets, and support checks.

The model only cites sentence numbers (and, optionally, short quotes). Everything a user
sees as "the article's words" is sliced from `Document.text` here, and every model string
that should come from the article is located in it or rejected.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

from assistant.schemas import Document, Quote, Sentence

_QUOTE_MARKS = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2033": '"', "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " ",
})


def normalize_with_map(text: str) -> tuple[str, list[int]]:
    """Normalised text (quote marks unified, whitespace collapsed, lower case) and, for
    each of its characters, the index of the source character it came from."""
    out: list[str] = []
    index: list[int] = []
    prev_space = True
    for i, ch in enumerate(text.translate(_QUOTE_MARKS)):
        if ch.isspace():
            if not prev_space:
                out.append(" ")
                index.append(i)
            prev_space = True
            continue
        prev_space = False
        for low in ch.lower():  # lower() can expand one character into two
            out.append(low)
            index.append(i)
    if out and out[-1] == " ":
        out.pop()
        index.pop()
    return "".join(out), index


def normalize(text: str) -> str:
    return normalize_with_map(text)[0]


def sentence_quote(doc: Document, sid: str | int) -> Quote:
    s = doc.sentence(sid)
    return Quote(sentence_id=s.id, text=s.text, start=s.start, end=s.end)


def locate_quote(doc: Document, quote: str, sentence_ids: Iterable[str | int]) -> Quote | None:
    """Find `quote` inside one of the cited sentences, ignoring quote-mark style,
    whitespace and case; return the exact source span, or None if it is not there."""
    needle = normalize(quote).strip(" \"'.,;:")
    if not needle:
        return None
    for sid in sentence_ids:
        if not doc.has_sentence(sid):
            continue
        s = doc.sentence(sid)
        hay, index = normalize_with_map(s.text)
        pos = hay.find(needle)
        if pos < 0:
            continue
        start = s.start + index[pos]
        end = s.start + index[pos + len(needle) - 1] + 1
        return Quote(sentence_id=s.id, text=doc.text[start:end], start=start, end=end)
    return None


def verify_quote(doc: Document, q: Quote) -> bool:
    """True when the quote's text is exactly the article's text at its offsets."""
    return (0 <= q.start < q.end <= len(doc.text) and doc.text[q.start:q.end] == q.text
            and doc.has_sentence(q.sentence_id)
            and doc.sentence(q.sentence_id).start <= q.start
            and q.end <= doc.sentence(q.sentence_id).end)


# --------------------------------------------------------------------------- support

_STOP = frozenset(["a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as", "is", "are", "was", "were", "be", "been", "being", "has", "have", "had", "do", "does", "did", "this", "that", "these", "those", "it", "its", "it's", "he", "she", "they", "them", "his", "her", "their", "we", "our", "you", "your", "i", "me", "my", "not", "no", "nor", "so", "than", "then", "there", "here", "also", "which", "who", "whom", "whose", "what", "when", "where", "why", "how", "all", "any", "both", "each", "few", "more", "most", "other", "some", "such", "only", "own", "same", "too", "very", "can", "will", "would", "should", "could", "may", "might", "must", "shall", "into", "over", "under", "about", "after", "before", "between", "during", "through", "again", "further", "once", "up", "down", "out", "off", "just", "now", "while", "said", "says", "say", "told", "according"])
_WORD = re.compile(r"[^\W_]+(?:[.,][0-9]+)*", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def _stem(word: str) -> str:
    # Five-letter prefixes match inflections ("accuses"/"accused") well enough for overlap.
    return word if word.isdigit() or len(word) <= 5 else word[:5]


def content_terms(text: str) -> list[str]:
    words = (w.lower() for w in _WORD.findall(text.translate(_QUOTE_MARKS)))
    return [_stem(w) for w in words if w not in _STOP and (len(w) > 1 or w.isdigit())]


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")
_MONTH_OF = {**{m: m for m in _MONTHS}, **{m[:3]: m for m in _MONTHS}, "sept": "september"}
_NUMBER_WORDS = {w: str(n) for n, w in enumerate(
    ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"), 2)}
_ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th)")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:T[\d:.+-]+Z?)?\b")


def _iso_words(m: re.Match[str]) -> str:
    month, day = int(m.group(2)), int(m.group(3))
    return f"{m.group(1)} {_MONTHS[month - 1]} {day}" if 1 <= month <= 12 and 1 <= day <= 31 else m.group(0)


@lru_cache(maxsize=65536)
def _match_term(word: str) -> str | None:
    w = word.lower()
    if w in _STOP or not (len(w) > 1 or w.isdigit()):
        return None
    if _THOUSANDS.fullmatch(w):
        w = w.replace(",", "")
    elif m := _ORDINAL.fullmatch(w):
        w = m.group(1)
    return _stem(_NUMBER_WORDS.get(w, _MONTH_OF.get(w, w)))


def match_terms(text: str) -> list[str]:
    """`content_terms` with figures and dates written one way, for retrieval: accents
    folded ("Damáso" = "Damaso"), thousands separators dropped ("1,500" = "1500"), "4th"
    = "4", "five" = "5", month abbreviations and ISO dates as month names ("Nov. 14" =
    "November 14" = "2018-11-14"), and "May" kept as the month beside a number.

    On WiCE dev half A this turned three misses into hits and no hit into a miss
    (top-5 complete-set recall 0.658 -> 0.677, `assistant eval run --suite wice`).
    """
    text = text.translate(_QUOTE_MARKS)
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    if "-" in text:
        text = _ISO_DATE.sub(_iso_words, text)
    raw = _WORD.findall(text)
    out = []
    for n, word in enumerate(raw):
        if word == "May" and any(0 <= m < len(raw) and raw[m][:1].isdigit() for m in (n - 1, n + 1)):
            out.append("may")
        elif (term := _match_term(word)) is not None:
            out.append(term)
    return out


def numbers_in(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def support(text: str, sources: Sequence[str]) -> float:
    """Share of `text`'s content terms present in `sources` (0..1); a number in `text`
    that no source contains caps the score at 0.2, since invented figures are the worst
    kind of unsupported content."""
    terms = set(content_terms(text))
    if not terms:
        return 0.0
    source_text = " ".join(sources)
    pool = set(content_terms(source_text))
    score = len(terms & pool) / len(terms)
    if numbers_in(text) - numbers_in(source_text):
        score = min(score, 0.2)
    return score


def unsupported_terms(text: str, doc: Document, extra: Iterable[str] = ()) -> list[str]:
    """Numbers and capitalised names in `text` that occur nowhere in the article."""
    pool = normalize(doc.text + " " + " ".join(extra))
    missing = [n for n in numbers_in(text) if n not in pool.replace(",", "")]
    stems = set(content_terms(doc.text))
    for m in re.finditer(r"\b([A-Z][\w'’-]{2,})", text):
        word = m.group(1)
        if word.lower() in pool or word.lower() in _STOP:
            continue
        # A capitalised word opening a sentence may be an ordinary word ("Officials"):
        # accept it when its stem occurs in the article.
        # Headlines capitalise ordinary words ("Council Accuses ..."), and a sentence may
        # open with one: accept a word whose stem the article uses.
        if _stem(word.lower().strip("'’")) in stems:
            continue
        missing.append(word)
    return missing


class SentenceIndex:
    """BM25-style ranking of a document's sentences against a piece of text."""

    def __init__(self, sentences: Sequence[Sentence]) -> None:
        self.sentences = list(sentences)
        self.terms = [Counter(content_terms(s.text)) for s in self.sentences]
        n = len(self.sentences)
        df: Counter[str] = Counter()
        for t in self.terms:
            df.update(t.keys())
        self.idf = {w: math.log(1 + (n - d + 0.5) / (d + 0.5)) for w, d in df.items()}
        self.avg = sum(sum(t.values()) for t in self.terms) / max(n, 1)

    def scores(self, text: str) -> list[float]:
        query = set(content_terms(text))
        out = []
        for t in self.terms:
            length = sum(t.values()) or 1
            s = 0.0
            for w in query & t.keys():
                tf = t[w]
                s += self.idf[w] * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / (self.avg or 1)))
            out.append(s)
        return out

    def best(self, text: str, k: int = 1) -> list[Sentence]:
        ranked = sorted(zip(self.scores(text), range(len(self.sentences)), strict=True), reverse=True)
        return [self.sentences[i] for score, i in ranked[:k] if score > 0]


def anchor(text: str, doc: Document, cited: Sequence[str], *, index: SentenceIndex | None = None,
           threshold: float = 0.5) -> tuple[list[str], float]:
    """Sentence ids that support `text`: the cited ones if they do, else the best match.

    Returns (ids, support). ids is empty when nothing in the article supports the text.
    """
    valid = [sid for sid in cited if doc.has_sentence(sid)]
    if valid:
        score = support(text, [doc.sentence(s).text for s in valid])
        if score >= threshold:
            return [doc.sentence(s).id for s in valid], score
    index = index or SentenceIndex(doc.sentences)
    best: tuple[list[str], float] = ([], 0.0)
    candidates = index.best(text, k=3)
    for s in candidates:  # a single sentence first, then the best pair
        score = support(text, [s.text])
        if score > best[1]:
            best = ([s.id], score)
    if len(candidates) >= 2 and best[1] < threshold:
        pair = sorted(candidates[:2], key=lambda s: s.index)
        score = support(text, [s.text for s in pair])
        if score > best[1] + 0.1:
            best = ([s.id for s in pair], score)
    return best if best[1] >= threshold else ([], best[1])
