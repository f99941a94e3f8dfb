"""Batch runs: many articles, bounded concurrency, one durable record per article.

    summary = run_batch("articles/", "results.jsonl", backend=get_backend("openai"),
                        concurrency=16, cache=ResponseCache(), budget=Budget(max_cost=5.0))

Inputs are a directory (one article per file, any format intake reads) or a JSONL file
(one article per line: `text`, and optionally `id`, `title`, `url`, `outlet`, `published`,
and `evidence`, a list of paths or texts for the `check` and `brief` tasks).
An input's id is its name (file path under the directory, or the JSONL `id`) plus a hash
of its content, so an edited article counts as a new input.

Every input ends as one `BatchRecord` in the results file: `ok` with the task's result,
`error` with the reason, or `not_started` when a budget cap, an unreachable endpoint or an
interrupt stopped the run first. An error record says whether it is `retryable` (a
transport or answer fault, see `assistant.errors.error_class`) or permanent (a bad input,
a refused request, output that never validated). Re-running with the same results file
skips inputs already `ok` or permanently `error` and runs the rest again
(`retry_errors=True` runs permanent errors again too), so a crashed or stopped run resumes
where it stopped; a cache makes the calls of half-finished articles free the second time.

When the first articles of a run all fail because the endpoint cannot be reached or
refuses the credentials (`BackendError.unreachable`), the run stops instead of failing
every article the same way; those left are `not_started`.

The backend stack, outermost first: a per-article meter (usage in each record), the
response cache, a gate of `concurrency` requests in flight, the budget ledger, and the
model backend (or the Batch API, see `assistant.backends.batch_api`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.api import AsyncAssistant
from assistant.backends.base import Backend, ChatRequest, ChatResponse, WrapperBackend
from assistant.backends.budget import Budget, BudgetedBackend, Estimate, Ledger, PriceTable
from assistant.backends.cache import CachingBackend, ResponseCache
from assistant.batch._inputs import BatchInput, read_inputs
from assistant.batch._tasks import TASKS, BriefItem, Task, TaskInput, get_task, plan
from assistant.batch.files import Progress, ResultsFile
from assistant.core.driver import PlannedCall
from assistant.errors import (
    AssistantError,
    BackendError,
    BudgetExceededError,
    OutputValidationError,
    UserError,
    error_class,
)
from assistant.schemas import Document, Provenance, Usage
from assistant.steps import analysis
from assistant.steps.evidence import load_evidence

__all__ = [
    "TASKS",
    "BatchInput",
    "BatchRecord",
    "BatchRunner",
    "BatchSummary",
    "BriefItem",
    "ConcurrencyGate",
    "FileState",
    "RecordError",
    "Task",
    "TaskInput",
    "UsageMeter",
    "arun_batch",
    "estimate",
    "get_task",
    "needs_run",
    "read_inputs",
    "read_results",
    "run_batch",
]

log = logging.getLogger(__name__)

Status = Literal["ok", "error", "not_started"]
StopKind = Literal["budget", "unreachable", "interrupted"]
FINISHED: frozenset[str] = frozenset({"ok", "error"})
# Stop the run when this many articles in a row, from its start, found no endpoint.
UNREACHABLE_STOP = 3

# --------------------------------------------------------------------------- records


class RecordError(BaseModel):
    type: str = Field(description="Exception class name (InputError, BackendError, ...).")
    message: str = Field(description="One readable line; never contains a key.")
    kind: str = Field("permanent", description="transport, answer, validation or permanent "
                                               "(see assistant.errors.error_class).")
    retryable: bool = Field(False, description="A later run may well succeed: the next run "
                                               "tries this input again.")


class BatchRecord(BaseModel):
    """One line of the results file."""

    id: str = Field(description="The input's stable id.")
    name: str = Field(description="The input's name.")
    source: str = Field(description="Where the input was read.")
    task: str = Field(description="Task run: analyze, summarize, claims, questions, ...")
    status: Status = Field(description="ok, error, or not_started (stopped before it ran).")
    result: dict[str, Any] | None = Field(None, description="The task's output model as JSON.")
    error: RecordError | None = Field(None, description="Why it failed or did not start.")
    provenance: Provenance | None = Field(None, description="Model, usage and latency of this input.")
    finished_at: str = Field(description="UTC time the record was written (ISO 8601).")


def read_results(path: str | Path) -> dict[str, BatchRecord]:
    """The latest record per input id in a results file."""
    return ResultsFile(path, BatchRecord).read()


def needs_run(record: BatchRecord | None, *, retry_errors: bool = False) -> bool:
    """Does an input with this latest record run again? Not when it is `ok`, nor when it
    is a permanent error (unless `retry_errors`); retryable errors and `not_started` do."""
    if record is None or record.status == "not_started":
        return True
    if record.status == "ok":
        return False
    return retry_errors or (record.error is not None and record.error.retryable)


class FileState(BaseModel):
    """What the results file holds for this run's inputs once the run is over."""

    ok: int = Field(0, description="Inputs with a result.")
    error: int = Field(0, description="Inputs whose latest record is an error.")
    retryable: int = Field(0, description="Of those, errors the next run tries again.")
    not_started: int = Field(0, description="Inputs with no result yet.")

    def line(self) -> str:
        retry = f" ({self.retryable} to retry on the next run)" if self.retryable else ""
        return (f"{self.ok} ok, {self.error} error{retry}, "
                f"{self.not_started} not started")


class BatchSummary(BaseModel):
    output: str = Field(description="The results file.")
    task: str = Field(description="Task run.")
    inputs: int = Field(description="Inputs found.")
    duplicates: int = Field(0, description="Inputs listed twice (same name and content); run once.")
    skipped: int = Field(0, description="Inputs already finished by an earlier run.")
    ok: int = Field(0, description="Inputs finished with a result in this run.")
    error: int = Field(0, description="Inputs finished with an error record in this run.")
    not_started: int = Field(0, description="Inputs left for a later run.")
    stopped: str | None = Field(None, description="Why the run stopped early, if it did.")
    stop_kind: StopKind | None = Field(None, description="budget, unreachable or interrupted.")
    in_file: FileState = Field(default_factory=FileState,
                               description="The results file's state for these inputs at the end.")
    elapsed_s: float = Field(0.0, description="Wall time of the run.")
    usage: Usage = Field(default_factory=Usage, description="Model usage over this run's inputs.")
    spent_tokens: int | None = Field(None, description="Tokens charged to the budget ledger.")
    spent_cost: float | None = Field(None, description="USD charged to the budget ledger.")
    estimate: Estimate | None = Field(None, description="The pre-run estimate.")
    files: list[str] = Field(default_factory=list, description="Other files written (briefing).")

    def line(self) -> str:
        parts = [f"{self.ok} ok", f"{self.error} error", f"{self.not_started} not started"]
        if self.skipped:
            parts.append(f"{self.skipped} already done")
        spend = ""
        if self.spent_tokens is not None:
            spend = f"; spent {self.spent_tokens:,} tokens"
            if self.spent_cost is not None:
                spend += f" (${self.spent_cost:,.4f})"
        cached = f", {self.usage.cached_calls} cached" if self.usage.cached_calls else ""
        stop = f"; stopped: {self.stopped}" if self.stopped else ""
        files = "".join(f", {f}" for f in self.files)
        return (f"batch {self.task}: {', '.join(parts)} in {self.elapsed_s:.1f}s; "
                f"{self.usage.calls} model call(s){cached}{spend}{stop} -> {self.output}{files}"
                f" now holds {self.in_file.line()}")


# --------------------------------------------------------------------------- backend layers


class ConcurrencyGate(WrapperBackend):
    """At most `limit` requests in flight (async) through this backend."""

    def __init__(self, inner: Backend, limit: int) -> None:
        super().__init__(inner)
        self._limit = limit
        self._gate: asyncio.Semaphore | None = None

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        if self._gate is None:
            self._gate = asyncio.Semaphore(self._limit)
        async with self._gate:
            return await self.inner.acomplete(request)


class UsageMeter(WrapperBackend):
    """Counts calls and tokens through this backend in `usage` (one article's, in the
    runner, including the calls of a failed article)."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.usage = Usage()

    def complete(self, request: ChatRequest) -> ChatResponse:
        response = self.inner.complete(request)
        self.usage.add(response)
        return response

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        response = await self.inner.acomplete(request)
        self.usage.add(response)
        return response


# --------------------------------------------------------------------------- runner


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BatchRunner:
    """Runs one task over many inputs with at most `concurrency` articles (and requests)
    in flight, appending one record per input to `results`."""

    def __init__(self, backend: Backend, results: ResultsFile[BatchRecord], *,
                 task: str = "analyze", concurrency: int = 8,
                 options: analysis.Options | None = None,
                 progress: Progress | None = None, secrets: Iterable[str] = (),
                 max_chars: int = 300_000, evidence: Sequence[Document] = (),
                 participant: Callable[[], contextlib.AbstractAsyncContextManager[None]]
                 | None = None) -> None:
        if concurrency < 1:
            raise UserError(f"concurrency must be at least 1, not {concurrency}")
        self.task = get_task(task)
        self.backend = backend
        self.results = results
        self.concurrency = concurrency
        self.options = options
        self.progress = progress
        self.secrets = [s for s in secrets if s]
        self.max_chars = max_chars
        self.evidence = list(evidence)
        self.stopped: str | None = None
        self.stop_kind: StopKind | None = None
        self._reached = False  # some answer came back: the endpoint works
        self._unreachable = 0
        self._planned = 0
        self._why = ""
        self.counts = {"ok": 0, "error": 0, "not_started": 0}
        self.usage = Usage()
        self._stop = asyncio.Event()
        # Round-based backends (the Batch API) wait until every participant is parked.
        self._participant = participant

    def stop(self, reason: str, kind: StopKind = "interrupted") -> None:
        """Start nothing new; articles in flight finish. Safe to call from a signal handler."""
        if self.stopped is None:
            self.stopped = reason
            self.stop_kind = kind
        self._stop.set()

    def _saw(self, exc: BaseException | None, planned: int) -> None:
        """Stop when the run's first articles all found no endpoint (see module doc)."""
        if self._reached:
            return
        if exc is None or isinstance(exc, OutputValidationError) or (
                isinstance(exc, BackendError) and not exc.unreachable):
            self._reached = True  # something answered
            return
        if not isinstance(exc, BackendError):
            return  # e.g. a bad input: no request was made
        self._unreachable += 1
        self._why = str(exc)
        if self._unreachable >= min(UNREACHABLE_STOP, planned):
            self.stop(f"the first {self._unreachable} article(s) all failed: {exc}",
                      "unreachable")

    async def run(self, inputs: Sequence[BatchInput]) -> None:
        queue = list(reversed(inputs))
        self._planned = len(inputs)

        async def worker() -> None:
            while queue and not self._stop.is_set():
                item = queue.pop()
                await self._finish(await self._process(item))

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(inputs)))))
        if self.stopped is None and self._unreachable and not self._reached:
            # Fewer articles than the stop threshold, and every request among them failed.
            self.stop(f"{self._unreachable} article(s) all failed: {self._why}", "unreachable")
        for item in reversed(queue):  # never started: say so, in input order
            await self._finish(self._record(item, "not_started", error=RecordError(
                type="NotStarted", message=f"not started: {self.stopped or 'run stopped'}")))

    async def _finish(self, record: BatchRecord) -> None:
        await asyncio.to_thread(self.results.append, record)
        self.counts[record.status] += 1
        if record.provenance is not None:
            self.usage.add(record.provenance.usage)
        if self.progress is not None:
            self.progress.update(record.status)

    async def _process(self, item: BatchInput) -> BatchRecord:
        meter = UsageMeter(self.backend)
        started = time.perf_counter()

        def prov() -> Provenance:
            return Provenance(backend=meter.name, model=meter.model, base_url=meter.base_url,
                              usage=meter.usage, latency_s=round(time.perf_counter() - started, 4))

        try:
            async with self._participating():
                # On the event loop, like the pipeline's own CPU work: the sentence splitter
                # shares one pysbd Segmenter per process, which keeps per-call state, so
                # intake in worker threads corrupts sentence grids (sentences go missing).
                given = task_input(item, self.evidence, self.max_chars)
                assistant = AsyncAssistant(meter, options=self.options)
                result = await self.task.run(assistant, given)
        except BudgetExceededError as exc:
            self.stop(str(exc), "budget")
            return self._record(item, "not_started", error=self._error(exc), provenance=prov())
        except AssistantError as exc:
            self._saw(exc, self._planned)
            return self._record(item, "error", error=self._error(exc), provenance=prov())
        except Exception as exc:  # a bug must cost one article, not the batch
            log.debug("batch: %s failed unexpectedly", item.id, exc_info=True)
            return self._record(item, "error", error=self._error(exc), provenance=prov())
        self._saw(None, self._planned)
        p = prov()
        if isinstance(own := getattr(result, "provenance", None), Provenance):
            p.prompts, p.attempts, p.chunks, p.notes = own.prompts, own.attempts, own.chunks, own.notes
        return self._record(item, "ok", result=result.model_dump(mode="json"), provenance=p)

    @contextlib.asynccontextmanager
    async def _participating(self) -> AsyncIterator[None]:
        if self._participant is None:
            yield
            return
        async with self._participant():
            yield

    def _error(self, exc: BaseException) -> RecordError:
        message = " ".join((str(exc) or type(exc).__name__).split())
        for secret in self.secrets:
            message = message.replace(secret, "***")
        kind = error_class(exc)
        # No endpoint, or a refused key, says nothing about the article: once the endpoint
        # or the key is fixed, the next run must try it again.
        again = kind in ("transport", "answer") or (isinstance(exc, BackendError)
                                                    and exc.unreachable)
        return RecordError(type=type(exc).__name__, message=message, kind=kind, retryable=again)

    def _record(self, item: BatchInput, status: Status, *, result: dict[str, Any] | None = None,
                error: RecordError | None = None,
                provenance: Provenance | None = None) -> BatchRecord:
        return BatchRecord(id=item.id, name=item.name, source=item.source, task=self.task.name,
                           status=status, result=result, error=error, provenance=provenance,
                           finished_at=_now())


# --------------------------------------------------------------------------- entry points


def task_input(item: BatchInput, evidence: Sequence[Document], max_chars: int) -> TaskInput:
    """What the task gets for `item`: its document, and its own evidence or the shared."""
    doc = item.load(max_chars)
    if item.evidence:
        evidence = load_evidence(item.evidence, max_chars=max_chars).docs
    return TaskInput(doc, item.name, list(evidence))


def estimate(inputs: Sequence[BatchInput], backend: Backend, *, task: str = "analyze",
             prices: PriceTable | None = None, options: analysis.Options | None = None,
             discount: float = 1.0, max_chars: int = 300_000,
             evidence: Sequence[Document] = ()) -> Estimate:
    """Calls, tokens and cost of running `task` over `inputs`, before any model call.

    The calls are the task's own, laid out by running it against a `pipeline.Planner`
    (see `_batch_tasks.plan`): exact at one attempt each when no answer fails validation;
    `max_calls` counts every re-ask the attempt limits allow. An input the run will
    refuse (unreadable, no news, no evidence) plans no call, as it will make none.
    """
    chosen = get_task(task)
    assistant = AsyncAssistant(backend, options=options)
    calls: list[PlannedCall] = []
    for item in inputs:
        try:
            calls += plan(chosen, assistant, task_input(item, evidence, max_chars))
        except AssistantError:
            continue  # it will end as an error record without a model call
    price = (prices or PriceTable.load()).for_backend(backend)
    return Estimate.of([c.request for c in calls], articles=len(inputs), model=backend.model,
                       price=price, discount=discount,
                       max_calls=sum(c.max_attempts for c in calls))


async def arun_batch(source: str | Path, out: str | Path, *, backend: Backend,
                     task: str = "analyze", concurrency: int = 8,
                     cache: ResponseCache | None = None, budget: Budget | None = None,
                     prices: PriceTable | None = None, retry_errors: bool = False,
                     options: analysis.Options | None = None, progress: bool | Progress = False,
                     secrets: Iterable[str] = (), max_chars: int = 300_000,
                     price_discount: float = 1.0, handle_signals: bool = False,
                     evidence: Sequence[str | Path] = (),
                     on_estimate: Callable[[Estimate], None] | None = None) -> BatchSummary:
    """Run `task` over the inputs at `source`, appending records to `out`; see the module
    docstring. `backend` is the model backend (the Batch API backend included); this
    wraps it in the cache, the concurrency gate and the budget ledger. `evidence` (files,
    folders or texts) is what `check` and `brief` check every article against, unless a
    JSONL line brings its own."""
    chosen = get_task(task)  # an unknown task fails before anything is read or locked
    shared = load_evidence(list(evidence), max_chars=max_chars).docs if evidence else []
    inputs = read_inputs(source)
    unique: dict[str, BatchInput] = {}
    for item in inputs:
        unique.setdefault(item.id, item)
    duplicates = len(inputs) - len(unique)
    if duplicates:
        log.warning("batch: %d input(s) listed twice with the same content; each runs once",
                    duplicates)
    results = ResultsFile(out, BatchRecord)
    started = time.perf_counter()
    with results:
        done = results.open()
        pending = [i for i in unique.values()
                   if needs_run(done.get(i.id), retry_errors=retry_errors)]
        summary = BatchSummary(output=str(out), task=task, inputs=len(inputs),
                               duplicates=duplicates, skipped=len(unique) - len(pending))
        if (budget is not None and not budget.unlimited) or on_estimate is not None:
            # Before any article runs, so intake here races nothing (see _process).
            summary.estimate = estimate(pending, backend, task=task, prices=prices,
                                        options=options, discount=price_discount,
                                        max_chars=max_chars, evidence=shared)
            if on_estimate is not None:
                on_estimate(summary.estimate)

        stack: Backend = backend
        ledger = None
        if budget is not None and not budget.unlimited:
            table = prices or PriceTable.load()
            ledger = Ledger(budget, price=table.for_backend(backend), count=backend.count_tokens,
                            discount=price_discount, model=backend.model)
            stack = BudgetedBackend(stack, ledger)
        # A round-based backend (Batch API) takes every article at once; the gate is for
        # live endpoints.
        participant = getattr(backend, "participant", None)
        if participant is None:
            stack = ConcurrencyGate(stack, concurrency)
        else:
            concurrency = max(1, len(pending))
        if cache is not None:
            stack = CachingBackend(stack, cache)
        bar = progress if isinstance(progress, Progress) else Progress(len(pending),
                                                                       enabled=progress)
        runner = BatchRunner(stack, results, task=task, concurrency=concurrency,
                             options=options, progress=bar, secrets=secrets,
                             max_chars=max_chars, evidence=shared, participant=participant)
        with _signals(runner, enabled=handle_signals):
            try:
                await runner.run(pending)
            finally:
                bar.close()
        final = results.read()
        if results.lines != len(final):
            results.compact(final)  # one line per input: drop records a later one superseded
        if chosen.finish is not None and not runner.counts["not_started"]:
            ok = [(i.name, i.load(max_chars), r.result) for i in unique.values()
                  if (r := final.get(i.id)) is not None and r.status == "ok" and r.result]
            summary.files = [str(f) for f in chosen.finish(Path(out), ok, shared)]
    summary.ok, summary.error = runner.counts["ok"], runner.counts["error"]
    summary.not_started = runner.counts["not_started"]
    summary.stopped = runner.stopped
    summary.stop_kind = runner.stop_kind
    summary.in_file = _state(final, unique)
    summary.usage = runner.usage
    summary.elapsed_s = round(time.perf_counter() - started, 3)
    if ledger is not None:
        summary.spent_tokens = ledger.spent_tokens
        summary.spent_cost = ledger.spent_cost if ledger.price is not None else None
    return summary


def _state(final: dict[str, BatchRecord], inputs: dict[str, BatchInput]) -> FileState:
    state = FileState()
    for key in inputs:
        record = final.get(key)
        if record is None or record.status == "not_started":
            state.not_started += 1
        elif record.status == "ok":
            state.ok += 1
        else:
            state.error += 1
            state.retryable += int(record.error is not None and record.error.retryable)
    return state


def run_batch(source: str | Path, out: str | Path, *, backend: Backend,
              **kwargs: Any) -> BatchSummary:
    """`arun_batch` for callers without an event loop. The backend's async connections
    are closed before the loop ends (they belong to it); the backend stays usable."""

    async def main() -> BatchSummary:
        try:
            return await arun_batch(source, out, backend=backend, **kwargs)
        finally:
            if callable(aclose := getattr(backend, "aclose", None)):
                await aclose()

    return asyncio.run(main())


@contextlib.contextmanager
def _signals(runner: BatchRunner, *, enabled: bool) -> Any:
    """First Ctrl-C (or SIGTERM): stop scheduling and let articles in flight finish;
    a second Ctrl-C interrupts at once."""
    if not enabled:
        yield
        return
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def first(name: str) -> None:
        if runner.stopped is not None and main is not None:
            main.cancel()
            return
        log.warning("batch: %s: finishing the articles in flight; press Ctrl-C again to abort",
                    name)
        runner.stop(f"interrupted ({name})")

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, first, sig.name)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
