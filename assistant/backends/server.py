"""Any `Backend` as a small OpenAI-compatible HTTP server (`assistant serve`).

    server = make_server(EmbeddedBackend(), port=0)      # 0: a free port
    print(server.url)                                     # http://127.0.0.1:PORT/v1
    server.serve_forever()

Endpoints: `POST /v1/chat/completions` (non-streaming; `max_tokens` or
`max_completion_tokens`, `temperature`, `seed`, `response_format` — `json_schema`, or
`json_object` with or without a `schema` — and `logprobs` / `top_logprobs`, answered in
OpenAI's shape when the backend returns them), `GET /v1/models`, `GET /v1/models/{id}`
and `GET /health`. Every error is an OpenAI-style JSON object with a clear message: 400
for a malformed request, 401 for a missing or wrong key (only when the server has one),
404 for an unknown path or model, 405, 413, and 500 or 502 when the backend fails —
never a traceback. The stdlib `ThreadingHTTPServer`: one thread per connection, so the
embedded model's parallel sequences decode together.

The server listens on loopback unless told otherwise. It logs the method, path, status
and time of each request, never a header or a body, so no key reaches a log.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import ValidationError

from assistant.backends.base import Backend, ChatRequest, ChatResponse, Message
from assistant.errors import AssistantError, BackendError, InputError, UserError

__all__ = [
    "LOOPBACK",
    "MAX_BODY_BYTES",
    "ModelServer",
    "RequestError",
    "chat_request",
    "completion_body",
    "make_server",
]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024 * 1024
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_ROLES = ("system", "user", "assistant")
_FINISH = {"stop": "stop", "length": "length"}


class RequestError(Exception):
    """A request the server refuses: an HTTP status and an OpenAI-style error object."""

    def __init__(self, status: int, message: str, *, kind: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code = status, message, kind, param, code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param,
                          "code": self.code}}


def _bad(message: str, param: str | None = None) -> RequestError:
    return RequestError(400, message, param=param)


def _content(value: Any, where: str) -> str:
    """A message's text: a string, or a list of `{"type": "text", "text": ...}` parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for part in value:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise _bad(f"{where}: only text content parts are supported", where)
            parts.append(part["text"])
        return "".join(parts)
    if value is None:
        return ""
    raise _bad(f"{where}: content must be a string or a list of text parts", where)


def _schema(response_format: Any) -> tuple[dict[str, Any] | None, str]:
    """(JSON schema to constrain the output to, its name) from a `response_format`."""
    if response_format is None:
        return None, "output"
    if not isinstance(response_format, dict):
        raise _bad("response_format must be an object", "response_format")
    kind = response_format.get("type")
    if kind == "text":
        return None, "output"
    if kind == "json_object":
        schema = response_format.get("schema")  # llama.cpp's extension
        if schema is not None and not isinstance(schema, dict):
            raise _bad("response_format.schema must be an object", "response_format")
        return schema or {"type": "object"}, "output"
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            raise _bad("response_format.json_schema.schema must be an object", "response_format")
        return spec["schema"], str(spec.get("name") or "output")
    raise _bad(f"response_format.type {kind!r} is not supported (text, json_object, json_schema)",
               "response_format")


def _number(body: dict[str, Any], key: str, kind: type, *, low: float | None = None,
            high: float | None = None) -> Any:
    value = body.get(key)
    if value is None:
        return None
    ok = isinstance(value, int | float) if kind is float else isinstance(value, int)
    if not ok or isinstance(value, bool):
        raise _bad(f"{key} must be {'a number' if kind is float else 'an integer'}", key)
    if (low is not None and value < low) or (high is not None and value > high):
        raise _bad(f"{key} must be between {low:g} and {high:g}" if high is not None
                   else f"{key} must be at least {low:g}", key)
    return kind(value)


def chat_request(body: Any, *, default_max_tokens: int = 512) -> ChatRequest:
    """The `ChatRequest` an OpenAI chat-completions body asks for; `RequestError` (400) when
    it is malformed or asks for what this server does not do (streaming, n > 1, tools)."""
    if not isinstance(body, dict):
        raise _bad("the request body must be a JSON object")
    if body.get("stream"):
        raise _bad("streaming is not supported; send stream=false", "stream")
    if _number(body, "n", int, low=1) not in (None, 1):
        raise _bad("only n=1 is supported", "n")
    if body.get("tools") or body.get("functions"):
        raise _bad("tools and functions are not supported", "tools")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("messages must be a non-empty list", "messages")
    parsed = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise _bad(f"{where} must be an object", where)
        role = "system" if m.get("role") == "developer" else m.get("role")
        if role not in _ROLES:
            raise _bad(f"{where}.role must be one of {', '.join(_ROLES)}, got {m.get('role')!r}", where)
        parsed.append(Message(role=role, content=_content(m.get("content"), f"{where}.content")))
    max_tokens = _number(body, "max_completion_tokens", int, low=1)
    if max_tokens is None:
        max_tokens = _number(body, "max_tokens", int, low=1)
    temperature = _number(body, "temperature", float, low=0, high=2)
    seed = _number(body, "seed", int)
    top = None
    if body.get("logprobs"):
        top = _number(body, "top_logprobs", int, low=0, high=20)
        top = max(top or 0, 1)  # logprobs without alternatives still needs the chosen token's
    elif body.get("top_logprobs") is not None:
        raise _bad("top_logprobs needs logprobs=true", "top_logprobs")
    schema, name = _schema(body.get("response_format"))
    return ChatRequest(messages=parsed, json_schema=schema, schema_name=name,
                       temperature=0.0 if temperature is None else temperature,
                       max_tokens=max_tokens or default_max_tokens, seed=seed, top_logprobs=top)


def completion_body(response: ChatResponse, model: str, *, logprobs: bool = False,
                    top_logprobs: int = 0) -> dict[str, Any]:
    """An OpenAI chat-completion object for `response` (what `openai` SDK clients parse):
    with `logprobs`, each output token's log-probability and its `top_logprobs` most
    likely alternatives, when the backend returned them (else `logprobs` is null)."""
    shown: dict[str, Any] | None = None
    if logprobs and response.logprobs is not None:
        content = []
        for t in response.logprobs:
            alts = sorted(t.top.items(), key=lambda kv: -kv[1])[:top_logprobs]
            content.append({"token": t.token, "logprob": t.logprob, "bytes": list(t.token.encode()),
                            "top_logprobs": [{"token": tok, "logprob": lp, "bytes": list(tok.encode())}
                                             for tok, lp in alts]})
        shown = {"content": content}
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion",
        "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": response.text},
                     "logprobs": shown,
                     "finish_reason": _FINISH.get(response.finish_reason or "stop", "stop")}],
        "usage": {"prompt_tokens": response.prompt_tokens,
                  "completion_tokens": response.completion_tokens,
                  "total_tokens": response.prompt_tokens + response.completion_tokens},
    }


class ModelServer(ThreadingHTTPServer):
    """A `ThreadingHTTPServer` that answers for one backend under one model name."""

    daemon_threads = True

    def __init__(self, backend: Backend, host: str, port: int, *, model_name: str | None = None,
                 api_key: str | None = None) -> None:
        self.backend = backend
        self.model_name = model_name or backend.model
        self._api_key = api_key
        self.created = int(time.time())
        self.requests_served = 0
        super().__init__((host, port), _Handler)

    def __repr__(self) -> str:  # no key
        return f"ModelServer({self.url!r}, model={self.model_name!r}, backend={self.backend.name!r})"

    @property
    def url(self) -> str:
        """The base URL a client is given: `http://HOST:PORT/v1`."""
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/v1"

    def authorised(self, header: str | None) -> bool:
        if not self._api_key:
            return True
        given = header[7:].strip() if header and header.lower().startswith("bearer ") else ""
        return hmac.compare_digest(given.encode(), self._api_key.encode())

    def model_object(self) -> dict[str, Any]:
        return {"id": self.model_name, "object": "model", "created": self.created,
                "owned_by": f"assistant ({self.backend.name})"}


class _Handler(BaseHTTPRequestHandler):
    server: ModelServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    server_version = "assistant-serve"

    # -- plumbing ---------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("serve: " + format, *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The request line only (method and path): never headers, where a key travels.
        log.info("%s %s -> %s", self.command, self.path.split("?", 1)[0], code)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, err: RequestError) -> None:
        self._send(err.status, err.body())

    def _route(self, method: str) -> None:
        started = time.perf_counter()
        try:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path.startswith("/v1") and not self.server.authorised(self.headers.get("Authorization")):
                raise RequestError(401, "missing or wrong API key (send Authorization: Bearer KEY)",
                                   kind="authentication_error", code="invalid_api_key")
            self._dispatch(method, path)
        except RequestError as err:
            self._drain()
            self._error(err)
        except Exception as exc:  # a bug of ours: one line, no traceback to the client
            log.exception("serve: internal error on %s %s", method, self.path.split("?", 1)[0])
            self._error(RequestError(500, f"internal server error ({type(exc).__name__})",
                                     kind="server_error"))
        finally:
            log.debug("serve: %s %s in %.3f s", method, self.path.split("?", 1)[0],
                      time.perf_counter() - started)

    def _drain(self) -> None:
        """Read an unread request body, so a keep-alive connection stays in step."""
        if getattr(self, "_body_read", False):
            return
        self._body_read = True
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if 0 < length <= MAX_BODY_BYTES:
            self.rfile.read(length)
        elif length:
            self.close_connection = True

    def _json_body(self) -> Any:
        self._body_read = True
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            self.close_connection = True
            raise RequestError(411, "a Content-Length header is required")
        try:
            length = int(raw_length)
        except ValueError:
            self.close_connection = True
            raise _bad("Content-Length is not a number") from None
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise RequestError(413, f"request body over {MAX_BODY_BYTES // (1024 * 1024)} MiB")
        raw = self.rfile.read(length)
        try:
            return json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise _bad("the request body is not UTF-8") from None
        except json.JSONDecodeError as exc:
            raise _bad(f"the request body is not valid JSON ({exc.msg} at line {exc.lineno} "
                       f"column {exc.colno})") from None

    # -- endpoints --------------------------------------------------------------------------
    def _dispatch(self, method: str, path: str) -> None:
        srv = self.server
        if path == "/v1/chat/completions":
            if method != "POST":
                raise RequestError(405, "use POST for /v1/chat/completions")
            self._chat(self._json_body())
        elif path == "/v1/models":
            if method != "GET":
                raise RequestError(405, "use GET for /v1/models")
            self._send(200, {"object": "list", "data": [srv.model_object()]})
        elif path.startswith("/v1/models/"):
            if method != "GET":
                raise RequestError(405, "use GET for /v1/models/{id}")
            wanted = path[len("/v1/models/"):]
            if wanted != srv.model_name:
                raise self._no_model(wanted)
            self._send(200, srv.model_object())
        elif path == "/health":
            self._send(200, {"status": "ok", "model": srv.model_name})
        else:
            raise RequestError(404, f"no such endpoint: {method} {path or '/'} (this server has "
                                    "POST /v1/chat/completions, GET /v1/models, GET /health)",
                               code="not_found")

    def _no_model(self, wanted: object) -> RequestError:
        return RequestError(404, f"model {wanted!r} is not served here; this server serves "
                                 f"{self.server.model_name!r}", param="model", code="model_not_found")

    def _chat(self, body: Any) -> None:
        srv = self.server
        request = chat_request(body)
        model = body.get("model")
        if model not in (None, "", srv.model_name):
            raise self._no_model(model)
        try:
            response = srv.backend.complete(request)
        except UserError as exc:  # e.g. the prompt exceeds the context window
            raise _bad(str(exc)) from None
        except (BackendError, InputError) as exc:
            # BackendError here is the model failing (or a context overflow the runtime
            # found): the client sees its one-line message.
            status = 400 if "exceeds the context window" in str(exc) else 502
            raise RequestError(status, str(exc), kind="server_error" if status == 502
                               else "invalid_request_error") from None
        except AssistantError as exc:
            raise RequestError(500, str(exc), kind="server_error") from None
        except ValidationError as exc:
            raise RequestError(500, f"the backend gave an unreadable answer: {exc.error_count()} "
                                    "validation error(s)", kind="server_error") from None
        srv.requests_served += 1
        self._send(200, completion_body(response, srv.model_name, logprobs=bool(body.get("logprobs")),
                                        top_logprobs=int(body.get("top_logprobs") or 0)))

    def do_GET(self) -> None:
        self._body_read = False
        self._route("GET")

    def do_POST(self) -> None:
        self._body_read = False
        self._route("POST")

    def do_PUT(self) -> None:
        self._body_read = False
        self._route("PUT")

    def do_DELETE(self) -> None:
        self._body_read = False
        self._route("DELETE")


def make_server(backend: Backend, host: str = "127.0.0.1", port: int = 8000, *,
                model_name: str | None = None, api_key: str | None = None) -> ModelServer:
    """A server for `backend`, bound and ready for `serve_forever()` (port 0: a free one).

    `model_name` is the name `/v1/models` lists and requests must use (default: the
    backend's model); with `api_key`, requests must send `Authorization: Bearer KEY`.
    """
    try:
        return ModelServer(backend, host, port, model_name=model_name, api_key=api_key)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
