"""Entailment probabilities: P(Yes) read from log-probabilities over a focused premise."""

from __future__ import annotations

import math

import pytest

from assistant.backends.base import ChatResponse, TokenLogprob
from assistant.backends.fake import FakeBackend
from assistant.core.driver import arun, new_provenance, run
from assistant.core.structured import ProbeSpec, call_probe, read_distribution, read_probability
from assistant.steps.entailment import JUDGE_ANSWERS, entail_step, judge_probe, premise
from assistant.text.checks import Reference
from assistant.text.intake import document_from_text

ARTICLE = ("Harbor bridge to close\n\nThe city council voted 7-2 on Tuesday to close the Harbor "
           "Bridge for six weeks. Repairs will cost $4.2 million, according to city engineer Dana "
           "Whitfield. The mayor said buses would be rerouted. Schools stay open during the works. "
           "Commuters will be diverted to the Elm Street crossing.")


def _lp(p: float) -> float:
    return math.log(p)


def _answer(token: str, top: dict[str, float]) -> ChatResponse:
    return ChatResponse(text=token, finish_reason="length", prompt_tokens=50, completion_tokens=1,
                        logprobs=[TokenLogprob(token=token, logprob=top.get(token, -9.0), top=top)])


@pytest.mark.parametrize(("top", "chosen", "expected"), [
    ({"Yes": _lp(0.6), "No": _lp(0.2)}, "Yes", 0.75),
    ({"Yes": _lp(0.3), " yes": _lp(0.1), "No": _lp(0.4)}, "No", 0.5),  # variants are summed
    ({"No": _lp(0.9), "Maybe": _lp(0.05)}, "No", 0.0),
    ({"Yes": _lp(0.2), "The": _lp(0.7)}, "The", 1.0),  # only Yes among the answers
])
def test_probability_from_top_logprobs(top: dict[str, float], chosen: str, expected: float) -> None:
    p, method, _ = read_probability(_answer(chosen, top), ("Yes", "No"))
    assert method == "logprobs" and p == pytest.approx(expected)


@pytest.mark.parametrize(("text", "expected"), [("Yes", 1.0), ("no.", 0.0), ("Perhaps", 0.5), ("", 0.5)])
def test_without_logprobs_the_label_is_used_and_said(text: str, expected: float) -> None:
    p, method, _ = read_probability(ChatResponse(text=text), ("Yes", "No"))
    assert (p, method) == (expected, "label")


def test_probe_asks_one_token_with_logprobs_and_counts_usage() -> None:
    fake = FakeBackend([_answer("Yes", {"Yes": _lp(0.8), "No": _lp(0.2)})])
    result = call_probe(fake, ProbeSpec("entail", {"premise": "A passage.", "claim": "A claim."}))
    request = fake.requests[0]
    assert request.max_tokens == 1 and request.top_logprobs == 10 and request.json_schema is None
    assert request.prompt.startswith("entail@")
    assert [m.role for m in request.messages] == ["system", "user"]
    assert "A passage." in request.messages[1].content and "A passage." not in request.messages[0].content
    assert result.p == pytest.approx(0.8) and result.usage.calls == 1 and result.usage.prompt_tokens == 50


def test_judge_probe_reads_three_answers_from_one_call() -> None:
    top = {"A": _lp(0.1), " B": _lp(0.5), "b": _lp(0.1), "C": _lp(0.2), "The": _lp(0.1)}
    fake = FakeBackend([_answer(" B", top)])
    result = call_probe(fake, judge_probe("The bridge closes for six weeks.", "The bridge closes for a year."))
    request = fake.requests[0]
    assert request.prompt.startswith("judge@") and request.max_tokens == 1 and request.top_logprobs == 10
    assert "A. The passage states" in request.messages[-1].content
    assert result.distribution == pytest.approx([0.1 / 0.9, 0.6 / 0.9, 0.2 / 0.9])  # variants summed
    assert result.p == pytest.approx(0.1 / 0.9) and result.method == "logprobs"


@pytest.mark.parametrize(("text", "expected"), [("B", [0.0, 1.0, 0.0]), ("c.", [0.0, 0.0, 1.0]),
                                                ("Perhaps", [1 / 3] * 3), ("Answer", [1 / 3] * 3)])
def test_judge_without_logprobs_uses_the_label(text: str, expected: list[float]) -> None:
    dist, method, _ = read_distribution(ChatResponse(text=text), JUDGE_ANSWERS)
    assert method == "label" and dist == pytest.approx(expected)


def test_premise_is_the_closest_sentences_in_article_order() -> None:
    doc = document_from_text(ARTICLE, name="bridge")
    text = premise(Reference(doc), "Repairs of the Harbor Bridge will cost $4.2 million.", k=2)
    assert "Repairs will cost $4.2 million" in text and "Harbor bridge to close" in text
    assert text.index("Harbor bridge") < text.index("$4.2 million")  # article order
    assert "Schools stay open" not in text and "Elm Street" not in text


def test_entail_step_runs_sync_and_async_with_the_same_answers() -> None:
    doc = document_from_text(ARTICLE, name="bridge")
    ref = Reference(doc)
    claims = ["The bridge closes for six weeks.", "The bridge closes for a year."]

    def answer(request):  # type: ignore[no-untyped-def]
        good = "six weeks" in request.messages[-1].content.split("Claim:")[1]
        return _answer("Yes" if good else "No", {"Yes": _lp(0.9 if good else 0.1), "No": _lp(0.1 if good else 0.9)})

    fake = FakeBackend(default=answer)
    prov = new_provenance(fake)
    sync = run(entail_step(ref, claims), fake, prov)
    assert [round(p.p, 2) for p in sync] == [0.9, 0.1] and prov.usage.calls == 2
    import asyncio

    again = asyncio.run(arun(entail_step(ref, claims), fake, new_provenance(fake)))
    assert [round(p.p, 2) for p in again] == [0.9, 0.1]
    assert run(entail_step(ref, []), fake, new_provenance(fake)) == []
