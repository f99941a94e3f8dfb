"""The whole pipeline through the real `openai` client and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openai_server import Fault, OpenAIServer, Reply
from test_api_fake import responder

from assistant import Assistant, AsyncAssistant
from assistant.backends.base import ChatRequest, Message
from assistant.backends.openai_compat import OpenAIBackend
from assistant.text.grounding import verify_quote
from assistant.text.intake import load_document

EXAMPLE = Path(__file__).resolve().parents[1] / "assistant" / "examples" / "harbor-bridge-closure.txt"


def http_responder(body: dict[str, Any]) -> str:
    """Turn the wire request back into a ChatRequest and answer as the scripted model."""
    request = ChatRequest(messages=[Message(**m) for m in body["messages"]])
    return json.dumps(responder(request))


def test_analyze_round_trip_over_http() -> None:
    doc = load_document(EXAMPLE)
    with OpenAIServer(default=http_responder) as server, \
            OpenAIBackend("test-model", base_url=server.url, api_key="sk-test-SECRET-9",
                          structured_mode="json_schema", max_retries=1) as backend:
        result = Assistant(backend).analyze(doc)
        bodies = [r.json for r in server.completions]
        url = server.url
    assert len(bodies) == 1  # one read call per article
    for body in bodies:
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
        assert fmt["json_schema"]["schema"]["additionalProperties"] is False
    assert result.provenance.backend == "openai" and result.provenance.base_url == url
    assert "SECRET" not in result.model_dump_json()
    assert result.claims and all(verify_quote(doc, c.quote) for c in result.claims)
    assert all(verify_quote(doc, q) for kp in result.summary.key_points for q in kp.quotes)


def test_llama_cpp_server_form_and_429_retry() -> None:
    doc = load_document(EXAMPLE)
    with OpenAIServer(default=http_responder) as server, \
            OpenAIBackend("qwen", base_url=server.url, structured_mode="json_object_schema",
                          max_retries=2) as backend:
        server.enqueue(Fault(429, headers={"Retry-After": "1"}))
        summary = Assistant(backend).summarize(doc)
        times = [r.time for r in server.completions]
        fmt = server.completions[-1].json["response_format"]
    assert len(times) == 2 and times[1] - times[0] >= 0.9
    assert fmt["type"] == "json_object" and "schema" in fmt
    assert summary.key_points


async def test_async_round_trip_with_a_re_ask() -> None:
    doc = load_document(EXAMPLE)
    with OpenAIServer(default=http_responder) as server:
        server.enqueue(Reply("{not json"))
        async with OpenAIBackend("m", base_url=server.url, max_retries=0) as backend:
            summary = await AsyncAssistant(backend).summarize(doc)
        second = server.completions[1].json["messages"]
    assert summary.provenance is not None and summary.provenance.attempts == 2
    assert second[-2] == {"role": "assistant", "content": "{not json"}
    assert "not valid JSON" in second[-1]["content"]
