"""Intake and the work before the first model call, at 100 KB, 300 KB and 1 MB.

    python benchmarks/bench_intake.py                    # this working tree
    python benchmarks/bench_intake.py --rev 9093039      # an older commit, for "before"
    python benchmarks/bench_intake.py --sizes 100000 300000 --regex

For each size: the seconds to read the article (`load_document`) and to reach the first
model call of `analyze` (sentence signals, claim candidates, chunking), and the peak
Python memory of both (tracemalloc). The article is the packaged example repeated, with
its paragraphs, up to the size. `--rev` runs the same measurement in a subprocess over
`git archive REV` of the package, so before and after are the same script.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class _FirstCall(Exception):
    pass


def measure(size: int, regex: bool) -> dict[str, float]:
    from assistant import Assistant, FakeBackend
    from assistant.text.intake import load_document

    if regex:
        import assistant.text.signals

        assistant.text.signals._nlp = lambda: None  # type: ignore[attr-defined]
    base = (ROOT / "assistant" / "examples" / "harbor-bridge-closure.txt").read_text()
    text = ((base + "\n\n") * (size // len(base) + 1))[:size]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.txt"
        path.write_text(text, encoding="utf-8")

        def stop(_request: object) -> object:
            raise _FirstCall

        tracemalloc.start()
        started = time.perf_counter()
        doc = load_document(str(path), max_chars=size + 1)
        loaded = time.perf_counter()
        with contextlib.suppress(_FirstCall):
            Assistant(FakeBackend(default=stop)).analyze(doc)
        reached = time.perf_counter()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {"size": size, "sentences": len(doc.sentences), "load_s": round(loaded - started, 2),
            "to_first_call_s": round(reached - started, 2), "peak_mb": round(peak / 2**20, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--rev", help="measure this git revision's package instead")
    parser.add_argument("--regex", action="store_true", help="regex signals (no spaCy)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rev:
        with tempfile.TemporaryDirectory() as tmp:
            archive = subprocess.run(["git", "archive", args.rev, "assistant", "prompts"],
                                     cwd=ROOT, check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            env = {**os.environ, "PYTHONPATH": tmp, "ASSISTANT_PROMPTS_DIR": f"{tmp}/prompts"}
            cmd = [sys.executable, __file__, "--json", "--sizes", *map(str, args.sizes)]
            out = subprocess.run(cmd + (["--regex"] if args.regex else []), env=env, cwd=tmp,
                                 check=True, capture_output=True, text=True).stdout
        rows = [json.loads(line) for line in out.splitlines()]
    else:
        rows = [measure(size, args.regex) for size in args.sizes]
    if args.json:
        print("\n".join(json.dumps(r) for r in rows))
        return 0
    label = args.rev or "working tree"
    print(f"{label}: size, sentences, load s, to first model call s, peak MB")
    for r in rows:
        print(f"{r['size']:>9,} {r['sentences']:>6} {r['load_s']:>7.2f} "
              f"{r['to_first_call_s']:>8.2f} {r['peak_mb']:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
