"""Where a result came from: prompts, model, backend, token usage and failures."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PromptRef(BaseModel):
    name: str = Field(description="Prompt template name.")
    version: str = Field(description="Version declared in the template's front matter.")
    hash: str = Field(description="sha256 of the template file, first 12 hex digits.")


class Usage(BaseModel):
    calls: int = Field(0, description="Model requests made (re-asks included).")
    prompt_tokens: int = Field(0, description="Prompt tokens as reported by the backend.")
    completion_tokens: int = Field(0, description="Completion tokens as reported by the backend.")
    cached_calls: int = Field(0, description="Requests answered from the response cache.")

    def add(self, other: Usage) -> None:
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cached_calls += other.cached_calls


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
