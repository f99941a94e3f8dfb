"""Seconds per summary sentence for `check-summary` on the embedded model (the probe path).

For N SummEdits news summaries (`../shared/data/dev/summedits_news.jsonl`, a fixed sample
by hash of the item id) this runs `Assistant.check_summary` with the default options (the
deterministic checks plus one 1-token P(supported) probe per summary sentence over a
focused premise), then replays every model call on the raw llama.cpp runtime with the
same prompt tokens and completion length (KV cache reset first, as for ours). It prints
the wall time per summary and per sentence, ours and raw, and their ratio: what our layers
(intake, checks, BM25 premises, prompt rendering, response reading, calibration) add.

    .venv/bin/python benchmarks/bench_faithfulness.py [--n 10] [--via-http]

`--via-http` puts the model behind `assistant serve`'s server on a loopback port and
checks through the OpenAI-compatible client, so the figure includes HTTP and JSON. The
target (issue 10) is at most 5 s per summary sentence.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import threading
import time
from typing import Any

from bench_analyze import (
    Recorder,  # the same recording wrapper (run from benchmarks/ or as a script)
)

from assistant import Assistant
from assistant.backends import get_backend
from assistant.backends.embedded import EmbeddedBackend
from assistant.backends.server import make_server
from assistant.evals.paths import data_dir
from assistant.text.intake import document_from_text

TARGET_S = 5.0


def sample(n: int) -> list[dict[str, Any]]:
    path = data_dir() / "dev" / "summedits_news.jsonl"
    if not path.is_file():
        raise SystemExit(f"no data at {path} (set ASSISTANT_EVAL_DATA)")
    items = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    items.sort(key=lambda it: hashlib.sha256(it["id"].encode()).hexdigest())
    return items[:n]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--n", type=int, default=10, help="summaries (default 10)")
    ap.add_argument("--via-http", action="store_true",
                    help="check through the OpenAI-compatible server on loopback")
    args = ap.parse_args()
    items = sample(args.n)

    t0 = time.perf_counter()
    embedded = EmbeddedBackend()
    embedded.load()
    load_s = time.perf_counter() - t0
    rec = Recorder(embedded)
    server = None
    if args.via_http:
        server = make_server(rec, "127.0.0.1", 0)  # type: ignore[arg-type]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        assistant = Assistant(get_backend("openai", model=server.model_name, base_url=server.url))
    else:
        assistant = Assistant(rec)  # type: ignore[arg-type]

    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    with embedded.exclusive():  # no other process's model job inside the timings
        wait_s = time.perf_counter() - t0
        measure(assistant, embedded, rec, items, rows)
    if server is not None:
        server.shutdown()
        server.server_close()
    report(rows, embedded, load_s, wait_s, args.via_http)
    return 0


def measure(assistant: Assistant, embedded: EmbeddedBackend, rec: Recorder, items: list[dict[str, Any]],
            rows: list[dict[str, Any]]) -> None:
    for it in items:
        doc = document_from_text(it["document"], name="summedits")
        embedded.reset_cache()
        start = len(rec.calls)
        t = time.perf_counter()
        result = assistant.check_summary(doc, it["summary"])
        ours = time.perf_counter() - t
        rows.append({"sentences": len(result.sentences), "ours": ours, "calls": rec.calls[start:],
                     "decided": sorted({j.decided_by for j in result.sentences}),
                     "label": result.label.value, "gold": int(it["label_consistent"])})
        print(f"  {len(rows)}/{len(items)}: {len(result.sentences)} sentences, {ours:.2f} s, "
              f"{result.label.value} (gold {'consistent' if it['label_consistent'] else 'inconsistent'}), "
              f"decided by {'/'.join(rows[-1]['decided'])}", file=sys.stderr, flush=True)
    for row in rows:  # the same prompts on the raw runtime, cache reset per summary as ours
        embedded.reset_cache()
        row["raw"] = sum(embedded.raw_generate(c.tokens, max(c.response.completion_tokens, 1), c.schema).total_s
                         for c in row["calls"])


def report(rows: list[dict[str, Any]], embedded: EmbeddedBackend, load_s: float, wait_s: float,
           via_http: bool) -> None:
    sentences = sum(r["sentences"] for r in rows)
    ours = sum(r["ours"] for r in rows)
    raw = sum(r["raw"] for r in rows)
    calls = [c for r in rows for c in r["calls"]]
    per_sentence = [r["ours"] / r["sentences"] for r in rows]
    print(f"model: {embedded.model}   threads: {embedded.n_threads}   load: {load_s:.1f} s   "
          f"path: {'HTTP loopback (assistant serve)' if via_http else 'in-process'}   "
          f"waited {wait_s:.0f} s for the model lock (outside the timings)")
    print(f"summaries: {len(rows)}   sentences: {sentences}   model calls: {len(calls)}   "
          f"prompt tokens: {sum(c.response.prompt_tokens for c in calls)}   "
          f"completion tokens: {sum(c.response.completion_tokens for c in calls)}")
    print(f"ours: {ours:.1f} s = {ours / sentences:.2f} s per sentence "
          f"(per-summary median {statistics.median(per_sentence):.2f}, max {max(per_sentence):.2f})")
    print(f"raw llama.cpp, same prompts: {raw:.1f} s = {raw / sentences:.2f} s per sentence   "
          f"ratio ours/raw: {ours / raw:.2f}")
    print(f"target <= {TARGET_S:.0f} s per sentence: {'met' if ours / sentences <= TARGET_S else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())
