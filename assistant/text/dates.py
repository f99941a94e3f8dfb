"""Calendar dates in article text: absolute dates for intake, relative ones resolved for claims.

`parse_date`/`find_dates` read complete dates ("Friday, January 14, 2022", "14 Jan 2022",
"2022-01-14"). `find_date_expressions`/`resolve_relative_dates` find expressions that only
mean something next to a publication date ("yesterday", "last December", "this Friday")
and turn them into ISO strings: a day (2022-01-14), ISO week (2022-W01), month (2021-12)
or year (2014).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from assistant.schemas import DateResolution, Document, Sentence

_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
_WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6,
}
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}

# Longest names first so "September" is not matched as "Sep" + "tember".
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAY_RE = "|".join(_WEEKDAYS)
# Relative expressions must be capitalised month names: lowercase "may" is a verb.
_CAP_MONTH_RE = "|".join(m.capitalize() for m in sorted(_MONTHS, key=len, reverse=True))
_CAP_WEEKDAY_RE = "|".join(w.capitalize() for w in _WEEKDAYS)
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"

# --------------------------------------------------------------------------- absolute dates

_ABSOLUTE = [
    re.compile(r"(?<!\d)(?P<year>(?:19|20)\d\d)[-/](?P<month>[01]?\d)[-/](?P<day>[0-3]?\d)(?!\d)"),
    re.compile(
        rf"(?i)\b(?:(?:{_WEEKDAY_RE}),?\s+)?(?P<mname>{_MONTH_RE})\.?\s+{_DAY},?\s+"
        r"(?P<year>(?:19|20)\d\d)(?!\d)"
    ),
    re.compile(
        rf"(?i)\b(?:(?:{_WEEKDAY_RE}),?\s+)?(?:the\s+)?{_DAY}\s+(?:of\s+)?"
        rf"(?P<mname>{_MONTH_RE})\.?,?\s+(?P<year>(?:19|20)\d\d)(?!\d)"
    ),
]


def _make_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:  # "February 30": a date-shaped string is not a date
        return None


def _date_of(m: re.Match[str]) -> dt.date | None:
    groups = m.groupdict()
    month = _MONTHS[groups["mname"].lower()] if groups.get("mname") else int(groups["month"])
    return _make_date(int(groups["year"]), month, int(groups["day"]))


def find_dates(text: str) -> list[tuple[int, int, dt.date]]:
    """Complete calendar dates in `text` as (start, end, date), in order, not overlapping."""
    found: list[tuple[int, int, dt.date]] = []
    for pattern in _ABSOLUTE:
        for m in pattern.finditer(text):
            day = _date_of(m)
            if day and not any(s < m.end() and m.start() < e for s, e, _ in found):
                found.append((m.start(), m.end(), day))
    return sorted(found, key=lambda f: f[0])


def parse_date(text: str) -> dt.date | None:
    """The first complete date written in `text` (ISO, "January 14, 2022", "14 Jan 2022")."""
    found = find_dates(text)
    return found[0][2] if found else None


# --------------------------------------------------------------------------- relative dates


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    kind: str
    m: re.Match[str]


_NUM_RE = "|".join(_NUMBERS) + r"|\d{1,3}"
# Order matters: earlier patterns win where spans overlap ("the day before yesterday"
# before "yesterday", "Friday, January 14" before "Friday").
_RELATIVE: list[tuple[str, re.Pattern[str]]] = [
    ("day_before", re.compile(r"(?i)\bthe\s+day\s+before\s+yesterday\b")),
    ("ago", re.compile(rf"(?i)\b(?P<n>{_NUM_RE})\s+(?P<unit>day|week|month|year)s?\s+ago\b")),
    ("period", re.compile(
        r"(?i)\b(?:(?:earlier|later|early|late|mid-?)\s*)?(?P<rel>this|last|next)\s+"
        r"(?P<unit>week|month|year)\b")),
    ("month_day", re.compile(
        rf"\b(?:(?i:on|by|since|until|from|before|after)\s+)?(?:(?:{_CAP_WEEKDAY_RE}),?\s+)?"
        rf"(?P<mname>{_CAP_MONTH_RE})\.?\s+(?P<day>[0-3]?\d)(?:st|nd|rd|th)?\b(?![,.]?\s*\d)")),
    ("day_month", re.compile(
        rf"\b(?:(?i:on|by|since|until|from|before|after)\s+)?(?:the\s+)?"
        rf"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mname>{_CAP_MONTH_RE})\b"
        r"(?![,.]?\s*\d)")),
    ("rel_month", re.compile(rf"\b(?P<rel>(?i:last|this|next))\s+(?P<mname>{_CAP_MONTH_RE})\b")),
    ("in_month", re.compile(
        rf"\b(?i:in|since|until|by)\s+(?:(?i:early|late|mid-?)\s*)?(?P<mname>{_CAP_MONTH_RE})\b"
        r"(?![,.]?\s*\d)")),
    ("weekday", re.compile(
        r"\b(?P<rel>(?i:this\s+past|this\s+coming|this|last|next|on|coming|past))\s+"
        rf"(?P<wd>{_CAP_WEEKDAY_RE})\b")),
    # AP style drops "on" ("said Friday"); named days like "Good Friday" are not relative.
    ("weekday", re.compile(
        r"(?<!Good )(?<!Black )(?<!Cyber )(?<!Super )(?<!Ash )(?<!Holy )(?<!Maundy )"
        rf"(?<!Easter )(?<!Bloody )(?<!Shrove )\b(?P<wd>{_CAP_WEEKDAY_RE})\b")),
    ("today", re.compile(
        r"(?i)\b(?:today|tonight|this\s+(?:morning|afternoon|evening))\b")),
    ("yesterday", re.compile(r"(?i)\b(?:yesterday|last\s+night)\b")),
    ("tomorrow", re.compile(r"(?i)\btomorrow\b")),
    ("year", re.compile(
        r"\b(?i:in|since|until|by|during|before|after|from)\s+(?P<year>(?:1[6-9]|20)\d\d)\b"
        r"(?![-/]\d)")),
]

_FUTURE = re.compile(
    r"(?i)^(?:will|won't|shall|'ll|would|going|scheduled|expected|plans?|planning|set|due|"
    r"upcoming|starting|start|starts|begin|begins|beginning)$"
)
_PAST = re.compile(
    r"(?i)^(?:said|says|told|was|were|had|did|met|went|came|gave|took|made|saw|held|began|"
    r"spoke|left|found|brought|thought|led|sent|won|lost|fell|rose|struck|got|became|kept|"
    r"caught|paid|felt|heard|built|stood|wrote|ran|chose|threw|drove|flew|fought|bought|"
    r"sold|spent|meant|announced|reported|ago|earlier)$"
)
# Words ending in -ed that are not past participles.
_NOT_PAST = frozenset((
    "need", "needed", "indeed", "proceed", "exceed", "succeed", "embed", "seed", "breed", "bleed",
    "feed", "speed", "shed", "hundred", "sacred", "naked", "wicked", "united", "red", "bed",
    "weed", "greed", "deed", "creed",
))
_WORD = re.compile(r"[\w']+")
_CUE_REACH = 8  # words; a verb farther away usually belongs to another clause


def _sentence_is_future(text: str, start: int, end: int) -> bool:
    """Whether the tense cue nearest to text[start:end] points forward.

    News sentences often mix tenses ("said Friday it will ..."), so the whole sentence's
    tense misleads; the closest past or future cue (by words) decides, and past wins ties
    and the absence of any cue nearby.
    """
    best: tuple[int, bool] | None = None
    words = list(_WORD.finditer(text))
    for i, w in enumerate(words):
        if start <= w.start() < end:
            continue
        word = w.group().lower()
        previous = words[i - 1].group().lower() if i else ""
        # "scheduled"/"expected" end in -ed but look forward: future cues are checked first.
        future = bool(_FUTURE.match(word)) or word.endswith("'ll")
        # A participle after "be" ("will be held") takes its tense from the modal.
        past = not future and previous != "be" and (bool(_PAST.match(word)) or (
            len(word) >= 5 and word.endswith("ed") and word not in _NOT_PAST
        ))
        if not (future or past):
            continue
        between = text[w.end():start] if w.start() < start else text[end:w.start()]
        # A cue across a comma usually belongs to another clause ("starting in June, the
        # council decided"): count each comma as a few words of distance.
        distance = len(_WORD.findall(between)) + 3 * between.count(",")
        if distance > _CUE_REACH:
            continue
        if best is None or distance < best[0] or (distance == best[0] and past):
            best = (distance, future)
    return bool(best and best[1])


def find_date_expressions(text: str) -> list[tuple[int, int, str]]:
    """Relative date expressions in `text` as (start, end, expression), in order."""
    return [(f.start, f.end, f.m.group()) for f in _scan(text)]


def _scan(text: str) -> list[_Found]:
    # Complete dates are absolute: mask them so "Friday" in "Friday, January 14, 2022"
    # is not read as a relative weekday.
    taken: list[tuple[int, int]] = [(s, e) for s, e, _ in find_dates(text)]
    found: list[_Found] = []
    for kind, pattern in _RELATIVE:
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            taken.append((m.start(), m.end()))
            found.append(_Found(m.start(), m.end(), kind, m))
    return sorted(found, key=lambda f: f.start)


def _week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _month(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _weekday(rel: str, wd: int, pub: dt.date, future: bool) -> dt.date:
    rel = " ".join(rel.lower().split())
    monday = pub - dt.timedelta(days=pub.weekday())
    if rel == "last":  # the named day of the week before publication's week
        return monday - dt.timedelta(days=7) + dt.timedelta(days=wd)
    if rel == "next":  # the named day of the week after
        return monday + dt.timedelta(days=7 + wd)
    if rel in ("this past", "past"):
        return pub - dt.timedelta(days=(pub.weekday() - wd - 1) % 7 + 1)
    if rel in ("this coming", "coming"):
        return pub + dt.timedelta(days=(wd - pub.weekday() - 1) % 7 + 1)
    # this/on/bare: news reports the past, so the day on or before publication, unless
    # the sentence speaks of the future.
    if future:
        return pub + dt.timedelta(days=(wd - pub.weekday()) % 7)
    return pub - dt.timedelta(days=(pub.weekday() - wd) % 7)


def _month_day(month: int, day: int, pub: dt.date, future: bool) -> str | None:
    # Same year unless that lands on the wrong side of publication.
    candidate = _make_date(pub.year, month, day)
    if candidate is None:
        return None
    if future and candidate < pub:
        candidate = _make_date(pub.year + 1, month, day)
    elif not future and candidate > pub:
        candidate = _make_date(pub.year - 1, month, day)
    return candidate.isoformat() if candidate else None


def _named_month(rel: str, month: int, pub: dt.date, future: bool) -> str:
    rel = rel.lower()
    if rel == "this":
        return _month(pub.year, month)
    if rel == "last":  # strictly before the publication month
        return _month(pub.year if month < pub.month else pub.year - 1, month)
    if rel == "next":  # strictly after
        return _month(pub.year if month > pub.month else pub.year + 1, month)
    if future:
        return _month(pub.year if month >= pub.month else pub.year + 1, month)
    return _month(pub.year if month <= pub.month else pub.year - 1, month)


def _resolve(f: _Found, text: str, pub: dt.date) -> str | None:
    g = f.m.groupdict()
    if f.kind == "today":
        return pub.isoformat()
    if f.kind == "yesterday":
        return (pub - dt.timedelta(days=1)).isoformat()
    if f.kind == "tomorrow":
        return (pub + dt.timedelta(days=1)).isoformat()
    if f.kind == "day_before":
        return (pub - dt.timedelta(days=2)).isoformat()
    if f.kind == "year":
        return g["year"]
    if f.kind == "ago":
        n = _NUMBERS.get(g["n"].lower()) or int(g["n"])
        unit = g["unit"].lower()
        if unit == "day":
            return (pub - dt.timedelta(days=n)).isoformat()
        if unit == "week":
            return _week(pub - dt.timedelta(weeks=n))
        if unit == "month":
            return _month(*_shift_month(pub.year, pub.month, -n))
        return str(pub.year - n)
    if f.kind == "period":
        delta = {"last": -1, "this": 0, "next": 1}[g["rel"].lower()]
        unit = g["unit"].lower()
        if unit == "week":
            return _week(pub + dt.timedelta(weeks=delta))
        if unit == "month":
            return _month(*_shift_month(pub.year, pub.month, delta))
        return str(pub.year + delta)
    future = _sentence_is_future(text, f.start, f.end)
    if f.kind == "weekday":
        rel = g.get("rel") or "on"
        return _weekday(rel, _WEEKDAYS[g["wd"].lower()], pub, future).isoformat()
    month = _MONTHS[g["mname"].lower()]
    if f.kind in ("month_day", "day_month"):
        return _month_day(month, int(g["day"]), pub, future)
    return _named_month(g.get("rel") or "in", month, pub, future)


def resolve_relative_dates(doc: Document, sentence: Sentence) -> list[DateResolution]:
    """Relative dates in `sentence` resolved against `doc.published` ([] when it is unknown).

    Offsets point into `doc.text`: `doc.text[r.start:r.end] == r.expression`.
    """
    if doc.published is None:
        return []
    out: list[DateResolution] = []
    for f in _scan(sentence.text):
        resolved = _resolve(f, sentence.text, doc.published)
        if resolved is None:
            continue
        out.append(DateResolution(
            expression=f.m.group(), resolved=resolved, sentence_id=sentence.id,
            start=sentence.start + f.start, end=sentence.start + f.end,
        ))
    return out
