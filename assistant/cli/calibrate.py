"""`assistant calibrate --task TASK --data labelled.jsonl`: fit a calibration profile.

    assistant calibrate --task checkworthiness --data sentences.jsonl --group-by debate
    assistant calibrate --task checkworthiness --data mine.jsonl --model gpt-4o-mini --out p.json

checkworthiness rows: {"text": ..., "label": 0/1, "group": ...}; the features are
computed from the text (spaCy when installed, else the regex path; `--method`), plus a
word log-odds model refitted inside each cross-validation fold; the dev scores are printed
with and without it, on the same folds.
faithfulness / verdict rows: {"features": {"name": number, ...}, "label": 0/1,
"group": ...}: precomputed feature rows, for now; their feature extraction comes with
the faithfulness work.

The profile is written to `--out`, else to `$ASSISTANT_PROFILE_DIR` or
`<cache>/profiles`, where later runs look first: a profile for `--model` (the backend's
model name; the GGUF file stem for the embedded model) is used by every run on that model.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("calibrate", help="fit a calibration profile from labelled JSONL",
                              description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--task", required=True, choices=["checkworthiness", "faithfulness", "verdict"])
    p.add_argument("--data", required=True, type=Path, help="labelled JSONL (see assistant calibrate --help)")
    p.add_argument("--group-by", default="group", metavar="FIELD",
                   help="field that groups rows for cross-validation (default: group; a row "
                        "without it is its own group)")
    p.add_argument("--model", metavar="KEY",
                   help="model the profile applies to (default: the embedded model)")
    p.add_argument("--out", type=Path, help="profile file (default: the user profile folder)")
    p.add_argument("--folds", type=int, default=5, help="grouped cross-validation folds (default 5)")
    p.add_argument("--l2", type=float, default=0.1,
                   help="L2 penalty on the standardised weights (default 0.1)")
    p.add_argument("--method", choices=["auto", "spacy", "regex"], default="auto",
                   help="checkworthiness feature extractor (default: spaCy when installed)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the intervals")
    p.add_argument("--note", action="append", default=[], metavar="TEXT",
                   help="a caveat stored in the profile (repeatable)")
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
    data = read_labelled(args.data, args.task, group_by=args.group_by, method=args.method)
    model = args.model or DEFAULT_MODEL
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
