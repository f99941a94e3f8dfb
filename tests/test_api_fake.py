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
    """A stand-in model for the read call: cites plausible sentences, and makes some
    classic mistakes (a sentence number that does not exist, the title as a main point)."""
    article, _ = split_turn(request.messages[1].content)
    sentences = dict(re.findall(r"^\[(\d+)\] (.*)$", article, re.MULTILINE))
    keys = [int(k) for k, v in sentences.items() if not v.startswith(("He ", "She "))]
    main = [*keys[2:5], 999, keys[0]] if len(keys) >= 5 else keys
    return {"headline": "Harbor bridge to close for repairs", "main": main,
            "check": [n for n in keys if n % 2][:8]}


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
    ids = [kp.sentence_ids for kp in result.summary.key_points]
    picks = responder(fake.requests[0])["main"][:3]
    assert ids[:3] == [[f"S{n}"] for n in picks], "the model's picks, without the bad id and the title"
    assert len(ids) == 5, "topped up to five by importance"
    notes = " | ".join(result.provenance.notes)
    assert "[999] outside" in notes and "skipped (title" in notes
    assert result.summary.headline == "Harbor bridge to close for repairs"
    assert result.claims, "the example article has check-worthy claims"
    assert any(c.attribution.speaker for c in result.claims)
    assert result.questions and all(q.question for q in result.questions)
    # one call for the whole analysis; the fixed instructions come before the article
    assert result.provenance.usage.calls == 1
    assert {p.name for p in result.provenance.prompts} == {"read", "reask"}  # reask: its hash, unused
    md = to_markdown(result)
    assert "## Claims" in md and "### Key points" in md
    assert result.model_validate_json(result.model_dump_json()) == result


async def test_async_assistant_matches_sync(doc) -> None:  # type: ignore[no-untyped-def]
    sync = Assistant(FakeBackend(default=responder)).analyze(doc)
    result = await AsyncAssistant(FakeBackend(default=responder)).analyze(doc)
    assert result.summary.key_points == sync.summary.key_points
    assert [c.text for c in result.claims] == [c.text for c in sync.claims]
    assert [q.question for q in result.questions] == [q.question for q in sync.questions]


def test_long_article_is_read_in_chunks_with_global_ids(doc) -> None:  # type: ignore[no-untyped-def]
    fake = FakeBackend(default=responder)
    summary = Assistant(fake, chunk_tokens=200).summarize(doc)
    assert summary.provenance is not None and summary.provenance.chunks > 1
    assert len(fake.requests) == summary.provenance.chunks
    later = _numbers(fake.requests[1].messages[1].content)
    assert later[0] > 1, "sentence numbers stay global in later chunks"
    # each chunk's best point first, then their seconds: later chunks are not crowded out
    firsts = [responder(r)["main"][0] for r in fake.requests]
    assert [kp.sentence_ids[0] for kp in summary.key_points][:2] == [f"S{n}" for n in firsts[:2]]
    assert summary.headline == "Harbor bridge to close for repairs"
    for kp in summary.key_points:
        assert all(verify_quote(doc, q) for q in kp.quotes)


def test_unusable_answers_raise_after_bounded_re_asks_without_fallback(doc) -> None:  # type: ignore[no-untyped-def]
    fake = FakeBackend(default='{"headline": "Mayor Zorblax resigns", "main": ["one"]}')
    with pytest.raises(OutputValidationError, match="main"):
        Assistant(fake, max_attempts=2, fallback=False).summarize(doc)
    assert len(fake.requests) == 2


def test_failed_stages_fall_back_to_the_article_and_say_so(doc) -> None:  # type: ignore[no-untyped-def]
    fake = FakeBackend(default="not json at all")
    result = Assistant(fake, max_attempts=2).analyze(doc)
    assert len(fake.requests) == 2 and result.provenance.usage.calls == 2
    notes = " | ".join(result.provenance.notes)
    assert "built by code alone" in notes
    assert len(result.summary.key_points) >= 3 and all(kp.support == 1.0 for kp in result.summary.key_points)
    assert result.summary.headline == doc.title
    check_grounded(doc, result)
    # Claims are built by code from their sentence (steps.atomic): nothing outside the
    # sentence, its speaker and its resolved dates, and the quote is the sentence.
    assert result.claims
    for c in result.claims:
        sentence = doc.sentence(c.sentence_ids[0])
        sources = [sentence.text, c.attribution.speaker or "", c.attribution.role or "",
                   *(date_phrase(d.resolved) or "" for d in c.dates)]
        assert c.quotes[0].text == sentence.text and not claim_problems(c.text, sources), c.text
    # Questions are built by code from the claims' parse, and they pass the checks.
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
        if task.startswith("EVIDENCE:"):
            return _json.dumps({"stance": "supports"})
        if "Answer with the JSON object" in task:  # the read call: a hostile headline
            return _json.dumps({"headline": f"H {HOSTILE}", "main": [2], "check": [1, 2, 3]})
        return "{}"

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
