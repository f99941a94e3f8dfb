"""Drivers that run analysis steps against a backend, sync or async.

A step is a generator that yields a `CallSpec` (or a list of them, which may run
concurrently) and receives the `Structured` result(s); it returns its final value. The
same step code therefore serves `Assistant` and `AsyncAssistant`, and provenance is
accumulated here, in one place. A call whose output never validates is thrown into the
step, which may fall back to a deterministic result (noting it) or let it propagate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator
from typing import Any, TypeVar

from .backends.base import Backend
from .errors import OutputValidationError
from .schemas import Provenance
from .structured import (
    CallSpec,
    ProbeSpec,
    Structured,
    acall_probe,
    acall_structured,
    call_probe,
    call_structured,
)

R = TypeVar("R")
Spec = CallSpec | ProbeSpec
Step = Generator[Spec | list[Spec], Any, R]


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
    prov.usage.calls += len(exc.attempts)
    prov.usage.prompt_tokens += exc.usage["prompt_tokens"]
    prov.usage.completion_tokens += exc.usage["completion_tokens"]
    prov.attempts += len(exc.attempts)


def run(step: Step[R], backend: Backend, prov: Provenance) -> R:
    started = time.perf_counter()
    try:
        request = next(step)
        while True:
            try:
                if isinstance(request, list):
                    result: Any = [_call(backend, s) for s in request]
                else:
                    result = _call(backend, request)
            except OutputValidationError as exc:
                _record_failure(prov, exc)
                request = step.throw(exc)  # the step may fall back, or re-raise
                continue
            _record(prov, result)
            request = step.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        prov.latency_s += time.perf_counter() - started


async def arun(step: Step[R], backend: Backend, prov: Provenance, *, concurrency: int = 4) -> R:
    started = time.perf_counter()
    gate = asyncio.Semaphore(concurrency)

    async def one(spec: Spec) -> Any:
        async with gate:
            return await _acall(backend, spec)

    try:
        request = next(step)
        while True:
            try:
                if isinstance(request, list):
                    result: Any = list(await asyncio.gather(*(one(s) for s in request)))
                else:
                    result = await one(request)
            except OutputValidationError as exc:
                _record_failure(prov, exc)
                request = step.throw(exc)
                continue
            _record(prov, result)
            request = step.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        prov.latency_s += time.perf_counter() - started
