"""OpenAI Batch API mode: the model calls of many articles as a few Batch jobs.

Our pipeline is multi-stage (summary → claims → questions per article, plus re-asks when
an answer fails validation), so a whole run cannot be one Batch job: each stage needs the
previous stage's answers. It runs in rounds instead. Every article runs the normal
pipeline against `BatchApiBackend`, whose `acomplete` parks the request and waits; when
every article in flight is parked (or finished), the parked requests become one Batch job
(JSONL of `/v1/chat/completions` bodies, `custom_id` = the request's cache key): upload,
create, poll, download, and each answer goes back to the call that asked for it. The
articles continue to their next stage, which is the next round. Re-asks are simply calls
of a later round. An analyze run therefore takes about three rounds (more with re-asks or
map-reduce), each within the Batch API's completion window, at half the token price.

A job journal (`journal=`, the CLI puts it next to the results file) records every job
submitted and collected. A run that crashed while jobs were out adopts them on restart:
it waits for them and uses their answers instead of paying for the same requests again.

Transport retries are the SDK's own (each upload/create/poll call); a failed job or a
failed line fails only the calls in it, as `BackendError`s.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from assistant.backends.base import ChatRequest, ChatResponse
from assistant.backends.openai_compat import OpenAIBackend
from assistant.errors import AnswerError, BackendError, UserError

__all__ = ["BatchApiBackend"]

log = logging.getLogger(__name__)

ENDPOINT: Final = "/v1/chat/completions"
MAX_REQUESTS_PER_JOB = 50_000  # the Batch API's limit per input file
_DONE = frozenset({"completed", "failed", "expired", "cancelled"})
# Line statuses worth sending again in the next round (the SDK's retry rule, per line).
_participant: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "batch_api_participant", default=None)


# -- the output file's lines (only the fields we read) -------------------------------------
class _Message(BaseModel):
    content: str | None = None


class _Choice(BaseModel):
    message: _Message | None = None
    finish_reason: str | None = None


class _Usage(BaseModel):
    prompt_tokens: int | None = 0
    completion_tokens: int | None = 0


class _Completion(BaseModel):
    model: str | None = None
    choices: list[_Choice] = []
    usage: _Usage | None = None


class _LineResponse(BaseModel):
    status_code: int
    body: Any = None


class _LineError(BaseModel):
    code: str | None = None
    message: str | None = None


class _Line(BaseModel):
    custom_id: str
    response: _LineResponse | None = None
    error: _LineError | None = None


@dataclass
class _Parked:
    request: ChatRequest
    waiters: list[tuple[int | None, asyncio.Future[ChatResponse]]] = field(default_factory=list)
    retries: int = 0


class BatchApiBackend:
    """A `Backend` that answers calls through OpenAI Batch jobs, in rounds (module docstring).

    Callers that run concurrently should each wrap their work in `participant()`, so a
    round waits until all of them are parked; a call outside any participant is sent as
    soon as nothing else is running. Async only; close with `await aclose()`.
    """

    def __init__(self, backend: OpenAIBackend, *, poll_interval: float = 10.0,
                 max_poll_interval: float = 120.0, max_wait: float = 26 * 3600,
                 journal: str | Path | None = None,
                 max_requests_per_job: int = MAX_REQUESTS_PER_JOB,
                 line_retries: int = 2, cleanup: bool = True) -> None:
        self.backend = backend
        self.name: str = backend.name
        self.model: str = backend.model
        self.base_url: str | None = backend.base_url
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.max_wait = max_wait
        self.journal = Path(journal) if journal is not None else None
        self.max_requests_per_job = max_requests_per_job
        self.line_retries = line_retries
        self.cleanup = cleanup
        self.rounds = 0
        self.jobs: list[str] = []
        self.adopted = 0
        self._parked: dict[str, _Parked] = {}
        self._active: set[int] = set()
        self._ids = itertools.count(1)
        self._wake: asyncio.Event | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._answers: dict[str, ChatResponse] = {}  # from jobs adopted via the journal
        self._adopt_done = False

    def __repr__(self) -> str:
        return f"BatchApiBackend({self.backend!r})"

    # -- Backend protocol -----------------------------------------------------------------
    def complete(self, request: ChatRequest) -> ChatResponse:
        raise UserError("the Batch API backend is asynchronous: use AsyncAssistant or "
                        "assistant.batch.run_batch")

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        key = request.cache_key(self.name, self.model, self.base_url)
        if (answer := self._answers.pop(key, None)) is not None:
            return answer
        future: asyncio.Future[ChatResponse] = asyncio.get_running_loop().create_future()
        who = _participant.get()
        entry = self._parked.setdefault(key, _Parked(request))
        entry.waiters.append((who, future))
        self._poke()
        try:
            return await future
        finally:
            if not future.done() and (parked := self._parked.get(key)) is not None:
                parked.waiters = [w for w in parked.waiters if w[1] is not future]
                if not parked.waiters:
                    del self._parked[key]

    def count_tokens(self, text: str) -> int:
        return self.backend.count_tokens(text)

    @contextlib.asynccontextmanager
    async def participant(self) -> AsyncIterator[None]:
        """Mark one caller's work: rounds wait for every participant to park or finish."""
        me = next(self._ids)
        token = _participant.set(me)
        self._active.add(me)
        try:
            yield
        finally:
            self._active.discard(me)
            _participant.reset(token)
            self._poke()

    async def aclose(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        await self.backend.aclose()

    def close(self) -> None:
        self.backend.close()

    # -- rounds ---------------------------------------------------------------------------
    def _poke(self) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
        self._wake.set()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())

    def _ready(self) -> bool:
        if not self._parked:
            return False
        parked = {who for p in self._parked.values() for who, _ in p.waiters}
        return None in parked or self._active <= parked

    async def _flush_loop(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._ready():
                continue
            # Let calls that are already scheduled (sibling chunk calls) park first.
            for _ in range(3):
                await asyncio.sleep(0)
            if not self._ready():
                continue
            batch, self._parked = self._parked, {}
            try:
                await self._round(batch)
            except Exception as exc:  # never leave a caller waiting forever
                log.debug("batch api: round failed", exc_info=True)
                error = exc if isinstance(exc, BackendError) else BackendError(
                    f"batch api: round failed: {self.backend._short(str(exc))}")
                for parked in batch.values():
                    _settle(parked, error)

    async def _round(self, batch: dict[str, _Parked]) -> None:
        if not self._adopt_done:
            self._adopt_done = True
            await self._adopt()
        for key in [k for k in batch if k in self._answers]:
            _settle(batch.pop(key), self._answers.pop(key))
        if not batch:
            return
        self.rounds += 1
        items = list(batch.items())
        size = self.max_requests_per_job
        await asyncio.gather(*(self._job(dict(items[i:i + size]), self.rounds)
                               for i in range(0, len(items), size)))

    async def _job(self, batch: dict[str, _Parked], round_no: int) -> None:
        client = self.backend._async_client()
        lines = [json.dumps({"custom_id": key, "method": "POST", "url": ENDPOINT,
                             "body": self.backend._params(p.request)}, ensure_ascii=False)
                 for key, p in batch.items()]
        data = ("\n".join(lines) + "\n").encode()
        log.info("batch api: round %d: submitting %d request(s)", round_no, len(lines))
        error: BackendError | None = None
        try:
            upload = await client.files.create(file=(f"round-{round_no}.jsonl", data,
                                                     "application/jsonl"), purpose="batch")
            job = await client.batches.create(
                input_file_id=upload.id, endpoint=ENDPOINT, completion_window="24h",
                metadata={"tool": "newsfact-assistant", "round": str(round_no)})
        except Exception as exc:
            error = self.backend._error(exc)
        if error is not None:
            for parked in batch.values():
                _settle(parked, error)
            return
        self.jobs.append(job.id)
        self._log_journal({"event": "submitted", "batch_id": job.id, "round": round_no,
                           "requests": len(lines)})
        answers, problem = await self._finish(job.id)
        for key, parked in batch.items():
            answer = answers.get(key) or BackendError(
                problem or f"batch api: job {job.id} returned no answer for this request")
            if (isinstance(answer, BackendError) and answer.retryable
                    and parked.retries < self.line_retries):
                # A transient failure of one line: it goes out again with the next round
                # (the Batch API does not retry lines, so this is their only retry layer).
                parked.retries += 1
                self._parked.setdefault(key, _Parked(parked.request, retries=parked.retries)
                                        ).waiters += parked.waiters
                self._poke()
                continue
            _settle(parked, answer)
        if self.cleanup:
            await self._delete(upload.id)

    async def _finish(self, job_id: str) -> tuple[dict[str, ChatResponse | BackendError], str | None]:
        """Wait for a job and download its answers; the second value says why requests
        without an answer have none (None when the job completed)."""
        client = self.backend._async_client()
        deadline = time.monotonic() + self.max_wait
        interval = self.poll_interval
        answers: dict[str, ChatResponse | BackendError] = {}
        error: BackendError | None = None
        try:
            job = await client.batches.retrieve(job_id)
            while job.status not in _DONE:
                if time.monotonic() > deadline:
                    await client.batches.cancel(job_id)
                    return {}, (f"batch api: job {job_id} still {job.status} after "
                                f"{self.max_wait:g}s; cancelled it")
                await asyncio.sleep(interval)
                interval = min(interval * 1.5, self.max_poll_interval)
                job = await client.batches.retrieve(job_id)
            for file_id in (job.output_file_id, job.error_file_id):
                if file_id:
                    content = await client.files.content(file_id)
                    answers.update(self._parse(content.content, job_id))
                    if self.cleanup:
                        await self._delete(file_id)
        except Exception as exc:
            error = self.backend._error(exc)
        if error is not None:
            # Not journaled as collected: a later run adopts the job instead of paying again.
            return {}, f"batch api: job {job_id}: {error}"
        log.info("batch api: job %s %s: %d answer(s)", job_id, job.status, len(answers))
        self._log_journal({"event": "collected", "batch_id": job_id, "status": job.status})
        if job.status == "completed":
            return answers, None
        reason = f"batch api: job {job_id} {job.status}"
        if job.errors and job.errors.data:
            reason += ": " + "; ".join(str(e.message) for e in job.errors.data[:3])
        return answers, reason

    def _parse(self, data: bytes, job_id: str) -> dict[str, ChatResponse | BackendError]:
        out: dict[str, ChatResponse | BackendError] = {}
        for raw in data.splitlines():
            if not raw.strip():
                continue
            try:
                line = _Line.model_validate_json(raw)
            except ValidationError:
                log.warning("batch api: job %s: unreadable output line skipped", job_id)
                continue
            out[line.custom_id] = self._answer(line, job_id)
        return out

    def _answer(self, line: _Line, job_id: str) -> ChatResponse | BackendError:
        response = line.response
        if response is None or response.status_code != 200:
            status = response.status_code if response is not None else None
            message = line.error.message if line.error and line.error.message else None
            body = response.body if response is not None else None
            if message is None and isinstance(body, dict) and isinstance(body.get("error"), dict):
                message = body["error"].get("message")
            return BackendError(f"batch api: job {job_id}: request failed"
                                f"{f' with HTTP {status}' if status else ''}: "
                                f"{self.backend._short(str(message or 'no detail'))}",
                                status_code=status,
                                body=self.backend._scrub(json.dumps(body))[:4000] if body else None)
        try:
            completion = _Completion.model_validate(response.body)
        except ValidationError:
            return AnswerError(f"batch api: job {job_id}: an answer is not a chat completion")
        if not completion.choices:
            return AnswerError(f"batch api: job {job_id}: an answer has no choices")
        choice = completion.choices[0]
        usage = completion.usage or _Usage()
        return ChatResponse(text=(choice.message.content if choice.message else None) or "",
                            finish_reason=choice.finish_reason,
                            prompt_tokens=usage.prompt_tokens or 0,
                            completion_tokens=usage.completion_tokens or 0,
                            model=completion.model or self.model)

    async def _delete(self, file_id: str) -> None:
        try:
            await self.backend._async_client().files.delete(file_id)
        except Exception as exc:  # a leftover file costs storage, not correctness
            log.debug("batch api: could not delete %s: %s", file_id,
                      self.backend._short(str(exc)))

    # -- journal --------------------------------------------------------------------------
    def _log_journal(self, event: dict[str, Any]) -> None:
        if self.journal is None:
            return
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        with self.journal.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({**event, "time": time.time()}) + "\n")
            handle.flush()

    def _open_jobs(self) -> list[str]:
        if self.journal is None or not self.journal.exists():
            return []
        submitted: dict[str, None] = {}
        for raw in self.journal.read_text(encoding="utf-8").splitlines():
            try:
                event = json.loads(raw)
            except ValueError:
                continue  # a torn last line from a crash
            if event.get("event") == "submitted":
                submitted[str(event.get("batch_id"))] = None
            elif event.get("event") == "collected":
                submitted.pop(str(event.get("batch_id")), None)
        return list(submitted)

    async def _adopt(self) -> None:
        """Collect the jobs an earlier, interrupted run left running (see the journal)."""
        for job_id in self._open_jobs():
            log.info("batch api: adopting job %s from an earlier run", job_id)
            answers, _ = await self._finish(job_id)
            for key, answer in answers.items():
                if isinstance(answer, ChatResponse):
                    self._answers[key] = answer
                    self.adopted += 1


def _settle(parked: _Parked, answer: ChatResponse | BaseException) -> None:
    for _, future in parked.waiters:
        if future.done():
            continue
        if isinstance(answer, BaseException):
            future.set_exception(answer)
        else:
            future.set_result(answer)
