"""The exception tree. Every error the library raises derives from `AssistantError`.

    AssistantError
    ├── UserError                  the caller's mistake (bad argument, unknown backend)
    │   └── MissingDependencyError an optional extra is not installed (carries the pip hint)
    ├── InputError                 the article or evidence cannot be used (empty, binary, ...)
    ├── PromptError                a prompt file is malformed or a variable is missing/unused
    ├── BackendError               the model endpoint failed (transport, HTTP status, load)
    │   ├── AnswerError            a 200 answer that is no usable completion (no choices, ...)
    │   └── BudgetExceededError    a token/cost cap was reached
    └── OutputValidationError      the model's output never validated (after all re-asks)
        └── TruncatedOutputError   finish_reason == "length" on the last attempt

The CLI maps each branch to its own exit code (see `assistant.cli`).

Every error falls in one of four classes (`error_class`), and every command and the batch
runner use that one classification to decide what to do with it:

    transport   the request did not get an answer: connection refused or dropped, timeout,
                HTTP 408/409/429/5xx. Retried by the backend (the SDK's retries, honouring
                Retry-After); a batch record with it runs again on the next run.
    answer      a 200 whose body is no usable completion: no `choices`, a body that is not
                JSON or not a completion (a dropped stream). Re-sent unchanged by the backend;
                a batch record with it runs again on the next run.
    validation  the completion's content failed JSON/schema/grounding checks on every
                re-ask (`OutputValidationError`). Re-asked, never re-sent as is.
    permanent   anything else: HTTP 400/401/403/404, a bad input, a budget cap, a bug.
                Not retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ErrorClass = Literal["transport", "answer", "validation", "permanent"]
BackendFault = Literal["transport", "answer", "permanent"]
# Statuses a later identical request may get through: timeout, conflict, rate limit, server.
RETRYABLE_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))
AUTH_STATUS = frozenset({401, 403})


class AssistantError(Exception):
    """Base class: `str(err)` is one line a user can read."""


class UserError(AssistantError):
    """The caller asked for something that cannot work (bad option, unknown name)."""


class MissingDependencyError(UserError):
    def __init__(self, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{package} is not installed; install it with: pip install 'newsfact-assistant[{extra}]'"
        )


class InputError(AssistantError):
    """The input document cannot be analysed (empty, binary, undecodable, too large)."""


class PromptError(AssistantError):
    """A prompt template is malformed, or rendering it with the given variables fails."""


class BackendError(AssistantError):
    """The model could not be reached or answered with an error.

    `fault` is "transport" (no answer: connection, timeout, or a retryable status),
    "answer" (see `AnswerError`) or "permanent". Without an explicit `fault`, an HTTP
    status decides: 408/409/429/5xx are transport faults, other statuses permanent.
    """

    def __init__(self, message: str, *, status_code: int | None = None, body: str | None = None,
                 fault: BackendFault | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        if fault is None:
            fault = "transport" if status_code in RETRYABLE_STATUS else "permanent"
        self.fault: BackendFault = fault

    @property
    def retryable(self) -> bool:
        return self.fault != "permanent"

    @property
    def unreachable(self) -> bool:
        """No server answered at all, or it refused the credentials: every later request
        to the same endpoint will fail the same way."""
        return (self.fault == "transport" and self.status_code is None) or \
            self.status_code in AUTH_STATUS


class AnswerError(BackendError):
    """A 200 answer that is no usable completion (no choices, a body that is not a chat
    completion, a dropped stream). The same request may well succeed when sent again."""

    def __init__(self, message: str, *, body: str | None = None) -> None:
        super().__init__(message, status_code=None, body=body, fault="answer")


class BudgetExceededError(BackendError):
    """A hard cap on tokens or cost stops further model calls."""

    def __init__(self, message: str, *, status_code: int | None = None,
                 body: str | None = None) -> None:
        super().__init__(message, status_code=status_code, body=body, fault="permanent")


@dataclass
class Attempt:
    """One model exchange inside a structured call, kept for diagnosis."""

    raw_output: str
    error: str
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


class OutputValidationError(AssistantError):
    """The model's output failed JSON, schema or grounding validation on every attempt."""

    def __init__(self, message: str, *, prompt: str, attempts: list[Attempt],
                 notes: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.prompt = prompt
        self.attempts = attempts
        self.notes = list(notes)  # what the call's checks noted on its attempts

    @property
    def raw_output(self) -> str:
        return self.attempts[-1].raw_output if self.attempts else ""

    @property
    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": sum(a.prompt_tokens for a in self.attempts),
            "completion_tokens": sum(a.completion_tokens for a in self.attempts),
        }


class TruncatedOutputError(OutputValidationError):
    """The model stopped at its token limit; partial JSON is never used as a result."""


@dataclass
class ValidationIssue:
    """A problem found while validating one model output; joined into the re-ask message."""

    path: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def error_class(exc: BaseException) -> ErrorClass:
    """The one classification of an error (see the module docstring)."""
    if isinstance(exc, BackendError):
        return exc.fault
    if isinstance(exc, OutputValidationError):
        return "validation"
    return "permanent"


def is_retryable(exc: BaseException) -> bool:
    """Would the same request, sent again later, plausibly succeed?"""
    return error_class(exc) in ("transport", "answer")
