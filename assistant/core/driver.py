"""Drivers that run analysis steps against a backend, sync or async.

A step is a generator that yields a `CallSpec` (or a list of them, which may run
concurrently) and receives the `Structured` result(s); it returns its final value. The
same step code therefore serves `Assistant` and `AsyncAssistant`, and provenance is
accumulated here, in one place. A call whose output never validates is thrown into the
step, which may fall back to a deterministic result (noting it) or let it propagate.

Given a `Planner` instead of a backend, both drivers make no call: they record the first
request of every call the step's own code lays out (chunks, map-reduce, one call per
claim or evidence hit) and answer it with a stand-in, so a cost estimate is derived from
the steps, never from a copy of them.
"""

from __future__ import annotations

import asyncio
import enum
import time
import types
from collections.abc import Callable, Coroutine, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

from assistant.backends.base import Backend, ChatRequest, ChatResponse, WrapperBackend
from assistant.core.structured import (
    CallSpec,
    Probability,
    ProbeSpec,
    Structured,
    acall_probe,
    acall_structured,
    call_probe,
    call_structured,
    first_request,
)
from assistant.errors import BackendError, OutputValidationError
from assistant.schemas import Provenance, Usage

R = TypeVar("R")
T = TypeVar("T")
Spec = CallSpec | ProbeSpec
# Sequence, not list: a step yielding list[CallSpec] is a Step too (lists are invariant).
Step = Generator[Spec | Sequence[Spec], Any, R]


@dataclass(frozen=True)
class Noted(Generic[T]):
    """A step's result and its notes (what it dropped, re-anchored or fell back on), which
    the caller merges into provenance: steps return them instead of writing into a list
    they are handed."""

    value: T
    notes: list[str]


def _call(backend: Backend, spec: Spec) -> Any:
    return call_probe(backend, spec) if isinstance(spec, ProbeSpec) else call_structured(backend, spec)


async def _acall(backend: Backend, spec: Spec) -> Any:
    if isinstance(spec, ProbeSpec):
        return await acall_probe(backend, spec)
    return await acall_structured(backend, spec)


def new_provenance(backend: Backend) -> Provenance:
    return Provenance(backend=backend.name, model=backend.model, base_url=backend.base_url)


def _record(prov: Provenance, results: Structured[Any] | list[Structured[Any]]) -> None:
    for r in results if isinstance(results, list) else [results]:
        known = {(p.name, p.hash) for p in prov.prompts}
        prov.prompts += [p for p in r.prompts if (p.name, p.hash) not in known]
        prov.usage.add(r.usage)
        prov.attempts += r.attempts


def _record_failure(prov: Provenance, exc: OutputValidationError) -> None:
    prov.usage.add(Usage(calls=len(exc.attempts), **exc.usage))
    prov.attempts += len(exc.attempts)


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class PlannedCall:
    """One call a run will make: its first request, and how many attempts it may take."""

    request: ChatRequest
    max_attempts: int


def _blank_of(tp: Any) -> Any:
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return _blank_of(args[0])
    if origin in (Union, types.UnionType):
        return None if type(None) in args else _blank_of(args[0])
    if origin is Literal:
        return args[0]
    if origin in (list, tuple, set, frozenset) or tp in (list, tuple):
        return []
    if origin is dict or tp is dict:
        return {}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return next(iter(tp))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return blank(tp)
    return {str: "", int: 0, float: 0.0, bool: False}.get(tp)


def blank(model: type[BaseModel]) -> BaseModel:
    """An answer with nothing in it (empty strings and lists, no optional parts), built
    without validation: what planning assumes a model says unless a spec's `stand_in`
    says otherwise."""
    return model.model_construct(**{name: _blank_of(f.annotation)
                                    for name, f in model.model_fields.items() if f.is_required()})


class Planner(WrapperBackend):
    """A `Backend` stand-in for planning: the drivers record each call in `calls` and
    answer it without a model (`CallSpec.stand_in`, else `blank`; a probe gets p=0.5).
    It counts tokens with `backend` but sends nothing: `complete` is refused."""

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.calls: list[PlannedCall] = []

    def complete(self, request: ChatRequest) -> ChatResponse:
        raise BackendError("a Planner makes no model call; run steps through pipeline.run")

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        return self.complete(request)

    def answer(self, spec: Spec) -> Any:
        if isinstance(spec, ProbeSpec):
            self.calls.append(PlannedCall(first_request(spec), 1))
            return Probability(p=0.5, method="label", answer="", usage=Usage(), attempts=1,
                               prompts=[], latency_s=0.0)
        self.calls.append(PlannedCall(first_request(spec), spec.max_attempts))
        value = spec.stand_in() if spec.stand_in is not None else blank(spec.output)
        return Structured(value=value, usage=Usage(), attempts=1, prompts=[], latency_s=0.0)

    def answer_all(self, request: Spec | Sequence[Spec]) -> Any:
        if isinstance(request, CallSpec | ProbeSpec):
            return self.answer(request)
        return [self.answer(s) for s in request]

    def drive(self, step: Step[R]) -> R:
        """Run `step` to its end on planned answers (nothing is recorded in provenance)."""
        with _Loop(step, None) as loop:
            while not loop.done:
                loop.send(self.answer_all(loop.request))
        return loop.value


def plan_calls(operation: Coroutine[Any, Any, Any]) -> None:
    """Run an async operation whose backend is a `Planner` to its end.

    With a Planner, `arun` answers without awaiting anything, so the coroutine finishes on
    its first step (no event loop needed, and none is disturbed when one is running).
    Real I/O inside it is a bug, refused here.
    """
    try:
        operation.send(None)
    except StopIteration:
        return
    operation.close()
    raise RuntimeError("planning reached real I/O: an operation awaited something besides arun")


# --------------------------------------------------------------------------- drivers


class _Loop(Generic[R]):
    """One step being driven: what it asks for next, and the bookkeeping both drivers
    share (provenance of every result and failure, the step's wall time). The drivers
    differ only in how they get a result for `request`."""

    def __init__(self, step: Step[R], prov: Provenance | None) -> None:
        self.step, self.prov = step, prov
        self.done = False
        self.request: Spec | Sequence[Spec] = []
        self.value: R

    def __enter__(self) -> _Loop[R]:
        self.started = time.perf_counter()
        self._resume(lambda: next(self.step))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.prov is not None:
            self.prov.latency_s += time.perf_counter() - self.started

    def _resume(self, resume: Callable[[], Spec | Sequence[Spec]]) -> None:
        try:
            self.request = resume()
        except StopIteration as stop:
            self.done, self.value = True, stop.value

    def send(self, result: Any) -> None:
        """Record `result` (one `Structured`/`Probability`, or a list) and hand it to the step."""
        if self.prov is not None:
            _record(self.prov, result)
        self._resume(lambda: self.step.send(result))

    def fail(self, exc: OutputValidationError) -> None:
        """Record a call whose output never validated and throw it into the step, which
        may fall back (noting it) or let it propagate."""
        if self.prov is not None:
            _record_failure(self.prov, exc)
        self._resume(lambda: self.step.throw(exc))


def parallel_slots(backend: Backend) -> int:
    """How many requests `backend` decodes at once: its `n_parallel` (the embedded
    model's sequences in one context; wrappers pass the attribute through), else 1."""
    slots = getattr(backend, "n_parallel", 1)
    return slots if isinstance(slots, int) and slots > 1 else 1


def _call_many(backend: Backend, specs: Sequence[Spec]) -> list[Any]:
    """The sync driver's answer to a step that yields several specs at once: independent
    calls, run from up to `parallel_slots(backend)` threads so a backend that decodes
    several sequences together (the embedded model) does; in order, one at a time,
    otherwise. Results keep the specs' order; the first failure (in that order) raises
    after every call has finished."""
    workers = min(parallel_slots(backend), len(specs))
    if workers <= 1:
        return [_call(backend, s) for s in specs]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="assistant-call") as pool:
        futures = [pool.submit(_call, backend, s) for s in specs]
        wait(futures)
    return [f.result() for f in futures]


def _dispatch(backend: Backend, request: Spec | Sequence[Spec]) -> Any:
    if isinstance(request, CallSpec | ProbeSpec):
        return _call(backend, request)
    return _call_many(backend, request)


async def _adispatch(backend: Backend, request: Spec | Sequence[Spec], gate: asyncio.Semaphore) -> Any:
    async def one(spec: Spec) -> Any:
        async with gate:
            return await _acall(backend, spec)

    if isinstance(request, CallSpec | ProbeSpec):
        return await one(request)
    return list(await asyncio.gather(*(one(s) for s in request)))


def run(step: Step[R], backend: Backend, prov: Provenance) -> R:
    """Drive `step` to its end with blocking calls on `backend`, recording into `prov`."""
    if isinstance(backend, Planner):
        return backend.drive(step)
    with _Loop(step, prov) as loop:
        while not loop.done:
            try:
                result = _dispatch(backend, loop.request)
            except OutputValidationError as exc:
                loop.fail(exc)
            else:
                loop.send(result)
    return loop.value


async def arun(step: Step[R], backend: Backend, prov: Provenance, *, concurrency: int = 4) -> R:
    """`run` with awaited calls; the specs of one yield run concurrently, at most
    `concurrency` at a time."""
    if isinstance(backend, Planner):
        return backend.drive(step)
    gate = asyncio.Semaphore(concurrency)
    with _Loop(step, prov) as loop:
        while not loop.done:
            try:
                result = await _adispatch(backend, loop.request, gate)
            except OutputValidationError as exc:
                loop.fail(exc)
            else:
                loop.send(result)
    return loop.value
