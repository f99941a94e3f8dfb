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
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


class ChatResponse(BaseModel):
    text: str = Field(description="The completion text.")
    finish_reason: str | None = Field(None, description="stop, length, ...")
    prompt_tokens: int = Field(0, description="Prompt tokens.")
    completion_tokens: int = Field(0, description="Completion tokens.")
    model: str = Field("", description="Model that answered.")
    latency_s: float = Field(0.0, description="Wall time of the request.")
    cached: bool = Field(False, description="Served from a response cache.")


@runtime_checkable
class Backend(Protocol):
    """What every backend provides. `acomplete` must not block the event loop."""

    name: str
    model: str
    base_url: str | None

    def complete(self, request: ChatRequest) -> ChatResponse: ...

    async def acomplete(self, request: ChatRequest) -> ChatResponse: ...

    def count_tokens(self, text: str) -> int: ...
