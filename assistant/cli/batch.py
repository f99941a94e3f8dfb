"""`assistant batch`: one task over many articles; `assistant cache`: the response cache.

    assistant batch articles/ --out results.jsonl --concurrency 16
    assistant batch feed.jsonl --out results.jsonl --max-cost 2.50 --prices prices.toml
    assistant batch feed.jsonl --out results.jsonl --estimate          # cost only, no calls
    assistant batch feed.jsonl --out results.jsonl --batch-api         # OpenAI Batch API
    assistant cache prune --older-than 30d --max-size 500MB
    assistant cache info

Re-running the same command resumes: inputs already ok (or failed for good) in the results
file are skipped; errors from transport or answer faults run again.
Exit codes: 0 every input ok · 1 some inputs ended as error records · 2 usage (also a
results file another run holds) · 3 the input folder or file is missing or not one · 4 the
run stopped early on a backend problem: a budget cap, or an endpoint that is unreachable
or refuses the key · 130 interrupted (Ctrl-C twice; once finishes the articles in flight).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from assistant.cli.common import add_backend

EXIT_OK, EXIT_SOME_ERRORS, EXIT_USAGE, EXIT_STOPPED, EXIT_INTERRUPTED = 0, 1, 2, 4, 130
_MODES = ("auto", "json_schema", "json_object_schema", "json_object", "none")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("batch", help="run a task over a directory or JSONL of articles",
                              description=__doc__.splitlines()[0] if __doc__ else None,
                              epilog="Scale-out (vLLM or any OpenAI-compatible cluster): "
                                     "see docs/scale-out.md")
    p.add_argument("input", help="directory (one article per file) or FILE.jsonl "
                                 "(text, id, title, url, outlet, published per line)")
    p.add_argument("--out", required=True, type=Path, help="results JSONL (appended; resumable)")
    p.add_argument("--task", default="analyze",
                   choices=["analyze", "summarize", "claims", "questions", "check", "brief"],
                   help="analyze (default); check fact-checks each article's claims against "
                        "--evidence; brief also writes one briefing over all articles "
                        "(OUT.briefing.md and .json)")
    p.add_argument("--evidence", nargs="+", default=[], metavar="PATH",
                   help="evidence files or folders for check and brief (a JSONL line's own "
                        "'evidence' list wins)")
    p.add_argument("--concurrency", metavar="N",
                   help="articles and requests in flight (default $ASSISTANT_CONCURRENCY or 8)")
    p.add_argument("--retry-errors", action="store_true",
                   help="also run inputs whose earlier record is a permanent error (errors "
                        "from transport or answer faults always run again)")
    p.add_argument("--max-chars", type=int, default=300_000, help="refuse longer articles")
    p.add_argument("--no-progress", action="store_true", help="no progress line on stderr")

    g = add_backend(p, quiet=False)
    g.add_argument("--structured-mode", choices=_MODES,
                   help="how the output schema is sent (default $ASSISTANT_STRUCTURED_MODE "
                        "or auto)")

    c = p.add_argument_group("cache")
    c.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    c.add_argument("--cache-dir", type=Path, help="default $ASSISTANT_CACHE_DIR or "
                                                  "~/.cache/newsfact-assistant")

    b = p.add_argument_group("budget")
    b.add_argument("--max-tokens", type=_positive_int, help="hard cap on tokens for this run")
    b.add_argument("--max-cost", type=float, help="hard cap on USD for this run")
    b.add_argument("--prices", type=Path, help="TOML/JSON price table overriding the built-in "
                                               "one (default $ASSISTANT_PRICES)")
    b.add_argument("--estimate", action="store_true",
                   help="print the token and cost estimate and exit without model calls")

    a = p.add_argument_group("OpenAI Batch API")
    a.add_argument("--batch-api", action="store_true",
                   help="send the calls as Batch API jobs, one per pipeline round (half price, "
                        "hours not seconds)")
    a.add_argument("--poll-interval", type=float, default=30.0,
                   help="seconds between job status checks (default 30)")
    p.set_defaults(handler=batch_command)

    k = subparsers.add_parser("cache", help="the on-disk response cache: info, prune, clear")
    k.add_argument("action", choices=["info", "prune", "clear"])
    k.add_argument("--older-than", type=_duration, metavar="AGE",
                   help="prune: entries stored longer ago than AGE (30d, 12h, 90m, 3600s)")
    k.add_argument("--max-size", type=_size, metavar="SIZE",
                   help="prune: keep at most SIZE of responses, least recently used go first "
                        "(500MB, 2GB; K/M/G are powers of 1024)")
    k.add_argument("--cache-dir", type=Path, help="default $ASSISTANT_CACHE_DIR or "
                                                  "~/.cache/newsfact-assistant")
    k.set_defaults(handler=cache_command)


# -- argument types -----------------------------------------------------------------------
def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value!r}")
    return number


_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SIZES = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2,
          "mib": 1024**2, "g": 1024**3, "gb": 1024**3, "gib": 1024**3}


def _duration(value: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", value.lower())
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration (like 30d, 12h, 90m): {value!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def _size(value: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", value.lower())
    if not m or m.group(2) not in _SIZES:
        raise argparse.ArgumentTypeError(f"not a size (like 500MB, 2GB): {value!r}")
    return int(float(m.group(1)) * _SIZES[m.group(2)])


# -- handlers -----------------------------------------------------------------------------
def batch_command(args: argparse.Namespace) -> int:
    from assistant.backends import default_backend_name, get_backend
    from assistant.backends.budget import Budget, PriceTable
    from assistant.backends.cache import ResponseCache
    from assistant.batch import run_batch
    from assistant.errors import UserError

    name = args.backend or default_backend_name()
    kwargs: dict[str, Any] = {}
    if name == "openai":
        kwargs = {"timeout": args.timeout, "max_retries": args.max_retries}
        if args.structured_mode:
            kwargs["structured_mode"] = args.structured_mode
    elif args.batch_api:
        raise UserError("--batch-api needs the openai backend")
    backend: Any = get_backend(name, model=args.model, base_url=args.base_url, **kwargs)
    secrets = [k for k in (os.environ.get("OPENAI_API_KEY"),) if k]
    discount = 1.0
    if args.batch_api:
        from assistant.backends.batch_api import BatchApiBackend

        backend = BatchApiBackend(backend, poll_interval=args.poll_interval,
                                  journal=args.out.with_name(args.out.name + ".batches.jsonl"))
        discount = 0.5  # the Batch API's price
    budget = Budget(max_tokens=args.max_tokens, max_cost=args.max_cost)
    prices = PriceTable.load(args.prices)

    if args.estimate:
        return _estimate_only(args, backend, prices, discount)

    cache = None if args.no_cache else ResponseCache(
        args.cache_dir / "responses.sqlite" if args.cache_dir else None)
    try:
        summary = run_batch(
            args.input, args.out, backend=backend, task=args.task,
            concurrency=args.concurrency, cache=cache, budget=budget, prices=prices,
            retry_errors=args.retry_errors, progress=not args.no_progress, secrets=secrets,
            max_chars=args.max_chars, price_discount=discount, handle_signals=True,
            evidence=args.evidence,
            on_estimate=lambda e: print(f"assistant: {e.line()}", file=sys.stderr, flush=True))
    finally:
        if cache is not None:
            cache.close()
    print(f"assistant: {summary.line()}", file=sys.stderr)
    if summary.stop_kind == "interrupted":
        return EXIT_INTERRUPTED
    if summary.stop_kind is not None or summary.not_started:
        return EXIT_STOPPED
    return EXIT_SOME_ERRORS if summary.error else EXIT_OK


def _estimate_only(args: argparse.Namespace, backend: Any, prices: Any, discount: float) -> int:
    from assistant.batch import estimate, needs_run, read_inputs, read_results
    from assistant.steps.evidence import load_evidence

    inputs = read_inputs(args.input)
    done = read_results(args.out) if args.out.exists() else {}
    pending = [i for i in {i.id: i for i in inputs}.values()
               if needs_run(done.get(i.id), retry_errors=args.retry_errors)]
    shared = load_evidence(list(args.evidence), max_chars=args.max_chars).docs if args.evidence else []
    found = estimate(pending, backend, task=args.task, prices=prices, discount=discount,
                     max_chars=args.max_chars, evidence=shared)
    print(found.model_dump_json(indent=2))
    print(f"assistant: {found.line()}", file=sys.stderr)
    if len(pending) != len(inputs):
        print(f"assistant: {len(inputs) - len(pending)} input(s) already done in {args.out}",
              file=sys.stderr)
    return EXIT_OK


def cache_command(args: argparse.Namespace) -> int:
    from assistant.backends.cache import ResponseCache

    path = args.cache_dir / "responses.sqlite" if args.cache_dir else None
    with ResponseCache(path) as cache:
        if args.action == "prune":
            if args.older_than is None and args.max_size is None:
                print("assistant: error: cache prune needs --older-than and/or --max-size",
                      file=sys.stderr)
                return EXIT_USAGE
            result = cache.prune(max_age=args.older_than, max_bytes=args.max_size)
            print(f"removed {result.removed} response(s); {result.remaining} left "
                  f"({result.payload_bytes:,} bytes)")
        elif args.action == "clear":
            print(f"removed {cache.clear()} response(s)")
        else:
            stats = cache.stats()
            print(f"{stats.path}: {stats.entries} response(s), {stats.payload_bytes:,} bytes "
                  f"stored, {stats.file_bytes:,} bytes on disk")
    return EXIT_OK
