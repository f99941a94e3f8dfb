"""Fact-check numbers on the shared dev data: SummEdits news (faithfulness) and
FEVER-Symmetric (verdicts with the single evidence sentence as the evidence document).

    # deterministic checks alone, all 819 SummEdits items (seconds, no model)
    .venv/bin/python scripts/run_factcheck_dev.py checks
    # the embedded model: a stratified SummEdits sample and a FEVER sample (hours of CPU)
    .venv/bin/python scripts/run_factcheck_dev.py model --summedits 125 --fever 150 --out runs/fc.jsonl
    # numbers from a finished (or partial) model run
    .venv/bin/python scripts/run_factcheck_dev.py report runs/fc.jsonl

SummEdits has only 25 documents, so everything is grouped by document: the combination
rule is chosen on one half of the documents (tune) and reported on the other (held
out), with a bootstrap 95% CI that resamples documents. Balanced accuracy counts
"inconsistent" as the positive class, like the SummEdits paper.
Reference points (balanced accuracy, SummEdits news): GPT-4 83.3, humans 90.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "dev"
SUMMEDITS = DATA / "summedits_news.jsonl"
FEVER = DATA / "fever_symmetric_dev.jsonl"
sys.path.insert(0, str(ROOT))

from assistant.schemas import MismatchKind  # noqa: E402

KINDS = [k.value for k in MismatchKind]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def doc_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# --------------------------------------------------------------------------- statistics


def balanced_accuracy(gold_bad: Sequence[bool], pred_bad: Sequence[bool]) -> float:
    pos = [p for g, p in zip(gold_bad, pred_bad, strict=True) if g]
    neg = [not p for g, p in zip(gold_bad, pred_bad, strict=True) if not g]
    parts = [sum(x) / len(x) for x in (pos, neg) if x]
    return sum(parts) / len(parts) if parts else float("nan")


def group_bootstrap(rows: list[dict[str, Any]], metric: Callable[[list[dict[str, Any]]], float],
                    group: str = "doc", n: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% CI of `metric` resampling whole groups (documents) with replacement."""
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by[r[group]].append(r)
    keys = sorted(by)
    rng = random.Random(seed)
    values = []
    for _ in range(n):
        sample = [r for k in rng.choices(keys, k=len(keys)) for r in by[k]]
        v = metric(sample)
        if v == v:  # skip NaN (a resample with one class only)
            values.append(v)
    values.sort()
    return values[int(0.025 * len(values))], values[int(0.975 * len(values)) - 1]


def split_docs(keys: Sequence[str]) -> tuple[set[str], set[str]]:
    """Deterministic half split of documents: (tune, held_out)."""
    ordered = sorted(set(keys), key=lambda k: hashlib.sha256(("split" + k).encode()).hexdigest())
    half = len(ordered) // 2
    return set(ordered[:half]), set(ordered[half:])


# --------------------------------------------------------------------------- rules

Rule = Callable[[dict[str, Any]], bool]  # sentence record -> not supported?


def rules(with_model: bool) -> dict[str, Rule]:
    def checks(kinds: set[str]) -> Rule:
        return lambda s: bool(set(s["kinds"]) & kinds)

    out: dict[str, Rule] = {}
    kind_sets = {"all": set(KINDS), "no-quote": set(KINDS) - {"quote"},
                 "num+date": {"number", "unit", "date"}}
    for name, kinds in kind_sets.items():
        out[f"checks[{name}]"] = checks(kinds)
        for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
            out[f"checks[{name}] or support<{t}"] = (
                lambda s, k=kinds, t=t: bool(set(s["kinds"]) & k) or s["support"] < t)  # type: ignore[misc]
        if with_model:
            out[f"checks[{name}] or model"] = (
                lambda s, k=kinds: bool(set(s["kinds"]) & k) or s["model"] == "not_supported")  # type: ignore[misc]
            out[f"checks[{name}] and model"] = (
                lambda s, k=kinds: bool(set(s["kinds"]) & k) and s["model"] == "not_supported")  # type: ignore[misc]
    if with_model:
        out["model"] = lambda s: s["model"] == "not_supported"
        out["model verified"] = lambda s: s["model"] == "not_supported" and not s["unverified"]
        for name, kinds in kind_sets.items():
            out[f"checks[{name}] or model verified"] = (
                lambda s, k=kinds: bool(set(s["kinds"]) & k)  # type: ignore[misc]
                or (s["model"] == "not_supported" and not s["unverified"]))
    return out


def predict(item: dict[str, Any], rule: Rule) -> bool:
    """Summary-level: inconsistent when any sentence is not supported."""
    return any(rule(s) for s in item["sentences"])


def evaluate(items: list[dict[str, Any]], with_model: bool) -> None:
    tune_docs, held_docs = split_docs([i["doc"] for i in items])
    tune = [i for i in items if i["doc"] in tune_docs]
    held = [i for i in items if i["doc"] in held_docs]

    def score(rule: Rule) -> Callable[[list[dict[str, Any]]], float]:
        return lambda rows: balanced_accuracy([r["label"] == 0 for r in rows],
                                              [predict(r, rule) for r in rows])

    table = {name: (score(rule)(tune), score(rule)(held), score(rule)(items))
             for name, rule in rules(with_model).items()}
    print(f"  {'rule':40s} tune   held-out  all   (balanced accuracy)")
    for name, (a, b, c) in sorted(table.items(), key=lambda x: -x[1][0]):
        print(f"  {name:40s} {a:.3f}  {b:.3f}     {c:.3f}")
    best = max(table, key=lambda k: table[k][0])
    rule = rules(with_model)[best]
    lo, hi = group_bootstrap(held, score(rule))
    print(f"  chosen on tune ({len(tune)} items, {len(tune_docs)} docs): {best!r}")
    print(f"  held-out: balanced accuracy {table[best][1]:.3f}  95% CI [{lo:.3f}, {hi:.3f}]  "
          f"(n={len(held)} items, {len(held_docs)} docs; CI resamples documents)")
    lo, hi = group_bootstrap(items, score(rule))
    print(f"  all {len(items)} items: {table[best][2]:.3f}  95% CI [{lo:.3f}, {hi:.3f}]")
    for name in ("model", "model verified", "checks[all] or model", "checks[all] or model verified",
                 "checks[all] or support<0.3",
                 "checks[all]"):
        if name in table:
            lo, hi = group_bootstrap(items, score(rules(with_model)[name]))
            print(f"  fixed rule {name!r} on all {len(items)}: {table[name][2]:.3f}  "
                  f"95% CI [{lo:.3f}, {hi:.3f}]")


# --------------------------------------------------------------------------- runs


def sentence_records(report: Any) -> list[dict[str, Any]]:
    return [{"kinds": sorted({m.kind.value for m in s.mismatches}), "support": s.support,
             "model": s.model_label.value if s.model_label else None,
             "error": s.model_error.value if s.model_error else None,
             "changed": s.model_changed, "unverified": not s.changed_unsupported,
             "ids": s.sentence_ids} for s in report.sentences]


def run_checks(args: argparse.Namespace) -> None:
    from assistant.steps.faithfulness import check_summary_offline
    from assistant.text.checks import Reference
    from assistant.text.intake import document_from_text

    rows = read_jsonl(SUMMEDITS)
    started = time.perf_counter()
    refs: dict[str, tuple[Any, Any]] = {}
    items = []
    for r in rows:
        key = doc_key(r["document"])
        if key not in refs:
            doc = document_from_text(r["document"])
            refs[key] = (doc, Reference(doc))
        doc, ref = refs[key]
        report = check_summary_offline(doc, r["summary"], reference=ref)
        items.append({"id": r["id"], "doc": key, "label": r["label_consistent"],
                      "sentences": sentence_records(report)})
    elapsed = time.perf_counter() - started
    print(f"SummEdits news, deterministic checks only: n={len(items)} items, "
          f"{len(refs)} documents, {elapsed:.1f} s ({elapsed / len(items) * 1000:.0f} ms/item)")
    evaluate(items, with_model=False)


def summedits_sample(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """About n items over all documents, balanced labels, sorted by document."""
    by: dict[str, dict[int, list[dict[str, Any]]]] = defaultdict(lambda: {0: [], 1: []})
    for r in read_jsonl(SUMMEDITS):
        by[doc_key(r["document"])][r["label_consistent"]].append(r)
    rng = random.Random(seed)
    keys = sorted(by)
    per_doc = max(2, n // len(keys))
    out = []
    for d, key in enumerate(keys):
        want = per_doc + (1 if d < n - per_doc * len(keys) else 0)
        first = (d % 2)  # alternate which label gets the odd item
        counts = {first: (want + 1) // 2, 1 - first: want // 2}
        for label in (0, 1):
            pool = by[key][label][:]
            rng.shuffle(pool)
            out += pool[: counts[label]]
    return out


def fever_sample(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """n claims, half SUPPORTS and half REFUTES, alternating; a smaller n is a prefix."""
    rng = random.Random(0)
    pools = [[r for r in rows if r["label"] == label] for label in ("SUPPORTS", "REFUTES")]
    for pool in pools:
        rng.shuffle(pool)
    return [pools[i % 2][i // 2] for i in range(n)]


def run_model(args: argparse.Namespace) -> None:
    from assistant import Assistant
    from assistant.text.intake import document_from_text

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {json.loads(line)["id"] for line in out.open()} if out.exists() else set()
    assistant = Assistant(args.backend)
    with out.open("a", encoding="utf-8") as sink:
        if args.summedits:
            sample = summedits_sample(args.summedits)
            docs: dict[str, Any] = {}
            for n, r in enumerate(sample, 1):
                if r["id"] in done:
                    continue
                key = doc_key(r["document"])
                doc = docs.setdefault(key, document_from_text(r["document"]))
                t = time.perf_counter()
                report = assistant.check_summary(doc, r["summary"])
                rec = {"task": "summedits", "id": r["id"], "doc": key,
                       "label": r["label_consistent"], "seconds": round(time.perf_counter() - t, 2),
                       "sentences": sentence_records(report)}
                sink.write(json.dumps(rec) + "\n")
                sink.flush()
                print(f"summedits {n}/{len(sample)} {rec['seconds']:.1f}s label={rec['label']} "
                      f"pred={report.label.value}", flush=True)
        if args.fever:
            rows = read_jsonl(FEVER)
            picked = fever_sample(rows, args.fever)
            for n, r in enumerate(picked, 1):
                if r["id"] in done:
                    continue
                t = time.perf_counter()
                checked = assistant.fact_check([r["claim"]], evidence=[r["evidence"]], cove=args.cove)
                v = checked.verdicts[0]
                rec = {"task": "fever", "id": r["id"], "label": r["label"], "verdict": v.verdict.value,
                       "confidence": v.confidence.value, "n_evidence": len(v.evidence),
                       "cove": v.cove.agreement if v.cove else None,
                       "seconds": round(time.perf_counter() - t, 2)}
                sink.write(json.dumps(rec) + "\n")
                sink.flush()
                print(f"fever {n}/{len(picked)} {rec['seconds']:.1f}s {r['label']} -> {rec['verdict']}",
                      flush=True)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _recheck(records: list[dict[str, Any]]) -> None:
    """Recompute the deterministic part of model-run records with the current checks
    (they are cheap; the model's answers are what the run saved)."""
    from assistant.steps.faithfulness import changed_unsupported, check_summary_offline
    from assistant.text.checks import Reference
    from assistant.text.intake import document_from_text

    rows = {r["id"]: r for r in read_jsonl(SUMMEDITS)}
    refs: dict[str, Any] = {}
    for rec in records:
        row = rows[rec["id"]]
        if rec["doc"] not in refs:
            refs[rec["doc"]] = Reference(document_from_text(row["document"]))
        ref = refs[rec["doc"]]
        fresh = check_summary_offline(ref.doc, row["summary"], reference=ref)
        for old, new, j in zip(rec["sentences"], sentence_records(fresh), fresh.sentences, strict=True):
            old["kinds"], old["support"] = new["kinds"], new["support"]
            seen = [s.text for s in ref.related(j.text, k=3)]
            seen += [ref.doc.sentence(i).text for i in old["ids"] if ref.doc.has_sentence(i)]
            old["unverified"] = not changed_unsupported(old["changed"] or "", seen, j.text)


def report(args: argparse.Namespace) -> None:
    recs = read_jsonl(Path(args.results))
    se = [r for r in recs if r["task"] == "summedits"]
    if args.summedits:  # only the items of that sample (a file may hold an earlier run's too)
        wanted = {r["id"] for r in summedits_sample(args.summedits)}
        se = [r for r in se if r["id"] in wanted]
    if se:
        _recheck(se)
        secs = sum(r["seconds"] for r in se)
        print(f"SummEdits news, check_summary with the model: n={len(se)} items, "
              f"{len({r['doc'] for r in se})} documents, {secs / 60:.1f} min wall time "
              f"({secs / len(se):.1f} s/item mean, {_median([r['seconds'] for r in se]):.1f} median)")
        evaluate(se, with_model=True)
    fv = [r for r in recs if r["task"] == "fever"]
    if fv:
        want = {"SUPPORTS": "supported", "REFUTES": "refuted"}
        correct = [want[r["label"]] == r["verdict"] for r in fv]
        rng = random.Random(0)
        boots = sorted(sum(rng.choices(correct, k=len(correct))) / len(correct) for _ in range(2000))
        secs = sum(r["seconds"] for r in fv)
        acc = sum(correct) / len(correct)
        decided = [r for r in fv if r["verdict"] in ("supported", "refuted")]
        counts: dict[str, int] = defaultdict(int)
        for r in fv:
            counts[f"{r['label']}->{r['verdict']}"] += 1
        print(f"FEVER-Symmetric dev, fact_check verdicts: n={len(fv)}, {secs / 60:.1f} min wall time "
              f"({secs / len(fv):.1f} s/claim mean, {_median([r['seconds'] for r in fv]):.1f} median)")
        print(f"  verdict accuracy {acc:.3f}  95% CI [{boots[50]:.3f}, {boots[1949]:.3f}]  "
              f"(not_enough_evidence/conflicting count as wrong)")
        if decided:
            print(f"  accuracy where decided: "
                  f"{sum(want[r['label']] == r['verdict'] for r in decided) / len(decided):.3f} "
                  f"on {len(decided)}")
        print("  " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
        cv = [r for r in fv if r.get("cove")]
        if cv:
            print("  CoVe agreement: " + ", ".join(
                f"{k}: {sum(1 for r in cv if r['cove'] == k)}" for k in ("consistent", "inconsistent", "unknown")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("checks", help="deterministic checks on all SummEdits items")
    m = sub.add_parser("model", help="run the model on samples, appending to --out")
    m.add_argument("--summedits", type=int, default=125)
    m.add_argument("--fever", type=int, default=150)
    m.add_argument("--cove", action="store_true")
    m.add_argument("--backend", default="embedded")
    m.add_argument("--out", default="runs/factcheck_dev.jsonl")
    r = sub.add_parser("report", help="numbers from a model run's JSONL")
    r.add_argument("results")
    r.add_argument("--summedits", type=int, default=0, help="restrict to this sample size's items")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"no dev data at {DATA}")
    {"checks": run_checks, "model": run_model, "report": report}[args.cmd](args)


if __name__ == "__main__":
    main()
