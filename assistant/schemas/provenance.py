"""Where a result came from: prompts, model, backend, token usage and failures."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field


class Answered(Protocol):
    """What `Usage.add` reads from one answered call (`backends.ChatResponse` has it)."""

    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...
    @property
    def cached(self) -> bool: ...


class PromptRef(BaseModel):
    name: str = Field(description="Prompt template name.")
    version: str = Field(description="Version declared in the template's front matter.")
    hash: str = Field(description="sha256 of the template file, first 12 hex digits.")


class Usage(BaseModel):
    calls: int = Field(0, description="Model requests made (re-asks included).")
    prompt_tokens: int = Field(0, description="Prompt tokens as reported by the backend.")
    completion_tokens: int = Field(0, description="Completion tokens as reported by the backend.")
    cached_calls: int = Field(0, description="Requests answered from the response cache.")

    def add(self, other: Usage | Answered) -> None:
        """Add another `Usage`, or one answered call (a `ChatResponse`, or anything with
        its `prompt_tokens`, `completion_tokens` and `cached`)."""
        if isinstance(other, Usage):
            calls, cached = other.calls, other.cached_calls
        else:
            calls, cached = 1, int(other.cached)
        self.calls += calls
        self.cached_calls += cached
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens


class Provenance(BaseModel):
    backend: str = Field(description="Backend name: openai, embedded or fake.")
    model: str = Field(description="Model identifier the backend used.")
    base_url: str | None = Field(None, description="Endpoint for HTTP backends (never a key).")
    prompts: list[PromptRef] = Field(default_factory=list, description="Templates used.")
    usage: Usage = Field(default_factory=Usage, description="Token usage over all calls.")
    latency_s: float = Field(0.0, description="Wall time of the whole operation in seconds.")
    attempts: int = Field(0, description="Structured-output attempts over all calls.")
    chunks: int = Field(1, description="Article chunks processed (more than 1 = map-reduce).")
    notes: list[str] = Field(default_factory=list, description="Repairs made by code (re-anchored citations, dropped items).")

    def merge(self, other: Provenance) -> None:
        known = {(p.name, p.hash) for p in self.prompts}
        self.prompts += [p for p in other.prompts if (p.name, p.hash) not in known]
        self.usage.add(other.usage)
        self.attempts += other.attempts
        self.chunks = max(self.chunks, other.chunks)
        self.notes += other.notes
