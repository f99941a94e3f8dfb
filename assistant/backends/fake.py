"""A scripted backend for tests: queued responses out, received requests recorded."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from assistant.backends.base import ChatRequest, ChatResponse
from assistant.errors import BackendError

Script = str | dict[str, Any] | ChatResponse | Exception | Callable[[ChatRequest], Any]


class FakeBackend:
    """Answers each request with the next scripted item.

    An item is a string (returned as-is), a dict (returned as JSON), a `ChatResponse`, an
    exception (raised), or a callable taking the request and returning any of those.
    With `default` set, an empty queue answers with it instead of failing.
    """

    name = "fake"
    base_url: str | None = None

    def __init__(self, responses: Iterable[Script] = (), *, model: str = "fake-model",
                 default: Script | None = None) -> None:
        self.model = model
        self._queue: deque[Script] = deque(responses)
        self.default = default
        self.requests: list[ChatRequest] = []

    def enqueue(self, *items: Script) -> None:
        self._queue.extend(items)

    def _answer(self, item: Script, request: ChatRequest) -> ChatResponse:
        if callable(item) and not isinstance(item, ChatResponse | Exception):
            item = item(request)
        if isinstance(item, Exception):
            raise item
        if isinstance(item, ChatResponse):
            return item
        text = item if isinstance(item, str) else json.dumps(item)
        prompt_tokens = sum(self.count_tokens(m.content) for m in request.messages)
        return ChatResponse(text=text, finish_reason="stop", prompt_tokens=prompt_tokens,
                            completion_tokens=self.count_tokens(text), model=self.model)

    def complete(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        if self._queue:
            return self._answer(self._queue.popleft(), request)
        if self.default is not None:
            return self._answer(self.default, request)
        raise BackendError("fake backend: no scripted response left")

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        return self.complete(request)

    def count_tokens(self, text: str) -> int:
        # Roughly one token per four characters, like English BPE vocabularies.
        return max(1, len(text) // 4) if text else 0
