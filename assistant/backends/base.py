"""The one seam to a model: a chat request in, a chat response out."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    role: Role = Field(description="Chat role.")
    content: str = Field(description="Message text.")


class ChatRequest(BaseModel):
    messages: list[Message] = Field(description="Conversation, system first.")
    json_schema: dict[str, Any] | None = Field(None, description="Constrain output to this schema.")
    schema_name: str = Field("output", description="Name for the schema (OpenAI json_schema mode).")
    temperature: float = Field(0.0, description="Sampling temperature.")
    max_tokens: int = Field(512, description="Completion token limit.")
    seed: int | None = Field(0, description="Sampling seed where the backend supports one.")
    prompt: str = Field("", description="Prompt templates behind the messages, as name@hash+...; "
                                        "part of cache keys, not sent to the model.")
    top_logprobs: int | None = Field(None, ge=1, le=20,
                                     description="Return this many alternatives per output token "
                                                 "with their log-probabilities, where supported.")

    def cache_key(self, backend: str, model: str, base_url: str | None) -> str:
        """Everything that changes the output, and nothing that does not (timeouts, retries).

        The messages are hashed as rendered, so a changed template, article or variable
        changes the key; the template hashes are included so the key names them too.
        """
        payload = {
            "backend": backend, "model": model, "base_url": base_url or "",
            "prompt": self.prompt,
            "messages": [[m.role, m.content] for m in self.messages],
            "schema": self.json_schema, "temperature": self.temperature,
            "max_tokens": self.max_tokens, "seed": self.seed,
        }
        if self.top_logprobs is not None:  # absent from older keys: they stay valid
            payload["top_logprobs"] = self.top_logprobs
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


class TokenLogprob(BaseModel):
    token: str = Field(description="The output token's text.")
    logprob: float = Field(description="Its natural-log probability.")
    top: dict[str, float] = Field(default_factory=dict,
                                  description="The most likely alternatives at this position "
                                              "(token text -> log-probability), before any "
                                              "output constraint.")


class ChatResponse(BaseModel):
    text: str = Field(description="The completion text.")
    finish_reason: str | None = Field(None, description="stop, length, ...")
    prompt_tokens: int = Field(0, description="Prompt tokens.")
    completion_tokens: int = Field(0, description="Completion tokens.")
    model: str = Field("", description="Model that answered.")
    latency_s: float = Field(0.0, description="Wall time of the request.")
    cached: bool = Field(False, description="Served from a response cache.")
    logprobs: list[TokenLogprob] | None = Field(
        None, description="Per output token, when the request asked for top_logprobs and the "
                          "backend returned them; None means not available.")


@runtime_checkable
class Backend(Protocol):
    """What every backend provides. `acomplete` must not block the event loop."""

    name: str
    model: str
    base_url: str | None

    def complete(self, request: ChatRequest) -> ChatResponse: ...

    async def acomplete(self, request: ChatRequest) -> ChatResponse: ...

    def count_tokens(self, text: str) -> int: ...


class WrapperBackend:
    """A `Backend` around another one (`inner`), passing everything through.

    The base of every layer that adds one concern to a backend (a cache, a budget, a
    concurrency gate, a meter, a progress display, a cassette): it reports the inner
    backend's name, model and base URL, so provenance and cache keys name the model that
    answers, and forwards `complete`, `acomplete`, `count_tokens`, closing and any other
    attribute (`token_count_exact`, `load`, ...) to it. A subclass overrides only what
    it changes.
    """

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.model: str = inner.model
        self.base_url: str | None = inner.base_url

    def complete(self, request: ChatRequest) -> ChatResponse:
        return self.inner.complete(request)

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        return await self.inner.acomplete(request)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def close(self) -> None:
        if callable(close := getattr(self.inner, "close", None)):
            close()

    async def aclose(self) -> None:
        if callable(aclose := getattr(self.inner, "aclose", None)):
            await aclose()
        else:
            self.close()

    def __getattr__(self, name: str) -> object:
        # Only reached for names this layer lacks; `inner` itself must not recurse.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"
