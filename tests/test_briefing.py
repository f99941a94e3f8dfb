"""Briefing notes against a scripted model: grounding, merging, verdicts, rendering, CLI."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import sys
from html.parser import HTMLParser

import pytest
from brief_helpers import (
    EXAMPLE,
    example_briefing,
    fake_assistant,
    flood_documents,
    hostile_document,
    responder,
)
from pydantic import ValidationError

from assistant import AsyncAssistant, FakeBackend, UserError
from assistant.briefing import (
    CSP,
    Briefing,
    Confidence,
    Likelihood,
    build_briefing,
    iter_citations,
    to_html,
    to_json,
    to_markdown,
)
from assistant.briefing.match import figures
from assistant.briefing.sections import generic_speaker, period, unnamed
from assistant.schemas import ClaimVerdict, EvidenceDocument, EvidenceQuote, FactCheckReport, Quote
from assistant.text.grounding import sentence_quote, verify_quote
from assistant.text.intake import document_from_text, load_document
from assistant.text.signals import spacy_available

# Expectations of spaCy-quality NER and roles; the regex fallback is tested on its own.
NEEDS_SPACY = pytest.mark.skipif(not spacy_available(), reason="needs spaCy and en_core_web_sm (the nlp extra)")


@pytest.fixture(scope="module")
def example() -> Briefing:
    return example_briefing()


@pytest.fixture(scope="module")
def flood() -> Briefing:
    return fake_assistant().brief(flood_documents())


# --------------------------------------------------------------------------- grounding


def test_every_statement_is_cited_with_the_sources_exact_words(example: Briefing) -> None:
    sections = [example.bottom_line.lines, example.known, example.claimed, example.unknowns,
                example.checks, example.actors, example.timeline]
    for section in sections:
        assert section, "the example article fills every section but 'disputed'"
        for item in section:
            assert item.citations, f"uncited: {item}"
    for c in iter_citations(example):
        doc = example.sources[c.source - 1].document
        assert verify_quote(doc, Quote(sentence_id=c.sentence_id, text=c.text, start=c.start, end=c.end))


@NEEDS_SPACY
def test_sections_follow_the_classification_rules(example: Briefing) -> None:
    known = " ".join(k.text for k in example.known)
    assert "$214 million" in known or "9 to 4" in known, "the outlet's own statistic is known"
    assert all(k.confidence == Confidence.moderate and k.likelihood == Likelihood.likely
               for k in example.known), "one source in its own voice: moderate, likely"
    claimants = {c.claimant for c in example.claimed}
    assert {"Maria Okafor", "Hannah Lindqvist"} <= claimants
    okafor = next(c for c in example.claimed if c.claimant == "Maria Okafor")
    assert okafor.role == "city's transport commissioner" and okafor.likelihood is None
    # a quote continuing Okafor's words is hers, not the outlet's voice
    assert not any("Closing it is painful" in k.text for k in example.known)
    kinds = {u.kind for u in example.unknowns}
    assert {"no_response", "hedged", "unnamed_source"} <= kinds
    assert any("allegedly" in u.text for u in example.unknowns if u.kind == "hedged")
    assert any("did not respond" in u.text for u in example.unknowns if u.kind == "no_response")
    worth = [c.check_worthiness for c in example.checks]
    assert worth == sorted(worth, reverse=True) and [c.rank for c in example.checks] == list(
        range(1, len(worth) + 1))
    people = {a.name: a for a in example.actors}
    assert people["Maria Okafor"].kind == "person" and people["Maria Okafor"].speaks
    assert [r.role for r in people["Hannah Lindqvist"].roles] == ["spokeswoman for Kestrel"]
    assert "Kestrel" not in people, "a short name folds into 'Kestrel Civil Works'"
    assert example.disputed == [] and example.agreements == []
    assert any("No evidence was given" in n for n in example.notes)


def test_timeline_has_absolute_dates_in_order(example: Briefing) -> None:
    starts = [period(t.date)[0] for t in example.timeline]  # type: ignore[index]
    assert starts == sorted(starts)
    by_expression = {t.expression: t for t in example.timeline}
    assert by_expression["last December"].date == "2023-12" and by_expression["last December"].relative
    assert by_expression["on Monday"].date == "2024-03-11" and by_expression["on Monday"].label == "Mon 11 Mar 2024"
    assert by_expression["in 1968"].relative is False, "a written year needs no resolving"
    for t in example.timeline:
        assert t.expression in t.text and t.text == t.citations[0].text


def test_briefing_rejects_a_citation_that_is_not_the_source_text(example: Briefing) -> None:
    data = json.loads(to_json(example))
    data["known"][0]["citations"][0]["text"] = "The council voted 12 to 1."
    with pytest.raises(ValidationError, match="do not match their source"):
        Briefing.model_validate(data)
    assert Briefing.model_validate_json(to_json(example)) == example


def test_build_briefing_is_pure_and_deterministic() -> None:
    doc = load_document(EXAMPLE)
    analysis = fake_assistant().analyze(doc)
    first = build_briefing([(doc, analysis)]).model_dump_json()
    assert build_briefing([(doc, analysis)]).model_dump_json() == first


def test_two_key_points_on_the_same_sentence_are_one_statement() -> None:
    doc = load_document(EXAMPLE)
    analysis = fake_assistant().analyze(doc)
    points = analysis.summary.key_points
    twice = analysis.model_copy(update={"summary": analysis.summary.model_copy(
        update={"key_points": [*points, points[0].model_copy(update={"text": "Another wording."})]})})
    b = build_briefing([(doc, twice)])
    sid = points[0].sentence_ids[0]
    items = [i for i in [*b.known, *b.claimed] if any(c.sentence_id == sid for c in i.citations)]
    assert len(items) == 1


def test_brief_refuses_nothing_and_mismatched_pairs() -> None:
    with pytest.raises(UserError, match="at least one article"):
        fake_assistant().brief([])
    a, b = flood_documents()
    analysis = fake_assistant().analyze(a)
    with pytest.raises(UserError, match="not of the document"):
        build_briefing([(b, analysis)])


def test_the_same_article_twice_is_analysed_once() -> None:
    doc = load_document(EXAMPLE)
    fake = FakeBackend(default=responder)
    from assistant import Assistant

    briefing = Assistant(fake).brief([doc, doc])
    assert len(briefing.sources) == 1 and len(fake.requests) == 3
    assert any("given twice" in n for n in briefing.notes)


# --------------------------------------------------------------------------- several articles


def test_two_articles_contradiction_lists_both_quotes(flood: Briefing) -> None:
    a, b = flood_documents()
    [d] = flood.disputed
    assert d.kind == "across_sources"
    assert [s.source for s in d.sides] == [1, 2]
    assert d.sides[0].figures == ["340 residents"] and d.sides[1].figures == ["430 residents"]
    quotes = {c.text for c in d.citations}
    assert a.sentence("S3").text in quotes and b.sentence("S3").text in quotes
    assert "340 residents" in d.text and "430 residents" in d.text
    assert d.first_reported_by == [1], "source 1 was published a day earlier"
    assert d.confidence == Confidence.low and d.likelihood is None
    # the disputed figure is not stated as known, nor claimed
    assert not any(c.sentence_id == "S3" for k in flood.known for c in k.citations)
    assert not any(c.sentence_id == "S3" for k in flood.claimed for c in k.citations)
    assert flood.bottom_line.confidence == Confidence.low
    assert any(x.label == "Disputed" for x in flood.bottom_line.lines)
    md, page = to_markdown(flood), to_html(flood)
    for q in (a.sentence("S3").text, b.sentence("S3").text):
        assert q in md.replace("\\", "") and q in page


def test_two_articles_agreement_is_known_with_high_confidence_and_first_reporter(flood: Briefing) -> None:
    [agreement] = flood.agreements
    assert "5.2 metres" in agreement.text and [s.source for s in agreement.sides] == [1, 2]
    assert agreement.first_reported_by == [1] and agreement.first_reported_on == dt.date(2024, 4, 8)
    top = flood.known[0]
    assert "5.2 metres" in top.text and top.sources == [1, 2]
    assert top.confidence == Confidence.high and top.likelihood == Likelihood.very_likely
    assert flood.as_of == dt.date(2024, 4, 9)
    sunday = [t for t in flood.timeline if t.date == "2024-04-07"]
    assert sunday and all(len({c.source for c in t.citations}) == 2 for t in sunday), \
        "matched sentences of both sources share one timeline entry"


async def test_async_brief_matches_sync(flood: Briefing) -> None:
    result = await AsyncAssistant(FakeBackend(default=responder)).brief(flood_documents())
    assert result.disputed == flood.disputed and result.known == flood.known
    assert result.timeline == flood.timeline


# --------------------------------------------------------------------------- evidence verdicts


def _report(doc, analysis, evidence_doc):  # type: ignore[no-untyped-def]
    q = sentence_quote(evidence_doc, "S1")
    quote = EvidenceQuote(document="E1", sentence_id=q.sentence_id, text=q.text, start=q.start,
                          end=q.end, stance="supports", score=3.0)
    claims = {c.sentence_ids[0]: c for c in analysis.claims}

    def verdict(sid: str, v: str, conf: str) -> ClaimVerdict:
        c = claims[sid]
        return ClaimVerdict(claim_id=c.id, claim_text=c.text, verdict=v, confidence=conf,
                            evidence=[] if v == "not_enough_evidence" else [quote], rationale=f"{v} by E1")

    return FactCheckReport(
        article=None,
        evidence_documents=[EvidenceDocument(id="E1", title=evidence_doc.title, doc_id=evidence_doc.doc_id,
                                             sentences=len(evidence_doc.sentences))],
        verdicts=[verdict("S4", "supported", "high"), verdict("S5", "refuted", "moderate"),
                  verdict("S7", "not_enough_evidence", "low")])


def test_evidence_verdicts_move_claims_between_sections() -> None:
    doc = load_document(EXAMPLE)
    analysis = fake_assistant().analyze(doc)
    records = document_from_text("Council minutes of March 11, 2024 record a 9 to 4 vote approving a "
                                 "$214 million repair contract.\n", name="minutes.txt")
    b = build_briefing([(doc, analysis)], verdicts=[_report(doc, analysis, records)], evidence=[records])
    assert [(s.role, s.label) for s in b.sources] == [("article", "article"), ("evidence", "E1")]
    ref = {c.sentence_ids[0]: f"1:{c.id}" for c in analysis.claims}
    [supported] = [k for k in b.known if ref["S4"] in k.claim_refs]
    assert supported.verdict is not None and supported.verdict.verdict == "supported"
    assert supported.confidence == Confidence.high and supported.likelihood == Likelihood.very_likely
    assert supported.verdict.evidence[0].source == 2 and supported.verdict.evidence[0].anchor == "src2-S1"
    [refuted] = [d for d in b.disputed if d.kind == "evidence"]
    assert refuted.verdict is not None and refuted.likelihood == Likelihood.unlikely
    assert {c.source for c in refuted.citations} == {1, 2} and len(refuted.sides) == 2
    assert not any(ref["S5"] in c.claim_refs for c in b.claimed), "refuted claims move to disputed"
    assert any(u.kind == "not_settled" for u in b.unknowns)
    assert ref["S4"] not in {c.claim_ref for c in b.checks}, "settled with high confidence: not to check"
    assert not any("No evidence was given" in n for n in b.notes)
    assert 'id="src2-S1"' in to_html(b)


def test_brief_with_evidence_calls_fact_check_with_the_claims(tmp_path) -> None:  # type: ignore[no-untyped-def]
    evidence = tmp_path / "minutes.txt"
    evidence.write_text("Council minutes record a 9 to 4 vote approving a $214 million contract.\n",
                        encoding="utf-8")
    assistant = fake_assistant()
    calls = []

    def fact_check(claims, evidence, published):  # type: ignore[no-untyped-def]
        calls.append((claims, evidence, published))
        doc = load_document(EXAMPLE)
        return _report(doc, assistant.analyze(doc), evidence[0])

    assistant.fact_check = fact_check  # type: ignore[method-assign]
    b = assistant.brief(EXAMPLE, evidence=[evidence])
    [(claims, docs, published)] = calls
    assert claims and all(c.id.startswith("C") for c in claims)
    assert docs[0].doc_id == b.sources[1].document.doc_id and published == dt.date(2024, 3, 12)
    assert any(k.verdict for k in b.known)


# --------------------------------------------------------------------------- rendering


def test_markdown_footnotes_resolve_to_the_exact_sentences(example: Briefing) -> None:
    md = to_markdown(example)
    refs = set(re.findall(r"\[\^([^\]]+)\](?!:)", md))
    defs = dict(re.findall(r"^\[\^([^\]]+)\]: (.*)$", md, re.MULTILINE))
    assert refs and refs == set(defs), "every footnote is defined and every definition used"
    for label, text in defs.items():
        source, sid = label.split("-")
        sentence = example.sources[int(source) - 1].document.sentence(sid).text
        assert re.sub(r"\\(.)", r"\1", text) == f"Source {source}, {sid}: “{' '.join(sentence.split())}”"
    for heading in ("What we know", "Claimed but not verified", "Disputed", "What we don't know",
                    "What to check next", "People and organisations", "Timeline", "Sources",
                    "How to read this briefing"):
        assert f"## {heading}" in md
    assert "Bottom line up front" in md and "ICD 203" in md


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs += attrs
        for k, v in attrs:
            if k == "id" and v:
                self.ids.add(v)
            if k == "href" and v:
                self.hrefs.append(v)


def test_html_is_self_contained_and_every_link_has_a_target(example: Briefing) -> None:
    page = to_html(example)
    parsed = _Links()
    parsed.feed(page)
    assert f'content="{CSP}"' in page and "default-src 'none'" in CSP
    assert not parsed.tags & {"script", "img", "iframe", "object", "embed", "link", "form"}
    assert not [k for k, _ in parsed.attrs if k in ("src", "srcset") or k.startswith("on")]
    assert "@import" not in page and "url(" not in page
    assert all(h.startswith("#") for h in parsed.hrefs), "nothing leaves the page (no URL in the example)"
    assert {h[1:] for h in parsed.hrefs} <= parsed.ids
    assert {c.anchor for c in iter_citations(example)} <= parsed.ids
    for section in ("bluf", "known", "claimed", "disputed", "unknown", "next", "people", "timeline",
                    "sources", "scales", "appendix"):
        assert section in parsed.ids
    assert "@media print" in page and 'name="viewport"' in page


def test_hostile_article_renders_as_text() -> None:
    b = fake_assistant().brief(hostile_document())
    page = to_html(b)
    parsed = _Links()
    parsed.feed(page)
    assert not parsed.tags & {"script", "img", "b"}
    assert not [k for k, _ in parsed.attrs if k.startswith("on")]
    assert not [h for h in parsed.hrefs if not h.startswith("#")], "javascript: never becomes a link"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "&lt;a href=&quot;javascript:alert(3)&quot;&gt;" in page
    assert "javascript:alert(4)" in page and "&lt;b&gt;Evil Outlet&lt;/b&gt;" in page
    md = to_markdown(b)
    assert not re.search(r"(?<!\\)<", md), "every < of the source is escaped: no raw HTML"
    assert "&lt;script&gt;alert(1)" in md and "](javascript" not in md


# --------------------------------------------------------------------------- CLI


def test_cli_writes_each_format_and_reports_progress(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import assistant.backends as backends
    from assistant.cli import main

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(backends, "get_backend", lambda *a, **k: FakeBackend(default=responder))
    out = tmp_path / "brief.json"
    terminal, original = Terminal(), sys.stderr
    monkeypatch.setattr(sys, "stderr", terminal)  # progress shows on a terminal only
    assert main(["brief", str(EXAMPLE), "--format", "json", "-o", str(out)]) == 0
    monkeypatch.setattr(sys, "stderr", original)
    b = Briefing.model_validate_json(out.read_text(encoding="utf-8"))
    assert b.known and b.sources[0].document.source == str(EXAMPLE)
    err = terminal.getvalue()
    assert "[1/1]" in err and "reading the article" in err and "building the briefing" in err
    assert main(["brief", str(EXAMPLE), "--format", "html", "--quiet", "-o", str(tmp_path / "b.html")]) == 0
    assert (tmp_path / "b.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["brief", str(EXAMPLE), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("# Briefing:") and captured.err == ""
    assert main(["brief", str(tmp_path / "missing.txt")]) != 0
    assert capsys.readouterr().err.count("\n") == 1, "an error is one line"


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(("text", "expected"), [
    ("Crews evacuated 340 residents on Sunday.", {("cardinal", "resid"): {340.0: "340 residents"}}),
    ("Turnout was 40 percent in 2019.", {("percent", "percent"): {40.0: "40 percent"}}),
    ("A $214 million contract.", {("money", "money"): {214e6: "$214 million"}}),
    ("It opened in 1968.", {}),
])
def test_figures(text: str, expected: dict) -> None:  # type: ignore[type-arg]
    assert figures(text) == expected


@pytest.mark.parametrize(("resolved", "precision", "label"), [
    ("2022-01-14", "day", "Fri 14 Jan 2022"), ("2022-W02", "week", "week of 10 Jan 2022"),
    ("2021-12", "month", "Dec 2021"), ("2014", "year", "2014"),
])
def test_period(resolved: str, precision: str, label: str) -> None:
    found = period(resolved)
    assert found is not None and found[1:] == (precision, label)


@pytest.mark.parametrize(("text", "speaker"), [
    ("Residents said they had little warning.", "Residents"),
    ("People familiar with the talks said they failed.", "People familiar with the talks"),
    ("The city, officials said, will pay.", "officials"),
    ("He said so.", None), ("Council members voted 9 to 4.", None),
])
def test_generic_speaker(text: str, speaker: str | None) -> None:
    assert generic_speaker(text) == speaker


@pytest.mark.parametrize(("speaker", "expected"), [
    ("officials", True), ("one losing contractor", True), ("a spokeswoman", True),
    ("US government", False), ("North American country", False), ("county emergency office", False),
])
def test_unnamed(speaker: str, expected: bool) -> None:
    assert unnamed(speaker) is expected
