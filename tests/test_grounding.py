from __future__ import annotations

import pytest

from assistant.text.grounding import (
    anchor,
    content_terms,
    locate_quote,
    match_terms,
    normalize_with_map,
    support,
    unsupported_terms,
    verify_quote,
)
from assistant.text.intake import document_from_text

TEXT = ("Defense spokesman John Kirby said the operation was “designed to look like an attack”.\n\n"
        "Ukraine reported a cyberattack on 70 web pages, several of them governmental.\n\n"
        "Straße officials in München   said\u00a0nothing.")


@pytest.fixture(scope="module")
def doc():  # type: ignore[no-untyped-def]
    return document_from_text(TEXT)


@pytest.mark.parametrize("quote, sid", [
    ('"designed to look like an attack"', "S1"),      # straight quotes for curly ones
    ("DESIGNED to look   like an attack", "S1"),      # case and whitespace
    ("70 web pages", "S2"),
    ("strasse officials", None),                      # no transliteration: not the same words
    ("münchen said nothing", "S3"),                   # non-breaking space, non-ASCII
])
def test_locate_quote(doc, quote: str, sid: str | None) -> None:  # type: ignore[no-untyped-def]
    q = locate_quote(doc, quote, ["S1", "S2", "S3"])
    if sid is None:
        assert q is None
        return
    assert q is not None and q.sentence_id == sid
    assert doc.text[q.start:q.end] == q.text and verify_quote(doc, q)


def test_locate_quote_only_searches_cited_sentences(doc) -> None:  # type: ignore[no-untyped-def]
    assert locate_quote(doc, "70 web pages", ["S1"]) is None
    assert locate_quote(doc, "70 web pages", ["S99"]) is None
    assert locate_quote(doc, "  ", ["S1"]) is None


def test_verify_quote_rejects_shifted_offsets(doc) -> None:  # type: ignore[no-untyped-def]
    q = locate_quote(doc, "70 web pages", ["S2"])
    assert q is not None
    assert not verify_quote(doc, q.model_copy(update={"start": q.start + 1}))
    assert not verify_quote(doc, q.model_copy(update={"sentence_id": "S1"}))


def test_normalize_map_points_back_to_source() -> None:
    norm, index = normalize_with_map("A  “B”\nİ")
    assert norm == 'a "b" i̇'
    assert [index[i] for i in range(len(norm))] == [0, 1, 3, 4, 5, 6, 7, 7]


@pytest.mark.parametrize("text, sources, expected", [
    ("Kirby said the operation was designed", ["John Kirby said the operation was designed."], 1.0),
    ("Ukraine reported 70 attacks", ["Ukraine reported a cyberattack on 70 web pages"], 3 / 4),
    ("Ukraine reported 90 web pages", ["Ukraine reported a cyberattack on 70 web pages"], 0.2),
    ("", ["anything"], 0.0),
])
def test_support(text: str, sources: list[str], expected: float) -> None:
    assert support(text, sources) == pytest.approx(expected)


def test_content_terms_stem_and_drop_stopwords() -> None:
    assert content_terms("The accused were accusing") == ["accus", "accus"]


@pytest.mark.parametrize("a, b", [
    ("Nov. 14, 2018", "14 November 2018"),
    ("2018-11-14T09:30:00-0500", "November 14, 2018"),
    ("on March 4th", "on March 4"),
    ("1,500 volunteers", "1500 volunteers"),
    ("five rounds", "5 rounds"),
    ("Damáso Rodríguez", "Damaso Rodriguez"),
])
def test_match_terms_write_figures_and_dates_one_way(a: str, b: str) -> None:
    assert sorted(match_terms(a)) == sorted(match_terms(b))
    assert content_terms(a) != content_terms(b)  # the plain terms do not match them


def test_match_terms_keep_may_the_modal_a_stopword() -> None:
    assert match_terms("Prices may rise in May 2024") == ["price", "rise", "may", "2024"]
    assert match_terms("He may go") == ["go"]
    assert "may" in match_terms("on 12 May 2013") and "may" not in content_terms("on 12 May 2013")
    assert match_terms("The accused were accusing") == content_terms("The accused were accusing")


def test_unsupported_terms_flags_invented_numbers_and_names(doc) -> None:  # type: ignore[no-untyped-def]
    assert unsupported_terms("Kirby said 70 pages were hit in München", doc) == []
    assert sorted(unsupported_terms("Biden said 45 pages were hit", doc)) == ["45", "Biden"]


def test_anchor_keeps_good_citations_and_repairs_bad_ones(doc) -> None:  # type: ignore[no-untyped-def]
    assert anchor("Ukraine reported a cyberattack on 70 pages", doc, ["S2"])[0] == ["S2"]
    ids, score = anchor("Ukraine reported a cyberattack on 70 pages", doc, ["S1"])
    assert ids == ["S2"] and score >= 0.5
    assert anchor("Completely unrelated football transfer news", doc, ["S1"])[0] == []


from assistant.steps.analysis import five_w_answer_ok, speaker_conflict  # noqa: E402

SPEAKERS = {"S13": "Vladimir Putin", "S22": "Washington", "S6": "John Kirby"}


@pytest.mark.parametrize("text, cited, expected", [
    ("US accuses Ukraine of handing leadership to foreign hands", ["S13"], "Vladimir Putin"),
    ("Putin accused Zelensky of handing Ukraine to foreign hands", ["S13"], None),
    ("The US recalled the 2014 invasion of Crimea", ["S22"], None),     # Washington = the US
    ("Kirby says Russia plans a false flag operation", ["S6"], None),
    ("He said the operation was a pretext", ["S6"], "John Kirby"),     # unresolved pronoun
    ("The EU offered assistance to Ukraine", ["S9"], None),           # no speaker known
    ("Russia massed troops near the border", ["S13"], None),          # no reported speech
])
def test_speaker_conflict(text: str, cited: list[str], expected: str | None) -> None:
    assert speaker_conflict(text, cited, SPEAKERS) == expected


def test_five_w_answers_must_be_stated(doc) -> None:  # type: ignore[no-untyped-def]
    s1, s2 = doc.sentence("S1"), doc.sentence("S2")
    assert five_w_answer_ok("who", "John Kirby", [s1])
    assert not five_w_answer_ok("who", "the spokesman", [s1])            # no name
    assert not five_w_answer_ok("where", "Ukraine", [s1])                 # not in the cited sentence
    assert five_w_answer_ok("where", "Ukraine", [s2])
    assert not five_w_answer_ok("when", "Ukraine reported a cyberattack", [s2])  # not a time
    assert not five_w_answer_ok("who", "John Kirby", [])
