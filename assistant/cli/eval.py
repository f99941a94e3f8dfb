"""`assistant eval`: score the assistant on eval suites, offline; compare two runs.

    assistant eval run --suite fixtures --replay                       # CI: seconds, no model
    assistant eval run --suite fixtures --backend embedded --record    # refresh the cassette
    assistant eval run --suite wikinews --limit 10 --record            # live, kept for replay
    assistant eval compare eval-runs/before eval-runs/after            # did my change help?
    assistant eval suites                                              # what can run here

`run` exits 1 when a --fail-under / --thresholds floor is not met, 4 on a replay miss
(the message lists what changed and the command that re-records), 0 when a suite is
skipped because its data or the API it needs is absent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_GATE, EXIT_BACKEND = 0, 1, 4


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("eval", help="offline evals: run suites, compare runs",
                              description=__doc__.splitlines()[0] if __doc__ else None)
    sub = p.add_subparsers(dest="eval_command", required=True, parser_class=type(p))

    r = sub.add_parser("run", help="run a suite and write results.json, report.html")
    r.add_argument("--suite", required=True,
                   help="fixtures, seed, wikinews, summedits, fever, wice, clef, synthetic or averitec")
    r.add_argument("--checks-only", action="store_true",
                   help="summary-check suites: the deterministic checks and lexical support "
                        "alone, no model call (the 'checks alone' column)")
    g = r.add_argument_group("model")
    g.add_argument("--backend", choices=["openai", "embedded"],
                   help="default: the cassette's backend with --replay, else as for analyze")
    g.add_argument("--model", help="model name (openai) or GGUF path (embedded)")
    g.add_argument("--base-url", help="OpenAI-compatible endpoint")
    g.add_argument("--threads", type=int, metavar="N",
                   help="CPU threads for the embedded model (default: all; 1 shares a busy machine best)")
    mode = r.add_mutually_exclusive_group()
    mode.add_argument("--record", action="store_const", dest="mode", const="record",
                      help="call the model and (re)write the cassette for the items run")
    mode.add_argument("--replay", action="store_const", dest="mode", const="replay",
                      help="answer from the cassette only; zero model calls, fail on a miss")
    mode.add_argument("--fill", action="store_const", dest="mode", const="fill",
                      help="replay what the cassette has and record only what it lacks")
    r.add_argument("--cassette", type=Path,
                   help="cassette file (default: evals/cassettes/SUITE.json for fixtures, "
                        "eval-runs/cassettes/SUITE.json otherwise)")
    r.add_argument("--out", type=Path, help="run directory (default: eval-runs/SUITE-UTCTIME)")
    r.add_argument("--items", action="append", default=[], metavar="GLOB",
                   help="only items whose id matches (repeatable)")
    r.add_argument("--limit", type=int, help="only the first N items (after --items)")
    r.add_argument("--sample", type=int, metavar="N",
                   help="a seeded random sample of N items (after --items; see --sample-seed)")
    r.add_argument("--sample-seed", type=int, default=0, help="seed of --sample")
    r.add_argument("--fail-under", action="append", default=[], metavar="METRIC=VALUE",
                   help="exit 1 when METRIC's mean is below VALUE (repeatable)")
    r.add_argument("--thresholds", nargs="?", const="", metavar="FILE",
                   help="also apply the [SUITE] floors of FILE (default evals/thresholds.toml)")
    r.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    r.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    r.add_argument("--quiet", action="store_true", help="no per-item progress on stderr")
    r.add_argument("--verdict", choices=["calibrated", "stance"],
                   help="fact-check suites: how verdicts are decided (default: the fact_check.verdict option)")
    r.set_defaults(handler=run_command)

    c = sub.add_parser("compare", help="per-metric deltas with intervals, and items that changed")
    c.add_argument("run_a", help="run directory or results.json (before)")
    c.add_argument("run_b", help="run directory or results.json (after)")
    c.add_argument("--show", type=int, default=5, help="changed items listed per metric")
    c.add_argument("--json", dest="json_out", type=Path, help="also write the comparison as JSON")
    c.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    c.set_defaults(handler=compare_command)

    s = sub.add_parser("suites", help="list suites and whether their data is present")
    s.set_defaults(handler=suites_command)


def _err(message: str) -> None:
    print(f"assistant eval: {message}", file=sys.stderr)


def _rerecord(args: argparse.Namespace, backend: str) -> str:
    parts = ["assistant eval run", f"--suite {args.suite}", f"--backend {backend}", "--record"]
    if args.cassette:
        parts.append(f"--cassette {args.cassette}")
    return " ".join(parts)


def run_command(args: argparse.Namespace) -> int:
    from assistant.backends import default_backend_name, get_backend
    from assistant.errors import UserError
    from assistant.evals.cassette import CassetteBackend, CassetteMiss, default_path
    from assistant.evals.gate import check_gate, load_thresholds, parse_threshold
    from assistant.evals.report import format_table, write_run
    from assistant.evals.runner import checker_api, run_suite
    from assistant.evals.suites import SuiteUnavailable, load_suite

    floors: dict[str, float] = {}
    if args.thresholds is not None:
        floors.update(load_thresholds(args.suite, args.thresholds))
    floors.update(parse_threshold(t) for t in args.fail_under)
    for flag in ("limit", "sample"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise UserError(f"--{flag} must be at least 1")
    try:
        suite = load_suite(args.suite).select(args.items, args.limit, args.sample, args.sample_seed)
    except SuiteUnavailable as exc:
        _err(str(exc))
        return EXIT_OK

    if (missing := checker_api(suite.task)) is not None:
        _err(f"suite {suite.name!r} not available: {missing}")
        return EXIT_OK
    cassette_path = args.cassette or default_path(args.suite)
    backend: Any
    options = None
    if args.checks_only:
        if suite.task != "check_summary":
            raise UserError(f"--checks-only applies to summary-check suites, not {suite.name!r} ({suite.task})")
        if args.mode or args.backend:
            raise UserError("--checks-only makes no model call: drop --backend/--record/--replay/--fill")
        from assistant.backends import FakeBackend
        from assistant.steps.options import Options

        backend = FakeBackend(default="{}")
        options = Options(faithfulness={"probe": False, "judge": False})
    elif suite.task == "checkworthiness":  # no model: the shipped profile's model is the key
        from assistant.backends import FakeBackend
        from assistant.calibration import DEFAULT_MODEL

        backend = FakeBackend(model=args.model or DEFAULT_MODEL)
    elif suite.task == "questions" and not args.backend and args.mode is None:
        from assistant.backends import FakeBackend  # code path only, no model

        backend = FakeBackend(default="{}")
    elif args.mode == "replay":
        backend = CassetteBackend(None, cassette_path, "replay", suite=suite.name)
        if args.backend and args.backend != backend.name:
            raise UserError(f"{cassette_path} was recorded with backend {backend.name!r}, not "
                            f"{args.backend!r}; record it with --backend {args.backend} --record")
    else:
        if args.threads and (args.backend or default_backend_name()) != "embedded":
            raise UserError("--threads applies to the embedded backend only")
        extra = {"n_threads": args.threads} if args.threads else {}
        inner = get_backend(args.backend, model=args.model, base_url=args.base_url, **extra)
        backend = inner if args.mode is None else CassetteBackend(inner, cassette_path, args.mode,
                                                                   suite=suite.name)

    if args.verdict:
        if suite.task != "fact_check":
            raise UserError(f"--verdict applies to fact-check suites, not {suite.name!r} ({suite.task})")
        from assistant.steps.options import Options

        options = Options(fact_check={"verdict": args.verdict})

    def progress(n: int, total: int, record: Any) -> None:
        error = record.error or ""
        status = f"FAILED {error[:160]}{'…' if len(error) > 160 else ''}" if error else "ok"
        _err(f"[{n}/{total}] {record.id}: {status} ({record.wall_s:.1f}s)")

    try:
        run = run_suite(suite, backend, options=options, resamples=args.resamples, seed=args.seed,
                        progress=None if args.quiet else progress, command=sys.argv[1:] or [],
                        rerecord=_rerecord(args, args.backend or backend.name or default_backend_name()))
    except CassetteMiss as miss:
        _err(f"{len(miss.misses)} replay miss(es) in {cassette_path}:")
        for m in miss.misses:
            print(f"  {m}", file=sys.stderr)
        _err(f"re-record with: {miss.rerecord}")
        return EXIT_BACKEND

    out = args.out or Path("eval-runs") / f"{suite.name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
    files = write_run(run, out)
    print(format_table(run), end="")
    print(f"\nwrote {files['json']} and {files['html']}")
    if failures := check_gate(run, floors):
        for f in failures:
            _err(f"FAIL {f}")
        return EXIT_GATE
    if floors:
        print(f"gate: all {len(floors)} threshold(s) met")
    return EXIT_OK


def compare_command(args: argparse.Namespace) -> int:
    from assistant.evals.compare import compare_runs, format_comparison
    from assistant.evals.results import load_results

    a, b = load_results(args.run_a), load_results(args.run_b)
    comparison = compare_runs(a, b, label_a=args.run_a, label_b=args.run_b, resamples=args.resamples)
    print(format_comparison(comparison, shown=args.show), end="")
    if args.json_out:
        args.json_out.write_text(comparison.model_dump_json(indent=1) + "\n", encoding="utf-8")
    return EXIT_OK


def suites_command(args: argparse.Namespace) -> int:
    from assistant.evals.runner import checker_api
    from assistant.evals.suites import SUITES, SuiteUnavailable, load_suite

    for name in SUITES:
        try:
            suite = load_suite(name)
        except SuiteUnavailable as exc:
            print(f"{name:10} unavailable: {exc.reason}")
            continue
        missing = checker_api(suite.task)
        state = f"needs the fact-check API ({missing})" if missing else "ready"
        print(f"{name:10} {len(suite.items):4} items · {suite.task:13} · {state} · {suite.description}")
    return EXIT_OK
