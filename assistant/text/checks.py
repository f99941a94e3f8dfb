"""Deterministic checks: what a text (a summary sentence, a claim) states that a reference
document (the article, or evidence sentences) does not. No model, offline, fast.

Six kinds of finding, each with the words in the checked text and, where the reference
has something of the same kind, its closest counterpart there:

- number: a figure (digits, words, percentages, money; rounding allowed for large
  figures: "1.5 million" matches 1,532,000) that the reference does not contain;
- unit: the same value with another unit or kind ("170 litres" vs "170 gallons", 10% vs 10);
- entity: a named person, organisation, place or group the reference never names, allowing
  for variants (surname alone, "U.K."/"UK"/"Britain"/"British", acronyms, possessives);
- date: a weekday, month, year or full date the reference does not give (a weekday or
  month implied by a full date counts), and relative dates ("yesterday", "last year")
  that resolve, against the publication date, to a day or period the reference lacks;
- quote: words in quotation marks that are not verbatim in the reference;
- negation: a negation ("not", "never", "failed to") where the reference sentences
  closest to the text have none.

Absence from the reference is what these checks find; they cannot tell a contradiction
from an omission, which is why a counterpart span is reported alongside.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from functools import cached_property

from assistant.schemas import Document, Mismatch, MismatchKind, Sentence, SourceSpan, TextSpan
from assistant.text import dates as _dates
from assistant.text.grounding import SentenceIndex, normalize
from assistant.text.numbers import NumberSpan, direct_quotes, find_numbers
from assistant.text.segment import split_sentences
from assistant.text.signals import EntitySpan, analyze_sentences

__all__ = ["Reference", "check_text", "entity_variants_match", "numbers_match",
           "one_sentence_document"]

# --------------------------------------------------------------------------- vocabularies

# Unit words after a figure, mapped to one canonical name per unit.
_UNIT_NAMES = {
    "km": "km", "kilometre": "km", "kilometer": "km", "kilometres": "km", "kilometers": "km",
    "mile": "mile", "miles": "mile", "mi": "mile", "m": "m", "metre": "m", "meter": "m",
    "metres": "m", "meters": "m", "cm": "cm", "mm": "mm", "ft": "ft", "foot": "ft", "feet": "ft",
    "inch": "inch", "inches": "inch", "kg": "kg", "kilogram": "kg", "kilograms": "kg",
    "kilo": "kg", "kilos": "kg", "g": "g", "gram": "g", "grams": "g", "lb": "lb", "lbs": "lb",
    "pound": "lb", "pounds": "lb", "ton": "t", "tons": "t", "tonne": "t", "tonnes": "t",
    "litre": "l", "liter": "l", "litres": "l", "liters": "l", "l": "l", "gallon": "gal",
    "gallons": "gal", "second": "s", "seconds": "s", "minute": "min", "minutes": "min",
    "hour": "h", "hours": "h", "day": "day", "days": "day", "week": "week", "weeks": "week",
    "month": "month", "months": "month", "year": "year", "years": "year", "decade": "decade",
    "decades": "decade", "degree": "deg", "degrees": "deg", "°c": "degC", "°f": "degF",
    "mph": "mph", "km/h": "kmh", "kph": "kmh", "acre": "acre", "acres": "acre",
    "hectare": "ha", "hectares": "ha", "ha": "ha", "mw": "MW", "gw": "GW", "kwh": "kWh",
    "barrel": "bbl", "barrels": "bbl",
}
_UNIT_RE = re.compile(
    r"\s?(?P<unit>" + "|".join(sorted((re.escape(u) for u in _UNIT_NAMES), key=len, reverse=True))
    + r")(?![\w/])", re.IGNORECASE)

# Names that mean the same country or body (and their demonyms).
_ALIASES = [
    {"us", "usa", "united states", "united states of america", "america", "american", "americans"},
    {"uk", "united kingdom", "britain", "great britain", "british", "briton", "britons"},
    {"eu", "european union"}, {"un", "united nations"}, {"nato", "north atlantic treaty organization"},
    {"russia", "russian", "russians", "russian federation"}, {"ukraine", "ukrainian", "ukrainians"},
    {"china", "chinese", "prc"}, {"france", "french"}, {"germany", "german", "germans"},
    {"japan", "japanese"}, {"india", "indian", "indians"}, {"israel", "israeli", "israelis"},
    {"canada", "canadian", "canadians"}, {"mexico", "mexican", "mexicans"},
    {"turkey", "turkish", "turkiye"}, {"iran", "iranian", "iranians"},
    {"australia", "australian", "australians"}, {"spain", "spanish"}, {"italy", "italian", "italians"},
    {"nyc", "new york city"}, {"la", "los angeles"},
]
_ALIAS_OF = {name: group for group in _ALIASES for name in group}
_ENTITY_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP", "EVENT", "LAW", "NAME"})
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december")
_MONTH_WORD = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b\.?")
_WEEKDAY_WORD = re.compile(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)s?\b")
_YEAR = re.compile(r"(?<![\d,.$])((?:19|20)\d\d)(?![\d,])")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_ARTICLE_LIKE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_POSSESSIVE = re.compile(r"['’]s?$")


def _month_number(word: str) -> int:
    word = word.lower().rstrip(".")
    return next(i for i, m in enumerate(_MONTH_NAMES, 1) if m.startswith(word[:3]))


def _norm_entity(text: str) -> str:
    text = normalize(text).replace(".", "")
    text = _ARTICLE_LIKE.sub("", text)
    text = " ".join(_POSSESSIVE.sub("", w) for w in text.split())
    return re.sub(r"[^\w\s&-]", "", text).strip()


def one_sentence_document(text: str, published: dt.date | None = None) -> Document:
    """`text` as a Document of one sentence (to resolve its dates against `published`)."""
    return Document.model_validate({"text": text, "published": published, "sentences": [
        {"id": "S1", "index": 1, "start": 0, "end": len(text), "text": text}]})


# --------------------------------------------------------------------------- numbers


def _unit_after(text: str, end: int) -> str | None:
    m = _UNIT_RE.match(text, end)
    return _UNIT_NAMES[m.group("unit").lower()] if m else None


_WRITTEN = re.compile(r"(\d[\d,]*)(?:\.(\d+))?\s*(million|billion|trillion|thousand|bn)?", re.I)
_SCALE_EXP = {"thousand": 3, "million": 6, "billion": 9, "bn": 9, "trillion": 12}


def _precision(n: NumberSpan) -> float:
    """Half the unit of the last digit as written: "1.5 million" -> 50,000; "45" -> 0."""
    m = _WRITTEN.search(n.text)
    if m is None:
        return 0.0
    whole, decimals, scale = m.group(1).replace(",", ""), m.group(2) or "", m.group(3)
    if scale:
        return 0.5 * 10.0 ** (_SCALE_EXP[scale.lower()] - len(decimals))
    zeros = len(whole) - len(whole.rstrip("0")) if not decimals and len(whole) >= 4 else 0
    return 0.5 * 10.0 ** zeros if zeros else 0.0


def numbers_match(claimed: NumberSpan, found: NumberSpan) -> bool:
    """Same value, allowing for rounding where the claimed figure is written rounded
    ("1.5 million" matches 1,532,000; "$50 million" does not match $45 million)."""
    if claimed.value is None or found.value is None:
        return normalize(claimed.text) == normalize(found.text)
    if claimed.value == found.value:
        return True
    return abs(claimed.value - found.value) < _precision(claimed)


# --------------------------------------------------------------------------- reference


class _Facts:
    """Numbers, entities, dates and quote text of one piece of text, with offsets."""

    def __init__(self, doc: Document, sentences: Sequence[Sentence]) -> None:
        self.doc = doc
        self.sentences = list(sentences)
        self.numbers: list[tuple[Sentence, NumberSpan, str | None]] = []
        for s in self.sentences:
            for n in find_numbers(s.text):
                if n.kind in ("cardinal", "percent", "money"):
                    self.numbers.append((s, n.model_copy(update={"start": s.start + n.start,
                                                                 "end": s.start + n.end}),
                                         _unit_after(s.text, n.end)))

    @cached_property
    def entities(self) -> list[tuple[Sentence, EntitySpan]]:
        wanted = {s.id for s in self.sentences}
        by_id = {s.id: s for s in self.sentences}
        return [(by_id[sig.sentence_id], e) for sig in analyze_sentences(self.doc)
                if sig.sentence_id in wanted for e in sig.entities if e.label in _ENTITY_LABELS]


class Reference:
    """A reference document (or some of its sentences) prepared once for many checks."""

    def __init__(self, doc: Document, sentence_ids: Iterable[str] | None = None) -> None:
        self.doc = doc
        self.sentences = (list(doc.sentences) if sentence_ids is None
                          else [doc.sentence(s) for s in sentence_ids])
        # Scoped to some sentences, analyse only those (a long evidence document is
        # checked one retrieved sentence at a time).
        scope = doc if sentence_ids is None else doc.model_copy(update={"sentences": self.sentences})
        self.facts = _Facts(scope, self.sentences)
        self.text = " ".join(s.text for s in self.sentences)
        self.norm = " " + _norm_entity(self.text) + " "
        self.words = set(_WORD.findall(self.norm))
        self.index = SentenceIndex(self.sentences)

    @cached_property
    def entity_norms(self) -> list[str]:
        return [_norm_entity(e.text) for _, e in self.facts.entities]

    @cached_property
    def calendar(self) -> tuple[set[str], set[int], set[int], set[str]]:
        """Weekdays, months and years the reference names or implies, and resolved ISO dates."""
        weekdays = {w.lower() for w in _WEEKDAY_WORD.findall(self.text)}
        months = {_month_number(m) for m in _MONTH_WORD.findall(self.text)}
        years = {int(y) for y in _YEAR.findall(self.text)}
        iso: set[str] = set()
        days: list[dt.date] = [d for s in self.sentences for _, _, d in _dates.find_dates(s.text)]
        # The publication day itself counts only through what the text says ("today").
        if self.doc.published is not None:
            for s in self.sentences:
                iso |= {r.resolved for r in _dates.resolve_relative_dates(self.doc, s)}
        for d in days:
            weekdays.add(_WEEKDAYS[d.weekday()])
            months.add(d.month)
            years.add(d.year)
            iso.add(d.isoformat())
        for value in list(iso):
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                day = dt.date.fromisoformat(value)
                weekdays.add(_WEEKDAYS[day.weekday()])
                week = day.isocalendar()
                iso |= {value[:7], value[:4], f"{week[0]}-W{week[1]:02d}"}
            if re.fullmatch(r"\d{4}-\d{2}", value):
                iso.add(value[:4])
            if re.fullmatch(r"\d{4}(?:-\d{2})?", value):
                years.add(int(value[:4]))
                if len(value) == 7:
                    months.add(int(value[5:]))
        return weekdays, months, years, iso

    def related(self, text: str, k: int = 3) -> list[Sentence]:
        return self.index.best(text, k=k) or self.sentences[:1]

    def span(self, sentence: Sentence, start: int, end: int) -> SourceSpan:
        return SourceSpan(sentence_id=sentence.id, text=self.doc.text[start:end], start=start, end=end)


def entity_variants_match(entity: str, ref: Reference) -> bool:
    """Whether `entity` (as written in the checked text) names something the reference names."""
    norm = _norm_entity(entity)
    if not norm:
        return True
    if f" {norm} " in ref.norm:
        return True
    group = _ALIAS_OF.get(norm)
    if group and any(f" {alias} " in ref.norm for alias in group):
        return True
    tokens = [t for t in norm.split() if len(t) > 2 or t.isupper()]
    if tokens and all(t in ref.words or t.rstrip("s") in ref.words or f"{t}s" in ref.words
                      or _ALIAS_OF.get(t, set()) & ref.words for t in tokens):
        return True
    compact = norm.replace(" ", "")
    if entity.replace(".", "").isupper() and 2 <= len(compact) <= 6:
        initials = {"".join(w[0] for w in e.split() if w not in ("of", "and", "the", "for"))
                    for e in ref.entity_norms}
        return compact in initials
    return False


# --------------------------------------------------------------------------- the checks


def _check_numbers(text: str, ref: Reference) -> list[Mismatch]:
    out = []
    for n in find_numbers(text):
        if n.kind not in ("cardinal", "percent", "money"):
            continue
        unit = _unit_after(text, n.end)
        same = [(s, f, u) for s, f, u in ref.facts.numbers if numbers_match(n, f)]
        span = TextSpan(text=text[n.start:n.end], start=n.start, end=n.end)
        related = {s.id for s in ref.related(text)}
        # A bare figure may leave out the currency ("45 million" for $45 million).
        if any((f.kind == n.kind or (n.kind == "cardinal" and f.kind == "money"))
               and (unit is None or u is None or u == unit) for _, f, u in same):
            continue
        if same:
            s, f, u = max(same, key=lambda x: x[0].id in related)
            what = f"{unit or n.kind}" if (unit and u and unit != u) else n.kind
            out.append(Mismatch(kind=MismatchKind.unit, claim_span=span,
                                source_span=ref.span(s, f.start, f.end),
                                message=f"{n.text!r} ({what}) appears in the reference only as "
                                        f"{f.text!r} ({u or f.kind})"))
            continue
        near = [(s, f) for s, f, _ in ref.facts.numbers if s.id in related and f.kind == n.kind]
        near = near or [(s, f) for s, f, _ in ref.facts.numbers if s.id in related]
        counterpart = ref.span(near[0][0], near[0][1].start, near[0][1].end) if near else None
        out.append(Mismatch(kind=MismatchKind.number, claim_span=span, source_span=counterpart,
                            message=f"the figure {n.text!r} is not in the reference"
                                    + (f" (nearby: {counterpart.text!r})" if counterpart else "")))
    return out


def _text_entities(text: str) -> list[EntitySpan]:
    sentences = split_sentences(text)
    if not sentences:
        return []
    doc = Document.model_validate({"text": text, "sentences": sentences})
    return [e for sig in analyze_sentences(doc) for e in sig.entities if e.label in _ENTITY_LABELS]


def _check_entities(text: str, ref: Reference) -> list[Mismatch]:
    out = []
    seen = set()
    for e in _text_entities(text):
        if e.text in seen or entity_variants_match(e.text, ref):
            continue
        seen.add(e.text)
        related = {s.id for s in ref.related(text)}
        near = [(s, x) for s, x in ref.facts.entities if s.id in related and x.label == e.label]
        near = near or [(s, x) for s, x in ref.facts.entities if s.id in related]
        counterpart = ref.span(near[0][0], near[0][1].start, near[0][1].end) if near else None
        out.append(Mismatch(kind=MismatchKind.entity,
                            claim_span=TextSpan(text=e.text, start=e.start, end=e.end),
                            source_span=counterpart,
                            message=f"{e.text!r} ({e.label}) is not named in the reference"
                                    + (f" (nearby: {counterpart.text!r})" if counterpart else "")))
    return out


_SORTS = {"weekday": _WEEKDAY_WORD, "month": _MONTH_WORD, "year": _YEAR}


def _date_counterpart(text: str, ref: Reference, sort: str | None) -> SourceSpan | None:
    """A date word of the same sort (weekday, month, year; any when None) in the reference
    sentences most related to `text`."""
    pattern = _SORTS[sort] if sort else re.compile("|".join(p.pattern for p in _SORTS.values()))
    for s in ref.related(text):
        if m := pattern.search(s.text):
            return ref.span(s, s.start + m.start(), s.start + m.end())
    return None


def _check_dates(text: str, ref: Reference) -> list[Mismatch]:
    weekdays, months, years, iso = ref.calendar
    found: list[tuple[int, int, str, str | None]] = []
    for start, end, day in _dates.find_dates(text):
        if day.isoformat() not in iso and not (day.month in months and str(day.day) in ref.words):
            found.append((start, end, f"the date {day.isoformat()} is not in the reference", None))
    taken = [(s, e) for s, e, _ in _dates.find_dates(text)]

    def free(m: re.Match[str]) -> bool:
        return not any(s <= m.start() < e for s, e in taken)

    for m in _WEEKDAY_WORD.finditer(text):
        if free(m) and m.group(1).lower() not in weekdays:
            found.append((m.start(), m.end(), f"{m.group(0)!r} does not match any day in the "
                                              "reference", "weekday"))
    for m in _MONTH_WORD.finditer(text):
        if m.group(1) == "May" and not re.match(r"\s+\d", text[m.end():]):
            continue  # "May" is also a verb
        if free(m) and _month_number(m.group(1)) not in months:
            found.append((m.start(), m.end(), f"{m.group(0)!r} does not match any month in the "
                                              "reference", "month"))
    for m in _YEAR.finditer(text):
        if free(m) and int(m.group(1)) not in years:
            found.append((m.start(), m.end(), f"the year {m.group(1)} is not in the reference", "year"))
    if ref.doc.published is not None:
        own = one_sentence_document(text, ref.doc.published)
        for r in _dates.resolve_relative_dates(own, own.sentences[0]):
            named = _WEEKDAY_WORD.search(r.expression) or _MONTH_WORD.search(r.expression) \
                or _YEAR.search(r.expression)
            if named or r.resolved in iso or any(s <= r.start < e for s, e, _, _ in found):
                continue  # names are checked above; a resolution only adds relative words
            found.append((r.start, r.end, f"{r.expression!r} ({r.resolved}) is not a date the "
                                          "reference gives", None))
    return [Mismatch(kind=MismatchKind.date, claim_span=TextSpan(text=text[s:e], start=s, end=e),
                     source_span=_date_counterpart(text, ref, sort), message=msg)
            for s, e, msg, sort in sorted(found, key=lambda f: f[0])]


def _check_quotes(text: str, ref: Reference) -> list[Mismatch]:
    out = []
    hay = normalize(ref.text)
    for start, end in direct_quotes(text, min_words=2):
        needle = normalize(text[start:end]).strip(" \"'.,;:")
        if needle and needle not in hay:
            s = ref.related(text[start:end], k=1)[0]
            qs = direct_quotes(s.text, min_words=2)
            a, b = (s.start + qs[0][0], s.start + qs[0][1]) if qs else (s.start, s.end)
            out.append(Mismatch(kind=MismatchKind.quote,
                                claim_span=TextSpan(text=text[start:end], start=start, end=end),
                                source_span=ref.span(s, a, b),
                                message="the quoted words are not verbatim in the reference"))
    return out


_NEGATION = re.compile(
    r"\b(?:not|no|never|nobody|nothing|none|neither|nor|without|cannot|no longer|"
    r"fail(?:ed|s)? to|refus(?:ed|es) to|den(?:ied|ies))\b|n['’]t\b", re.IGNORECASE)


def _check_negation(text: str, ref: Reference) -> list[Mismatch]:
    """A negation in `text` when the reference sentences closest to it have none: the
    classic polarity flip ("did not approve" for "approved")."""
    cue = _NEGATION.search(text)
    related = ref.index.best(text, k=2)
    if cue is None or not related or any(_NEGATION.search(s.text) for s in related):
        return []
    top = related[0]
    return [Mismatch(kind=MismatchKind.negation,
                     claim_span=TextSpan(text=cue.group(0), start=cue.start(), end=cue.end()),
                     source_span=ref.span(top, top.start, top.end),
                     message=f"{cue.group(0)!r} negates, but the closest reference sentences "
                             "state no negation")]


def check_text(text: str, reference: Document | Reference, *,
               sentence_ids: Iterable[str] | None = None) -> list[Mismatch]:
    """Deterministic mismatches of `text` against `reference` (all of it, or `sentence_ids`).

    Offsets in `claim_span` index `text`; offsets in `source_span` index the reference
    document's text. Relative dates in `text` resolve against the reference's publication
    date, when it has one.
    """
    ref = reference if isinstance(reference, Reference) else Reference(reference, sentence_ids)
    found = (_check_numbers(text, ref) + _check_entities(text, ref) + _check_dates(text, ref)
             + _check_quotes(text, ref) + _check_negation(text, ref))
    return sorted(found, key=lambda m: m.claim_span.start)
