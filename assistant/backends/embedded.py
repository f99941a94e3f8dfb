"""The embedded backend: a local GGUF model run in-process by llama.cpp through `xllamacpp`.

Why this runtime: `xllamacpp` ships a prebuilt wheel (AVX2/FMA/F16C, no AVX-512 or AMX
kernels), so it installs in seconds and cannot take llama.cpp's AMX repack path that
crashes at the first decode on Sapphire Rapids class CPUs; llama-cpp-python compiles
from source for minutes and needs that path switched off (`benchmarks/bench_runtime.py`
measures both). The model is served by llama.cpp's own server loop, in-process: parallel
sequences decode in one batch, prompts are cached per slot, JSON schemas become grammars.

The prompt is built as *tokens*, not as text. The chat endpoint renders the template to a
string and tokenizes it with special tokens on, so an article holding
`<|im_start|>system` would open a real system turn. Here only the ChatML control tokens are
inserted by id; message content is tokenized with specials off by an exact tokenizer
built from the model file's own vocabulary (`_bpe`), and the token list goes to the
completion endpoint.

One server is loaded per (model file, n_ctx) and process. Model jobs of different
processes are serialised through a lock file in the cache directory: several model
processes on 2 cores run 5-8x slower than one. Only this module imports `xllamacpp`, and
only when a backend is built.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import fcntl
import logging
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from assistant.backends.base import ChatRequest, ChatResponse, Message, TokenLogprob
from assistant.backends.bpe import GGUFTokenizer, UnsupportedVocabulary, tokenizer_for
from assistant.backends.gguf import GGUFError, read_metadata
from assistant.backends.model_files import cache_dir, ensure_model
from assistant.errors import BackendError, MissingDependencyError, UserError

log = logging.getLogger(__name__)

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
# The Qwen2.5 template's system turn used when a conversation has none, e.g.
# {{- '<|im_start|>system\nYou are Qwen, ...<|im_end|>\n' }}
_DEFAULT_SYSTEM = re.compile(r"""'<\|im_start\|>system\\n([^'{}]+?)<\|im_end\|>\\n'""")
ENV_THREADS = "ASSISTANT_THREADS"
ENV_PARALLEL = "ASSISTANT_PARALLEL"
ENV_MODEL_LOCK = "ASSISTANT_MODEL_LOCK"  # "0" turns the cross-process lock off
ENV_LLAMA_VERBOSE = "ASSISTANT_LLAMA_VERBOSE"


class Tokenizer(Protocol):
    """What the ChatML formatter needs: plain-text encoding and the control tokens' ids."""

    def encode(self, text: str) -> list[int]: ...

    def special_id(self, text: str) -> int: ...


def chatml_tokens(tokenizer: Tokenizer, messages: Sequence[Message], *,
                  default_system: str | None = None) -> list[int]:
    """ChatML prompt tokens ending in an open assistant turn.

    Control tokens are inserted by id; role names and content are encoded as plain text,
    so text that looks like a role marker inside a message can never become one.
    `default_system` is prepended as a system turn when the conversation does not start
    with one (what the model's own chat template does).
    """
    start, end = tokenizer.special_id(IM_START), tokenizer.special_id(IM_END)
    newline = tokenizer.encode("\n")
    tokens: list[int] = []

    def turn(role: str, content: str) -> None:
        tokens.append(start)
        tokens.extend(tokenizer.encode(f"{role}\n"))
        if content:
            tokens.extend(tokenizer.encode(content))
        tokens.append(end)
        tokens.extend(newline)

    if default_system and (not messages or messages[0].role != "system"):
        turn("system", default_system)
    for message in messages:
        turn(message.role, message.content)
    tokens.append(start)
    tokens.extend(tokenizer.encode("assistant\n"))
    return tokens


def default_system_prompt(chat_template: str | None) -> str | None:
    """The system text a Qwen-style template inserts when none is given, if it has one."""
    if not chat_template:
        return None
    match = _DEFAULT_SYSTEM.search(chat_template)
    return match.group(1).replace("\\n", "\n") if match else None


def _one_line(exc: BaseException | str) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _import_runtime() -> Any:
    try:
        import xllamacpp
    except ImportError:
        raise MissingDependencyError("xllamacpp", "embedded") from None
    return xllamacpp


# Bounds far above anything a draft needs are dropped from the constraint (the caller's
# validation still enforces them): huge repetition counts make grammars slow to build.
GRAMMAR_MAX_REPEAT = 1000
_LITERAL_KEYS = frozenset({"const", "enum", "default", "examples"})  # data, not schemas


def grammar_schema(schema: Any) -> Any:
    """`schema` with `maxLength`/`maxItems` above `GRAMMAR_MAX_REPEAT` removed."""
    if isinstance(schema, list):
        return [grammar_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if (key in ("maxLength", "maxItems") and isinstance(value, int)
                and value > GRAMMAR_MAX_REPEAT):
            continue
        out[key] = value if key in _LITERAL_KEYS else grammar_schema(value)
    return out


@dataclass
class RawGeneration:
    """One generation straight from the runtime, for measuring our own overhead."""

    text: str
    finish_reason: str
    prompt_tokens: int
    cached_prompt_tokens: int
    completion_tokens: int
    first_token_s: float
    total_s: float
    timings: dict[str, float] = field(default_factory=dict, repr=False)


class _ModelJobLock:
    """One model job per machine at a time, across processes (a `flock` on a file).

    Re-entrant within the process: the file lock is taken when the first request of this
    process starts and released when its last one ends, so this process's own parallel
    sequences still decode together.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._count = 0
        self._cond = threading.Condition()
        self._fd: int | None = None

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        if os.environ.get(ENV_MODEL_LOCK, "1") == "0":
            yield
            return
        with self._cond:
            if self._count == 0:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    log.warning("another process is running the embedded model; waiting for it")
                    fcntl.flock(fd, fcntl.LOCK_EX)
                self._fd = fd
            self._count += 1
        try:
            yield
        finally:
            with self._cond:
                self._count -= 1
                if self._count == 0 and self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    os.close(self._fd)
                    self._fd = None


class _Runtime:
    """One loaded model: the in-process server, its tokenizer and ChatML pieces."""

    def __init__(self, server: Any, tokenizer: GGUFTokenizer, meta: dict[str, Any], *,
                 path: Path, n_ctx: int, n_parallel: int, system_info: str) -> None:
        self.server = server
        self.tokenizer = tokenizer
        self.path = path
        self.n_ctx = n_ctx
        self.n_parallel = n_parallel
        self.system_info = system_info
        template = meta.get("tokenizer.chat_template")
        if template is not None and IM_START not in template:
            raise BackendError(f"model {str(path)!r} does not use the ChatML chat template; "
                               "the embedded backend supports ChatML models only")
        for marker in (IM_START, IM_END):
            if marker not in tokenizer.specials:
                raise BackendError(f"model {str(path)!r} has no {marker} special token; "
                                   "the embedded backend supports ChatML models only")
        self.default_system = default_system_prompt(template)
        self.job_lock = _ModelJobLock(cache_dir() / "model-jobs.lock")
        self.cold_next = False

    def complete(self, payload: dict[str, Any]) -> dict[str, Any]:
        """One completion request to the server; its error object becomes a BackendError."""
        if self.cold_next:
            payload = {**payload, "cache_prompt": False}
            self.cold_next = False
        with self.job_lock.hold():
            try:
                out = self.server.handle_completions(payload)
            except Exception as exc:
                raise BackendError(f"embedded model failed: {_one_line(exc)}") from exc
        if not isinstance(out, dict):
            raise BackendError(f"embedded model returned {type(out).__name__}, not an object")
        if "error" in out:
            err = out["error"]
            message = err.get("message") if isinstance(err, dict) else err
            raise BackendError(f"embedded model refused the request: {_one_line(str(message))}")
        return out


_RUNTIMES: dict[tuple[str, int], _Runtime] = {}
_RUNTIMES_LOCK = threading.Lock()


def _close_all() -> None:
    # Stop the server loops before interpreter teardown, while the bindings still exist.
    with _RUNTIMES_LOCK:
        _RUNTIMES.clear()


def _load_runtime(path: Path, *, n_ctx: int, n_threads: int, n_parallel: int,
                  n_batch: int, seed: int) -> _Runtime:
    key = (str(path.resolve()), n_ctx)
    with _RUNTIMES_LOCK:
        if (runtime := _RUNTIMES.get(key)) is not None:
            return runtime
        x = _import_runtime()
        try:
            meta = read_metadata(path)
            tokenizer = tokenizer_for(path)
        except (OSError, GGUFError, UnsupportedVocabulary) as exc:
            raise BackendError(f"cannot read model {str(path)!r}: {_one_line(exc)}") from exc
        started = time.perf_counter()
        params = x.CommonParams()
        params.model.path = str(path)
        params.n_ctx = n_ctx
        params.n_parallel = n_parallel
        # All slots share one KV buffer, so any single request may use the whole n_ctx.
        params.kv_unified = True
        params.n_batch = n_batch
        params.cpuparams.n_threads = n_threads
        params.cpuparams_batch.n_threads = n_threads
        params.sampling.seed = seed
        params.warmup = False
        # No extra (repacked) buffer types: the AMX one crashes on Sapphire Rapids CPUs.
        params.no_extra_bufts = True
        params.cache_ram_mib = 1024
        if os.environ.get(ENV_LLAMA_VERBOSE, "") not in ("1", "true", "yes"):
            params.verbosity = -1
        try:
            server = x.Server(params)
        except Exception as exc:
            raise BackendError(f"cannot load model {str(path)!r}: {_one_line(exc)}") from exc
        runtime = _Runtime(server, tokenizer, meta, path=path, n_ctx=n_ctx, n_parallel=n_parallel,
                           system_info=str(x.get_system_info()))
        log.info("loaded %s (n_ctx=%d, %d threads, %d parallel) in %.1f s", path.name, n_ctx,
                 n_threads, n_parallel, time.perf_counter() - started)
        if not _RUNTIMES:
            atexit.register(_close_all)
        _RUNTIMES[key] = runtime
        return runtime


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise UserError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise UserError(f"{name} must be at least 1, got {value}")
    return value


def _logprobs(choice: dict[str, Any]) -> list[TokenLogprob] | None:
    content = (choice.get("logprobs") or {}).get("content")
    if not content:
        return None
    return [TokenLogprob(token=item.get("token", ""), logprob=float(item.get("logprob", 0.0)),
                         top={alt.get("token", ""): float(alt.get("logprob", 0.0))
                              for alt in item.get("top_logprobs") or []})
            for item in content]


class EmbeddedBackend:
    """Runs a GGUF chat model in-process; the default model is assembled on first use.

    `n_threads`, `n_parallel`, `n_batch` and `seed` take effect only for the first backend
    that loads a given (model file, n_ctx); later ones share that instance. `n_parallel`
    sequences decode together: callers get that concurrency by calling `acomplete`
    concurrently or `complete` from several threads.
    """

    name = "embedded"
    base_url: str | None = None
    token_count_exact = True

    def __init__(self, model_path: str | Path | None = None, *, n_ctx: int = 16384,
                 n_threads: int | None = None, n_parallel: int | None = None,
                 n_batch: int = 512, seed: int = 0) -> None:
        _import_runtime()  # fail at construction, not at the first request
        self.model_path = ensure_model(model_path)
        self.model = self.model_path.stem
        self.n_ctx = n_ctx
        self.n_threads = n_threads or _env_int(ENV_THREADS) or os.cpu_count() or 1
        self.n_parallel = n_parallel or _env_int(ENV_PARALLEL) or 4
        self.n_batch = n_batch
        self.seed = seed
        self.last_cached_prompt_tokens = 0
        self._runtime: _Runtime | None = None
        self._tokenizer: GGUFTokenizer | None = None

    def load(self) -> None:
        """Load the model now rather than at the first request."""
        self._get_runtime()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the machine's model lock for the whole block (waiting for it once, at the
        start), so a benchmark's timings hold no waits for other processes' model jobs."""
        with self._get_runtime().job_lock.hold():
            yield

    def reset_cache(self) -> None:
        """Make the next request evaluate its whole prompt (cold), for benchmarks."""
        self._get_runtime().cold_next = True

    @property
    def system_info(self) -> str:
        """llama.cpp's report of the CPU features its kernels use."""
        return self._get_runtime().system_info

    def _get_runtime(self) -> _Runtime:
        if self._runtime is None:
            self._runtime = _load_runtime(self.model_path, n_ctx=self.n_ctx,
                                          n_threads=self.n_threads, n_parallel=self.n_parallel,
                                          n_batch=self.n_batch, seed=self.seed)
        return self._runtime

    def tokenize_chat(self, messages: Sequence[Message]) -> list[int]:
        """The exact prompt tokens `complete` sends for `messages`."""
        runtime = self._get_runtime()
        return chatml_tokens(runtime.tokenizer, messages, default_system=runtime.default_system)

    def count_tokens(self, text: str) -> int:
        if not text:
            return 0
        if self._tokenizer is None:  # counting needs no loaded model
            self._tokenizer = tokenizer_for(self.model_path)
        return len(self._tokenizer.encode(text))

    def _check_fits(self, runtime: _Runtime, prompt_tokens: int, max_tokens: int) -> None:
        if max_tokens < 1:
            raise UserError(f"max_tokens must be at least 1, got {max_tokens}")
        if prompt_tokens + max_tokens > runtime.n_ctx:
            raise BackendError(f"prompt of {prompt_tokens} tokens + max_tokens {max_tokens} exceeds "
                               f"the context window n_ctx={runtime.n_ctx}")

    def complete(self, request: ChatRequest) -> ChatResponse:
        started = time.perf_counter()
        runtime = self._get_runtime()
        tokens = self.tokenize_chat(request.messages)
        self._check_fits(runtime, len(tokens), request.max_tokens)
        payload: dict[str, Any] = {
            "prompt": tokens, "max_tokens": request.max_tokens,
            "temperature": max(request.temperature, 0.0), "cache_prompt": True,
        }
        if request.seed is not None:
            payload["seed"] = request.seed
        if request.json_schema is not None:
            payload["json_schema"] = grammar_schema(request.json_schema)
        if request.top_logprobs:
            payload["n_probs"] = request.top_logprobs
        out = runtime.complete(payload)
        try:
            choice = out["choices"][0]
            usage = out.get("usage") or {}
            cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0))
            response = ChatResponse(
                text=choice.get("text") or "", finish_reason=choice.get("finish_reason"),
                prompt_tokens=len(tokens), completion_tokens=int(usage.get("completion_tokens", 0)),
                model=self.model, latency_s=time.perf_counter() - started, cached=False,
                logprobs=_logprobs(choice) if request.top_logprobs else None)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise BackendError(f"embedded model gave an unreadable answer: {_one_line(exc)}") from exc
        self.last_cached_prompt_tokens = cached
        log.debug("embedded: %d prompt tokens (%d cached), %d completion tokens, %.2f s, %s",
                  response.prompt_tokens, cached, response.completion_tokens, response.latency_s,
                  response.finish_reason)
        return response

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        return await asyncio.to_thread(self.complete, request)

    def raw_generate(self, prompt_tokens: Sequence[int], max_tokens: int,
                     schema: dict[str, Any] | None = None) -> RawGeneration:
        """Greedy generation by the runtime alone, with the same constraint.

        No message assembly, tokenization, validation or response building: a benchmark
        compares this with `complete` on the same prompt to see what our layers cost.
        """
        runtime = self._get_runtime()
        tokens = list(prompt_tokens)
        self._check_fits(runtime, len(tokens), max_tokens)
        payload: dict[str, Any] = {"prompt": tokens, "max_tokens": max_tokens, "temperature": 0.0,
                                   "cache_prompt": True}
        if schema is not None:
            payload["json_schema"] = grammar_schema(schema)
        started = time.perf_counter()
        out = runtime.complete(payload)
        total = time.perf_counter() - started
        timings = {k: float(v) for k, v in (out.get("timings") or {}).items()}
        usage = out.get("usage") or {}
        choice = out["choices"][0]
        return RawGeneration(
            text=choice.get("text") or "", finish_reason=choice.get("finish_reason") or "",
            prompt_tokens=len(tokens),
            cached_prompt_tokens=int((usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            first_token_s=timings.get("prompt_ms", 0.0) / 1000, total_s=total, timings=timings)


class RuntimeInfo(BaseModel):
    runtime: str = Field(description="The llama.cpp binding in use.")
    version: str = Field(description="Its version.")
    system_info: str = Field(description="llama.cpp's report of the CPU features its kernels use.")


def describe_runtime() -> RuntimeInfo:
    """Runtime name, version and llama.cpp system info, without loading a model."""
    x = _import_runtime()
    return RuntimeInfo(runtime="xllamacpp", version=str(getattr(x, "__version__", "?")),
                       system_info=str(x.get_system_info()).strip())
