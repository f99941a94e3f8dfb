"""When a backend sends a request again: one tenacity policy for its sync and async calls.

The OpenAI-compatible backend leaves transport faults (no answer, 408/409/429/5xx) to the
SDK's own retries, which honour Retry-After. What the SDK does not retry is an *answer
fault*: a 200 whose body is no usable completion (`AnswerError`). `RetryPolicy` says how
those are re-sent: tenacity's `stop`, `wait` and `retry` (which errors are sent again),
used as `Retrying` by `complete` and as `AsyncRetrying` by `acomplete`.

    OpenAIBackend(model, url)                                   # answer faults, max_retries times
    OpenAIBackend(model, url, retry=RetryPolicy(stop=stop_after_attempt(1)))   # never re-sent
    OpenAIBackend(model, url, retry=RetryPolicy(stop=stop_after_delay(30),
                                                wait=wait_exponential(max=5)))

A policy whose `retry` also accepts transport faults makes them retried twice over (the
SDK's `max_retries`, then the policy's); pass `max_retries=0` with such a policy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from assistant.errors import BackendError

if TYPE_CHECKING:
    from tenacity.retry import RetryBaseT
    from tenacity.stop import StopBaseT
    from tenacity.wait import WaitBaseT

__all__ = ["ANSWER_BACKOFF_S", "RetryPolicy", "answer_backoff", "is_answer_fault"]

log = logging.getLogger("assistant.backends")

# Waits before re-sending after an answer fault: short, the server did answer.
ANSWER_BACKOFF_S = (0.1, 0.3, 1.0, 2.0)


def is_answer_fault(exc: BaseException) -> bool:
    """A 200 that is no usable completion: the one fault the SDK does not retry itself."""
    return isinstance(exc, BackendError) and exc.fault == "answer"


def answer_backoff(state: RetryCallState) -> float:
    """`ANSWER_BACKOFF_S` by attempt, its last value from then on."""
    return ANSWER_BACKOFF_S[min(state.attempt_number - 1, len(ANSWER_BACKOFF_S) - 1)]


def _log_resend(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    log.info("backend: %s; sending again (attempt %d)", error, state.attempt_number + 1)


@dataclass(frozen=True)
class RetryPolicy:
    """How often, after which errors and how long after them a request is sent again.

    The fields are tenacity's (`tenacity.stop_after_attempt(3)`, `wait_exponential()`,
    `retry_if_exception(...)`, or any callable of a `RetryCallState`). The last error is
    raised as it is (tenacity's `reraise`), never wrapped in a `RetryError`.
    """

    stop: StopBaseT
    wait: WaitBaseT = answer_backoff
    retry: RetryBaseT = field(default_factory=lambda: retry_if_exception(is_answer_fault))

    @classmethod
    def answer_faults(cls, max_retries: int) -> RetryPolicy:
        """The default: answer faults re-sent up to `max_retries` times, after short waits."""
        return cls(stop=stop_after_attempt(max_retries + 1))

    def _kwargs(self) -> dict[str, Any]:
        return {"stop": self.stop, "wait": self.wait, "retry": self.retry, "reraise": True,
                "before_sleep": _log_resend}

    def retrying(self) -> Retrying:
        """A fresh sync controller (tenacity keeps per-call state in it)."""
        return Retrying(**self._kwargs())

    def aretrying(self) -> AsyncRetrying:
        """A fresh async controller; it waits with `asyncio.sleep`."""
        return AsyncRetrying(**self._kwargs())
