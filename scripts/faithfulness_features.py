"""Feature rows for calibrating faithfulness on human-labelled data (SummEdits news).

Per summary: the deterministic checks' findings, the lexical support of its weakest
sentence, and the model's P(supported) for each sentence over a focused premise
(`assistant.steps.entailment`), aggregated over the summary's sentences. One JSONL row per
item, `{"features": {...}, "label": 1 if consistent, "group": document}`, for
`assistant calibrate --task faithfulness --data ROWS --group-by group`.

    .venv/bin/python scripts/faithfulness_features.py --per-doc 12 --out runs/summedits-features.jsonl

Items are drawn per document, balanced by label, with a fixed seed; a re-run appends
only items not yet in the output file (the model part is minutes per hundred items).

`--export-labelled FILE` writes the same sample as labelled text rows instead, `{"article",
"summary", "label", "group"}`, for `assistant calibrate --task faithfulness --data FILE`
to compute the features itself through any endpoint (keep the file outside the repository:
it is the shared data's text). `--docs N` keeps the first N documents of the sample.

    .venv/bin/python scripts/faithfulness_features.py --per-doc 4 --docs 10 \
        --export-labelled /tmp/summedits-40.jsonl
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
sys.path.insert(0, str(ROOT))

from assistant.backends import get_backend  # noqa: E402
from assistant.core.driver import arun, new_provenance  # noqa: E402
from assistant.evals.paths import data_dir  # noqa: E402
from assistant.steps.faithfulness import summary_features_step, summary_sentences  # noqa: E402
from assistant.text.intake import document_from_text  # noqa: E402

# $ASSISTANT_EVAL_DATA, else shared/data beside the project (a worktree elsewhere sets it).
SUMMEDITS = data_dir() / "dev" / "summedits_news.jsonl"


def group_of(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()[:12]


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
    if args.docs:
        keep = list(dict.fromkeys(it["document"] for it in chosen))[: args.docs]
        chosen = [it for it in chosen if it["document"] in set(keep)]
    if args.export_labelled:
        path = Path(args.export_labelled)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as f:
            for it in chosen:
                f.write(json.dumps({"id": it["id"], "article": it["document"], "summary": it["summary"],
                                    "label": int(it["label_consistent"]),
                                    "group": group_of(it["document"])}) + "\n")
        print(f"wrote {len(chosen)} labelled rows ({sum(int(i['label_consistent']) for i in chosen)} "
              f"consistent, {len({i['document'] for i in chosen})} documents) to {path}", file=sys.stderr)
        return 0
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
            sentences = summary_sentences(it["summary"], 40)
            step = summary_features_step(doc, it["summary"], use_model=backend is not None)
            result = await arun(step, backend or get_backend("fake"), new_provenance(backend or get_backend("fake")),
                                concurrency=4)
            if result.notes:
                print("warning: " + "; ".join(result.notes), file=sys.stderr)
            feats = {**result.value, "n_sentences": float(len(sentences))}
            row = {"id": it["id"], "group": group_of(it["document"]),
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
    ap.add_argument("--docs", type=int, help="keep only the first N documents of the sample")
    ap.add_argument("--export-labelled", metavar="JSONL",
                    help="write the sample as labelled article/summary rows and stop")
    ap.add_argument("--backend")
    ap.add_argument("--model")
    ap.add_argument("--base-url")
    return asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
