"""Numbers, dates and quotes found by regular expressions (no NLP model needed).

Shared by both paths of `assistant.text.signals`, so figures are found the same way whether
spaCy is installed or not. Offsets are relative to the string passed in; callers add the
sentence's start to place them in `Document.text`.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

NumberKind = Literal["cardinal", "percent", "money", "year", "date"]

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12,
}
_SCALES = {"hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12,
           "bn": 1e9, "m": 1e6}
_NUMWORD = "|".join(sorted(list(_UNITS) + [s for s in _SCALES if len(s) > 2], key=len, reverse=True))
_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|"
           "December|Jan\\.|Feb\\.|Aug\\.|Sept?\\.|Oct\\.|Nov\\.|Dec\\.")
_WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_CURRENCY_WORDS = "dollars|euros|pounds|rubles|roubles|yuan|yen|hryvnias?"

_DIGITS = re.compile(
    r"(?P<cur>(?:US|A|C)?\$|€|£|¥)?\s?"
    r"(?<![\w.,])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\d.]\d)"
    r"(?:\s?(?P<scale>million|billion|trillion|thousand|bn)\b)?"
    r"(?:\s?(?P<pct>%|per ?cent\b|percent\b))?"
    r"(?:\s(?P<curw>" + _CURRENCY_WORDS + r")\b)?",
)
_WORDS = re.compile(
    rf"\b(?P<num>(?:{_NUMWORD})(?:(?:[\s-]+(?:and[\s-]+)?)(?:{_NUMWORD}))*)\b"
    rf"(?:\s(?P<pct>per ?cent|percent)\b)?(?:\s(?P<curw>{_CURRENCY_WORDS})\b)?",
    re.IGNORECASE,
)
_REFERENTIAL = re.compile(
    r"\b(?:the|these|those|both|its|their|his|her|our|my|each|all)\s+$", re.IGNORECASE
)
_DATE = re.compile(
    rf"\b(?:(?:{_MONTHS})(?:\s+\d{{1,2}}(?:st|nd|rd|th)?)?(?:,?\s+\d{{4}})?|\d{{1,2}}\s+(?:{_MONTHS})"
    rf"(?:\s+\d{{4}})?|(?:(?:early|late|last|this|next|on)\s+)*(?:{_WEEKDAYS})|"
    r"(?:last|this|next|earlier this|later this)\s+(?:week|weekend|month|year)|"
    r"(?i:today|yesterday|tomorrow|tonight)|(?:in|since|until|by|of|beyond)\s+(?:19|20)\d\d)\b",
)
_QUOTE = re.compile(r"[“\"«]([^“”\"«»]+)[”\"“»]")


class NumberSpan(BaseModel):
    """A figure in the text: digits, a percentage, money or a number written in words."""

    text: str = Field(description="The figure exactly as written.")
    start: int = Field(description="Offset of the figure in Document.text.")
    end: int = Field(description="Offset one past the figure.")
    kind: NumberKind = Field(description="cardinal, percent, money, year or date (part of a date).")
    value: float | None = Field(default=None, description="Numeric value, scale words applied (1.5 million = 1.5e6).")
    central: bool = Field(
        description="A quantity the sentence asserts (not a year, date part or 'the two countries')."
    )


def words_to_number(text: str) -> float | None:
    """'two hundred' -> 200, 'seventy-five' -> 75, 'a dozen' -> 12; None if not a number."""
    total, current, seen = 0.0, 0.0, False
    for word in re.split(r"[\s-]+", text.lower()):
        if word in ("and", "a", ""):
            continue
        if word in _UNITS:
            current += _UNITS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in _SCALES:
            total += (current or 1) * _SCALES[word]
            current = 0
        else:
            return None
        seen = True
    return total + current if seen else None


def _date_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _DATE.finditer(text)]


def find_numbers(text: str, date_spans: list[tuple[int, int]] | None = None) -> list[NumberSpan]:
    """Figures in `text` in order. `date_spans` (e.g. spaCy DATE entities) mark date parts;
    without them a regex finds month names, weekdays and years."""
    dates = _date_spans(text) + list(date_spans or [])
    found: list[NumberSpan] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, kind: NumberKind, value: float | None) -> None:
        if any(s < end and start < e for s, e in taken):
            return
        taken.append((start, end))
        if kind == "cardinal" and any(s <= start and end <= e for s, e in dates):
            kind = "date"
        if kind in ("cardinal", "date") and value is not None and value == int(value) \
                and 1900 <= value <= 2100 and "," not in text[start:end]:
            kind = "year"
        central = kind in ("percent", "money") or (
            kind == "cardinal" and not _REFERENTIAL.search(text[max(0, start - 12):start])
        )
        found.append(NumberSpan(text=text[start:end], start=start, end=end, kind=kind,
                                value=value, central=central))

    for m in _DIGITS.finditer(text):
        value = float(m["num"].replace(",", ""))
        if m["scale"]:
            value *= _SCALES[m["scale"].lower()]
        kind: NumberKind = "money" if (m["cur"] or m["curw"]) else "percent" if m["pct"] else "cardinal"
        add(m.start("cur") if m["cur"] else m.start("num"), m.end(), kind, value)
    for m in _WORDS.finditer(text):
        words = m["num"].lower()
        if words in ("one", "zero", "m") or words.startswith("m "):
            continue  # "one of", "zero tolerance": rarely a figure on its own
        parsed = words_to_number(words)
        if parsed is None:
            continue
        kind = "money" if m["curw"] else "percent" if m["pct"] else "cardinal"
        add(m.start(), m.end(), kind, parsed)
    return sorted(found, key=lambda n: n.start)


def specific_dates(text: str) -> list[str]:
    """Date expressions precise enough to check (weekday, month, year, today...)."""
    return [m.group(0) for m in _DATE.finditer(text)]


def direct_quotes(text: str, min_words: int = 3) -> list[tuple[int, int]]:
    """Spans inside straight or curly quotes (mismatched pairs tolerated) of >= min_words."""
    return [(m.start(1), m.end(1)) for m in _QUOTE.finditer(text)
            if len(m.group(1).split()) >= min_words]


def outside_quotes(text: str) -> str:
    """`text` with quoted passages blanked out (same length, offsets preserved)."""
    return _QUOTE.sub(lambda m: " " * len(m.group(0)), text)
