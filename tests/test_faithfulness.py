"""check_summary against a scripted model: checks and model combine, ids become quotes."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from articles import split_turn

from assistant import Assistant, AsyncAssistant, FakeBackend, InputError, Options
from assistant.backends.base import ChatRequest, ChatResponse, TokenLogprob
from assistant.core.driver import new_provenance, run
from assistant.schemas import ErrorType, FaithfulnessReport, FaithLabel, MismatchKind
from assistant.steps.faithfulness import (
    changed_unsupported,
    check_summary_offline,
    faithfulness_step,
)
from assistant.text.grounding import verify_quote
from assistant.text.intake import document_from_text
from assistant.text.signals import spacy_available

# Expectations of spaCy-quality NER and roles; the regex fallback is tested on its own.
NEEDS_SPACY = pytest.mark.skipif(not spacy_available(), reason="needs spaCy and en_core_web_sm (the nlp extra)")

ARTICLE = """Harbor Bridge to close for repairs

The city council voted 7-2 on Tuesday to close the Harbor Bridge for 18 months.
Mayor Jane Smith said the repairs will cost $45 million.
Engineers found cracks in two support beams last December.
Local shops fear losing customers during the closure.
"""


@pytest.fixture(scope="module")
def doc():  # type: ignore[no-untyped-def]
    return document_from_text(ARTICLE, published="2024-01-10")


def judge_by_keyword(request: ChatRequest) -> dict[str, Any]:
    """A stand-in judge: 'not supported' when the sentence mentions 'rose', else supported,
    citing the first candidate listed."""
    _, task = split_turn(request.messages[-1].content)
    sentence = re.search(r"SUMMARY SENTENCE: (.*)", task)
    first = re.search(r"^\[(\d+)\]", task, re.MULTILINE)
    assert sentence and first
    if "praised" in sentence.group(1):
        return {"changed": "praised", "label": "not_supported", "error": "predicate", "ids": []}
    if "feared" in sentence.group(1):  # a flag naming words the article does contain
        return {"changed": "shops fear", "label": "not_supported", "error": "predicate", "ids": []}
    return {"changed": "", "label": "supported", "error": "none", "ids": [int(first.group(1))]}


JUDGE = {"faithfulness_judge": True, "faithfulness_probe": False}  # the generated judge alone


def run_with(doc, summary: str, fake: FakeBackend, **options: Any) -> FaithfulnessReport:  # type: ignore[no-untyped-def]
    options = {"judge": True, "probe": False, **options}
    step = faithfulness_step(doc, summary, Options(faithfulness=options), len)
    return run(step, fake, new_provenance(fake)).value


SUMMARY = ("The council voted to close the Harbor Bridge for 18 months. "
           "Mayor John Smith said repairs would cost $45 million. "
           "Shop owners praised the closure.")


@NEEDS_SPACY
def test_each_sentence_gets_a_label_ids_and_exact_quotes(doc) -> None:  # type: ignore[no-untyped-def]
    fake = FakeBackend(default=judge_by_keyword)
    report = Assistant(fake, **JUDGE).check_summary(doc, SUMMARY)
    assert isinstance(report, FaithfulnessReport) and report.mode == "combined"
    first, second, third = report.sentences
    assert first.label == FaithLabel.supported and first.decided_by == "support"
    assert first.sentence_ids == ["S2"]
    assert all(verify_quote(doc, q) for j in report.sentences for q in j.quotes)
    # a deterministic mismatch decides, whatever the model said
    assert second.label == FaithLabel.not_supported and second.decided_by == "checks"
    assert second.error_type == ErrorType.entity and second.model_label == FaithLabel.supported
    [m] = second.mismatches
    assert m.kind == MismatchKind.entity
    assert SUMMARY[m.claim_span.start:m.claim_span.end] == "John Smith", "offsets index the summary"
    assert m.source_span is not None and m.source_span.text == "Jane Smith"
    # by default the model's verdict is reported beside the decision, not as it
    assert third.model_label == FaithLabel.not_supported and third.model_changed == "praised"
    assert third.changed_unsupported == ["praised"]
    assert SUMMARY[third.start:third.end] == third.text
    # one call per summary sentence, all on the same article prefix (KV cache reuse)
    assert len(fake.requests) == 3
    assert len({r.messages[0].content for r in fake.requests}) == 1
    assert "[2] The city council voted" in fake.requests[0].messages[1].content
    assert report.provenance is not None and {"faithfulness", "article"} <= {
        p.name for p in report.provenance.prompts}
    assert FaithfulnessReport.model_validate_json(report.model_dump_json()) == report


def test_model_decides_when_asked(doc) -> None:  # type: ignore[no-untyped-def]
    report = run_with(doc, SUMMARY, FakeBackend(default=judge_by_keyword), model_decides=True)
    first, second, third = report.sentences
    assert first.decided_by == "model" and first.label == FaithLabel.supported
    assert second.decided_by == "checks"
    assert third.decided_by == "model" and third.label == FaithLabel.not_supported
    assert third.error_type == ErrorType.predicate
    assert report.label == FaithLabel.not_supported and report.score == pytest.approx(1 / 3, abs=0.001)


def test_model_not_supported_without_error_type_becomes_not_in_article(doc) -> None:  # type: ignore[no-untyped-def]
    fake = FakeBackend(default={"changed": "forever", "label": "not_supported", "error": "none",
                                "ids": []})
    report = run_with(doc, "The bridge will close forever.", fake, model_decides=True)
    assert report.sentences[0].error_type == ErrorType.not_in_article
    assert report.sentences[0].changed_unsupported == ["forever"]


def test_a_model_flag_is_kept_only_when_code_verifies_it(doc) -> None:  # type: ignore[no-untyped-def]
    summary = "Local shops feared losing customers."
    report = run_with(doc, summary, FakeBackend(default=judge_by_keyword), model_decides=True)
    [j] = report.sentences
    assert j.model_label == FaithLabel.not_supported and j.model_changed == "shops fear"
    assert j.changed_unsupported == [] and j.label == FaithLabel.supported
    report = run_with(doc, summary, FakeBackend(default=judge_by_keyword), model_decides=True,
                      verify_flags=False)
    assert report.sentences[0].label == FaithLabel.not_supported


@pytest.mark.parametrize(("changed", "found"), [
    ("praised", ["praised"]),
    ("the words of the summary sentence whose meaning", []),  # an echo of the instructions
    ("Harbor Bridge", []),  # words the article has
    ("none", []),
    ("", []),
])
def test_changed_words_are_verified_by_code(changed: str, found: list[str]) -> None:
    sentence = "Shop owners praised the Harbor Bridge closure."
    assert changed_unsupported(changed, ["The Harbor Bridge will close."], sentence) == found


def test_bad_sentence_ids_are_re_asked(doc) -> None:  # type: ignore[no-untyped-def]
    fake = FakeBackend([{"changed": "", "label": "supported", "error": "none", "ids": [99]},
                        {"changed": "", "label": "supported", "error": "none", "ids": [3]}])
    report = Assistant(fake, **JUDGE).check_summary(doc, "Mayor Jane Smith said repairs will cost $45 million.")
    assert len(fake.requests) == 2 and "no such sentence" in fake.requests[1].messages[-1].content
    assert report.sentences[0].sentence_ids == ["S3"]


async def test_async_matches_sync(doc) -> None:  # type: ignore[no-untyped-def]
    summary = "The council voted on Tuesday. Shop owners praised the closure."
    sync = Assistant(FakeBackend(default=judge_by_keyword), **JUDGE).check_summary(doc, summary)
    result = await AsyncAssistant(FakeBackend(default=judge_by_keyword), **JUDGE).check_summary(doc, summary)
    assert [s.label for s in result.sentences] == [s.label for s in sync.sentences]


@pytest.mark.parametrize(("summary", "label"), [
    ("The council voted 7-2 to close the Harbor Bridge for 18 months.", FaithLabel.supported),
    ("The council voted 6-3 to close the Harbor Bridge for 18 months.", FaithLabel.not_supported),
    ("Penguins migrate south every winter.", FaithLabel.not_supported),
    ("Engineers found cracks on Friday.", FaithLabel.not_supported),
])
def test_deterministic_only_mode(doc, summary: str, label: FaithLabel) -> None:  # type: ignore[no-untyped-def]
    report = check_summary_offline(doc, summary)
    assert report.label == label and report.mode == "checks"
    assert report.sentences[0].model_label is None


def test_no_model_call_in_deterministic_mode(doc) -> None:  # type: ignore[no-untyped-def]
    fake = FakeBackend()
    report = Assistant(fake).check_summary(doc, "The council voted.", use_model=False)
    assert fake.requests == [] and report.mode == "checks"


@pytest.mark.parametrize("summary", ["", "   \n  "])
def test_empty_summary_is_an_input_error(doc, summary: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="summary is empty"):
        Assistant(FakeBackend()).check_summary(doc, summary)


def _probe_answer(request: ChatRequest) -> ChatResponse:
    """P(Yes) high unless the claim says 'praised' (what the article does not state)."""
    claim = request.messages[-1].content.split("Claim:")[1]
    p = 0.05 if "praised" in claim else 0.95
    return ChatResponse(text="Yes" if p > 0.5 else "No", prompt_tokens=40, completion_tokens=1,
                        logprobs=[TokenLogprob(token="Yes" if p > 0.5 else "No", logprob=math.log(max(p, 1 - p)),
                                               top={"Yes": math.log(p), "No": math.log(1 - p)})])


def test_calibrated_decision_from_the_models_probability(doc) -> None:  # type: ignore[no-untyped-def]
    fake = FakeBackend(default=_probe_answer, model="qwen2.5-coder-1.5b-instruct-q4_k_m")
    summary = "The council voted to close the Harbor Bridge for 18 months. Shop owners praised the closure."
    report = Assistant(fake).check_summary(doc, summary)
    first, second = report.sentences
    assert len(fake.requests) == 2 and all(r.max_tokens == 1 and r.top_logprobs for r in fake.requests)
    assert first.decided_by == second.decided_by == "calibrated"
    assert first.probability == pytest.approx(0.95) and first.probability_method == "logprobs"
    assert first.label == FaithLabel.supported and second.label == FaithLabel.not_supported
    assert first.calibrated is not None and not first.calibrated.default_used
    assert first.calibrated.profile.startswith("faithfulness/")
    assert {e.feature for e in second.calibrated.effects} & {"p_min", "p_mean", "logit_min"}  # type: ignore[union-attr]
    assert report.label == FaithLabel.not_supported and report.provenance is not None
    assert not any("profile" in n for n in report.provenance.notes)


def test_other_models_use_the_documented_default_and_say_so(doc) -> None:  # type: ignore[no-untyped-def]
    fake = FakeBackend(default=_probe_answer, model="some-other-model")
    report = Assistant(fake).check_summary(doc, "The council voted to close the Harbor Bridge for 18 months.")
    [s] = report.sentences
    assert s.calibrated is not None and s.calibrated.default_used
    assert report.provenance is not None
    assert any("no faithfulness profile for model 'some-other-model'" in n for n in report.provenance.notes)


def test_without_logprobs_the_label_stands_in_and_is_noted(doc) -> None:  # type: ignore[no-untyped-def]
    fake = FakeBackend(default="No", model="qwen2.5-coder-1.5b-instruct-q4_k_m")
    report = Assistant(fake).check_summary(doc, "The council voted to close the Harbor Bridge for 18 months.")
    [s] = report.sentences
    assert s.probability == 0.0 and s.probability_method == "label"
    assert report.provenance is not None
    assert any("no log-probabilities" in n for n in report.provenance.notes)
