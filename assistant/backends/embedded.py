"""The embedded backend: a local GGUF model run in-process by llama.cpp (`llama-cpp-python`).

The prompt is built as *tokens*, not as text. llama-cpp-python's chat helpers render the
chat template to a string and tokenize it with special tokens enabled, so an article
containing `<|im_start|>system` would open a real system turn. Here only the ChatML control
parts (`<|im_start|>role\\n`, `<|im_end|>\\n`) are tokenized with `special=True`; message
content is tokenized with `special=False`, so any marker inside it stays plain text.

Because the same message always yields the same tokens, consecutive calls that share a
prefix (the system prompt and the article) reuse llama.cpp's KV cache: `Llama` keeps the
previous token sequence and evaluates only the new suffix.

One `Llama` is loaded per (model file, n_ctx) and process, shared by every
`EmbeddedBackend` on it; generation is serialized by a lock because a llama.cpp context is
not thread-safe. Only this module imports `llama_cpp`, and only when a backend is built.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import BackendError, MissingDependencyError, UserError
from ..model_files import ensure_model
from .base import ChatRequest, ChatResponse, Message

log = logging.getLogger(__name__)

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
STOP = [IM_END, "<|endoftext|>"]
# The Qwen2.5 template's system turn used when a conversation has none, e.g.
# {{- '<|im_start|>system\nYou are Qwen, ...<|im_end|>\n' }}
_DEFAULT_SYSTEM = re.compile(r"""'<\|im_start\|>system\\n([^'{}]+?)<\|im_end\|>\\n'""")


class Tokenizer(Protocol):
    """The slice of `llama_cpp.Llama` the ChatML formatter needs."""

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]: ...


def _encode(text: str) -> bytes:
    # "replace" only matters for lone surrogates, which are not valid UTF-8 anyway.
    return text.encode("utf-8", "replace")


def chatml_tokens(tokenizer: Tokenizer, messages: Sequence[Message], *,
                  default_system: str | None = None) -> list[int]:
    """ChatML prompt tokens ending in an open assistant turn.

    Control parts are tokenized with `special=True`, content with `special=False`, so text
    that looks like a role marker inside a message can never become one. `default_system`
    is prepended as a system turn when the conversation does not start with one (what the
    model's own chat template does).
    """
    tokens: list[int] = []

    def turn(role: str, content: str) -> None:
        tokens.extend(tokenizer.tokenize(_encode(f"{IM_START}{role}\n"), add_bos=False, special=True))
        if content:
            tokens.extend(tokenizer.tokenize(_encode(content), add_bos=False, special=False))
        tokens.extend(tokenizer.tokenize(_encode(f"{IM_END}\n"), add_bos=False, special=True))

    if default_system and (not messages or messages[0].role != "system"):
        turn("system", default_system)
    for message in messages:
        turn(message.role, message.content)
    tokens.extend(tokenizer.tokenize(_encode(f"{IM_START}assistant\n"), add_bos=False, special=True))
    return tokens


def default_system_prompt(chat_template: str | None) -> str | None:
    """The system text a Qwen-style template inserts when none is given, if it has one."""
    if not chat_template:
        return None
    match = _DEFAULT_SYSTEM.search(chat_template)
    return match.group(1).replace("\\n", "\n") if match else None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError:
        raise MissingDependencyError("llama-cpp-python", "embedded") from None
    return llama_cpp


# llama.cpp's grammar parser refuses a repetition nested deeper than about 1000 levels
# ("... exceeds sane defaults"), and the JSON-schema converter nests one level per allowed
# character or item. Bounds above this are dropped from the grammar (the caller's
# validation still enforces them) rather than failing the request.
GRAMMAR_MAX_REPEAT = 1000
_GRAMMARS_MAX = 64
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
    """One generation straight from `Llama.generate`, for measuring our own overhead."""

    tokens: list[int] = field(repr=False)
    text: str
    finish_reason: str
    prompt_tokens: int
    cached_prompt_tokens: int
    first_token_s: float
    total_s: float

    @property
    def completion_tokens(self) -> int:
        return len(self.tokens)


class _Runtime:
    """One loaded model: the `Llama`, the lock that serializes it, its ChatML pieces."""

    def __init__(self, llm: Any, llama_cpp: Any) -> None:
        self.llm = llm
        self.lock = threading.Lock()
        self.n_ctx: int = llm.n_ctx()
        self._vocab = llama_cpp.llama_model_get_vocab(llm.model)
        self._is_eog = llama_cpp.llama_vocab_is_eog
        template = llm.metadata.get("tokenizer.chat_template")
        if template is not None and IM_START not in template:
            raise BackendError(f"model {llm.model_path!r} does not use the ChatML chat template; "
                               "the embedded backend supports ChatML models only")
        for marker in (IM_START, IM_END):
            if len(llm.tokenize(marker.encode(), add_bos=False, special=True)) != 1:
                raise BackendError(f"model {llm.model_path!r} has no {marker} special token; "
                                   "the embedded backend supports ChatML models only")
        self.default_system = default_system_prompt(template)
        self._llama_cpp = llama_cpp
        self._grammars: dict[str, Any] = {}
        self._grammars_lock = threading.Lock()

    def grammar(self, schema: dict[str, Any]) -> Any:
        """A checked `LlamaGrammar` for `schema`, cached by the schema's hash."""
        text = json.dumps(schema, sort_keys=True, separators=(",", ":"))
        key = hashlib.sha256(text.encode()).hexdigest()
        with self._grammars_lock:
            if (cached := self._grammars.get(key)) is not None:
                return cached
        try:
            grammar = self._llama_cpp.LlamaGrammar.from_json_schema(
                json.dumps(grammar_schema(schema)), verbose=False)
        except Exception as exc:  # the converter signals unsupported schemas with asserts
            raise BackendError("embedded backend cannot turn the JSON schema into a grammar: "
                               f"{_one_line(exc)}") from exc
        # llama-cpp-python adds whatever llama.cpp returns to the sampler chain, and a
        # grammar llama.cpp rejects comes back NULL and crashes the process at sampling
        # time. Parse it once here instead.
        sampler = self._llama_cpp.llama_sampler_init_grammar(
            self._vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8"))
        if not sampler:
            raise BackendError("llama.cpp rejected the grammar built from the JSON schema "
                               "(its parser error is on stderr)")
        self._llama_cpp.llama_sampler_free(sampler)
        with self._grammars_lock:
            if len(self._grammars) >= _GRAMMARS_MAX:
                self._grammars.pop(next(iter(self._grammars)))
            self._grammars[key] = grammar
        return grammar

    def cached_prefix(self, tokens: Sequence[int]) -> int:
        """How many leading prompt tokens the KV cache already holds (as `generate` counts)."""
        held = self.llm.input_ids[: self.llm.n_tokens]
        n = 0
        for a, b in zip(held, tokens, strict=False):
            if a != b:
                break
            n += 1
        return n - 1 if n == len(tokens) and n > 0 else n

    def is_eog(self, token: int) -> bool:
        return bool(self._is_eog(self._vocab, token))


_RUNTIMES: dict[tuple[str, int], _Runtime] = {}
_RUNTIMES_LOCK = threading.Lock()


def _close_all() -> None:
    # Free the models before interpreter teardown: llama-cpp-python's own finalizer runs
    # after its C bindings are gone and prints a TypeError at exit otherwise.
    with _RUNTIMES_LOCK:
        for runtime in _RUNTIMES.values():
            with runtime.lock:
                runtime.llm.close()
        _RUNTIMES.clear()


def _load_runtime(path: Path, *, n_ctx: int, n_threads: int, n_batch: int, seed: int) -> _Runtime:
    key = (str(path.resolve()), n_ctx)
    with _RUNTIMES_LOCK:
        if (runtime := _RUNTIMES.get(key)) is not None:
            return runtime
        llama_cpp = _import_llama_cpp()
        started = time.perf_counter()
        try:
            llm = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads,
                                  n_threads_batch=n_threads, n_batch=n_batch, seed=seed,
                                  verbose=False)
        except Exception as exc:
            raise BackendError(f"cannot load model {str(path)!r}: {_one_line(exc)}") from exc
        runtime = _Runtime(llm, llama_cpp)
        log.info("loaded %s (n_ctx=%d, %d threads) in %.1f s", path.name, n_ctx, n_threads,
                 time.perf_counter() - started)
        if not _RUNTIMES:
            atexit.register(_close_all)
        _RUNTIMES[key] = runtime
        return runtime


class EmbeddedBackend:
    """Runs a GGUF chat model in-process; the default model is assembled on first use.

    `n_threads`, `n_batch` and `seed` take effect only for the first backend that loads a
    given (model file, n_ctx); later ones share that instance.
    """

    name = "embedded"
    base_url: str | None = None

    def __init__(self, model_path: str | Path | None = None, *, n_ctx: int = 8192,
                 n_threads: int | None = None, n_batch: int = 512, seed: int = 0) -> None:
        _import_llama_cpp()  # fail at construction, not at the first request
        self.model_path = ensure_model(model_path)
        self.model = self.model_path.stem
        self.n_ctx = n_ctx
        self.n_threads = n_threads or int(os.environ.get("ASSISTANT_THREADS") or 0) or os.cpu_count() or 1
        self.n_batch = n_batch
        self.seed = seed
        self.last_cached_prompt_tokens = 0
        self._runtime: _Runtime | None = None

    def load(self) -> None:
        """Load the model now rather than at the first request."""
        self._get_runtime()

    def reset_cache(self) -> None:
        """Forget the evaluated prompt, so the next request starts cold (for benchmarks)."""
        runtime = self._get_runtime()
        with runtime.lock:
            runtime.llm.reset()

    def _get_runtime(self) -> _Runtime:
        if self._runtime is None:
            self._runtime = _load_runtime(self.model_path, n_ctx=self.n_ctx,
                                          n_threads=self.n_threads, n_batch=self.n_batch,
                                          seed=self.seed)
        return self._runtime

    def tokenize_chat(self, messages: Sequence[Message]) -> list[int]:
        """The exact prompt tokens `complete` sends for `messages`."""
        runtime = self._get_runtime()
        return chatml_tokens(runtime.llm, messages, default_system=runtime.default_system)

    def count_tokens(self, text: str) -> int:
        if not text:
            return 0
        return len(self._get_runtime().llm.tokenize(_encode(text), add_bos=False, special=False))

    def _check_fits(self, runtime: _Runtime, prompt_tokens: int, max_tokens: int) -> None:
        if max_tokens < 1:
            raise UserError(f"max_tokens must be at least 1, got {max_tokens}")
        if prompt_tokens + max_tokens > runtime.n_ctx:
            raise BackendError(f"prompt of {prompt_tokens} tokens + max_tokens {max_tokens} exceeds "
                               f"the context window n_ctx={runtime.n_ctx}")

    def complete(self, request: ChatRequest) -> ChatResponse:
        started = time.perf_counter()
        runtime = self._get_runtime()
        tokens = chatml_tokens(runtime.llm, request.messages, default_system=runtime.default_system)
        self._check_fits(runtime, len(tokens), request.max_tokens)
        grammar = runtime.grammar(request.json_schema) if request.json_schema is not None else None
        with runtime.lock:
            cached = runtime.cached_prefix(tokens)
            try:
                out = runtime.llm.create_completion(
                    prompt=tokens, max_tokens=request.max_tokens,
                    temperature=max(request.temperature, 0.0), seed=request.seed,
                    grammar=grammar, stop=STOP)
            except Exception as exc:
                raise BackendError(f"embedded model failed: {_one_line(exc)}") from exc
        self.last_cached_prompt_tokens = cached
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        response = ChatResponse(
            text=choice["text"], finish_reason=choice.get("finish_reason"),
            prompt_tokens=len(tokens), completion_tokens=int(usage.get("completion_tokens", 0)),
            model=self.model, latency_s=time.perf_counter() - started, cached=False)
        log.debug("embedded: %d prompt tokens (%d cached), %d completion tokens, %.2f s, %s",
                  response.prompt_tokens, cached, response.completion_tokens, response.latency_s,
                  response.finish_reason)
        return response

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        return await asyncio.to_thread(self.complete, request)

    def raw_generate(self, prompt_tokens: Sequence[int], max_tokens: int,
                     schema: dict[str, Any] | None = None) -> RawGeneration:
        """Greedy generation through `Llama.generate` alone, with the same grammar.

        No text assembly, stop strings or response building: a benchmark compares this
        with `complete` on the same prompt to see what the layers above llama.cpp cost.
        """
        runtime = self._get_runtime()
        tokens = list(prompt_tokens)
        self._check_fits(runtime, len(tokens), max_tokens)
        grammar = runtime.grammar(schema) if schema is not None else None
        out: list[int] = []
        finish = "length"
        first = 0.0
        with runtime.lock:
            cached = runtime.cached_prefix(tokens)
            started = time.perf_counter()
            try:
                for token in runtime.llm.generate(tokens, temp=0.0, repeat_penalty=1.0,
                                                  grammar=grammar):
                    if not out and not first:
                        first = time.perf_counter() - started
                    if runtime.is_eog(token):
                        finish = "stop"
                        break
                    out.append(token)
                    if len(out) >= max_tokens:
                        break
            except Exception as exc:
                raise BackendError(f"embedded model failed: {_one_line(exc)}") from exc
            total = time.perf_counter() - started
            text = runtime.llm.detokenize(out).decode("utf-8", "replace")
        return RawGeneration(tokens=out, text=text, finish_reason=finish,
                             prompt_tokens=len(tokens), cached_prompt_tokens=cached,
                             first_token_s=first, total_s=total)
