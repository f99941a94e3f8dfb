from __future__ import annotations

import datetime as dt

import pytest

from assistant.schemas import DateResolution, Document
from assistant.text.dates import (
    find_date_expressions,
    find_dates,
    parse_date,
    resolve_relative_dates,
)
from assistant.text.segment import split_sentences

FRIDAY = dt.date(2022, 1, 14)  # ISO week 2022-W02, which starts Monday 2022-01-10


def resolve(sentence: str, published: dt.date | None = FRIDAY) -> list[DateResolution]:
    # A lead paragraph puts the sentence at a non-zero offset in the document.
    text = "Officials spoke to reporters.\n\n" + sentence
    doc = Document(text=text, sentences=split_sentences(text), published=published)
    found = [r for s in doc.sentences for r in resolve_relative_dates(doc, s)]
    for r in found:
        assert doc.text[r.start:r.end] == r.expression
        assert doc.sentence(r.sentence_id).start <= r.start < r.end <= doc.sentence(r.sentence_id).end
    return found


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        # the brief's examples
        ("This Friday Ukraine suffered a massive cyberattack.", [("This Friday", "2022-01-14")]),
        ("Last December, EL ESPAÑOL reported it.", [("Last December", "2021-12")]),
        ("Russia annexed Crimea in 2014.", [("in 2014", "2014")]),
        ("Yesterday officials met in Geneva.", [("Yesterday", "2022-01-13")]),
        ("Talks were held last week.", [("last week", "2022-W01")]),
        # days
        ("The attack happened today.", [("today", "2022-01-14")]),
        ("They will meet tomorrow.", [("tomorrow", "2022-01-15")]),
        ("It began the day before yesterday.", [("the day before yesterday", "2022-01-12")]),
        ("Shots were heard last night.", [("last night", "2022-01-13")]),
        ("The ministers spoke this morning.", [("this morning", "2022-01-14")]),
        ("Two days ago, rebels attacked.", [("Two days ago", "2022-01-12")]),
        ("It ended 10 days ago.", [("10 days ago", "2022-01-04")]),
        # weekdays: on/this/bare look back unless the nearest tense cue is future
        ("The ministers met on Monday.", [("on Monday", "2022-01-10")]),
        ("The ministers met on Saturday.", [("on Saturday", "2022-01-08")]),
        ("The ministers will meet on Saturday.", [("on Saturday", "2022-01-15")]),
        ("The ministers are scheduled to meet Monday.", [("Monday", "2022-01-17")]),
        ("Officials said Friday that talks will resume.", [("Friday", "2022-01-14")]),
        ("On Wednesday, Ukraine said it will respond.", [("On Wednesday", "2022-01-12")]),
        ("The talks collapsed last Friday.", [("last Friday", "2022-01-07")]),
        ("The talks collapsed last Sunday.", [("last Sunday", "2022-01-09")]),
        ("The talks collapsed last Monday.", [("last Monday", "2022-01-03")]),
        ("Talks resume next Monday.", [("next Monday", "2022-01-17")]),
        ("Talks resume next Friday.", [("next Friday", "2022-01-21")]),
        ("It happened this past Friday.", [("this past Friday", "2022-01-07")]),
        ("It opens this coming Monday.", [("this coming Monday", "2022-01-17")]),
        # weeks, months, years
        ("Talks are held this week.", [("this week", "2022-W02")]),
        ("They will meet next week.", [("next week", "2022-W03")]),
        ("The deal was signed three weeks ago.", [("three weeks ago", "2021-W51")]),
        ("A week ago the talks began.", [("A week ago", "2022-W01")]),
        ("Prices rose last month.", [("last month", "2021-12")]),
        ("Prices rose earlier this month.", [("earlier this month", "2022-01")]),
        ("Prices will rise next month.", [("next month", "2022-02")]),
        ("It closed two months ago.", [("two months ago", "2021-11")]),
        ("Growth slowed last year.", [("last year", "2021")]),
        ("Growth slowed early this year.", [("early this year", "2022")]),
        ("It opened five years ago.", [("five years ago", "2017")]),
        ("Prices have risen since 2019.", [("since 2019", "2019")]),
        # named months
        ("In December prices rose.", [("In December", "2021-12")]),
        ("In January prices rose.", [("In January", "2022-01")]),
        ("Last January was cold.", [("Last January", "2021-01")]),
        ("Next January will be cold.", [("Next January", "2023-01")]),
        ("This December will be cold.", [("This December", "2022-12")]),
        ("Elections will be held in March.", [("in March", "2022-03")]),
        ("In late September the payment is due.", [("In late September", "2022-09")]),
        # a future cue far away belongs to another clause
        ("In late September our boys in orange and blue with all their friends and fans are due.",
         [("In late September", "2021-09")]),
        # month and day without a year
        ("The talks began on January 5.", [("on January 5", "2022-01-05")]),
        ("The talks began on January 20.", [("on January 20", "2021-01-20")]),
        ("Talks will resume on February 10.", [("on February 10", "2022-02-10")]),
        ("The summit will take place on January 5.", [("on January 5", "2023-01-05")]),
        ("The vote took place on 5 January.", [("on 5 January", "2022-01-05")]),
        ("It happened on Friday, January 7.", [("on Friday, January 7", "2022-01-07")]),
        ("The Sept. 3rd vote was close.", [("Sept. 3rd", "2021-09-03")]),
        # several in one sentence, in order
        ("Yesterday's vote followed last week's talks and the March 3 deal.",
         [("Yesterday", "2022-01-13"), ("last week", "2022-W01"), ("March 3", "2021-03-03")]),
        # nothing relative
        ("It happened on January 7, 2022.", []),
        ("Friday, January 14, 2022 was a cold day.", []),
        ("The Good Friday agreement held.", []),
        ("Officials may decide later.", []),
        ("May I ask a question?", []),
        ("He scored 2014 points.", []),
        ("Fridays are quiet.", []),
    ],
)
def test_resolve(sentence: str, expected: list[tuple[str, str]]) -> None:
    assert [(r.expression, r.resolved) for r in resolve(sentence)] == expected


@pytest.mark.parametrize(
    ("published", "sentence", "resolved"),
    [
        (dt.date(2022, 12, 5), "Last December was cold.", "2021-12"),  # strictly before
        (dt.date(2022, 12, 5), "In December prices rose.", "2022-12"),
        (dt.date(2022, 3, 31), "It closed a month ago.", "2022-02"),
        (dt.date(2021, 1, 1), "Talks are held this week.", "2020-W53"),
        (dt.date(2021, 1, 1), "Talks were held last week.", "2020-W52"),
        (dt.date(2021, 1, 1), "Prices rose last month.", "2020-12"),
        (dt.date(2021, 1, 3), "The ministers met on Monday.", "2020-12-28"),  # a Sunday
        (dt.date(2024, 3, 1), "The vote was on February 29.", "2024-02-29"),
        (dt.date(2022, 1, 10), "They met on Monday.", "2022-01-10"),  # the same day
        (dt.date(2022, 1, 10), "They will meet on Monday.", "2022-01-10"),
    ],
)
def test_resolve_other_publication_dates(published: dt.date, sentence: str, resolved: str) -> None:
    assert [r.resolved for r in resolve(sentence, published)] == [resolved]


def test_no_publication_date_means_nothing_resolved() -> None:
    assert resolve("Yesterday officials met last week.", published=None) == []


def test_impossible_day_is_skipped() -> None:
    assert resolve("The vote was on February 29.", dt.date(2023, 3, 1)) == []


def test_find_date_expressions_offsets() -> None:
    text = "Yesterday and on Friday, and in 2014, but not on January 7, 2022 or Good Friday."
    found = find_date_expressions(text)
    assert [e for _, _, e in found] == ["Yesterday", "on Friday", "in 2014"]
    assert all(text[s:e] == expr for s, e, expr in found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Friday, January 14, 2022", dt.date(2022, 1, 14)),
        ("January 14, 2022", dt.date(2022, 1, 14)),
        ("Jan. 14, 2022", dt.date(2022, 1, 14)),
        ("Jan 14 2022", dt.date(2022, 1, 14)),
        ("January 14th, 2022", dt.date(2022, 1, 14)),
        ("14 January 2022", dt.date(2022, 1, 14)),
        ("Friday 14 Jan. 2022", dt.date(2022, 1, 14)),
        ("the 3rd of March 2021", dt.date(2021, 3, 3)),
        ("2022-01-14", dt.date(2022, 1, 14)),
        ("2022/01/14", dt.date(2022, 1, 14)),
        ("Published: 2022-01-14T10:00:00Z", dt.date(2022, 1, 14)),
        ("Updated JANUARY 14, 2022 at 3 p.m.", dt.date(2022, 1, 14)),
        ("Sept. 9, 2001", dt.date(2001, 9, 9)),
        ("February 30, 2022", None),
        ("2022-13-01", None),
        ("January 2022", None),
        ("no date here", None),
        ("", None),
    ],
)
def test_parse_date(text: str, expected: dt.date | None) -> None:
    assert parse_date(text) == expected


def test_find_dates_spans() -> None:
    text = "From 2021-03-04 to Friday, January 14, 2022 and 5 May 2020."
    assert [(text[s:e], d.isoformat()) for s, e, d in find_dates(text)] == [
        ("2021-03-04", "2021-03-04"),
        ("Friday, January 14, 2022", "2022-01-14"),
        ("5 May 2020", "2020-05-05"),
    ]
