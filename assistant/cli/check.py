"""`assistant check-summary ARTICLE SUMMARY` and `assistant check ARTICLE --evidence PATH...`.

check-summary: is every sentence of a summary (a file, or - for stdin) supported by the
article? `--checks-only` runs the deterministic checks alone (no model, offline, fast).
check: verdicts on the article's claims (or on `--claim` texts) against evidence files
or folders; `--cove` adds the model's own, unverified, answers to its questions.
Exit code 0 whatever the verdicts: a report is a result, not a failure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    from assistant.cli.common import add_article, add_backend

    p = subparsers.add_parser(
        "check-summary", help="is a summary faithful to its article? (per-sentence labels)",
        description="Label each summary sentence supported / not supported by the article, "
                    "with the supporting sentence ids, an error type, and number, entity, "
                    "date and quote mismatches (both spans).")
    add_article(p)
    p.add_argument("summary", help="summary file (plain text), or - for stdin")
    p.add_argument("--checks-only", action="store_true",
                   help="deterministic checks only: no model, offline, fast")
    p.add_argument("--format", choices=["json", "md"], default="md")
    p.add_argument("-o", "--output", help="write here instead of stdout")
    add_backend(p)
    p.set_defaults(handler=run_check_summary)

    c = subparsers.add_parser(
        "check", help="verdicts on an article's claims against evidence documents",
        description="Extract the article's claims (or take --claim texts), retrieve evidence "
                    "sentences for each with BM25, and give a verdict: supported, refuted, "
                    "not enough evidence or conflicting, with exact evidence quotes.")
    c.add_argument("article", nargs="?",
                   help="article file (text, Markdown or HTML), or - for stdin; "
                        "leave out with --claim")
    c.add_argument("--evidence", nargs="+", action="extend", default=[], metavar="PATH",
                   required=True, help="evidence files or folders")
    c.add_argument("--claim", action="append", default=[], metavar="TEXT",
                   help="check this claim instead of the article's (repeatable)")
    c.add_argument("--date", type=_date, help="publication date (YYYY-MM-DD) the claims are anchored to")
    c.add_argument("--cove", action="store_true",
                   help="also ask the model its own answers (labelled unverified, never evidence)")
    c.add_argument("--top-k", type=int, default=3, help="evidence sentences judged per claim")
    c.add_argument("--verdict", choices=["calibrated", "stance"],
                   help="calibrated: two yes/no probabilities per claim and the checks, combined by the "
                        "model's verdict profile; stance: a stance label per evidence sentence "
                        "(default: the fact_check.verdict option)")
    c.add_argument("--max-chars", type=int, default=300_000, help="refuse longer articles")
    c.add_argument("--format", choices=["json", "md"], default="md")
    c.add_argument("-o", "--output", help="write here instead of stdout")
    add_backend(c)
    c.set_defaults(handler=run_check)


def _date(value: str) -> Any:
    from assistant.cli.common import parse_date as parse

    return parse(value)


def _read_summary(source: str) -> str:
    from assistant.errors import InputError

    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror or err}") from None


def _assistant(args: argparse.Namespace) -> Any:
    from assistant.api import Assistant

    return Assistant(args.backend, model=args.model, base_url=args.base_url,
                     timeout=args.timeout, max_retries=args.max_retries)


def _progress(assistant: Any, args: argparse.Namespace, what: str) -> Any:
    """A progress display on stderr wired to `assistant`'s backend (off with --quiet)."""
    from assistant.core.progress import Progress, watch

    progress = Progress(sys.stderr, enabled=not args.quiet and not getattr(args, "checks_only", False))
    assistant.backend = watch(assistant.backend, progress)
    progress.start(f"{what} with {assistant.backend.name} ({assistant.backend.model})")
    return progress


def run_check_summary(args: argparse.Namespace) -> int:
    from assistant.api import Assistant
    from assistant.backends import FakeBackend
    from assistant.cli.common import write_output
    from assistant.render.factcheck import faithfulness_md
    from assistant.text.intake import load_document

    if args.article == "-" and args.summary == "-":
        from assistant.errors import UserError

        raise UserError("only one of ARTICLE and SUMMARY can be read from stdin")
    doc = load_document(args.article, title=args.title, outlet=args.outlet, url=args.url,
                        published=args.date, max_chars=args.max_chars)
    summary = _read_summary(args.summary)
    # --checks-only never touches a model, so it needs none installed.
    assistant = Assistant(FakeBackend()) if args.checks_only else _assistant(args)
    with _progress(assistant, args, f"checking a summary against {len(doc.sentences)} sentences"):
        report = assistant.check_summary(doc, summary, use_model=not args.checks_only)
    write_output(report.model_dump_json(indent=2) + "\n" if args.format == "json"
           else faithfulness_md(report), args.output)
    return 0


def run_check(args: argparse.Namespace) -> int:
    from assistant.cli.common import write_output
    from assistant.errors import UserError
    from assistant.render.factcheck import factcheck_md
    from assistant.steps.evidence import load_evidence
    from assistant.text.intake import load_document

    if bool(args.article) == bool(args.claim):
        raise UserError("give an ARTICLE or --claim texts (not both)")
    if args.top_k < 1:
        raise UserError("--top-k must be at least 1")
    target: Any = args.claim or load_document(args.article, published=args.date,
                                              max_chars=args.max_chars)
    # fact_check reads the evidence before any model call: a bad path fails fast.
    # Evidence before the backend: a bad evidence path fails fast, whatever is installed.
    evidence = load_evidence(args.evidence)
    assistant = _assistant(args)
    if args.verdict:
        assistant.options = assistant.options.replace(fact_check={"verdict": args.verdict})
    with _progress(assistant, args, "fact-checking against the evidence"):
        report = assistant.fact_check(target, evidence, cove=args.cove,
                                      top_k=args.top_k, published=args.date)
    write_output(report.model_dump_json(indent=2) + "\n" if args.format == "json"
           else factcheck_md(report), args.output)
    return 0
