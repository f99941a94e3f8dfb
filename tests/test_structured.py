"""Every validation path of the structured-output loop, with the scripted fake backend."""

from __future__ import annotations

import json
from typing import Any

import pytest

from assistant.backends.base import ChatResponse
from assistant.backends.fake import FakeBackend
from assistant.core.structured import (
    CallSpec,
    Findings,
    acall_structured,
    call_structured,
    parse_output,
)
from assistant.errors import (
    BackendError,
    OutputValidationError,
    TruncatedOutputError,
    ValidationIssue,
)
from assistant.schemas import ReadDraft
from assistant.steps.analysis import prefix_values
from assistant.text.grounding import unsupported_terms
from assistant.text.intake import document_from_text

TEXT = ("Mayor Ana Ruiz said the city will spend $4 million on repairs.\n\n"
        "The council approved the plan on Tuesday, according to the clerk.\n\n"
        "Critics called it “a waste of money”.")


@pytest.fixture
def doc() -> Any:
    return document_from_text(TEXT)


def read(**kw: Any) -> dict[str, Any]:
    return {"headline": "Ana Ruiz says city will spend $4 million on repairs", "main": [1, 2],
            "check": [1], **kw}


def check(doc: Any) -> Any:
    """A step's own check: sentence numbers that exist, a headline the article supports."""

    def run(draft: ReadDraft) -> Findings:
        issues = [ValidationIssue(f"main.{i}", f"sentence {n} is not one of the listed")
                  for i, n in enumerate(draft.main) if n not in (1, 2, 3)]
        if bad := unsupported_terms(draft.headline, doc):
            issues.append(ValidationIssue("headline", f"mentions {bad[0]!r}, not in the article"))
        return Findings(issues)

    return run


def spec(doc: Any, attempts: int = 3) -> CallSpec:
    return CallSpec("read", prefix_values(doc, doc.sentences), ReadDraft, check(doc), attempts)


def test_valid_first_answer(doc: Any) -> None:
    fake = FakeBackend([read()])
    result = call_structured(fake, spec(doc))
    assert result.value.main == [1, 2]
    assert result.attempts == 1 and result.usage.calls == 1
    request = fake.requests[0]
    assert request.json_schema is not None and request.json_schema["type"] == "object"
    assert [m.role for m in request.messages] == ["system", "user"]
    assert "Ana Ruiz" not in request.messages[0].content, "the article is not in the system role"
    turn = request.messages[1].content
    assert turn.startswith("BEGIN UNTRUSTED ARTICLE") and "[1] Mayor Ana Ruiz" in turn
    assert turn.index("END UNTRUSTED ARTICLE") < turn.index("Answer with the JSON object")
    assert [r.name for r in result.prompts] == ["read", "reask"]


BAD_ANSWERS = [
    ("invalid JSON", "{\"main\": [", "not valid JSON"),
    ("schema violation", read(main="one"), "main"),
    ("missing field", {"headline": "Repairs"}, "main"),
    ("unknown sentence id", read(main=[7]), "sentence 7 is not one of the listed"),
    ("unsupported headline", read(headline="Ruiz resigns over $9 million scandal"), "not in the article"),
]


@pytest.mark.parametrize("name, bad, expected", BAD_ANSWERS, ids=[b[0] for b in BAD_ANSWERS])
def test_bad_answer_is_re_asked_with_the_error(doc: Any, name: str, bad: Any, expected: str) -> None:
    fake = FakeBackend([bad, read()])
    result = call_structured(fake, spec(doc))
    assert result.attempts == 2 and result.usage.calls == 2
    reask = fake.requests[1].messages
    assert reask[-2].role == "assistant" and reask[-2].content == (bad if isinstance(bad, str) else json.dumps(bad))
    assert reask[-1].role == "user" and expected in reask[-1].content
    # the system message and the article turn are unchanged, so a prefix cache still applies
    assert reask[:2] == fake.requests[0].messages[:2]


def test_headline_in_other_case_is_accepted(doc: Any) -> None:
    fake = FakeBackend([read(headline="COUNCIL APPROVED THE PLAN, ACCORDING TO THE CLERK")])
    assert call_structured(fake, spec(doc)).attempts == 1


def test_truncation_is_a_failure_not_a_result(doc: Any) -> None:
    cut = ChatResponse(text='{"headline": "Ana Ruiz says', finish_reason="length",
                       completion_tokens=160)
    fake = FakeBackend([cut, cut])
    with pytest.raises(TruncatedOutputError) as info:
        call_structured(fake, spec(doc, attempts=2))
    assert len(info.value.attempts) == 2
    assert info.value.usage["completion_tokens"] == 320
    assert "cut off" in fake.requests[1].messages[-1].content


def test_even_valid_json_with_length_finish_is_rejected(doc: Any) -> None:
    full = ChatResponse(text=json.dumps(read()), finish_reason="length")
    fake = FakeBackend([full, read()])
    assert call_structured(fake, spec(doc)).attempts == 2


def test_retries_exhausted_raise_typed_error_with_data(doc: Any) -> None:
    fake = FakeBackend(["nope", "still nope", "{}"])
    with pytest.raises(OutputValidationError) as info:
        call_structured(fake, spec(doc, attempts=3))
    err = info.value
    assert not isinstance(err, TruncatedOutputError)
    assert [a.raw_output for a in err.attempts] == ["nope", "still nope", "{}"]
    assert err.raw_output == "{}" and err.prompt == "read"
    assert err.usage["prompt_tokens"] > 0
    assert "after 3 attempt(s)" in str(err) and "\n" not in str(err)
    assert len(fake.requests) == 3


def test_backend_errors_are_not_re_asked(doc: Any) -> None:
    fake = FakeBackend([BackendError("HTTP 500", status_code=500)])
    with pytest.raises(BackendError):
        call_structured(fake, spec(doc))
    assert len(fake.requests) == 1


async def test_async_driver_re_asks_too(doc: Any) -> None:
    fake = FakeBackend(["[", read()])
    result = await acall_structured(fake, spec(doc))
    assert result.attempts == 2


EMPTY = '{"headline": "x", "main": [], "check": []}'


@pytest.mark.parametrize("text", [f"```json\n{EMPTY}\n```", f"  {EMPTY}  "])
def test_parse_output_accepts_fenced_json(text: str) -> None:
    value, issues = parse_output(text, ReadDraft)
    assert issues == [] and value is not None and value.main == []


def test_cache_key_tracks_what_changes_output(doc: Any) -> None:
    fake = FakeBackend([read()])
    call_structured(fake, spec(doc))
    request = fake.requests[0]
    assert request.prompt.startswith("read@")
    key = request.cache_key("openai", "m", "http://127.0.0.1:1/v1")
    assert key == request.cache_key("openai", "m", "http://127.0.0.1:1/v1")
    changed = [
        request.model_copy(update={"temperature": 0.5}),
        request.model_copy(update={"prompt": request.prompt + "x"}),
        request.model_copy(update={"messages": request.messages[:1]}),
    ]
    assert all(r.cache_key("openai", "m", "http://127.0.0.1:1/v1") != key for r in changed)
    assert request.cache_key("openai", "other", "http://127.0.0.1:1/v1") != key
    assert request.cache_key("openai", "m", "http://127.0.0.1:2/v1") != key
