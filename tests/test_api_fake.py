"""The whole analysis pipeline against a scripted model: grounding is enforced by code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from articles import split_turn

from assistant import Assistant, AsyncAssistant, FakeBackend, OutputValidationError, to_markdown
from assistant.backends.base import ChatRequest
from assistant.steps.atomic import claim_problems, date_phrase
from assistant.steps.questions import question_problems
from assistant.text.grounding import verify_quote
from assistant.text.intake import document_from_text, load_document

EXAMPLE = Path(__file__).resolve().parents[1] / "assistant" / "examples" / "harbor-bridge-closure.txt"


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"^\[(\d+)\]", text, re.MULTILINE)]


def responder(request: ChatRequest) -> dict[str, Any]:
    """A stand-in model: cites plausible sentences, and makes some classic mistakes."""
    article, task = split_turn(request.messages[1].content)
    sentences = dict(re.findall(r"^\[(\d+)\] (.*)$", article, re.MULTILINE))
    if "Summarise" in task:
        keys = [int(k) for k, v in sentences.items() if not v.startswith(("He ", "She "))]
        first = keys[2:7] if len(keys) >= 7 else keys
        points = [{"text": " ".join(sentences[str(n)].split()[:12]), "ids": [n]} for n in first[:3]]
        if len(first) == 5:
            points.append({"text": sentences[str(first[3])], "ids": [first[0]]})  # off-target id
            points.append({"text": "Aliens landed in Springfield on Monday", "ids": [first[4]]})
        return {"headline": "Harbor bridge to close for repairs", "tldr": "The council voted on repairs.",
                "key_points": points, "who": {"text": "city council", "ids": [first[0]]},
                "when": None, "where": None, "why": None}
    if "may contain claims" in task:
        claims = []
        for n in _numbers(task):
            text = sentences[str(n)]
            claims.append({"id": n, "claim": text[:150] if n % 2 else "Zorblax invented 999 widgets",
                           "type": "statistic", "speaker": None, "checkworthy": True, "quote": None})
        return {"claims": claims}
    claims = re.findall(r"^(\d+)\. (.*)$", task, re.MULTILINE)
    return {"questions": [{"claim": int(n), "question": f"Do public records confirm that {t[:80]}?",
                           "method": "official_record", "who": "city clerk"} for n, t in claims]}


@pytest.fixture
def doc():  # type: ignore[no-untyped-def]
    return load_document(EXAMPLE)


def check_grounded(doc, analysis) -> None:  # type: ignore[no-untyped-def]
    for kp in analysis.summary.key_points:
        assert kp.sentence_ids and all(verify_quote(doc, q) for q in kp.quotes)
    for c in analysis.claims:
        assert verify_quote(doc, c.quote) and c.quote.sentence_id in c.sentence_ids
        for d in c.dates:
            assert doc.text[d.start:d.end] == d.expression
    claim_ids = {c.id for c in analysis.claims}
    assert {q.claim_id for q in analysis.questions} <= claim_ids


def test_analyze_grounds_everything_and_repairs_model_mistakes(doc) -> None:  # type: ignore[no-untyped-def]
    fake = FakeBackend(default=responder)
    result = Assistant(fake).analyze(doc)
    check_grounded(doc, result)
    texts = [kp.text for kp in result.summary.key_points]
    assert not any("Aliens" in t for t in texts), "an unsupported key point must be dropped"
    assert len(result.summary.key_points) == 4
    notes = " | ".join(result.provenance.notes)
    assert "re-anchored" in notes and "dropped" in notes
    assert result.claims, "the example article has check-worthy claims"
    assert not any("Zorblax" in c.text for c in result.claims), "invented claim text must be replaced"
    assert all(c.text == doc.sentence(c.sentence_ids[0]).text or "Zorblax" not in c.text for c in result.claims)
    assert any(c.attribution.speaker for c in result.claims)
    assert result.questions and all(q.question for q in result.questions)
    # one call per stage, article first in each so a prefix cache applies
    assert result.provenance.usage.calls == 3
    assert len({r.messages[0].content for r in fake.requests}) == 1
    assert {p.name for p in result.provenance.prompts} >= {"article", "summarize", "claims", "questions"}
    md = to_markdown(result)
    assert "## Claims" in md and "### Key points" in md
    assert result.model_validate_json(result.model_dump_json()) == result


async def test_async_assistant_matches_sync(doc) -> None:  # type: ignore[no-untyped-def]
    sync = Assistant(FakeBackend(default=responder)).analyze(doc)
    result = await AsyncAssistant(FakeBackend(default=responder)).analyze(doc)
    assert result.summary.key_points == sync.summary.key_points
    assert [c.text for c in result.claims] == [c.text for c in sync.claims]


def test_long_article_is_map_reduced_with_global_ids(doc) -> None:  # type: ignore[no-untyped-def]
    def reduce_or_respond(request: ChatRequest) -> dict[str, Any]:
        if "partial summaries" in request.messages[0].content:
            return {"headline": "Harbor bridge closure", "tldr": "The council approved repairs.",
                    "keep": [3, 1, 2]}
        return responder(request)

    fake = FakeBackend(default=reduce_or_respond)
    summary = Assistant(fake, chunk_tokens=200).summarize(doc)
    assert summary.provenance is not None and summary.provenance.chunks > 1
    calls = [r for r in fake.requests if "Summarise" in r.messages[-1].content]
    assert len(calls) == summary.provenance.chunks
    later = _numbers(calls[1].messages[1].content)
    assert later[0] > 1, "sentence numbers stay global in later chunks"
    assert summary.headline == "Harbor bridge closure"
    for kp in summary.key_points:
        assert all(verify_quote(doc, q) for q in kp.quotes)


def test_unrepairable_summary_raises_after_bounded_re_asks(doc) -> None:  # type: ignore[no-untyped-def]
    bad = {"headline": "Mayor Zorblax resigns", "tldr": "x", "key_points": [
        {"text": "Nothing", "ids": [1]}, {"text": "Nothing", "ids": [1]}, {"text": "Nothing", "ids": [1]}]}
    fake = FakeBackend(default=bad)
    with pytest.raises(OutputValidationError, match="Zorblax"):
        Assistant(fake, max_attempts=2, fallback=False).summarize(doc)
    assert len(fake.requests) == 2


def test_failed_stages_fall_back_to_the_article_and_say_so(doc) -> None:  # type: ignore[no-untyped-def]
    fake = FakeBackend(default="not json at all")
    result = Assistant(fake, max_attempts=2).analyze(doc)
    assert len(fake.requests) == 6 and result.provenance.usage.calls == 6
    notes = " | ".join(result.provenance.notes)
    assert "extractive summary" in notes and "claims taken from the article" in notes
    assert result.summary.key_points and all(kp.support == 1.0 for kp in result.summary.key_points)
    check_grounded(doc, result)
    # Claims are built by code from their sentence (steps.atomic): nothing outside the
    # sentence, its speaker and its resolved dates, and the quote is the sentence.
    assert result.claims
    for c in result.claims:
        sentence = doc.sentence(c.sentence_ids[0])
        sources = [sentence.text, c.attribution.speaker or "", c.attribution.role or "",
                   *(date_phrase(d.resolved) or "" for d in c.dates)]
        assert c.quotes[0].text == sentence.text and not claim_problems(c.text, sources), c.text
    # With no model question, code builds them from the claims' parse, and they pass the checks.
    by_id = {c.id: c for c in result.claims}
    assert result.questions and not [q.question for q in result.questions
                                     if question_problems(q.question, by_id[q.claim_id])]
    assert not any("according to this" in q.question for q in result.questions)


def test_one_line_article_text_is_not_taken_for_a_path() -> None:
    from assistant.api import as_document

    text = "The council approved the budget on Monday. " * 10
    doc = as_document(text.strip())
    assert len(doc.sentences) == 10


def test_a_path_is_a_file_and_a_missing_one_is_an_input_error(tmp_path: Path) -> None:
    from assistant.errors import InputError

    fake = FakeBackend(default="{}")
    a = Assistant(fake)
    for bad in (tmp_path / "does_not_exist.txt", tmp_path):
        with pytest.raises(InputError):
            a.analyze(bad)
        with pytest.raises(InputError):
            a.analyze_file(str(bad))
    assert fake.requests == [], "no paid call for a path that is not a file"


def test_a_str_is_always_text_even_when_it_names_a_file() -> None:
    from assistant.api import as_document

    example = Path(__file__).resolve().parents[1] / "assistant" / "examples" / "harbor-bridge-closure.txt"
    assert as_document(str(example)).text == str(example)
    assert as_document(example).text.startswith(example.read_text(encoding="utf-8")[:40])
    assert as_document("does_not_exist.txt").text == "does_not_exist.txt"


HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))"


def test_markdown_escapes_html_in_every_article_and_model_field() -> None:
    from assistant.briefing import build_briefing
    from assistant.briefing import to_markdown as brief_md
    from assistant.render.factcheck import factcheck_md

    text = (f"{HOSTILE} said the mayor on Monday. The council approved a $5 million plan "
            f"for the bridge, {HOSTILE} officials said. Repairs will take 9 weeks, the city "
            "said.")
    doc = document_from_text(text, title=f"Title {HOSTILE}", outlet=HOSTILE)

    def answer(request: ChatRequest) -> str:
        import json as _json

        _, task = split_turn(request.messages[-1].content)
        if "Summarise" in task:
            return _json.dumps({"headline": f"H {HOSTILE}", "tldr": f"T {HOSTILE}",
                                "key_points": [{"text": f"K {HOSTILE}", "ids": [2]}],
                                "who": {"text": HOSTILE, "ids": [1]}, "when": None,
                                "where": None, "why": None})
        if "may contain claims" in task:
            ids = [int(n) for n in re.findall(r"^\[(\d+)\]", task, re.MULTILINE)]
            return _json.dumps({"claims": [{"id": n, "claim": f"C {HOSTILE}", "type": "statistic",
                                            "speaker": HOSTILE, "checkworthy": True,
                                            "quote": None} for n in ids]})
        if task.startswith("EVIDENCE:"):
            return _json.dumps({"stance": "supports"})
        listed = re.findall(r"^(\d+)\. ", task, re.MULTILINE)
        return _json.dumps({"questions": [{"claim": int(n), "question": f"Q {HOSTILE}?",
                                           "method": "official_record", "who": HOSTILE}
                                          for n in listed]})

    a = Assistant(FakeBackend(default=answer))
    result = a.analyze(doc)
    report = a.fact_check(result.claims, [text])
    rendered = [to_markdown(result), factcheck_md(report),
                brief_md(build_briefing([(doc, result)], verdicts=[report], evidence=[]))]
    for md in rendered:
        raw = [line for line in md.splitlines() if re.search(r"<(?:script|img)|(?<!\\)\]\(", line)]
        assert raw == [], "raw HTML or a live link from the article or the model"
    assert result.claims and result.summary.key_points and report.verdicts
    assert rendered[0].count("&lt;script&gt;") >= 3  # title, outlet, and the article text
