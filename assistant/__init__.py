"""Grounded summaries, check-worthy claims and verification questions for news articles."""

from .analysis import Options
from .api import Assistant, AsyncAssistant, as_document
from .backends import Backend, ChatRequest, ChatResponse, FakeBackend, get_backend
from .errors import (
    AssistantError,
    BackendError,
    InputError,
    MissingDependencyError,
    OutputValidationError,
    PromptError,
    TruncatedOutputError,
    UserError,
)
from .render import to_markdown
from .schemas import (
    Analysis,
    Claim,
    ClaimList,
    ClaimType,
    Document,
    KeyPoint,
    Provenance,
    QuestionList,
    Quote,
    Sentence,
    Summary,
    VerificationMethod,
    VerificationQuestion,
)

__all__ = [
    "Analysis",
    "Assistant",
    "AssistantError",
    "AsyncAssistant",
    "Backend",
    "BackendError",
    "ChatRequest",
    "ChatResponse",
    "Claim",
    "ClaimList",
    "ClaimType",
    "Document",
    "FakeBackend",
    "InputError",
    "KeyPoint",
    "MissingDependencyError",
    "Options",
    "OutputValidationError",
    "PromptError",
    "Provenance",
    "QuestionList",
    "Quote",
    "Sentence",
    "Summary",
    "TruncatedOutputError",
    "UserError",
    "VerificationMethod",
    "VerificationQuestion",
    "as_document",
    "get_backend",
    "to_markdown",
]
