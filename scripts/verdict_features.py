"""Feature rows for calibrating fact-check verdicts on human-labelled data (FEVER-Symmetric
dev, WiCE dev).

Per claim: the evidence is loaded and retrieved from exactly as `fact_check` does it
(`steps.factcheck`: `EvidenceIndex.search`, `premise_text`, `premise_mismatches`,
`verdict_features`), and the model answers the two probes over that premise (P(Yes) for
"Is the claim fully supported by the passage?" and for "Does the passage state something
that shows the claim is false?"). One JSONL row per claim,
`{"features": {...}, "label": 1 if supported, "group": ...}`, for
`assistant calibrate --task verdict --data ROWS --group-by group`.

    .venv/bin/python scripts/verdict_features.py fever --sample 300 --out /tmp/fever-rows.jsonl
    .venv/bin/python scripts/verdict_features.py wice --sample 70 --top-k 3 --out /tmp/wice-rows.jsonl
    .venv/bin/python scripts/verdict_features.py report /tmp/fever-rows.jsonl
    .venv/bin/python scripts/verdict_features.py both /tmp/fever-rows.jsonl /tmp/wice-rows.jsonl
    .venv/bin/python scripts/verdict_features.py fit-rows refutation /tmp/fever-rows.jsonl \
        --wice /tmp/wice-rows.jsonl --out /tmp/refutation.jsonl
    .venv/bin/python -m assistant calibrate --task refutation --data /tmp/refutation.jsonl

`both` cross-validates the two decisions together (supported or not; then, for a claim
not supported, refuted or not enough evidence, fitted on FEVER REFUTES against WiCE not /
partially supported) and prints FEVER balanced accuracy with "not enough evidence"
counted wrong, WiCE three-class macro-F1 and how often WiCE's not-supported claims are
called refuted; `--before PROFILE` scores a verdict profile with the fixed refutation
rule instead. `fit-rows` writes one task's rows for `assistant calibrate`; `stance` scores the stance
path on the same WiCE sample. `--judge` also
asks the one-call A/B/C probe (prompts/judge.prompt); `fever --pad N` puts each evidence
sentence among N hard distractors (other groups' evidence sentences sharing most words
with the claim), a test for decisions that key on one-sentence evidence.

FEVER-Symmetric pairs every claim with a supporting and a refuting evidence sentence, and
some evidence sentences serve several claims: a group is a connected set of claims and
evidence sentences, so no claim or sentence is in training and test at once. The sample
takes whole groups (seeded). WiCE claims are grouped by their cited article; `label3`
keeps WiCE's three classes (supported / partially_supported / not_supported).

Probe answers are cached in `--cache` (a JSONL file keyed by model, prompt, premise and
claim), so a rerun or a refit never asks the model twice.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.backends import get_backend  # noqa: E402
from assistant.calibration import (  # noqa: E402
    CrossValidation,
    LogisticFit,
    best_threshold,
    cross_validate,
    fit_logistic,
    grouped_folds,
    load_profile,
    score_interval,
)
from assistant.core.driver import Step, arun, new_provenance  # noqa: E402
from assistant.core.stats import bootstrap_ci  # noqa: E402
from assistant.core.structured import Probability, ProbeSpec  # noqa: E402
from assistant.evals.paths import data_dir  # noqa: E402
from assistant.steps.entailment import judge_probe  # noqa: E402
from assistant.steps.evidence import EvidenceSet, load_evidence  # noqa: E402
from assistant.steps.factcheck import (  # noqa: E402
    REFUTE_FEATURES,
    VERDICT_CHECK_FEATURES,
    VERDICT_FEATURES,
    VERDICT_MODEL_FEATURES,
    EvidenceIndex,
    fixed_refutation,
    premise_mismatches,
    premise_text,
    supported_part,
    verdict_features,
    verdict_probes,
)
from assistant.text.grounding import content_terms  # noqa: E402
from assistant.text.intake import document_from_text  # noqa: E402

TOP_K = 5  # the earlier runs' premise; fact_check's default is FactCheckOptions.top_k (3)
# `$ASSISTANT_EVAL_DATA`, else ../shared/data next to the project.
FEVER = data_dir() / "dev" / "fever_symmetric_dev.jsonl"
WICE = data_dir() / "dev" / "wice_dev.jsonl"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def fever_groups(rows: list[dict[str, Any]]) -> list[str]:
    """Connected components over shared claims and shared evidence sentences."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in rows:
        a, b = find("c:" + r["claim"]), find("e:" + r["evidence"])
        if a != b:
            parent[a] = b
    return [hashlib.sha256(find("c:" + r["claim"]).encode()).hexdigest()[:10] for r in rows]


def padded(chosen: list[dict[str, Any]], pool: list[dict[str, Any]], pad: int, seed: int) -> list[dict[str, Any]]:
    """Each FEVER item's evidence sentence among the `pad` evidence sentences of other
    groups that share most content words with its claim (hard distractors, in a seeded
    random order, one paragraph each): a multi-sentence evidence text like WiCE's, to test
    whether a decision keys on "the evidence is one sentence"."""
    terms = {e: set(content_terms(e)) for e in {o["evidence"] for o in pool}}
    out = []
    for it in chosen:
        rng = random.Random(f"{seed}:{it['id']}")
        want = set(content_terms(it["claim"]))
        others = sorted({o["evidence"] for o in pool if o["group"] != it["group"]},
                        key=lambda e: (-len(want & terms[e]), e))
        texts = others[:pad]
        rng.shuffle(texts)
        texts.insert(rng.randrange(pad + 1), it["evidence"])
        out.append({**it, "evidence": "\n\n".join(texts)})
    return out


def items(name: str, sample: int | None, seed: int, pad: int = 0) -> list[dict[str, Any]]:
    """{id, claim, evidence (Document or text), label, label3, group} in a seeded group sample;
    FEVER with `pad` distractor sentences around each evidence sentence when `pad` > 0."""
    if pad:
        return padded(items(name, sample, seed), items(name, None, seed), pad, seed)
    out: list[dict[str, Any]] = []
    if name == "fever":
        rows = [r for r in read_jsonl(FEVER) if r["label"] in ("SUPPORTS", "REFUTES")]
        for r, g in zip(rows, fever_groups(rows), strict=True):
            out.append({"id": r["id"], "claim": r["claim"], "evidence": r["evidence"],
                        "label": int(r["label"] == "SUPPORTS"), "label3": r["label"], "group": g})
    else:
        for r in read_jsonl(WICE):
            text = "\n\n".join(r["evidence"])
            out.append({"id": r["id"], "claim": r["claim"], "evidence": text,
                        "label": int(r["label"] == "supported"), "label3": r["label"],
                        "group": hashlib.sha256(text.encode()).hexdigest()[:10]})
    if sample is None or sample >= len(out):
        return out
    groups = sorted({it["group"] for it in out})
    random.Random(seed).shuffle(groups)
    if name == "wice":  # stratified by WiCE's label: the same share of each class
        chosen: list[dict[str, Any]] = []
        for label in sorted({it["label3"] for it in out}):
            pool = [it for it in out if it["label3"] == label]
            want = round(sample * len(pool) / len(out))
            order = {g: n for n, g in enumerate(groups)}
            chosen += sorted(pool, key=lambda it: order[it["group"]])[:want]
        return sorted(chosen, key=lambda it: it["id"])
    keep: set[str] = set()
    count = 0
    sizes: dict[str, int] = {}
    for it in out:
        sizes[it["group"]] = sizes.get(it["group"], 0) + 1
    for g in groups:
        if count >= sample:
            break
        keep.add(g)
        count += sizes[g]
    return [it for it in out if it["group"] in keep]


def evidence_of(item: dict[str, Any]) -> EvidenceSet:
    doc = document_from_text(item["evidence"], fmt="text", name=item["id"])
    return load_evidence([doc])


class ProbeCache:
    def __init__(self, path: Path, model: str) -> None:
        self.path, self.model = path, model
        self.known: dict[str, tuple[float, str]] = {}
        self.dist: dict[str, list[float]] = {}
        if path.exists():
            for rec in read_jsonl(path):
                self.known[rec["key"]] = (rec["p"], rec["method"])
                self.dist[rec["key"]] = rec.get("dist") or [rec["p"], 1 - rec["p"]]

    def key(self, spec: ProbeSpec) -> str:
        raw = json.dumps([self.model, spec.prompt, spec.values], sort_keys=True)
        return hashlib.sha256(raw.encode()).hexdigest()[:24]

    def put(self, spec: ProbeSpec, p: Probability) -> None:
        k = self.key(spec)
        self.known[k] = (p.p, p.method)
        self.dist[k] = p.distribution or [p.p, 1 - p.p]
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"key": k, "p": p.p, "method": p.method, "prompt": spec.prompt,
                                "dist": self.dist[k]}) + "\n")


def _ask(specs: list[ProbeSpec]) -> Step[list[Probability]]:
    results: list[Probability] = yield specs
    return results


async def features(args: argparse.Namespace) -> int:
    path = FEVER if args.suite == "fever" else WICE
    if not path.is_file():
        print(f"no data at {path}", file=sys.stderr)
        return 2
    chosen = items(args.suite, args.sample, args.seed, getattr(args, "pad", 0))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {json.loads(line)["id"] for line in out.open(encoding="utf-8") if line.strip()} \
        if out.exists() else set()
    backend = None if args.checks_only else get_backend(args.backend, model=args.model,
                                                          base_url=args.base_url)
    cache = ProbeCache(Path(args.cache), backend.model if backend else "")
    started, n = time.perf_counter(), 0
    todo = [it for it in chosen if it["id"] not in done]
    print(f"{len(chosen)} items ({len(chosen) - len(todo)} already in {out})", file=sys.stderr, flush=True)
    with out.open("a", encoding="utf-8") as f:
        # Items go to the model in batches: the embedded model's cross-process lock is held
        # while a batch runs, instead of being fought for again before every item.
        for b in range(0, len(todo), args.batch):
            batch = todo[b:b + args.batch]
            t0 = time.perf_counter()
            prepared = []
            for it in batch:
                evidence = evidence_of(it)
                hits = EvidenceIndex(evidence).search_or_all([it["claim"]], args.top_k)
                specs = verdict_probes(it["claim"], hits) if hits and backend is not None else []
                if specs and args.judge:
                    specs.append(judge_probe(premise_text(hits), it["claim"]))
                prepared.append((it, hits, premise_mismatches(it["claim"], hits, evidence), specs))
            if args.cache_only:  # only the items whose probes were all answered before
                prepared = [x for x in prepared if all(cache.key(s) in cache.known for s in x[3])]
                if not prepared:
                    continue
            asked = {cache.key(s): s for *_, specs in prepared for s in specs if cache.key(s) not in cache.known}
            if asked and backend is not None:
                got = await arun(_ask(list(asked.values())), backend, new_provenance(backend),
                                 concurrency=args.concurrency)
                for spec, p in zip(asked.values(), got, strict=True):
                    cache.put(spec, p)
            each = (time.perf_counter() - t0) / len(prepared)
            for it, hits, mismatches, specs in prepared:
                p_sup = p_con = None
                method = None
                judge = None
                if specs:
                    (p_sup, m1), (p_con, m2) = (cache.known[cache.key(s)] for s in specs[:2])
                    method = m1 if m1 == m2 else "mixed"
                    if len(specs) > 2:
                        judge = [round(x, 5) for x in cache.dist[cache.key(specs[2])]]
                row = {"id": it["id"], "group": it["group"], "label": it["label"], "label3": it["label3"],
                       "features": verdict_features(it["claim"], hits, mismatches, p_sup, p_con, judge),
                       "hits": len(hits), "part": supported_part(it["claim"], hits) is not None,
                       "p_sup": p_sup, "p_con": p_con, "judge": judge, "method": method,
                       "seconds": round(each, 2)}
                f.write(json.dumps(row) + "\n")
                n += 1
            f.flush()
            print(f"{n} items, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    print(f"wrote {n} new rows to {out} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    yield from read_jsonl(path)


def verdict_of(row: dict[str, Any], supported: bool, p: float) -> str:
    """The step's verdict after the supported-or-not decision when no refutation profile
    is found (`steps.factcheck.fixed_refutation`)."""
    if supported:
        return "supported"
    if fixed_refutation(row["features"], p):
        return "refuted"
    return "partial" if row.get("part") else "not_enough_evidence"


# WiCE's classes from ours: supported -> supported; not enough evidence naming a stated
# part -> partially_supported; refuted, or not enough evidence with no stated part ->
# not_supported (WiCE's "not supported" means the cited article does not support it).
WICE_OF = {"supported": "supported", "partial": "partially_supported", "refuted": "not_supported",
           "not_enough_evidence": "not_supported"}


def macro_f1(pairs: Sequence[tuple[str, str]]) -> float | None:
    classes = sorted({g for g, _ in pairs})
    if len(classes) < 2:
        return None
    f1s = []
    for c in classes:
        tp = sum(g == c and p == c for g, p in pairs)
        fp = sum(g != c and p == c for g, p in pairs)
        fn = sum(g == c and p != c for g, p in pairs)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / len(f1s)


def report(args: argparse.Namespace) -> int:
    """Grouped cross-validated balanced accuracy (bootstrap CI over groups) of checks only,
    model only and combined, on the same rows; for FEVER also how the REFUTES claims came
    out, for WiCE the three-class macro-F1 of the verdicts."""
    every_row = list(_rows(Path(args.rows)))
    rows = [r for r in every_row if r["p_sup"] is not None or args.checks_only]
    skipped = [r for r in every_row if r["p_sup"] is None and not args.checks_only]
    labels = [r["label"] for r in rows]
    groups = [r["group"] for r in rows]
    feats = [r["features"] for r in rows]
    print(f"{len(rows)} rows, {sum(labels)} labelled 1, {len(set(groups))} groups; "
          f"mean {sum(r['seconds'] for r in rows) / max(len(rows), 1):.2f} s per claim")
    variants = [("checks only", VERDICT_CHECK_FEATURES)]
    if not args.checks_only:
        variants += [("model only", VERDICT_MODEL_FEATURES), ("combined", VERDICT_FEATURES)]
    for name, names in variants:
        if args.profile:  # a fitted profile applied as it is (data it was not fitted on)
            if name != variants[-1][0]:
                continue
            profile = load_profile(args.profile)
            fit = profile.fit()
            probs = [fit.probability(f) for f in feats]
            cv = CrossValidation(probabilities=probs, predictions=[int(p >= profile.threshold) for p in probs],
                                 thresholds=[profile.threshold], fold_of=[0] * len(rows))
            name = f"profile {profile.key} (fitted on {profile.fitted_on.data})"
        else:
            cv = cross_validate(feats, labels, groups, list(names), k=args.folds)
        ba, _ = score_interval(labels, [float(p) for p in cv.predictions], groups, threshold=0.5)
        how = "as fitted" if args.profile else f"grouped {args.folds}-fold"
        print(f"{name:12s} balanced accuracy (supported vs not) {ba.value:.3f} [{ba.ci_low:.3f}, "
              f"{ba.ci_high:.3f}]  ({how}, bootstrap over groups)")
        said = [verdict_of(r, bool(d), p) for r, d, p in
                zip(rows, cv.predictions, cv.probabilities, strict=True)]
        counts: dict[tuple[str, str], int] = {}
        for r, v in zip(rows, said, strict=True):
            counts[(r["label3"], v)] = counts.get((r["label3"], v), 0) + 1
        print("   ", ", ".join(f"{g}->{v}: {n}" for (g, v), n in sorted(counts.items())))
        if skipped:  # claims with nothing retrieved: the step says not enough evidence
            every = labels + [r["label"] for r in skipped]
            ba_all, _ = score_interval(every, [float(p) for p in cv.predictions] + [0.0] * len(skipped),
                                       groups + [r["group"] for r in skipped], threshold=0.5)
            print(f"    with the {len(skipped)} claims that retrieved nothing (not enough evidence): "
                  f"{ba_all.value:.3f} [{ba_all.ci_low:.3f}, {ba_all.ci_high:.3f}]")
        if rows and rows[0]["label3"] in WICE_OF.values():
            pairs = [(r["label3"], WICE_OF[v]) for r, v in zip(rows, said, strict=True)]
            ci = bootstrap_ci(pairs, macro_f1, groups=groups, seed=0)
            f1 = macro_f1(pairs)
            print(f"    WiCE 3-class macro-F1 {f1:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci and f1 is not None
                  else "    WiCE macro-F1 undefined")
    return 0


def _decide(fit: LogisticFit, cut: float, row: dict[str, Any]) -> tuple[float, bool]:
    prob = fit.probability(row["features"])
    return prob, prob >= cut


def _fit(rows: list[dict[str, Any]], labels: list[int], names: Sequence[str]) -> tuple[LogisticFit, float]:
    fit = fit_logistic([r["features"] for r in rows], labels, list(names), l2=0.1)
    return fit, best_threshold(labels, [fit.probability(r["features"]) for r in rows])


def refutes(row: dict[str, Any]) -> int:
    """The refutation decision's label: 1 for a claim its evidence refutes (FEVER REFUTES),
    0 for one its evidence does not state (WiCE not or partially supported)."""
    return int(row["label3"] == "REFUTES")


def two_stage(args: argparse.Namespace) -> int:
    """Both decisions cross-validated together over FEVER and WiCE rows (grouped folds over
    the union; each fold fits supported-or-not on its training rows of `--stage1` data and
    refuted-or-not on its training rows that are not supported, FEVER REFUTES against WiCE
    not / partially supported), then per data set: FEVER balanced accuracy with "not enough
    evidence" counted wrong, WiCE three-class macro-F1 and how often its not-supported
    claims are called refuted."""
    every_fever, every_wice = list(_rows(Path(args.fever))), list(_rows(Path(args.wice)))
    fever = [r for r in every_fever if r["p_sup"] is not None]
    wice = [r for r in every_wice if r["p_sup"] is not None]
    rows = fever + wice
    s1 = args.s1.split(",") if args.s1 else list(VERDICT_FEATURES)
    s2 = args.s2.split(",") if args.s2 else list(REFUTE_FEATURES)
    print(f"{len(fever)} FEVER rows, {len(wice)} WiCE rows; supported-or-not on {args.stage1}: {','.join(s1)}; "
          f"refuted-or-not: {','.join(s2)}")
    said: list[str] = [""] * len(rows)
    if args.before:  # a verdict profile as it is, then the fixed refutation rule (the earlier design)
        profile = load_profile(args.before)
        fit = profile.fit()
        for i, r in enumerate(rows):
            p = fit.probability(r["features"])
            said[i] = verdict_of(r, p >= profile.threshold, p)
        print(f"profile {profile.key} as it is, then the fixed refutation rule")
    for test in grouped_folds([r["group"] for r in rows], args.folds) if not args.before else []:
        held = set(test)
        train = [r for i, r in enumerate(rows) if i not in held]
        first = [r for r in train if args.stage1 == "both" or r["label3"] in ("SUPPORTS", "REFUTES")]
        fit1, cut1 = _fit(first, [r["label"] for r in first], s1)
        second = [r for r in train if r["label"] == 0]
        fit2, cut2 = _fit(second, [refutes(r) for r in second], s2)
        for i in test:
            r = rows[i]
            if _decide(fit1, cut1, r)[1]:
                said[i] = "supported"
            elif _decide(fit2, cut2, r)[1]:
                said[i] = "refuted"
            else:
                said[i] = "partial" if r.get("part") else "not_enough_evidence"
    if args.said_out:  # each claim's verdict, to compare with other modes on the same claims
        with Path(args.said_out).open("w", encoding="utf-8") as f:
            for r, v in zip(rows, said, strict=True):
                f.write(json.dumps({"id": r["id"], "group": r["group"], "label3": r["label3"], "said": v}) + "\n")
    nf = len(fever)
    # the claims that retrieved nothing are not enough evidence (no model call is made)
    empty_f = [r for r in every_fever if r["p_sup"] is None]
    empty_w = [r for r in every_wice if r["p_sup"] is None]
    if empty_f or empty_w:
        print(f"(with {len(empty_f)} FEVER and {len(empty_w)} WiCE claims that retrieved nothing: "
              "not enough evidence)")
    _fever_figures(fever + empty_f, said[:nf] + ["not_enough_evidence"] * len(empty_f))
    _wice_figures(wice + empty_w, said[nf:] + ["not_enough_evidence"] * len(empty_w))
    return 0


def _fever_figures(rows: list[dict[str, Any]], said: list[str]) -> None:
    labels, groups = [r["label"] for r in rows], [r["group"] for r in rows]
    # strict: supported -> 1, refuted -> 0, not enough evidence -> the wrong label
    strict = [1.0 if v == "supported" else 0.0 if v == "refuted" else float(1 - y)
              for v, y in zip(said, labels, strict=True)]
    ba, _ = score_interval(labels, strict, groups, threshold=0.5)
    loose, _ = score_interval(labels, [float(v == "supported") for v in said], groups, threshold=0.5)
    counts: dict[tuple[str, str], int] = {}
    for r, v in zip(rows, said, strict=True):
        counts[(r["label3"], v)] = counts.get((r["label3"], v), 0) + 1
    print(f"FEVER  balanced accuracy, not enough evidence counted wrong: {ba.value:.3f} [{ba.ci_low:.3f}, "
          f"{ba.ci_high:.3f}]; supported vs not {loose.value:.3f} [{loose.ci_low:.3f}, {loose.ci_high:.3f}] "
          f"({len(set(groups))} groups)")
    print("   ", ", ".join(f"{g}->{v}: {n}" for (g, v), n in sorted(counts.items())))


def _wice_figures(rows: list[dict[str, Any]], said: list[str]) -> None:
    if not rows:
        return
    groups = [r["group"] for r in rows]
    pairs = [(r["label3"], WICE_OF[v]) for r, v in zip(rows, said, strict=True)]
    ci = bootstrap_ci(pairs, macro_f1, groups=groups, seed=0)
    f1 = macro_f1(pairs)
    sup, _ = score_interval([r["label"] for r in rows], [float(v == "supported") for v in said], groups,
                            threshold=0.5)
    counts: dict[tuple[str, str], int] = {}
    for r, v in zip(rows, said, strict=True):
        counts[(r["label3"], v)] = counts.get((r["label3"], v), 0) + 1
    if f1 is not None and ci is not None:
        print(f"WiCE   three-class macro-F1 {f1:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]; supported vs not "
              f"{sup.value:.3f} [{sup.ci_low:.3f}, {sup.ci_high:.3f}]")
    for label in ("not_supported", "partially_supported"):
        n = sum(r["label3"] == label for r in rows)
        k = sum(r["label3"] == label and v == "refuted" for r, v in zip(rows, said, strict=True))
        print(f"    {label} called refuted: {k} of {n}")
    print("   ", ", ".join(f"{g}->{v}: {n}" for (g, v), n in sorted(counts.items())))


def fit_rows(args: argparse.Namespace) -> int:
    """Rows for `assistant calibrate`, with only the task's features: verdict (supported or
    not; the FEVER rows, or FEVER and WiCE with --wice) or refutation (the rows not
    supported: FEVER REFUTES 1, WiCE not / partially supported 0)."""
    rows = [r for r in _rows(Path(args.fever)) if r["p_sup"] is not None]
    if args.wice:
        rows += [r for r in _rows(Path(args.wice)) if r["p_sup"] is not None]
    names = VERDICT_FEATURES if args.task == "verdict" else REFUTE_FEATURES
    if args.task == "refutation":
        rows = [r for r in rows if r["label"] == 0]
    with Path(args.out).open("w", encoding="utf-8") as f:
        for r in rows:
            label = r["label"] if args.task == "verdict" else refutes(r)
            f.write(json.dumps({"features": {k: r["features"][k] for k in names}, "label": label,
                                "group": r["group"]}) + "\n")
    print(f"wrote {len(rows)} {args.task} rows to {args.out}", file=sys.stderr)
    return 0


def stance(args: argparse.Namespace) -> int:
    """The stance path's verdicts (`fact_check.verdict="stance"`, default top_k) on the same
    seeded sample, WiCE's three classes from ours as for the calibrated verdicts."""
    from assistant import Assistant
    from assistant.steps.options import Options

    chosen = items(args.suite, args.sample, args.seed)
    checker = Assistant(get_backend(args.backend, model=args.model, base_url=args.base_url),
                        options=Options(fact_check={"verdict": "stance"}))
    pairs, groups, seconds = [], [], 0.0
    for it in chosen:
        t0 = time.perf_counter()
        v = checker.fact_check([it["claim"]], evidence=[it["evidence"]]).verdicts[0]
        seconds += time.perf_counter() - t0
        said = "partial" if v.verdict.value == "not_enough_evidence" and v.supported_text else v.verdict.value
        pairs.append((it["label3"], WICE_OF.get(said, "not_supported")))
        groups.append(it["group"])
    f1, ci = macro_f1(pairs), bootstrap_ci(pairs, macro_f1, groups=groups, seed=0)
    counts: dict[tuple[str, str], int] = {}
    for pair in pairs:
        counts[pair] = counts.get(pair, 0) + 1
    if f1 is not None and ci is not None:
        print(f"stance: {len(pairs)} claims, three-class macro-F1 {f1:.3f} [{ci[0]:.3f}, {ci[1]:.3f}], "
              f"{seconds / max(len(pairs), 1):.1f} s per claim")
    print("   ", ", ".join(f"{g}->{v}: {n}" for (g, v), n in sorted(counts.items())))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for suite in ("fever", "wice"):
        p = sub.add_parser(suite, help=f"feature rows for {suite}")
        p.add_argument("--sample", type=int, help="items (whole groups; WiCE stratified by label)")
        p.add_argument("--seed", type=int, default=7)
        p.add_argument("--out", required=True)
        p.add_argument("--cache", default="/tmp/verdict-probe-cache.jsonl")
        p.add_argument("--checks-only", action="store_true", help="no model: deterministic features only")
        p.add_argument("--batch", type=int, default=25, help="items per model batch")
        p.add_argument("--cache-only", action="store_true",
                       help="no new model calls: rows only for items whose probes are all cached")
        p.add_argument("--concurrency", type=int, default=4, help="probes in flight at once")
        p.add_argument("--top-k", type=int, default=TOP_K,
                       help=f"sentences retrieved per claim, the premise (default {TOP_K}; fact_check's is 3)")
        p.add_argument("--judge", action="store_true",
                       help="also ask the one-call A/B/C probe (prompts/judge.prompt)")
        p.add_argument("--backend")
        p.add_argument("--model")
        p.add_argument("--base-url")
        if suite == "fever":
            p.add_argument("--pad", type=int, default=0,
                           help="distractor sentences (other groups' evidence) around each evidence "
                                "sentence: a shortcut test for decisions fitted on one-sentence premises")
        p.set_defaults(suite=suite)
    r = sub.add_parser("report", help="checks only / model only / combined, grouped CV")
    r.add_argument("rows")
    r.add_argument("--folds", type=int, default=5)
    r.add_argument("--checks-only", action="store_true", help="rows without probabilities")
    r.add_argument("--profile", help="score this fitted profile's decisions instead of cross-validating")
    b = sub.add_parser("both", help="both decisions cross-validated together on FEVER and WiCE rows")
    b.add_argument("fever")
    b.add_argument("wice")
    b.add_argument("--folds", type=int, default=5)
    b.add_argument("--stage1", choices=["fever", "both"], default="fever",
                   help="rows the supported-or-not decision is fitted on (default: FEVER only)")
    b.add_argument("--s1", help="comma-separated features of supported-or-not (default VERDICT_FEATURES)")
    b.add_argument("--s2", help="comma-separated features of refuted-or-not (default REFUTE_FEATURES)")
    b.add_argument("--said-out", metavar="JSONL", help="write each claim's verdict here")
    b.add_argument("--before", metavar="PROFILE",
                   help="instead: this verdict profile as it is, then the fixed refutation rule")
    st = sub.add_parser("stance", help="the stance path's WiCE macro-F1 on the same seeded sample")
    st.add_argument("--sample", type=int, default=20)
    st.add_argument("--seed", type=int, default=7)
    st.add_argument("--backend")
    st.add_argument("--model")
    st.add_argument("--base-url")
    st.set_defaults(suite="wice")
    fr = sub.add_parser("fit-rows", help="rows with one task's features, for assistant calibrate")
    fr.add_argument("task", choices=["verdict", "refutation"])
    fr.add_argument("fever")
    fr.add_argument("--wice")
    fr.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.command == "report":
        return report(args)
    if args.command == "both":
        return two_stage(args)
    if args.command == "fit-rows":
        return fit_rows(args)
    if args.command == "stance":
        return stance(args)
    return asyncio.run(features(args))


if __name__ == "__main__":
    sys.exit(main())
