"""Validated structured output: render → call → parse → validate → re-ask (bounded).

Transport retries belong to the backend (the SDK's own, honouring Retry-After). This
loop only re-asks when the *content* fails: invalid JSON, schema violations, grounding
failures, or truncation. Each re-ask appends the model's answer and the errors to the
conversation, so the article prefix stays cached on backends that reuse it.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, Retrying, retry_if_exception_type, stop_after_attempt

from assistant.backends.base import Backend, ChatRequest, ChatResponse, Message
from assistant.core.prompts import load_prompt, render_with_prefix
from assistant.errors import Attempt, OutputValidationError, TruncatedOutputError, ValidationIssue
from assistant.schemas import PromptRef, Usage, json_schema

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


@dataclass
class Structured(Generic[T]):
    """A validated value plus what it cost."""

    value: T
    usage: Usage
    attempts: int
    prompts: list[PromptRef]
    latency_s: float
    # What the spec's check noted on each attempt (kept, re-anchored or dropped parts).
    notes: list[str] = field(default_factory=list)


@dataclass
class Findings:
    """What a check found in one parsed answer, returned rather than written into it.

    `issues` send the answer back to the model (a re-ask); `notes` say what the check
    changed or dropped, and reach the step in `Structured.notes`; `value`, when set, is
    the answer as the step should use it (a corrected copy; the parsed one is untouched).
    """

    issues: list[ValidationIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    value: BaseModel | None = None


Checker = Callable[[Any], Findings]


class _AttemptFailed(Exception):
    pass


@dataclass
class CallSpec:
    """Everything needed for one structured call; the drivers below execute it.

    `stand_in`, if set, is the answer planning assumes (`pipeline.Planner`) where the
    calls that follow depend on it; without it planning assumes an empty answer."""

    prompt: str
    values: dict[str, Any]
    output: type[BaseModel]
    check: Checker | None = None
    max_attempts: int = 3
    params: dict[str, Any] = field(default_factory=dict)
    prompts_dir: Path | None = None
    stand_in: Callable[[], BaseModel] | None = None


def parse_output(text: str, output: type[T]) -> tuple[T | None, list[ValidationIssue]]:
    """Parse model text as JSON into `output`; issues describe what is wrong."""
    body = text.strip()
    if m := _FENCE.match(body):
        body = m.group(1)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        return None, [ValidationIssue("", f"not valid JSON ({exc.msg} at char {exc.pos})")]
    try:
        return output.model_validate(data), []
    except ValidationError as exc:
        return None, [
            ValidationIssue(".".join(str(p) for p in err["loc"]), err["msg"])
            for err in exc.errors(include_url=False)[:8]
        ]


def _prompt_key(refs: list[PromptRef]) -> str:
    """The request's prompt label: every template it renders, by name and content hash."""
    return "+".join(f"{r.name}@{r.hash}" for r in refs)


class _Exchange(Generic[T]):
    """The state of one structured call across its attempts (I/O-free)."""

    def __init__(self, spec: CallSpec) -> None:
        self.spec = spec
        template = load_prompt(spec.prompt, spec.prompts_dir)
        self.messages, self.refs = render_with_prefix(template, spec.values, spec.prompts_dir)
        self.reask = load_prompt("reask", spec.prompts_dir)
        self.refs.append(self.reask.ref)
        self.params = {**template.parameters, **spec.params}
        self.schema = json_schema(spec.output)
        self.attempts: list[Attempt] = []
        self.usage = Usage()
        self.notes: list[str] = []
        self.started = time.perf_counter()

    def request(self) -> ChatRequest:
        return ChatRequest(messages=self.messages, json_schema=self.schema,
                           schema_name=self.spec.output.__name__,
                           prompt=_prompt_key(self.refs), **self.params)

    def accept(self, response: ChatResponse) -> Structured[T]:
        self.usage.add(response)
        issues: list[ValidationIssue]
        if response.finish_reason == "length":
            issues = [ValidationIssue("", "the answer was cut off at the token limit; answer "
                                          "with shorter strings and fewer items")]
        else:
            value, issues = parse_output(response.text, self.spec.output)
            if value is not None and self.spec.check is not None:
                found = self.spec.check(value)
                issues = found.issues
                self.notes += found.notes
                if found.value is not None:
                    value = found.value
            if not issues and value is not None:
                return Structured(value=value, usage=self.usage,  # type: ignore[arg-type]
                                  attempts=len(self.attempts) + 1, prompts=self.refs,
                                  latency_s=time.perf_counter() - self.started, notes=self.notes)
        self.attempts.append(Attempt(raw_output=response.text, error="; ".join(map(str, issues)),
                                     finish_reason=response.finish_reason,
                                     prompt_tokens=response.prompt_tokens,
                                     completion_tokens=response.completion_tokens))
        errors = "\n".join(f"- {i}" for i in issues)
        self.messages = [*self.messages, Message(role="assistant", content=response.text),
                         *self.reask.render(errors=errors)]
        raise _AttemptFailed(errors)

    def error(self) -> OutputValidationError:
        last = self.attempts[-1]
        cls = TruncatedOutputError if last.finish_reason == "length" else OutputValidationError
        return cls(f"prompt {self.spec.prompt!r}: model output failed validation after "
                   f"{len(self.attempts)} attempt(s): {last.error}",
                   prompt=self.spec.prompt, attempts=self.attempts, notes=self.notes)


@dataclass
class ProbeSpec:
    """A closed question read as probabilities, not as a generated label.

    One output token is generated; the probability of each answer is read from that
    token's top log-probabilities (variants in case and spacing summed, then normalised
    over the answers): `Probability.p` is that of `answers[0]`, `Probability.distribution`
    all of them in order. Two answers (Yes / No) are a yes/no probe; more (A / B / C) a
    multiple-choice one. A backend that returns no log-probabilities gives the greedy
    label as 1.0 / 0.0 and `method="label"`, so a caller can say so.
    """

    prompt: str
    values: dict[str, Any]
    answers: tuple[str, ...] = ("Yes", "No")
    top_logprobs: int = 10
    prompts_dir: Path | None = None


@dataclass
class Probability:
    """P(answers[0]) for one `ProbeSpec`, plus what it cost (same fields as `Structured`)."""

    p: float
    method: Literal["logprobs", "label"]
    answer: str
    usage: Usage
    attempts: int
    prompts: list[PromptRef]
    latency_s: float
    # P of each of the spec's answers, in order (summing to 1); `p` is the first.
    distribution: list[float] = field(default_factory=list)


def _answer_key(token: str) -> str:
    return token.strip().lower()


def read_distribution(response: ChatResponse, answers: Sequence[str]) -> tuple[list[float], str, str]:
    """(P of each answer, method, the answer text) from one short response: the first
    token's top log-probabilities normalised over the answers, else the greedy label as
    1 / 0 (all equal when it is none of them), method "label"."""
    keys = [_answer_key(a) for a in answers]
    text = response.text.strip()
    if response.logprobs:
        first = response.logprobs[0]
        mass = dict.fromkeys(keys, 0.0)
        for token, lp in {**first.top, first.token: first.logprob}.items():
            key = _answer_key(token)
            if key in mass:
                mass[key] += math.exp(lp)
        total = sum(mass.values())
        if total > 0:
            return [mass[k] / total for k in keys], "logprobs", text
    said = _answer_key(text.split()[0]).rstrip(".,:;)") if text else ""
    # "yes." or "Yesterday" reads as yes (as before); a one-letter answer must be the word
    hit = next((k for k in keys if said == k or (len(k) > 1 and said.startswith(k))), None) if said else None
    if hit is None:
        return [1 / len(keys)] * len(keys), "label", text
    return [float(k == hit) for k in keys], "label", text


def read_probability(response: ChatResponse, answers: tuple[str, ...]) -> tuple[float, str, str]:
    """(p of answers[0], method, the answer text) from one short response."""
    dist, method, text = read_distribution(response, answers)
    return dist[0], method, text


class _Probe:
    def __init__(self, spec: ProbeSpec) -> None:
        self.spec = spec
        template = load_prompt(spec.prompt, spec.prompts_dir)
        self.messages, self.refs = render_with_prefix(template, spec.values, spec.prompts_dir)
        self.params = {**template.parameters, "max_tokens": 1}
        self.started = time.perf_counter()

    def request(self) -> ChatRequest:
        return ChatRequest(messages=self.messages, top_logprobs=self.spec.top_logprobs,
                           prompt=_prompt_key(self.refs), **self.params)

    def accept(self, response: ChatResponse) -> Probability:
        dist, method, answer = read_distribution(response, self.spec.answers)
        usage = Usage()
        usage.add(response)
        return Probability(p=dist[0], method=method, answer=answer,  # type: ignore[arg-type]
                           usage=usage, attempts=1, prompts=self.refs,
                           latency_s=time.perf_counter() - self.started, distribution=dist)


def first_request(spec: CallSpec | ProbeSpec) -> ChatRequest:
    """The request a spec's first attempt sends (re-asks add to it): what planning,
    estimates and benchmarks count, built by the same code that sends it."""
    return (_Probe(spec) if isinstance(spec, ProbeSpec) else _Exchange(spec)).request()


def call_probe(backend: Backend, spec: ProbeSpec) -> Probability:
    probe = _Probe(spec)
    return probe.accept(backend.complete(probe.request()))


async def acall_probe(backend: Backend, spec: ProbeSpec) -> Probability:
    probe = _Probe(spec)
    return probe.accept(await backend.acomplete(probe.request()))


def _retrying(spec: CallSpec) -> dict[str, Any]:
    return {"stop": stop_after_attempt(spec.max_attempts),
            "retry": retry_if_exception_type(_AttemptFailed), "reraise": True}


def call_structured(backend: Backend, spec: CallSpec) -> Structured[Any]:
    ex: _Exchange[Any] = _Exchange(spec)
    try:
        return Retrying(**_retrying(spec))(lambda: ex.accept(backend.complete(ex.request())))
    except _AttemptFailed:
        raise ex.error() from None


async def acall_structured(backend: Backend, spec: CallSpec) -> Structured[Any]:
    ex: _Exchange[Any] = _Exchange(spec)

    async def attempt() -> Structured[Any]:
        return ex.accept(await backend.acomplete(ex.request()))

    try:
        return await AsyncRetrying(**_retrying(spec))(attempt)
    except _AttemptFailed:
        raise ex.error() from None
