"""Feature rows for calibrating faithfulness on human-labelled data (SummEdits news).

Per summary: the deterministic checks' findings, the lexical support of its weakest
sentence, and the model's P(supported) for each sentence over a focused premise
(`assistant.steps.entailment`), aggregated over the summary's sentences. One JSONL row per
item, `{"features": {...}, "label": 1 if consistent, "group": document}`, for
`assistant calibrate --task faithfulness --data ROWS --group-by group`.

    .venv/bin/python scripts/faithfulness_features.py --per-doc 12 --out runs/summedits-features.jsonl

Items are drawn per document, balanced by label, with a fixed seed; a re-run appends
only items not yet in the output file (the model part is minutes per hundred items).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SUMMEDITS = ROOT.parent / "shared" / "data" / "dev" / "summedits_news.jsonl"
sys.path.insert(0, str(ROOT))

from assistant.backends import get_backend  # noqa: E402
from assistant.core.driver import arun, new_provenance  # noqa: E402
from assistant.schemas import Document  # noqa: E402
from assistant.steps.entailment import entail_step  # noqa: E402
from assistant.steps.faithfulness import faith_features, summary_sentences  # noqa: E402
from assistant.text.checks import Reference, check_text  # noqa: E402
from assistant.text.grounding import anchor  # noqa: E402
from assistant.text.intake import document_from_text  # noqa: E402


def findings(doc: Document, ref: Reference, summary: str) -> tuple[list[tuple[list[Any], float]], list[str]]:
    """Per summary sentence: (deterministic mismatches, lexical support), and the texts."""
    sentences = summary_sentences(summary, 40)
    out = [(check_text(s.text, ref), anchor(s.text, doc, [], index=ref.index, threshold=0.0)[1])
           for s in sentences]
    return out, [s.text for s in sentences]


async def probabilities(backend: Any, ref: Reference, sentences: list[str]) -> list[float]:
    prov = new_provenance(backend)
    probs = await arun(entail_step(ref, sentences), backend, prov, concurrency=4)
    if any(p.method != "logprobs" for p in probs):
        print("warning: the backend returned no logprobs; probabilities are labels", file=sys.stderr)
    return [p.p for p in probs]


def sample(items: list[dict[str, Any]], per_doc: int, seed: int) -> list[dict[str, Any]]:
    by_doc: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for it in items:
        by_doc[it["document"]].append(it)
    rng = random.Random(seed)
    out = []
    for doc in sorted(by_doc, key=lambda d: hashlib.sha256(d.encode()).hexdigest()):
        group = by_doc[doc]
        pos = [i for i in group if i["label_consistent"] == 1]
        neg = [i for i in group if i["label_consistent"] == 0]
        rng.shuffle(pos)
        rng.shuffle(neg)
        half = per_doc // 2
        take = pos[:half] + neg[: per_doc - half]
        out += take
    return out


async def main_async(args: argparse.Namespace) -> int:
    if not SUMMEDITS.is_file():
        print(f"no data at {SUMMEDITS}", file=sys.stderr)
        return 2
    items = [json.loads(line) for line in SUMMEDITS.open(encoding="utf-8") if line.strip()]
    chosen = sample(items, args.per_doc, args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        done = {json.loads(line)["id"] for line in out.open(encoding="utf-8") if line.strip()}
    backend = None if args.checks_only else get_backend(args.backend, model=args.model,
                                                          base_url=args.base_url)
    started = time.perf_counter()
    n = 0
    with out.open("a", encoding="utf-8") as f:
        for it in chosen:
            if it["id"] in done:
                continue
            t0 = time.perf_counter()
            doc = document_from_text(it["document"], name="doc")
            ref = Reference(doc)
            found, sentences = findings(doc, ref, it["summary"])
            ps: list[float | None] = [None] * len(sentences)
            if backend is not None:
                ps = list(await probabilities(backend, ref, sentences))
            feats = faith_features([(m, score, p) for (m, score), p in zip(found, ps, strict=True)])
            feats["n_sentences"] = float(len(sentences))
            row = {"id": it["id"], "group": hashlib.sha256(it["document"].encode()).hexdigest()[:12],
                   "label": int(it["label_consistent"]), "features": feats,
                   "seconds": round(time.perf_counter() - t0, 2),
                   "seconds_per_sentence": round((time.perf_counter() - t0) / len(sentences), 2)}
            f.write(json.dumps(row) + "\n")
            f.flush()
            n += 1
            if n % 10 == 0:
                print(f"{n} items, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    print(f"wrote {n} new rows to {out} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-doc", type=int, default=12)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="runs/summedits-features.jsonl")
    ap.add_argument("--checks-only", action="store_true", help="no model: deterministic features only")
    ap.add_argument("--backend")
    ap.add_argument("--model")
    ap.add_argument("--base-url")
    return asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
