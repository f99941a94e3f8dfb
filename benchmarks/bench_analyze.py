"""Benchmark `analyze` on the embedded model against raw llama.cpp on the same prompts.

Prints, per stage: model calls, prompt and completion tokens, our wall time, and the time
llama.cpp alone needs to generate the same number of tokens from the same prompt tokens
with the same grammar (KV cache reset before each replay pass, so prefix reuse is the
same in both). The ratio is our overhead: intake, signals, rendering, validation,
grounding and response building.

    .venv/bin/python benchmarks/bench_analyze.py [ARTICLE] [--date YYYY-MM-DD]

Default article: ../shared/data/seed/us-russia-ukraine-2022-01-14.txt
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from assistant import Assistant
from assistant.backends.base import ChatRequest, ChatResponse
from assistant.backends.embedded import EmbeddedBackend
from assistant.text.intake import load_document

SEED = Path(__file__).resolve().parents[2] / "shared" / "data" / "seed" / "us-russia-ukraine-2022-01-14.txt"


@dataclass
class Call:
    stage: str
    tokens: list[int]
    schema: dict | None  # type: ignore[type-arg]
    response: ChatResponse


@dataclass
class Recorder:
    """Wraps the embedded backend and keeps every exchange for the raw replay."""

    inner: EmbeddedBackend
    stage: str = ""
    calls: list[Call] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def base_url(self) -> str | None:
        return None

    def complete(self, request: ChatRequest) -> ChatResponse:
        tokens = self.inner.tokenize_chat(request.messages)
        response = self.inner.complete(request)
        self.calls.append(Call(self.stage, tokens, request.json_schema, response))
        return response

    async def acomplete(self, request: ChatRequest) -> ChatResponse:  # pragma: no cover
        return self.complete(request)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("article", nargs="?", default=str(SEED))
    ap.add_argument("--date", help="publication date if the text/file name lacks one")
    args = ap.parse_args()
    if not Path(args.article).exists():
        print(f"article not found: {args.article}", file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    backend = EmbeddedBackend()
    backend.load()
    load_s = time.perf_counter() - t0
    rec = Recorder(backend)
    assistant = Assistant(rec)  # type: ignore[arg-type]

    t0 = time.perf_counter()
    doc = load_document(args.article, published=args.date)
    intake_s = time.perf_counter() - t0
    ours: dict[str, float] = {}
    rec.stage = "summary"
    t0 = time.perf_counter()
    summary = assistant.summarize(doc)
    ours["summary"] = time.perf_counter() - t0
    rec.stage = "claims"
    t0 = time.perf_counter()
    claims = assistant.extract_claims(doc)
    ours["claims"] = time.perf_counter() - t0
    rec.stage = "questions"
    t0 = time.perf_counter()
    questions = assistant.verification_questions(doc, claims)
    ours["questions"] = time.perf_counter() - t0

    # Raw llama.cpp: same prompt tokens, same grammar, same completion length, same order.
    backend.reset_cache()
    raw: dict[str, float] = dict.fromkeys(ours, 0.0)
    for call in rec.calls:
        g = backend.raw_generate(call.tokens, max(call.response.completion_tokens, 1), call.schema)
        raw[call.stage] += g.total_s

    print(f"article: {args.article}")
    print(f"sentences: {len(doc.sentences)}   intake: {intake_s:.2f} s   model load: {load_s:.2f} s   "
          f"threads: {backend.n_threads}")
    print(f"key points: {len(summary.key_points)}   claims: {len(claims.claims)}   "
          f"questions: {len(questions.questions)}")
    print()
    print(f"{'stage':<10} {'calls':>5} {'prompt':>7} {'compl.':>7} {'ours s':>8} {'raw s':>8} {'ratio':>6}")
    tot = {"calls": 0, "p": 0, "c": 0, "ours": 0.0, "raw": 0.0}
    for stage in ours:
        cs = [c for c in rec.calls if c.stage == stage]
        p = sum(c.response.prompt_tokens for c in cs)
        c_ = sum(c.response.completion_tokens for c in cs)
        ratio = ours[stage] / raw[stage] if raw[stage] else float("nan")
        print(f"{stage:<10} {len(cs):>5} {p:>7} {c_:>7} {ours[stage]:>8.1f} {raw[stage]:>8.1f} {ratio:>6.2f}")
        tot["calls"] += len(cs)
        tot["p"] += p
        tot["c"] += c_
        tot["ours"] += ours[stage]
        tot["raw"] += raw[stage]
    print(f"{'total':<10} {tot['calls']:>5} {tot['p']:>7} {tot['c']:>7} {tot['ours']:>8.1f} "
          f"{tot['raw']:>8.1f} {tot['ours'] / tot['raw']:>6.2f}")
    print()
    print("prompt tokens count whole prompts; the shared article prefix is evaluated once and "
          "reused from llama.cpp's KV cache by later calls.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
