"""Backends by name, imported lazily so a missing optional SDK costs nothing until used."""

from __future__ import annotations

import os
from typing import Any

from assistant.backends.base import Backend, ChatRequest, ChatResponse, Message, WrapperBackend
from assistant.backends.fake import FakeBackend
from assistant.backends.retry import RetryPolicy
from assistant.errors import MissingDependencyError, UserError

BACKENDS = ("openai", "embedded", "fake")


def default_backend_name() -> str:
    """OpenAI-compatible when an endpoint or key is configured, else the embedded model."""
    configured = any(os.environ.get(v) for v in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ASSISTANT_BASE_URL"))
    return os.environ.get("ASSISTANT_BACKEND") or ("openai" if configured else "embedded")


def get_backend(name: str | None = None, *, model: str | None = None, base_url: str | None = None,
                api_key: str | None = None, timeout: float | None = None,
                max_retries: int | None = None, retry: RetryPolicy | None = None,
                **kwargs: Any) -> Backend:
    """The backend `name` (default: `default_backend_name()`).

    `timeout` (seconds per attempt) and `max_retries` apply to the network backend; None
    takes `$ASSISTANT_TIMEOUT` / `$ASSISTANT_MAX_RETRIES`, else the defaults. `retry`, a
    `RetryPolicy`, replaces its default re-sending of answer faults (see
    `assistant.backends.retry`). The embedded model runs in-process and has none of them.
    """
    name = name or default_backend_name()
    if name == "openai":
        if timeout is not None:
            kwargs["timeout"] = timeout
        if max_retries is not None:
            kwargs["max_retries"] = max_retries
        if retry is not None:
            kwargs["retry"] = retry
        try:
            from assistant.backends.openai_compat import OpenAIBackend
        except ImportError as exc:  # pragma: no cover - openai is a core dependency
            raise MissingDependencyError("openai", "openai") from exc
        return OpenAIBackend(model=model, base_url=base_url or os.environ.get("ASSISTANT_BASE_URL"),
                             api_key=api_key, **kwargs)
    if name == "embedded":
        from assistant.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(model_path=model, **kwargs)
    if name == "fake":
        return FakeBackend(**kwargs)
    raise UserError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "ChatRequest", "ChatResponse", "FakeBackend", "Message",
           "RetryPolicy", "WrapperBackend", "default_backend_name", "get_backend"]
