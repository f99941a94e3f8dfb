"""A pass-through `Backend` that notes every exchange's cost and schema validity per item."""

from __future__ import annotations

from assistant.backends.base import Backend, ChatRequest, ChatResponse, WrapperBackend
from assistant.evals.scorers import CallStat, response_valid


class Meter(WrapperBackend):
    """Wraps a backend; `calls` holds the `CallStat`s since the last `reset()`."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.calls: list[CallStat] = []

    def reset(self) -> list[CallStat]:
        calls, self.calls = self.calls, []
        return calls

    def _note(self, request: ChatRequest, response: ChatResponse) -> ChatResponse:
        self.calls.append(CallStat(
            prompt=request.prompt, schema_name=request.schema_name,
            valid=response.finish_reason != "length" and response_valid(request.schema_name, response.text),
            prompt_tokens=response.prompt_tokens, completion_tokens=response.completion_tokens,
            latency_s=response.latency_s, finish_reason=response.finish_reason))
        return response

    def complete(self, request: ChatRequest) -> ChatResponse:
        return self._note(request, self.inner.complete(request))

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        return self._note(request, await self.inner.acomplete(request))
