"""The OpenAI-compatible chat backend: api.openai.com, vLLM, Ollama, LM Studio, llama.cpp server.

The only module that imports `openai`; the registry imports it lazily. Transport retries are
the SDK's own (`max_retries`, honouring Retry-After); nothing here retries them again. A 200
whose body is no usable completion (no choices, not JSON, not a completion) is an answer
fault (`AnswerError`), which the SDK does not retry: it is re-sent here by the backend's
`RetryPolicy` (`assistant.backends.retry`; by default up to `max_retries` times). The two
sets of errors are disjoint, so no error is retried by two layers.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import re
import threading
import time
import weakref
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

import openai
from openai.types.chat import ChatCompletion

from assistant.backends.base import ChatRequest, ChatResponse, TokenLogprob
from assistant.backends.retry import RetryPolicy
from assistant.core.settings import check_max_retries, check_timeout, env_max_retries, env_timeout
from assistant.core.tokens import count_tokens
from assistant.errors import AnswerError, BackendError, UserError

__all__ = ["OpenAIBackend", "StructuredMode", "resolve_structured_mode", "strict_schema"]

log = logging.getLogger(__name__)

StructuredMode = Literal["auto", "json_schema", "json_object_schema", "json_object", "none"]
_MODES: tuple[str, ...] = get_args(StructuredMode)
OPENAI_URL = "https://api.openai.com/v1"
# Local servers ignore the key, but the SDK refuses to build a client without one.
DUMMY_KEY = "sk-no-key"
_SHORT_BODY = 200
_MAX_BODY = 4000

# Keywords OpenAI's strict mode rejects ("'default' is not permitted", ...). Dropping them
# only loosens the constraint sent to the model; callers still validate the output.
_STRICT_UNSUPPORTED = frozenset({
    "default", "minLength", "maxLength",
    "patternProperties", "unevaluatedProperties", "propertyNames", "minProperties",
    "maxProperties", "unevaluatedItems", "contains", "minContains", "maxContains",
    "uniqueItems",
})


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a JSON schema into the subset OpenAI's strict structured output accepts.

    Every object gets `additionalProperties: false` and lists all its properties as
    required; properties that were optional become nullable instead. `$ref`s with sibling
    keywords are inlined, single-entry `allOf`s merged, `oneOf` becomes `anyOf`, and
    unsupported keywords are dropped. The input is not modified.

    Objects whose `additionalProperties` is a schema (free-form maps) keep it: strict mode
    cannot express them, and forcing `false` would make the model return them empty, so the
    API's 400 is the better outcome (use structured_mode="json_object" for such schemas).
    """
    root = copy.deepcopy(schema)
    out: dict[str, Any] = _strict(root, root)
    return out


def _strict(node: Any, root: dict[str, Any]) -> Any:
    if not isinstance(node, dict):
        return node
    out = {k: v for k, v in node.items() if k not in _STRICT_UNSUPPORTED}

    all_of = out.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
        del out["allOf"]
        return _strict({**all_of[0], **out}, root)  # the outer keys (description) win
    ref = out.get("$ref")
    if isinstance(ref, str) and len(out) > 1:
        # Strict mode rejects keywords beside a $ref; pydantic puts descriptions there.
        del out["$ref"]
        return _strict({**_resolve_ref(root, ref), **out}, root)
    if "oneOf" in out and "anyOf" not in out:
        out["anyOf"] = out.pop("oneOf")  # strict mode has anyOf only

    for key in ("$defs", "definitions", "properties"):
        if isinstance(out.get(key), dict):
            out[key] = {name: _strict(sub, root) for name, sub in out[key].items()}
    for key in ("items", "additionalProperties", "not"):
        if isinstance(out.get(key), dict):
            out[key] = _strict(out[key], root)
    for key in ("anyOf", "allOf", "prefixItems"):
        if isinstance(out.get(key), list):
            out[key] = [_strict(sub, root) for sub in out[key]]

    if out.get("type") == "object" or "properties" in out:
        if not isinstance(out.get("additionalProperties"), dict):
            out["additionalProperties"] = False
        properties = out.get("properties")
        if isinstance(properties, dict):
            required = set(out.get("required", []))
            out["properties"] = {name: sub if name in required else _nullable(sub)
                                 for name, sub in properties.items()}
            out["required"] = list(properties)
    return out


def _nullable(schema: Any) -> Any:
    """`schema` that also accepts null: how strict mode spells an optional property."""
    if not isinstance(schema, dict) or not schema:
        return schema  # {} (or True) accepts anything already
    if "anyOf" in schema and "$ref" not in schema:
        variants = schema["anyOf"]
        if any(isinstance(v, dict) and v.get("type") == "null" for v in variants):
            return schema
        return {**schema, "anyOf": [*variants, {"type": "null"}]}
    if "type" in schema and "$ref" not in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        out = dict(schema)
        if "null" not in types:
            out["type"] = [*types, "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    wrapped: dict[str, Any] = {"anyOf": [schema, {"type": "null"}]}
    return wrapped


def _resolve_ref(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise UserError(f"strict_schema: cannot resolve non-local $ref {ref!r}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise UserError(f"strict_schema: $ref {ref!r} does not resolve to a schema")
    return node


def resolve_structured_mode(mode: str, base_url: str | None) -> str:
    """Pick a concrete structured-output mode for `base_url` when `mode` is "auto".

    llama.cpp's server takes a schema inside `json_object` and is usually on port 8080;
    OpenAI, vLLM and Ollama take OpenAI's `json_schema` form.
    """
    if mode not in _MODES:
        raise UserError(f"unknown structured mode {mode!r}; expected one of {', '.join(_MODES)}")
    if mode != "auto":
        return mode
    if not base_url:
        return "json_schema"
    parts = urlsplit(base_url)
    if parts.hostname == "api.openai.com":
        return "json_schema"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port == 8080 or "llama" in base_url.lower():
        return "json_object_schema"
    return "json_schema"


class OpenAIBackend:
    """A `Backend` over any OpenAI-compatible `/v1/chat/completions` endpoint.

    Arguments fall back to the environment: `ASSISTANT_MODEL` / `OPENAI_MODEL`,
    `OPENAI_BASE_URL`, `OPENAI_API_KEY`, `ASSISTANT_STRUCTURED_MODE`, `ASSISTANT_TIMEOUT`
    (seconds per attempt, default 120) and `ASSISTANT_MAX_RETRIES` (default 3); a bad
    timeout or retry count is a `UserError` here, before any request. The key is kept
    private: it is absent from `repr()`, error messages and error bodies.

    `retry` (a `RetryPolicy`) says when a request is sent again after an error the SDK
    does not retry itself; the default re-sends answer faults up to `max_retries` times.

    Clients are created on first use: one sync, one async. Close with `close()` / `with`,
    or `await aclose()` / `async with` after async use, so no connection is left open.
    Pooled connections belong to an event loop: a backend used under several loops (repeated
    `asyncio.run`) gets a fresh async client per loop, and should be `aclose()`d before each
    loop ends, or that loop's connections are abandoned unclosed.
    """

    name = "openai"

    def __init__(self, model: str | None = None, base_url: str | None = None,
                 api_key: str | None = None, *, structured_mode: str = "auto",
                 timeout: float | None = None, max_retries: int | None = None,
                 retry: RetryPolicy | None = None) -> None:
        model = model or os.environ.get("ASSISTANT_MODEL") or os.environ.get("OPENAI_MODEL")
        if not model:
            raise UserError("openai backend: no model given; pass model= or set ASSISTANT_MODEL")
        self.model: str = model
        self.base_url: str | None = (base_url or os.environ.get("OPENAI_BASE_URL") or "").rstrip("/") or None
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if self._is_openai:
                raise UserError("openai backend: OPENAI_API_KEY is not set")
            key = DUMMY_KEY
        self._api_key = key
        if structured_mode == "auto":
            structured_mode = os.environ.get("ASSISTANT_STRUCTURED_MODE") or "auto"
        self.structured_mode = resolve_structured_mode(structured_mode, self.base_url)
        self.timeout: float = check_timeout(timeout) if timeout is not None else env_timeout()
        self.max_retries: int = check_max_retries(max_retries) if max_retries is not None \
            else env_max_retries()
        self.retry: RetryPolicy = retry if retry is not None else \
            RetryPolicy.answer_faults(self.max_retries)
        self._lock = threading.Lock()
        self._client: openai.OpenAI | None = None
        self._aclient: openai.AsyncOpenAI | None = None
        self._aclient_loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return (f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r}, "
                f"structured_mode={self.structured_mode!r})")

    @property
    def _is_openai(self) -> bool:
        return self.base_url is None or urlsplit(self.base_url).hostname == "api.openai.com"

    @property
    def _url(self) -> str:
        return self.base_url or OPENAI_URL

    # -- Backend protocol -----------------------------------------------------------------
    def complete(self, request: ChatRequest) -> ChatResponse:
        params = self._params(request)
        result: ChatResponse = self.retry.retrying()(self._send, params)
        return result

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        params = self._params(request)
        result: ChatResponse = await self.retry.aretrying()(self._asend, params)
        return result

    def _send(self, params: dict[str, Any]) -> ChatResponse:
        start = time.perf_counter()
        try:
            completion = self._sync_client().chat.completions.create(**params)
        except (openai.OpenAIError, json.JSONDecodeError) as exc:
            error = self._error(exc)
        else:
            return self._response(completion, time.perf_counter() - start)
        # Raised outside the except block so no __context__ keeps the SDK's exception,
        # whose text may quote the key; ours is scrubbed.
        raise error

    async def _asend(self, params: dict[str, Any]) -> ChatResponse:
        start = time.perf_counter()
        try:
            completion = await self._async_client().chat.completions.create(**params)
        except (openai.OpenAIError, json.JSONDecodeError) as exc:
            error = self._error(exc)
        else:
            return self._response(completion, time.perf_counter() - start)
        raise error

    def count_tokens(self, text: str) -> int:
        return count_tokens(text, self.model).tokens

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        """Close the sync client, and the async one if its event loop is still usable."""
        with self._lock:
            client, self._client = self._client, None
            aclient, self._aclient = self._aclient, None
            loop = self._aclient_loop() if self._aclient_loop else None
            self._aclient_loop = None
        if client is not None:
            client.close()
        if aclient is None:
            return
        if loop is not None and not loop.is_closed():
            if not loop.is_running():
                loop.run_until_complete(aclient.close())
                return
            if _running_loop() is loop:  # a sync `with` inside async code: close on its loop
                task = loop.create_task(aclient.close())
                self._closing.add(task)  # the loop keeps only a weak reference to tasks
                task.add_done_callback(self._closing.discard)
                return
        # Its connections belong to a loop we cannot run; they are abandoned, not closed.
        log.debug("openai backend: async client dropped without aclose(); its loop is gone")

    async def aclose(self) -> None:
        """Close both clients; call from the event loop that ran `acomplete`."""
        with self._lock:
            aclient, self._aclient = self._aclient, None
            self._aclient_loop = None
        if aclient is not None:
            await aclient.close()
        self.close()

    def __enter__(self) -> OpenAIBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> OpenAIBackend:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- internals ------------------------------------------------------------------------
    def _client_kwargs(self) -> dict[str, Any]:
        return {"api_key": self._api_key, "base_url": self._url, "timeout": self.timeout,
                "max_retries": self.max_retries}

    def _sync_client(self) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                self._client = openai.OpenAI(**self._client_kwargs())
            return self._client

    def _async_client(self) -> openai.AsyncOpenAI:
        loop = asyncio.get_running_loop()
        with self._lock:
            old_loop = self._aclient_loop() if self._aclient_loop else None
            if self._aclient is None or old_loop is not loop:
                # Pooled connections belong to the loop that opened them; a client reused
                # on a new loop (a second asyncio.run) fails on its stale connections.
                if self._aclient is not None:
                    log.debug("openai backend: new event loop; making a fresh async client")
                self._aclient = openai.AsyncOpenAI(**self._client_kwargs())
                self._aclient_loop = weakref.ref(loop)
            return self._aclient

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "temperature": request.temperature,
        }
        # OpenAI's reasoning models refuse max_tokens; other servers may not know the new name.
        params["max_completion_tokens" if self._is_openai else "max_tokens"] = request.max_tokens
        if request.seed is not None:
            params["seed"] = request.seed
        response_format = self._response_format(request)
        if response_format is not None:
            params["response_format"] = response_format
        if request.top_logprobs:
            params["logprobs"] = True
            params["top_logprobs"] = request.top_logprobs
        log.debug("openai backend: POST %s/chat/completions model=%s structured_mode=%s",
                  self._url, self.model, self.structured_mode)
        return params

    def _response_format(self, request: ChatRequest) -> dict[str, Any] | None:
        schema = request.json_schema
        if schema is None or self.structured_mode == "none":
            return None
        if self.structured_mode == "json_schema":
            # OpenAI requires the name to match ^[a-zA-Z0-9_-]{1,64}$.
            name = re.sub(r"[^a-zA-Z0-9_-]", "_", request.schema_name)[:64] or "output"
            return {"type": "json_schema",
                    "json_schema": {"name": name, "schema": strict_schema(schema), "strict": True}}
        if self.structured_mode == "json_object_schema":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_object"}

    def _response(self, completion: Any, latency_s: float) -> ChatResponse:
        if not isinstance(completion, ChatCompletion):
            raise AnswerError(f"openai backend: {self._url} answered with something other "
                              f"than a chat completion: {self._short(repr(completion))}")
        choices = getattr(completion, "choices", None) or []
        if not choices:
            raise AnswerError(f"openai backend: {self._url} returned no choices",
                              body=self._scrub(completion.model_dump_json())[:_MAX_BODY])
        choice = choices[0]
        message = getattr(choice, "message", None)
        usage = getattr(completion, "usage", None)
        return ChatResponse(
            text=(getattr(message, "content", None) or ""),
            finish_reason=getattr(choice, "finish_reason", None),
            prompt_tokens=(getattr(usage, "prompt_tokens", None) or 0),
            completion_tokens=(getattr(usage, "completion_tokens", None) or 0),
            model=getattr(completion, "model", None) or self.model,
            latency_s=latency_s,
            cached=False,
            logprobs=_logprobs(choice),
        )

    def _error(self, exc: Exception) -> BackendError:
        retries = _retries_taken(exc)
        after = f" after {retries} retr{'y' if retries == 1 else 'ies'}" if retries else ""
        url = self._url
        if isinstance(exc, openai.APIStatusError):
            body = self._scrub(_response_text(exc))
            detail = self._short(_error_message(exc) or body or exc.message)
            return BackendError(f"openai backend: HTTP {exc.status_code} from {url}{after}: {detail}",
                                status_code=exc.status_code, body=body[:_MAX_BODY])
        if isinstance(exc, openai.APITimeoutError):
            return BackendError(f"openai backend: request to {url} timed out{after} "
                                f"(timeout {self.timeout:g}s per attempt)", fault="transport")
        if isinstance(exc, openai.APIConnectionError):
            cause = self._short(str(exc.__cause__ or exc.message or type(exc).__name__))
            return BackendError(f"openai backend: cannot reach {url}{after}: {cause}",
                                fault="transport")
        if isinstance(exc, json.JSONDecodeError | openai.APIResponseValidationError):
            return AnswerError(f"openai backend: invalid response from {url}: "
                               f"{self._short(str(exc))}")
        return BackendError(f"openai backend: request to {url} failed: "
                            f"{self._short(str(exc) or type(exc).__name__)}")

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _short(self, text: str) -> str:
        text = " ".join(self._scrub(text).split())
        return text if len(text) <= _SHORT_BODY else text[: _SHORT_BODY - 1] + "…"


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _retries_taken(exc: Exception) -> int:
    # The SDK stamps each attempt with its retry number; the failing attempt is the last.
    request = getattr(exc, "request", None)
    try:
        return int(request.headers.get("x-stainless-retry-count", 0)) if request is not None else 0
    except (AttributeError, ValueError):
        return 0


def _logprobs(choice: Any) -> list[TokenLogprob] | None:
    """The choice's per-token log-probabilities, or None when the server sent none."""
    content = getattr(getattr(choice, "logprobs", None), "content", None)
    if not content:
        return None
    out = []
    for item in content:
        top = {alt.token: float(alt.logprob) for alt in (getattr(item, "top_logprobs", None) or [])}
        out.append(TokenLogprob(token=item.token, logprob=float(item.logprob), top=top))
    return out


def _response_text(exc: openai.APIStatusError) -> str:
    try:
        return exc.response.text
    except Exception:  # a streamed or unread body
        return json.dumps(exc.body) if exc.body is not None else ""


def _error_message(exc: openai.APIStatusError) -> str | None:
    """The `error.message` of an OpenAI-style error body, the most readable part."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        message = error.get("message") if isinstance(error, dict) else None
        if isinstance(message, str):
            return message
        if isinstance(error, str):
            return error
    return None
