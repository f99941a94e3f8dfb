"""A scripted model for eval tests: plausible, article-grounded answers for any article.

It answers by the request's output schema (not the prompt wording), so prompt edits do
not break it: the read call's headline is the first sentence's first words, its main
points the first body sentences, two of every three sentences check-worthy.
"""

from __future__ import annotations

import re
from typing import Any

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
    if request.schema_name == "ReadDraft":
        keys = sorted(sentences)
        return {"headline": _words(sentences[keys[0]], 8) if keys else "News",
                "main": keys[2:6] or keys, "check": [n for n in keys if n % 3 != 0][:10]}
    if request.prompt.startswith("entail@"):  # an entailment probe: one word, no logprobs
        return "No" if "never" in request.messages[-1].content.lower() else "Yes"
    if request.prompt.startswith("contradict@"):  # its companion: Yes when the claim says "never"
        return "Yes" if "never" in request.messages[-1].content.lower() else "No"
    if request.schema_name in ("FaithDraft", "StanceDraft"):
        # Checker drafts change often: fill whatever schema they have now, and judge
        # "supported"/"supports" unless the checked text says "never".
        negative = any("never" in m.content.lower() for m in request.messages)
        prefer = ("not_supported", "refutes", "predicate") if negative else ("supported", "supports", "none")
        return fill(request.json_schema or {}, prefer, ids=[min(sentences)] if sentences else [])
    raise AssertionError(f"evals_fake: no script for {request.schema_name}")
