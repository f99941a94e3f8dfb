"""A scripted model for eval tests: plausible, article-grounded answers for any article.

It answers by the request's output schema (not the prompt wording), so prompt edits do
not break it: summaries cite the first body sentences, claims copy the start of each
listed sentence, questions ask about public records.
"""

from __future__ import annotations

import re
from typing import Any

from articles import split_turn

from assistant.backends.base import ChatRequest


def _sentences(request: ChatRequest) -> dict[int, str]:
    text = "\n".join(m.content for m in request.messages)
    return {int(n): s for n, s in re.findall(r"^\[(\d+)\] (.*)$", text, re.MULTILINE)}


def _words(text: str, n: int) -> str:
    return " ".join(text.split()[:n])


def fill(schema: dict[str, Any], prefer: tuple[str, ...], ids: list[int]) -> Any:
    """A minimal instance of a JSON schema, choosing preferred enum values."""
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if o.get("type") != "null"]
        return fill(options[0], prefer, ids) if options else None
    if "enum" in schema:
        return next((v for v in prefer if v in schema["enum"]), schema["enum"][0])
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: (ids if k == "ids" else fill(v, prefer, ids)) for k, v in props.items()}
    if kind == "array":
        return [fill(schema.get("items", {}), prefer, ids)] * schema.get("minItems", 0)
    return {"string": "x", "integer": 1, "number": 0.5, "boolean": False}.get(str(kind))


def respond(request: ChatRequest) -> dict[str, Any]:
    sentences = _sentences(request)
    _, task = split_turn(request.messages[-1].content)
    if request.schema_name == "SummaryDraft":
        body = sorted(sentences)[2:6] or sorted(sentences)
        points = [{"text": _words(sentences[n], 14), "ids": [n]} for n in body]
        return {"headline": _words(sentences[min(sentences)], 8), "tldr": _words(sentences[body[0]], 30),
                "key_points": points, "who": None, "when": None, "where": None, "why": None}
    if request.schema_name == "ClaimsDraft":
        listed = [int(n) for n in re.findall(r"^\[(\d+)\]", task, re.MULTILINE)]
        return {"claims": [{"id": n, "claim": _words(sentences[n], 20)[:150], "type": "event",
                            "speaker": None, "checkworthy": n % 3 != 0, "quote": None}
                           for n in listed]}
    if request.schema_name == "QuestionsDraft":
        claims = re.findall(r"^(\d+)\. (.*)$", task, re.MULTILINE)
        return {"questions": [{"claim": int(n), "question": f"Do public records confirm that {_words(t, 12)}?",
                               "method": "official_record", "who": "the records office"}
                              for n, t in claims]}
    if request.prompt.startswith("entail@"):  # an entailment probe: one word, no logprobs
        return "No" if "never" in request.messages[-1].content.lower() else "Yes"
    if request.schema_name in ("FaithDraft", "StanceDraft"):
        # Checker drafts change often: fill whatever schema they have now, and judge
        # "supported"/"supports" unless the checked text says "never".
        negative = any("never" in m.content.lower() for m in request.messages)
        prefer = ("not_supported", "refutes", "predicate") if negative else ("supported", "supports", "none")
        return fill(request.json_schema or {}, prefer, ids=[min(sentences)] if sentences else [])
    if request.schema_name == "ReduceDraft":
        return {"headline": "Summary", "tldr": "Summary.", "keep": [1, 2, 3]}
    raise AssertionError(f"evals_fake: no script for {request.schema_name}")
