"""A real, scriptable OpenAI-compatible HTTP server for tests (stdlib only).

It listens on 127.0.0.1 at a free port, speaks HTTP/1.1 with keep-alive like real servers,
and answers `POST /v1/chat/completions` from a script; `GET /v1/models` lists one model.

    with OpenAIServer() as server:
        server.enqueue(Fault(429, headers={"Retry-After": "1"}), Reply('{"ok": true}'))
        backend = OpenAIBackend("test-model", base_url=server.url, max_retries=1)
        ...
        assert len(server.completions) == 2

Script. Each chat-completion request takes the next action from the queue, in arrival order
(the queue is thread-safe, so concurrent clients are fine). Actions:

    Reply(content, finish_reason="stop", usage="auto", model=None)
        a normal completion; usage "auto" estimates tokens, None omits the usage object,
        a dict is sent as given; model None echoes the request's model.
    Fault(status, body=None, headers={})
        an error status (429, 500, 503, ...); body None sends an OpenAI-style error object,
        a str is sent as-is, anything else as JSON. Add "Retry-After" / "retry-after-ms"
        headers to steer the client's backoff.
    Delay(seconds, then=None)
        sleep, then perform `then` (None: the default responder). For client timeouts.
    Drop(reset=False)
        read the request, then close the socket without any response (reset=True sends a
        TCP RST instead of a clean FIN).
    Raw(body, status=200, content_type="application/json", headers={})
        any bytes at all; `InvalidJSON()` is a Raw whose body does not parse.
    EmptyChoices()
        a well-formed completion with `"choices": []`.

A queue item may also be a callable `(request_json) -> action | str`, which decides per
request (a str means `Reply(str)`). With an empty queue the server calls
`default(request_json)`, which has the same signature; if that is None too it answers 500
with "no scripted response left" so a test never hangs on a missing script. New action
kinds are any object with a `perform(exchange)` method (see `Exchange`).

Other paths. `OpenAIServer.route(exchange)` may answer any other GET, POST or DELETE
(return True); a subclass overrides it to add endpoints. Unanswered paths get 404.

Recording. Every request (any path) is appended to `server.requests` as a
`RecordedRequest(time, method, path, headers, json, raw)`; `time` is `time.monotonic()` at
receipt, `headers` has lower-case names, `json` is the parsed body or None.
`server.completions` keeps only the chat-completion ones.

Shutdown closes every open connection, wakes any `Delay`, and joins the handler threads,
so no socket outlives the `with` block (tests run with warnings as errors).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Protocol

__all__ = [
    "Action",
    "Delay",
    "Drop",
    "EmptyChoices",
    "Exchange",
    "Fault",
    "InvalidJSON",
    "OpenAIServer",
    "Raw",
    "RecordedRequest",
    "Reply",
    "serve",
]

COMPLETIONS_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"


@dataclass(frozen=True)
class RecordedRequest:
    time: float
    method: str
    path: str
    headers: dict[str, str]
    json: Any
    raw: bytes


class Action(Protocol):
    def perform(self, exchange: Exchange) -> None: ...


Responder = Callable[[Any], "Action | str"]


@dataclass(frozen=True)
class Reply:
    content: str | None = ""
    finish_reason: str | None = "stop"
    usage: Mapping[str, int] | Literal["auto"] | None = "auto"
    model: str | None = None
    # (token, logprob, {alternative: logprob}) per output token, sent as OpenAI's
    # `logprobs.content` when the request asks for logprobs.
    logprobs: tuple[tuple[str, float, Mapping[str, float]], ...] | None = None

    def perform(self, exchange: Exchange) -> None:
        body = exchange.request.json if isinstance(exchange.request.json, dict) else {}
        logprobs = None
        if self.logprobs is not None and body.get("logprobs"):
            logprobs = {"content": [
                {"token": t, "logprob": lp, "bytes": list(t.encode()),
                 "top_logprobs": [{"token": a, "logprob": v, "bytes": list(a.encode())}
                                  for a, v in list(top.items())[: body.get("top_logprobs") or 0]]}
                for t, lp, top in self.logprobs]}
        exchange.send_json(200, exchange.completion(
            [{"index": 0, "message": {"role": "assistant", "content": self.content},
              "finish_reason": self.finish_reason, "logprobs": logprobs}],
            usage=self._usage(exchange.request.json), model=self.model))

    def _usage(self, body: Any) -> dict[str, int] | None:
        if self.usage is None:
            return None
        if self.usage != "auto":
            return dict(self.usage)
        messages = body.get("messages", []) if isinstance(body, dict) else []
        prompt = sum(len(str(m.get("content", ""))) // 4 + 1 for m in messages)
        completion = len(self.content or "") // 4 + 1
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion}


@dataclass(frozen=True)
class Fault:
    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def perform(self, exchange: Exchange) -> None:
        body = self.body
        if body is None:
            body = {"error": {"message": f"scripted fault {self.status}", "type": "test_fault",
                              "param": None, "code": None}}
        if isinstance(body, str):
            exchange.send_raw(self.status, body.encode(), headers=self.headers)
        else:
            exchange.send_json(self.status, body, headers=self.headers)


@dataclass(frozen=True)
class Delay:
    seconds: float
    then: Action | None = None

    def perform(self, exchange: Exchange) -> None:
        if exchange.sleep(self.seconds):
            (self.then or exchange.default_action()).perform(exchange)
        else:  # the server is stopping: hang up rather than answer
            exchange.drop()


@dataclass(frozen=True)
class Drop:
    reset: bool = False

    def perform(self, exchange: Exchange) -> None:
        exchange.drop(reset=self.reset)


@dataclass(frozen=True)
class Raw:
    body: bytes | str
    status: int = 200
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)

    def perform(self, exchange: Exchange) -> None:
        body = self.body.encode() if isinstance(self.body, str) else self.body
        exchange.send_raw(self.status, body, content_type=self.content_type, headers=self.headers)


@dataclass(frozen=True)
class InvalidJSON(Raw):
    body: bytes | str = '{"id": "chatcmpl-broken", "choices": ['


@dataclass(frozen=True)
class EmptyChoices:
    def perform(self, exchange: Exchange) -> None:
        exchange.send_json(200, exchange.completion([], usage=None, model=None))


class Exchange:
    """One request being answered: what actions use to respond."""

    def __init__(self, handler: _Handler, request: RecordedRequest) -> None:
        self._handler = handler
        self.request = request
        self.server: OpenAIServer = handler.server.owner  # type: ignore[attr-defined]

    def send_json(self, status: int, obj: Any, *,
                  headers: Mapping[str, str] | None = None) -> None:
        self.send_raw(status, json.dumps(obj).encode(), headers=headers)

    def send_raw(self, status: int, body: bytes, *, content_type: str = "application/json",
                 headers: Mapping[str, str] | None = None) -> None:
        h = self._handler
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()

    def drop(self, *, reset: bool = False) -> None:
        h = self._handler
        h.close_connection = True
        with contextlib.suppress(OSError):
            if reset:
                # Linger 0 turns close() into a TCP RST ("connection reset by peer"); a
                # shutdown() first would send a clean FIN instead.
                h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                h.connection.close()
            else:
                h.connection.shutdown(socket.SHUT_RDWR)

    def sleep(self, seconds: float) -> bool:
        """Sleep, waking early when the server stops; True if the full time passed."""
        return not self.server._stopping.wait(seconds)

    def default_action(self) -> Action:
        return self.server._default_action(self.request.json)

    def completion(self, choices: list[dict[str, Any]], *, usage: dict[str, int] | None,
                   model: str | None) -> dict[str, Any]:
        body = self.request.json if isinstance(self.request.json, dict) else {}
        out: dict[str, Any] = {
            "id": f"chatcmpl-test-{next(self.server._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model or body.get("model") or "test-model",
            "choices": choices,
        }
        if usage is not None:
            out["usage"] = usage
        return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients reuse connections as in production
    server_version = "FakeOpenAI/1.0"
    # Headers and body go out as two writes; with Nagle on, the second waits for the
    # client's delayed ACK (~40 ms a response). Real servers set TCP_NODELAY too.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        request = self._record(b"")
        exchange = Exchange(self, request)
        if self.path.rstrip("/") == MODELS_PATH:
            exchange.send_json(200, {"object": "list", "data": [
                {"id": exchange.server.model, "object": "model", "created": 0,
                 "owned_by": "test"}]})
        elif not exchange.server.route(exchange):
            exchange.send_json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = self._record(self.rfile.read(length) if length else b"")
        exchange = Exchange(self, request)
        if self.path.rstrip("/") != COMPLETIONS_PATH:
            if not exchange.server.route(exchange):
                exchange.send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        exchange.server._next_action(request.json).perform(exchange)

    def do_DELETE(self) -> None:
        exchange = Exchange(self, self._record(b""))
        if not exchange.server.route(exchange):
            exchange.send_json(404, {"error": {"message": f"no route {self.path}"}})

    def _record(self, raw: bytes) -> RecordedRequest:
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        request = RecordedRequest(
            time=time.monotonic(), method=self.command, path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()}, json=parsed, raw=raw)
        self.server.owner._record(request)  # type: ignore[attr-defined]
        return request

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean; tests assert on `server.requests` instead


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # joined on close, so no handler outlives the test
    block_on_close = True
    # socketserver's default listen backlog is 5: dozens of clients connecting at once
    # (batch tests, benchmarks) would see refused or reset connections no real server gives.
    request_queue_size = 128

    def __init__(self, owner: OpenAIServer) -> None:
        self.owner = owner
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-delay are part of the tests; keep the error for inspection.
        self.owner.errors.append(sys.exc_info()[1])

    def close_open_connections(self) -> None:
        # Keep-alive handlers block reading the next request; shutting their sockets down
        # wakes them so server_close() can join them instead of hanging.
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class OpenAIServer:
    """See the module docstring. Use as a context manager, or call start() / stop()."""

    def __init__(self, script: list[Any] | tuple[Any, ...] = (), *,
                 default: Responder | None = None, model: str = "test-model") -> None:
        self.model = model
        self.default = default
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException | None] = []
        self._queue: deque[Any] = deque(script)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- script -------------------------------------------------------------------------
    def enqueue(self, *items: Any) -> None:
        with self._lock:
            self._queue.extend(items)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def completions(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.rstrip("/") == COMPLETIONS_PATH]

    def _next_action(self, body: Any) -> Action:
        with self._lock:
            item = self._queue.popleft() if self._queue else None
        if item is None:
            return self._default_action(body)
        return _as_action(item(body) if callable(item) and not hasattr(item, "perform") else item)

    def _default_action(self, body: Any) -> Action:
        if self.default is None:
            return Fault(500, {"error": {"message": "no scripted response left"}})
        return _as_action(self.default(body))

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def route(self, exchange: Exchange) -> bool:
        """Answer a request for any other path; True if answered. Subclasses add endpoints
        here (tests/fault_server.py adds files and batches); the base answers none."""
        return False

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL for an OpenAI client: http://127.0.0.1:PORT/v1"""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAIServer:
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"openai-server-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.close_open_connections()
        self._httpd.server_close()
        assert self._thread is not None
        self._thread.join()
        self._httpd = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _as_action(item: Any) -> Action:
    return Reply(item) if isinstance(item, str) else item


@contextlib.contextmanager
def serve(*script: Any, default: Responder | None = None) -> Iterator[OpenAIServer]:
    """`with serve(Reply("hi")) as server:` -- shorthand for tests and fixtures."""
    with OpenAIServer(script, default=default) as server:
        yield server
