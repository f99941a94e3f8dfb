"""A fault-injecting OpenAI-compatible server for batch tests, plus the Batch API endpoints.

`FaultServer` is an `OpenAIServer` (tests/openai_server.py) whose default responder is a
stand-in model that writes valid drafts for the whole analysis pipeline
(`draft_responder`), wrapped in configurable latency and a seeded share of faults:

    with FaultServer(fault_rate=0.3, seed=7) as server:
        ... OpenAIBackend("test-model", base_url=server.url, timeout=1.0) ...
        server.outcomes()   # [(RecordedRequest, "reply" | "429" | "drop" | ...), ...]

Fault kinds (`FAULTS`): 429 and 500/503 with a short retry-after, a dropped connection,
a reply slower than the client's timeout, an HTTP body that is not JSON, a completion with
no choices, JSON that violates the draft schema, and a truncated answer
(finish_reason "length"). Scripted actions (`server.enqueue(...)`) still come first.

Batch API (what `assistant.backends.batch_api` needs): `POST /v1/files` (multipart upload),
`GET /v1/files/{id}`, `GET /v1/files/{id}/content`, `DELETE /v1/files/{id}`,
`POST /v1/batches`, `GET /v1/batches/{id}`, `POST /v1/batches/{id}/cancel`. A batch's
requests are answered by the same responder and fault mix; it reports `in_progress` for
`polls` retrievals and then its outcome (`completed` unless `batch_outcomes` scripts
`failed` or `expired`; an expired batch answers only the first half of its requests).
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from articles import split_turn
from openai_server import (
    Action,
    Delay,
    Drop,
    EmptyChoices,
    Exchange,
    Fault,
    InvalidJSON,
    OpenAIServer,
    RecordedRequest,
    Reply,
)

__all__ = ["FAULTS", "BatchJob", "FaultServer", "draft_responder", "request_text"]

FAULTS = ("429", "500", "503", "drop", "timeout", "invalid_json", "empty_choices", "schema",
          "truncated")
_SENTENCE = re.compile(r"^\[(\d+)\] (.*)$", re.MULTILINE)


def request_text(body: Any) -> str:
    """All message text of a chat-completion body (for finding which article it is about)."""
    if not isinstance(body, dict):
        return ""
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", []))


def _messages(body: Any) -> list[dict[str, Any]]:
    return list(body.get("messages", [])) if isinstance(body, dict) else []


def draft_responder(body: Any) -> str:
    """A well-behaved stand-in model: valid, grounded drafts for every pipeline prompt
    (the read call: the title's first words as headline, the first body sentences as main
    points, every third sentence check-worthy; fact-check stances always "supports",
    summary sentences always "supported"). It reads the article from the first user
    turn, as the pipeline sends it."""
    messages = _messages(body)
    if not messages:
        return "{}"
    turn = str(messages[1].get("content", "")) if len(messages) > 1 else ""
    # Per-article calls open their first user turn with the delimited article.
    article, task = split_turn(turn)
    sentences = {int(k): v for k, v in _SENTENCE.findall(article)}
    if task.startswith("EVIDENCE:"):  # fact-check stance of one evidence sentence
        return json.dumps({"stance": "supports"})
    if "SUMMARY SENTENCE:" in task:  # faithfulness of one summary sentence
        cited = [int(n) for n, _ in _SENTENCE.findall(task)][:1]
        return json.dumps({"changed": "", "label": "supported", "error": "none", "ids": cited})
    if "Answer with the JSON object" in task:  # the read call
        keys = sorted(sentences)
        title = re.search(r"^Title: (.*)$", article, re.MULTILINE)
        words = (title.group(1) if title and title.group(1) != "(none)" else
                 sentences[keys[0]] if keys else "News").split()[:8]
        return json.dumps({"headline": " ".join(words)[:100], "main": keys[1:5],
                           "check": [n for n in keys if n % 3 == 1][:10]})
    return "{}"


@dataclass
class BatchJob:
    id: str
    input_file_id: str
    endpoint: str
    metadata: dict[str, Any] | None
    created_at: int
    outcome: str = "completed"
    polls_left: int = 1
    status: str = "validating"
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"total": 0, "completed": 0,
                                                            "failed": 0})

    def as_json(self) -> dict[str, Any]:
        now = int(time.time())
        return {
            "id": self.id, "object": "batch", "endpoint": self.endpoint,
            "input_file_id": self.input_file_id, "completion_window": "24h",
            "status": self.status, "created_at": self.created_at,
            "output_file_id": self.output_file_id, "error_file_id": self.error_file_id,
            "completed_at": now if self.status == "completed" else None,
            "failed_at": now if self.status == "failed" else None,
            "expired_at": now if self.status == "expired" else None,
            "errors": ({"object": "list", "data": [{"code": "scripted_failure",
                                                     "message": "scripted batch failure"}]}
                       if self.status == "failed" else None),
            "metadata": self.metadata, "request_counts": self.counts,
        }


class FaultServer(OpenAIServer):
    """See the module docstring."""

    def __init__(self, *, fault_rate: float = 0.0, faults: tuple[str, ...] = FAULTS,
                 latency: float = 0.0, timeout_delay: float = 1.5, seed: int = 0,
                 responder: Callable[[Any], str] = draft_responder, polls: int = 1,
                 model: str = "test-model") -> None:
        super().__init__(default=self._decide, model=model)
        self.fault_rate = fault_rate
        self.faults = faults
        self.latency = latency
        self.timeout_delay = timeout_delay
        self.responder = responder
        self.polls = polls
        self.batch_outcomes: deque[str] = deque()
        self.files: dict[str, tuple[str, bytes]] = {}
        self.batches: dict[str, BatchJob] = {}
        self.batch_requests: list[tuple[str, Any, str]] = []  # (batch id, body, outcome)
        self.in_flight = 0
        self.max_in_flight = 0
        self._rng = random.Random(seed)
        self._outcomes: dict[int, str] = {}
        self._ids2 = itertools.count(1)
        self._state = threading.Lock()

    # -- chat completions -----------------------------------------------------------------
    def _choose(self) -> str:
        with self._state:
            if self.fault_rate and self._rng.random() < self.fault_rate:
                return self._rng.choice(self.faults)
            return "reply"

    def action_for(self, kind: str, body: Any) -> Action:
        """The action that plays outcome `kind` for a request `body`."""
        # Retry-After in seconds as most servers send it, and the SDK's preferred
        # millisecond form, which it reads first, to keep tests fast.
        fast = {"retry-after-ms": "5", "retry-after": "1"}
        if kind in ("429", "500", "503"):
            return Fault(int(kind), headers=fast)
        if kind == "drop":
            return Drop()
        if kind == "timeout":
            return Delay(self.timeout_delay, then=Reply(self.responder(body)))
        if kind == "invalid_json":
            return InvalidJSON()
        if kind == "empty_choices":
            return EmptyChoices()
        if kind == "schema":
            return Reply('{"headline": 42, "unexpected": true}')
        if kind == "truncated":
            text = self.responder(body)
            return Reply(text[: max(1, len(text) // 2)], finish_reason="length")
        return Reply(self.responder(body))

    def _decide(self, body: Any) -> Action:
        kind = self._choose()
        with self._state:
            self._outcomes[id(body)] = kind
        action = self.action_for(kind, body)
        return _Tracked(self, Delay(self.latency, then=action) if self.latency > 0 else action)

    def outcomes(self) -> list[tuple[RecordedRequest, str]]:
        """Every chat-completion request with the outcome it was given ("scripted" for
        queue items)."""
        with self._state:
            return [(r, self._outcomes.get(id(r.json), "scripted")) for r in self.completions]

    # -- files and batches ----------------------------------------------------------------
    def route(self, exchange: Exchange) -> bool:
        request = exchange.request
        path = request.path.split("?", 1)[0].rstrip("/")
        parts = path.split("/")[2:] if path.startswith("/v1/") else []
        method = request.method
        if parts[:1] == ["files"]:
            return self._files(exchange, method, parts[1:])
        if parts[:1] == ["batches"]:
            return self._batches(exchange, method, parts[1:])
        return False

    def _file_json(self, file_id: str) -> dict[str, Any]:
        name, data = self.files[file_id]
        return {"id": file_id, "object": "file", "bytes": len(data), "created_at": 0,
                "filename": name, "purpose": "batch", "status": "processed"}

    def _add_file(self, name: str, data: bytes) -> str:
        file_id = f"file-{next(self._ids2)}"
        with self._state:
            self.files[file_id] = (name, data)
        return file_id

    def _files(self, exchange: Exchange, method: str, rest: list[str]) -> bool:
        if method == "POST" and not rest:
            fields = _multipart(exchange.request)
            name, data = fields.get("file", ("upload.jsonl", b""))
            exchange.send_json(200, self._file_json(self._add_file(name, data)))
            return True
        if not rest or rest[0] not in self.files:
            exchange.send_json(404, {"error": {"message": "no such file"}})
            return True
        if method == "GET" and rest[1:] == ["content"]:
            exchange.send_raw(200, self.files[rest[0]][1], content_type="application/octet-stream")
        elif method == "GET" and len(rest) == 1:
            exchange.send_json(200, self._file_json(rest[0]))
        elif method == "DELETE" and len(rest) == 1:
            with self._state:
                del self.files[rest[0]]
            exchange.send_json(200, {"id": rest[0], "object": "file", "deleted": True})
        else:
            return False
        return True

    def _batches(self, exchange: Exchange, method: str, rest: list[str]) -> bool:
        body = exchange.request.json if isinstance(exchange.request.json, dict) else {}
        if method == "POST" and not rest:
            if body.get("input_file_id") not in self.files:
                exchange.send_json(400, {"error": {"message": "unknown input_file_id"}})
                return True
            job = BatchJob(id=f"batch-{next(self._ids2)}", input_file_id=body["input_file_id"],
                           endpoint=str(body.get("endpoint")), metadata=body.get("metadata"),
                           created_at=int(time.time()), polls_left=self.polls,
                           outcome=self.batch_outcomes.popleft() if self.batch_outcomes
                           else "completed")
            with self._state:
                self.batches[job.id] = job
            exchange.send_json(200, job.as_json())
            return True
        job = self.batches.get(rest[0]) if rest else None
        if job is None:
            exchange.send_json(404, {"error": {"message": "no such batch"}})
            return True
        if method == "GET" and len(rest) == 1:
            self._advance(job)
        elif method == "POST" and rest[1:] == ["cancel"]:
            job.status = "cancelled"
        else:
            return False
        exchange.send_json(200, job.as_json())
        return True

    def _advance(self, job: BatchJob) -> None:
        if job.status not in ("validating", "in_progress"):
            return
        if job.polls_left > 0:
            job.polls_left -= 1
            job.status = "in_progress"
            return
        lines = [json.loads(x) for x in self.files[job.input_file_id][1].splitlines() if x.strip()]
        job.counts["total"] = len(lines)
        if job.outcome == "failed":
            job.status = "failed"
            return
        if job.outcome == "expired":
            lines = lines[: len(lines) // 2]
        out, err = [], []
        for line in lines:
            kind = self._choose()
            status, response = self._answer(self.action_for(kind, line["body"]), line["body"])
            with self._state:
                self.batch_requests.append((job.id, line["body"], kind))
            entry = {"id": f"batch_req_{next(self._ids2)}", "custom_id": line["custom_id"],
                     "response": {"status_code": status, "request_id": f"req_{job.id}",
                                  "body": response}, "error": None}
            (out if status == 200 else err).append(json.dumps(entry))
            job.counts["completed" if status == 200 else "failed"] += 1
        if out:
            job.output_file_id = self._add_file(f"{job.id}_output.jsonl",
                                                ("\n".join(out) + "\n").encode())
        if err:
            job.error_file_id = self._add_file(f"{job.id}_error.jsonl",
                                               ("\n".join(err) + "\n").encode())
        job.status = "completed" if job.outcome == "completed" else "expired"

    def _answer(self, action: Action, body: Any) -> tuple[int, dict[str, Any]]:
        """What a batch line gets for `action`: no socket, so transport faults become 500s."""
        if isinstance(action, Delay):
            return self._answer(action.then or Reply(self.responder(body)), body)
        if isinstance(action, Reply):
            completion = {
                "id": f"chatcmpl-batch-{next(self._ids2)}", "object": "chat.completion",
                "created": int(time.time()), "model": body.get("model", self.model),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": action.content},
                             "finish_reason": action.finish_reason, "logprobs": None}],
                "usage": {"prompt_tokens": len(request_text(body)) // 4 + 1,
                          "completion_tokens": len(action.content or "") // 4 + 1,
                          "total_tokens": 0}}
            return 200, completion
        if isinstance(action, EmptyChoices):
            return 200, {"id": "chatcmpl-empty", "object": "chat.completion", "created": 0,
                         "model": self.model, "choices": []}
        if isinstance(action, Fault):
            return action.status, {"error": {"message": f"scripted fault {action.status}",
                                             "type": "test_fault"}}
        return 500, {"error": {"message": "the server failed this request", "type": "server_error"}}


@dataclass(frozen=True)
class _Tracked:
    """Counts requests being answered at once (latency included) in `max_in_flight`."""

    server: FaultServer
    action: Action

    def perform(self, exchange: Exchange) -> None:
        with self.server._state:
            self.server.in_flight += 1
            self.server.max_in_flight = max(self.server.max_in_flight, self.server.in_flight)
        try:
            self.action.perform(exchange)
        finally:
            with self.server._state:
                self.server.in_flight -= 1


def _multipart(request: RecordedRequest) -> dict[str, tuple[str, bytes]]:
    """Fields of a multipart/form-data body: name -> (filename, bytes)."""
    ctype = request.headers.get("content-type", "")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + request.raw)
    out = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            payload = part.get_payload(decode=True)
            out[str(name)] = (str(part.get_filename() or name), payload if isinstance(payload, bytes)
                              else b"")
    return out
