"""Benchmark `analyze` on the embedded model against raw llama.cpp on the same prompts.

Runs `Assistant.analyze` once on one article and prints, per stage (prompt template):
model calls, prompt and completion tokens, our wall time, and the time llama.cpp alone
needs to generate the same number of tokens from the same prompt tokens with the same
grammar, replayed one call after another after a KV cache reset (so prefix reuse is the
same in both). The ratio is our overhead: intake, sentence signals, rendering,
validation, grounding, the code-built summary, claims and questions, and response
building. Also: the article's own token count and completion tokens as a share of it.

    .venv/bin/python benchmarks/bench_analyze.py [ARTICLE] [--date YYYY-MM-DD]

Default article: the seed, `<data>/seed/us-russia-ukraine-2022-01-14.txt`, where <data>
is `$ASSISTANT_EVAL_DATA` or `../shared/data` beside the project. It uses public names
only, so the same file runs against an older checkout for a before/after figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from assistant import Assistant
from assistant.backends.base import ChatRequest, ChatResponse
from assistant.backends.embedded import EmbeddedBackend
from assistant.core.progress import stage_of
from assistant.text.intake import load_document
from assistant.text.signals import spacy_available

DATA = Path(os.environ.get("ASSISTANT_EVAL_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
SEED = DATA / "seed" / "us-russia-ukraine-2022-01-14.txt"


@dataclass
class Call:
    stage: str
    tokens: list[int]
    schema: dict | None  # type: ignore[type-arg]
    response: ChatResponse


@dataclass
class Recorder:
    """Wraps the embedded backend and keeps every exchange for the raw replay. It passes
    `n_parallel` through, so parallel calls decode together as they would unwrapped."""

    inner: EmbeddedBackend
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def base_url(self) -> str | None:
        return None

    @property
    def n_parallel(self) -> int:
        return self.inner.n_parallel

    def complete(self, request: ChatRequest) -> ChatResponse:
        tokens = self.inner.tokenize_chat(request.messages)
        response = self.inner.complete(request)
        with self.lock:
            self.calls.append(Call(stage_of(request), tokens, request.json_schema, response))
        return response

    async def acomplete(self, request: ChatRequest) -> ChatResponse:  # pragma: no cover
        return self.complete(request)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("article", nargs="?", default=str(SEED))
    ap.add_argument("--date", help="publication date if the text/file name lacks one")
    ap.add_argument("--markdown", metavar="FILE", help="also write the analysis as Markdown to FILE")
    args = ap.parse_args()
    if not Path(args.article).exists():
        print(f"article not found: {args.article}", file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    backend = EmbeddedBackend()
    backend.load()
    spacy_available()  # loads the parser: a one-off cost per process, like the model's
    load_s = time.perf_counter() - t0
    rec = Recorder(backend)
    assistant = Assistant(rec)  # type: ignore[arg-type]

    t0 = time.perf_counter()
    doc = load_document(args.article, published=args.date)
    intake_s = time.perf_counter() - t0
    article_tokens = backend.count_tokens(doc.text)
    t0 = time.perf_counter()
    analysis = assistant.analyze(doc)
    ours_s = time.perf_counter() - t0
    if args.markdown:
        from assistant import to_markdown

        Path(args.markdown).write_text(to_markdown(analysis), encoding="utf-8")

    # Raw llama.cpp: same prompt tokens, same grammar, same completion length, same order.
    backend.reset_cache()
    raw: dict[str, float] = {}
    for call in rec.calls:
        g = backend.raw_generate(call.tokens, max(call.response.completion_tokens, 1), call.schema)
        raw[call.stage] = raw.get(call.stage, 0.0) + g.total_s
    raw_s = sum(raw.values())

    print(f"article: {args.article}")
    print(f"sentences: {len(doc.sentences)}   article tokens: {article_tokens}   intake: {intake_s:.2f} s   "
          f"model + parser load: {load_s:.2f} s   threads: {backend.n_threads}   parallel: {backend.n_parallel}")
    print(f"key points: {len(analysis.summary.key_points)}   claims: {len(analysis.claims)}   "
          f"questions: {len(analysis.questions)}")
    print()
    print(f"{'stage':<28} {'calls':>5} {'prompt':>7} {'compl.':>7} {'raw s':>8}")
    for stage in raw:
        cs = [c for c in rec.calls if c.stage == stage]
        print(f"{stage:<28} {len(cs):>5} {sum(c.response.prompt_tokens for c in cs):>7} "
              f"{sum(c.response.completion_tokens for c in cs):>7} {raw[stage]:>8.1f}")
    p = sum(c.response.prompt_tokens for c in rec.calls)
    c_ = sum(c.response.completion_tokens for c in rec.calls)
    print(f"{'total':<28} {len(rec.calls):>5} {p:>7} {c_:>7} {raw_s:>8.1f}")
    print()
    print(f"analyze wall time: {ours_s:.1f} s   raw llama.cpp on the same tokens: {raw_s:.1f} s   "
          f"ratio: {ours_s / raw_s if raw_s else float('nan'):.2f}")
    print(f"completion tokens / article tokens: {c_}/{article_tokens} = {c_ / article_tokens:.2f}")
    print()
    print("prompt tokens count whole prompts; a prefix shared between calls is evaluated once "
          "and reused from llama.cpp's KV cache by later calls.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
