"""The exception tree. Every error the library raises derives from `AssistantError`.

    AssistantError
    ├── UserError                  the caller's mistake (bad argument, unknown backend)
    │   └── MissingDependencyError an optional extra is not installed (carries the pip hint)
    ├── InputError                 the article or evidence cannot be used (empty, binary, ...)
    ├── PromptError                a prompt file is malformed or a variable is missing/unused
    ├── BackendError               the model endpoint failed (transport, HTTP status, load)
    │   └── BudgetExceededError    a token/cost cap was reached
    └── OutputValidationError      the model's output never validated (after all re-asks)
        └── TruncatedOutputError   finish_reason == "length" on the last attempt

The CLI maps each branch to its own exit code (see `assistant.cli`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    """The model could not be reached or answered with an error."""

    def __init__(self, message: str, *, status_code: int | None = None, body: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class BudgetExceededError(BackendError):
    """A hard cap on tokens or cost stops further model calls."""


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

    def __init__(self, message: str, *, prompt: str, attempts: list[Attempt]) -> None:
        super().__init__(message)
        self.prompt = prompt
        self.attempts = attempts

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
