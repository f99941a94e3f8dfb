"""Benchmark the batch path against a local OpenAI-compatible server (no model, no network).

Prints, in one run:

1. Library overhead per call against the server at zero latency, beside a bare `openai`
   SDK call with the same messages and response_format: the backend call alone, the
   structured call (render, call, parse, validate), and the batch runner's async stack
   (meter, cache miss and write, gate, backend) beside a bare `AsyncOpenAI` call.
2. Throughput of the batch runner at concurrency 1, 8, 32 and 64 against 500 ms of server
   latency, beside the ideal concurrency/latency: `ping` is one plain call per article (the
   runner, intake and backend stack without the analysis pipeline's CPU work); then the
   real `summarize` (one read call) at 64 and `analyze` (one read call) at 32, where the
   pipeline's own CPU per article (sentence signals, grounding) sets the ceiling.
3. A cached re-run of 100 articles (`analyze`): time, and model requests that reached the
   server (should be 0).

    .venv/bin/python benchmarks/bench_batch.py [--quick]

The server runs in this process (a thread per request), so its own CPU shares the
machine with the client's; the figures are a floor for what a separate server would give.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the test servers and article generator

import openai  # noqa: E402
from articles import article, write_dir  # noqa: E402
from fault_server import FaultServer, draft_responder  # noqa: E402
from openai_server import OpenAIServer, Reply  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

from assistant.api import AsyncAssistant  # noqa: E402
from assistant.backends.base import ChatRequest, Message  # noqa: E402
from assistant.backends.cache import CachingBackend, ResponseCache  # noqa: E402
from assistant.backends.openai_compat import OpenAIBackend  # noqa: E402
from assistant.batch import TASKS, Task, TaskInput, run_batch  # noqa: E402
from assistant.batch.runner import ConcurrencyGate, UsageMeter  # noqa: E402
from assistant.core.structured import CallSpec, call_structured, first_request  # noqa: E402
from assistant.schemas import ReadDraft  # noqa: E402
from assistant.steps.analysis import prefix_values  # noqa: E402
from assistant.text.intake import document_from_text  # noqa: E402

LATENCY = 0.5


def _timed(fns: list[Any], n: int) -> list[float]:
    """Median seconds per call of each of `fns`, interleaved call by call so that load
    from elsewhere on the machine hits them all alike; after a warm-up."""
    for fn in fns:
        for _ in range(20):
            fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(n):
        for fn, out in zip(fns, samples, strict=True):
            started = time.perf_counter()
            fn()
            out.append(time.perf_counter() - started)
    return [statistics.median(x) for x in samples]


def overhead(n: int) -> list[tuple[str, float, float]]:
    _, text = article(1)
    doc = document_from_text(text)
    spec = CallSpec("read", prefix_values(doc, doc.sentences), ReadDraft, max_attempts=1)
    request = first_request(spec)
    body = {"messages": [m.model_dump() for m in request.messages]}
    answer = draft_responder(body)
    rows = []
    with OpenAIServer(default=lambda _: Reply(answer)) as server:
        backend = OpenAIBackend("test-model", server.url, max_retries=0)
        params = backend._params(request)
        with openai.OpenAI(api_key="sk-bench", base_url=server.url, max_retries=0) as client:
            bare, lib, structured = _timed(
                [lambda: client.chat.completions.create(**params),
                 lambda: backend.complete(request), lambda: call_structured(backend, spec)], n)
        rows.append(("bare openai SDK call (sync)", bare, 1.0))
        rows.append(("OpenAIBackend.complete", lib, lib / bare))
        rows.append(("structured call: render+call+parse+validate", structured, structured / bare))
        backend.close()

        async def async_rows() -> list[tuple[str, float, float]]:
            aclient = openai.AsyncOpenAI(api_key="sk-bench", base_url=server.url, max_retries=0)
            with tempfile.TemporaryDirectory() as tmp, \
                    ResponseCache(Path(tmp) / "c.sqlite") as cache:
                inner = OpenAIBackend("test-model", server.url, max_retries=0)
                stack = CachingBackend(ConcurrencyGate(inner, 8), cache)
                counter = iter(range(10**9))

                async def miss() -> Any:  # a new seed each time: always a cache miss
                    fresh = request.model_copy(update={"seed": next(counter)})
                    return await UsageMeter(stack).acomplete(fresh)

                await stack.acomplete(request)
                abare, astack, hit = await _atimed(
                    [lambda: aclient.chat.completions.create(**params), miss,
                     lambda: UsageMeter(stack).acomplete(request)], n)
                await inner.aclose()
            await aclient.close()
            return [("bare AsyncOpenAI call", abare, 1.0),
                    ("batch stack (meter+cache miss/write+gate+backend)", astack, astack / abare),
                    ("batch stack, cache hit (no request)", hit, hit / abare)]

        rows += asyncio.run(async_rows())
    return rows


async def _atimed(fns: list[Any], n: int) -> list[float]:
    for fn in fns:
        for _ in range(20):
            await fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(n):
        for fn, out in zip(fns, samples, strict=True):
            started = time.perf_counter()
            await fn()
            out.append(time.perf_counter() - started)
    return [statistics.median(x) for x in samples]


class Pong(BaseModel):
    text: str = Field(description="The server's answer.")


async def ping(a: AsyncAssistant, t: TaskInput) -> Pong:
    """One plain call per article: the batch machinery without the pipeline's CPU work."""
    answer = await a.backend.acomplete(ChatRequest(
        messages=[Message(role="user", content=t.doc.text[:2000])], max_tokens=16))
    return Pong(text=answer.text)


TASKS["ping"] = Task("ping", ping)


def throughput(levels: list[int], tmp: Path) -> list[tuple[str, int, int, float, float, float]]:
    rows = []
    with FaultServer(latency=LATENCY) as server:
        for task, calls_per_article, concurrency_levels in (("ping", 1, levels),
                                                            ("summarize", 1, levels[-1:]),
                                                            ("analyze", 1, [32])):
            for n in concurrency_levels:
                articles = max(8, 4 * n)
                src = tmp / f"{task}-{n}"
                write_dir(src, articles, seed=n)
                backend = OpenAIBackend("test-model", server.url, max_retries=0, timeout=30)
                mark = len(server.completions)
                started = time.perf_counter()
                summary = run_batch(src, tmp / f"{task}-{n}.jsonl", backend=backend, task=task,
                                    concurrency=n)
                elapsed = time.perf_counter() - started
                sent = server.completions[mark:]
                assert summary.ok == articles, summary.line()
                assert len(sent) == articles * calls_per_article
                # Steady state, as the server saw it: first request in to last answer out.
                span = sent[-1].time - sent[0].time + LATENCY
                rows.append((task, n, articles, len(sent) / span, len(sent) / elapsed,
                             n / LATENCY))
    return rows


def cached_rerun(tmp: Path, n: int = 100) -> dict[str, float]:
    src = tmp / "cached"
    write_dir(src, n, seed=99)
    with FaultServer() as server, ResponseCache(tmp / "cache.sqlite") as cache:
        backend = OpenAIBackend("test-model", server.url, max_retries=0)
        started = time.perf_counter()
        first = run_batch(src, tmp / "first.jsonl", backend=backend, cache=cache, concurrency=16)
        cold = time.perf_counter() - started
        mark = len(server.completions)
        started = time.perf_counter()
        second = run_batch(src, tmp / "second.jsonl", backend=backend, cache=cache,
                           concurrency=16)
        warm = time.perf_counter() - started
        sent = len(server.completions) - mark
    assert first.ok == second.ok == n
    return {"articles": n, "cold_s": cold, "warm_s": warm, "calls": second.usage.calls,
            "cached": second.usage.cached_calls, "sent": sent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer samples and levels")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    import assistant.text.signals

    spacy = "spaCy" if assistant.text.signals.spacy_available() else "regex"
    print(f"bench_batch: Python {platform.python_version()}, openai {openai.__version__}, "
          f"{os.cpu_count()} CPU(s), sentence signals: {spacy}; server in-process on 127.0.0.1")

    print("\n1. Overhead per call at zero latency (median of "
          f"{100 if args.quick else 300} calls)")
    hit_ms = 0.0
    for name, seconds, ratio in overhead(100 if args.quick else 300):
        print(f"   {name:<52} {seconds * 1000:7.2f} ms   x{ratio:.2f}")
        if "cache hit" in name:
            hit_ms = seconds * 1000

    levels = [1, 8] if args.quick else [1, 8, 32, 64]
    with tempfile.TemporaryDirectory() as tmp:
        print(f"\n2. Throughput against {LATENCY * 1000:.0f} ms latency (4 waves of articles "
              "per level)")
        print(f"   {'task':<10} {'conc.':>5} {'articles':>8} {'calls/s':>8} {'ideal':>6} "
              f"{'efficiency':>10}   {'calls/s incl. start-up':>22}")
        for task, n, articles, rate, wall, ideal in throughput(levels, Path(tmp)):
            print(f"   {task:<10} {n:>5} {articles:>8} {rate:>8.2f} {ideal:>6.1f} "
                  f"{100 * rate / ideal:>9.0f}%   {wall:>22.2f}")

        r = cached_rerun(Path(tmp))
        print(f"\n3. Cached re-run of {r['articles']:.0f} articles (analyze, concurrency 16, "
              "zero latency)")
        print(f"   first run {r['cold_s']:.2f} s; re-run {r['warm_s']:.2f} s "
              f"({r['articles'] / r['warm_s']:.1f} articles/s); {r['cached']:.0f} of "
              f"{r['calls']:.0f} calls from the cache; {r['sent']:.0f} requests reached the "
              "server")
        print(f"   cache lookups ≈ {r['cached'] * hit_ms:.0f} ms of it "
              f"({hit_ms:.2f} ms a hit); the rest is the pipeline's CPU work per article")


if __name__ == "__main__":
    main()
