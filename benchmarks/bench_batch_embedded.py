"""Benchmark `assistant batch` (task analyze) on the embedded model: articles per minute
with parallel sequences against one article at a time, in one run.

The first N news articles of the Wikinews set (`<data>/wikinews/articles.jsonl`, N=10 by
default) run through the batch runner twice: at concurrency 1 (one article at a time)
and at concurrency P (P articles in flight, decoded by llama.cpp as parallel sequences
in one context; P = the backend's n_parallel, 4 by default). Each mode runs in a fresh
process, one after the other, so neither finds the other's prompts in llama.cpp's
prompt cache; both load the model with the same n_parallel. Printed: wall time, articles
per minute, prompt and completion tokens, and the speed-up, measured in this run.

    .venv/bin/python benchmarks/bench_batch_embedded.py [--articles 10] [--parallel 4]

<data> is `$ASSISTANT_EVAL_DATA`, else `../shared/data` beside the project.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(os.environ.get("ASSISTANT_EVAL_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
WIKINEWS = DATA / "wikinews" / "articles.jsonl"


def _inputs(n: int, out: Path) -> list[str]:
    rows = [json.loads(line) for line in WIKINEWS.read_text(encoding="utf-8").splitlines() if line.strip()]
    news = [r for r in rows if r.get("genre") == "news"][:n]
    with out.open("w", encoding="utf-8") as f:
        for r in news:
            f.write(json.dumps({"id": r["id"], "title": r.get("title"), "text": r["text"],
                                "published": r.get("date_created")}) + "\n")
    return [r["id"] for r in news]


def _child(source: str, concurrency: int, parallel: int) -> int:
    from assistant.backends.embedded import EmbeddedBackend
    from assistant.batch import arun_batch
    from assistant.text.signals import spacy_available

    t0 = time.perf_counter()
    backend = EmbeddedBackend(n_parallel=parallel)
    backend.load()
    spacy_available()  # the parser's one-off load stays out of the timed run
    load_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = asyncio.run(arun_batch(source, Path(tmp) / "results.jsonl", backend=backend,
                                         task="analyze", concurrency=concurrency, cache=None))
        wall = time.perf_counter() - t0
    print(json.dumps({"concurrency": concurrency, "ok": summary.ok, "error": summary.error,
                      "wall_s": wall, "load_s": load_s, "calls": summary.usage.calls,
                      "prompt": summary.usage.prompt_tokens,
                      "completion": summary.usage.completion_tokens}))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=10)
    ap.add_argument("--parallel", type=int, default=4, help="n_parallel and the parallel mode's concurrency")
    ap.add_argument("--child", nargs=2, metavar=("SOURCE", "CONCURRENCY"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return _child(args.child[0], int(args.child[1]), args.parallel)
    if not WIKINEWS.exists():
        print(f"Wikinews articles not found: {WIKINEWS}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "articles.jsonl"
        ids = _inputs(args.articles, source)
        print(f"articles: {len(ids)} ({', '.join(ids)})", flush=True)
        runs = []
        for concurrency in (1, args.parallel):
            print(f"running at concurrency {concurrency} ...", flush=True)
            done = subprocess.run([sys.executable, __file__, "--parallel", str(args.parallel),
                                   "--child", str(source), str(concurrency)],
                                  capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(done.stderr[-3000:], file=sys.stderr)
                return done.returncode
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print()
    print(f"{'mode':<28} {'ok':>3} {'err':>3} {'calls':>5} {'prompt':>7} {'compl.':>7} {'wall s':>7} {'art/min':>8}")
    for r in runs:
        label = "one at a time" if r["concurrency"] == 1 else f"{r['concurrency']} parallel sequences"
        per_min = 60 * r["ok"] / r["wall_s"] if r["wall_s"] else float("nan")
        r["per_min"] = per_min
        print(f"{label:<28} {r['ok']:>3} {r['error']:>3} {r['calls']:>5} {r['prompt']:>7} {r['completion']:>7} "
              f"{r['wall_s']:>7.1f} {per_min:>8.2f}")
    print(f"\nspeed-up, parallel vs one at a time (same run): {runs[1]['per_min'] / runs[0]['per_min']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
