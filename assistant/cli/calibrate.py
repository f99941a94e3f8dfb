"""`assistant calibrate --task TASK --data labelled.jsonl`: fit a calibration profile.

    assistant calibrate --task checkworthiness --data sentences.jsonl --group-by debate
    assistant calibrate --task checkworthiness --data mine.jsonl --model gpt-4o-mini --out p.json

    assistant calibrate --task faithfulness --data summaries.jsonl \
        --backend openai --base-url http://127.0.0.1:8000/v1 --model local-qwen

checkworthiness rows: {"text": ..., "label": 0/1, "group": ...}; the features are
computed from the text (spaCy when installed, else the regex path; `--method`), plus a
word log-odds model refitted inside each cross-validation fold; the dev scores are printed
with and without it, on the same folds.
faithfulness rows: {"article": ..., "summary": ..., "label": 1 if faithful else 0,
"group": ...} ("document" may stand for "article"; without a group, rows of the same
article form one): the features are computed here, the deterministic checks by code and
P(supported) per summary sentence by the model behind `--backend/--base-url/--model`,
read from its log-probabilities, exactly as `check-summary` computes them.
faithfulness / verdict rows may instead be precomputed: {"features": {"name": number},
"label": 0/1, "group": ...}; refutation rows are precomputed only (label 1: the evidence
refutes the claim, 0: it does not state it; `scripts/verdict_features.py refutation-rows`).

The profile is written to `--out`, else to `$ASSISTANT_PROFILE_DIR` or
`<cache>/profiles`, where later runs look first. It is keyed by the model that computed
the features (the endpoint's `--model` name; the GGUF file stem for the embedded model),
else by `--model`: every later run on that model uses it, and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("calibrate", help="fit a calibration profile from labelled JSONL",
                              description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--task", required=True, choices=["checkworthiness", "faithfulness", "verdict", "refutation"])
    p.add_argument("--data", required=True, type=Path, help="labelled JSONL (see assistant calibrate --help)")
    p.add_argument("--group-by", default="group", metavar="FIELD",
                   help="field that groups rows for cross-validation (default: group; a row "
                        "without it is its own group)")
    p.add_argument("--out", type=Path, help="profile file (default: the user profile folder)")
    p.add_argument("--folds", type=int, default=5, help="grouped cross-validation folds (default 5)")
    p.add_argument("--l2", type=float, default=0.1,
                   help="L2 penalty on the standardised weights (default 0.1)")
    p.add_argument("--method", choices=["auto", "spacy", "regex"], default="auto",
                   help="checkworthiness feature extractor (default: spaCy when installed)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the intervals")
    p.add_argument("--note", action="append", default=[], metavar="TEXT",
                   help="a caveat stored in the profile (repeatable)")
    p.add_argument("--features-out", type=Path, metavar="JSONL",
                   help="also write the computed feature rows here (refit later without a model)")
    p.add_argument("--concurrency", type=int, default=4,
                   help="summaries whose model calls are in flight at once (default 4)")
    from assistant.cli.common import add_backend

    g = add_backend(p)
    g.description = ("the model whose probabilities faithfulness features need (text rows); "
                     "--model also names the profile's model for precomputed and "
                     "check-worthiness rows (default: the embedded model)")
    p.set_defaults(handler=run_calibrate)


def _ci(name: str, i: Any) -> str:
    if i.value is None:
        return f"{name} n/a"
    ci = f" [{i.ci_low:.3f}, {i.ci_high:.3f}]" if i.ci_low is not None else ""
    return f"{name} {i.value:.3f}{ci}"


def run_calibrate(args: argparse.Namespace) -> int:
    from assistant.calibration import (
        DEFAULT_MODEL,
        fit_profile,
        profile_filename,
        read_labelled,
        save_profile,
        user_profile_dir,
    )
    from assistant.errors import UserError

    if args.folds < 2:
        raise UserError("--folds must be at least 2")
    if args.l2 < 0:
        raise UserError("--l2 must not be negative")
    if args.concurrency < 1:
        raise UserError("--concurrency must be at least 1")
    model = args.model or DEFAULT_MODEL
    if args.task == "faithfulness" and _text_rows(args.data):
        data, model, notes = _faithfulness_rows(args)
        args.note = [*notes, *args.note]
    else:
        data = read_labelled(args.data, args.task, group_by=args.group_by, method=args.method)
    profile = fit_profile(data, args.task, model, folds=args.folds, l2=args.l2, resamples=args.resamples,
                          notes=args.note)
    out = args.out or user_profile_dir() / profile_filename(args.task, model, profile.extractor)
    save_profile(profile, out)
    d = profile.dev
    print(f"{profile.key}: {d.rows} rows, {d.positives} positive, {d.groups} groups; {d.scheme}")
    print(f"  {_ci('balanced accuracy', d.balanced_accuracy)} · {_ci('average precision', d.average_precision)}")
    if "transparent_features_balanced_accuracy" in d.baseline:
        print(f"  without the word model: {_ci('balanced accuracy', d.baseline['transparent_features_balanced_accuracy'])}"
              f" · {_ci('average precision', d.baseline['transparent_features_average_precision'])}")
    if d.per_group_balanced_accuracy:
        v = sorted(d.per_group_balanced_accuracy.values())
        print(f"  per-group balanced accuracy: min {v[0]:.3f} · median {v[len(v) // 2]:.3f} · max {v[-1]:.3f}")
    top = sorted(profile.weights, key=lambda f: -abs(profile.weights[f] * profile.scales[f]))[:6]
    print("  strongest (standardised): " + ", ".join(
        f"{f} {profile.weights[f] * profile.scales[f]:+.2f}" for f in top))
    print(f"  threshold {profile.threshold:.3f}; wrote {out}")
    return 0


def _label(value: object, where: str) -> int:
    from assistant.errors import InputError

    if isinstance(value, bool) or value in (0, 1, "0", "1"):
        return int(value)
    raise InputError(f"{where}: label must be 0 or 1 (or true/false), got {value!r}")


def _text_rows(path: Path) -> bool:
    """True when the file's rows carry a summary to compute features from (its first row
    decides; `_faithfulness_rows` then holds every row to that)."""
    from assistant.calibration import read_records

    _, records = read_records(path)
    first = records[0][1]
    return "features" not in first and "summary" in first


def _faithfulness_rows(args: argparse.Namespace) -> tuple[Any, str, list[str]]:
    """Feature rows computed from labelled (article, summary) rows with the model behind
    the backend options; (rows, the model key, notes for the profile)."""
    from assistant.backends import get_backend
    from assistant.calibration import FittedOn, LabelledRows, read_records
    from assistant.errors import InputError
    from assistant.steps.faithfulness import FEATURES
    from assistant.text.intake import document_from_text

    raw, records = read_records(args.data)
    docs, summaries, labels, groups = [], [], [], []
    for n, rec in records:
        where = f"{args.data}:{n}"
        article = rec.get("article", rec.get("document"))
        summary = rec.get("summary")
        if not isinstance(article, str) or not article.strip():
            raise InputError(f"{where}: faithfulness rows need a non-empty 'article' (or 'document')")
        if not isinstance(summary, str) or not summary.strip():
            raise InputError(f"{where}: faithfulness rows need a non-empty 'summary'")
        labels.append(_label(rec.get("label"), where))
        try:
            docs.append(document_from_text(article, name=f"row{n}"))
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        summaries.append((n, summary))
        group = rec.get(args.group_by)
        groups.append(str(group) if group is not None
                      else "article-" + hashlib.sha256(article.encode()).hexdigest()[:12])
    backend = get_backend(args.backend, model=args.model, base_url=args.base_url,
                          timeout=args.timeout, max_retries=args.max_retries)
    print(f"computing faithfulness features for {len(records)} summaries with {backend.name} "
          f"({backend.model}{', ' + backend.base_url if backend.base_url else ''})",
          file=sys.stderr, flush=True)
    try:
        rows, notes, seconds = asyncio.run(_features(backend, docs, summaries, args))
    finally:
        if callable(close := getattr(backend, "close", None)):
            close()
    n_sentences = sum(int(r.pop("_sentences")) for r in rows)
    print(f"features: {len(rows)} summaries, {n_sentences} sentences in {seconds:.0f} s wall "
          f"({seconds / max(n_sentences, 1):.2f} s per sentence, any wait for the model included)",
          file=sys.stderr, flush=True)
    if args.features_out:
        from assistant.cli.common import write_output

        args.features_out.parent.mkdir(parents=True, exist_ok=True)
        write_output("".join(json.dumps({"features": r, "label": y, "group": g}) + "\n"
                             for r, y, g in zip(rows, labels, groups, strict=True)),
                     str(args.features_out))
    fitted_on = FittedOn(data=args.data.name, sha256=hashlib.sha256(raw).hexdigest()[:16], rows=len(rows),
                         positives=sum(labels), groups=len(set(groups)), group_by=args.group_by)
    data = LabelledRows(rows, labels, groups, sorted(FEATURES), "precomputed", fitted_on)
    where = f" at {backend.base_url}" if backend.base_url else ""
    profile_notes = [f"features computed by `assistant calibrate` with the {backend.name} backend, "
                     f"model {backend.model}{where}; P(supported) per summary sentence over a focused "
                     "premise", *sorted(set(notes))]
    return data, backend.model, profile_notes


async def _features(backend: Any, docs: list[Any], summaries: list[tuple[int, str]],
                    args: argparse.Namespace) -> tuple[list[dict[str, float]], list[str], float]:
    from assistant.core.driver import arun, new_provenance
    from assistant.errors import InputError
    from assistant.steps.faithfulness import summary_features_step, summary_sentences

    gate = asyncio.Semaphore(args.concurrency)
    started = time.perf_counter()
    done = 0
    notes: list[str] = []
    step_every = max(1, len(docs) // 10)

    async def one(doc: Any, n: int, summary: str) -> dict[str, float]:
        nonlocal done
        try:
            count = len(summary_sentences(summary, 40))
            step = summary_features_step(doc, summary)
        except InputError as exc:
            raise InputError(f"{args.data}:{n}: {exc}") from None
        async with gate:
            result = await arun(step, backend, new_provenance(backend), concurrency=4)
        notes.extend(result.notes)
        done += 1
        if not args.quiet and (done % step_every == 0 or done == len(docs)):
            print(f"  {done}/{len(docs)} summaries, {time.perf_counter() - started:.0f} s",
                  file=sys.stderr, flush=True)
        return {**result.value, "_sentences": float(count)}

    try:
        rows = await asyncio.gather(*(one(d, n, s) for d, (n, s) in zip(docs, summaries, strict=True)))
    finally:  # the async client's connections belong to this loop: close them on it
        if callable(aclose := getattr(backend, "aclose", None)):
            await aclose()
    return list(rows), notes, time.perf_counter() - started
