"""`assistant brief ARTICLE... [--evidence PATH...] [--format md|html|json] [-o FILE]`.

Progress goes to stderr while the model works, on a terminal only (`assistant.core.progress`):
the article, the stage (summary, claims, questions, fact-check), model calls so far and
the elapsed time.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from assistant.briefing import FORMATS, BriefProgress, to_html, to_json, to_markdown
from assistant.core.progress import Progress, watch


def register(subparsers: Any) -> None:
    from assistant.cli.common import add_backend

    p = subparsers.add_parser(
        "brief", help="briefing note from one or many articles on one event (md, html, json)",
        description="Merge articles on one event into a briefing note: bottom line, what is known, "
                    "claimed, disputed and unknown, what to check next, people, timeline and "
                    "sources; every statement cites the source sentence.")
    p.add_argument("articles", nargs="+", metavar="ARTICLE",
                   help="article files (text, Markdown or HTML); - reads one from stdin")
    p.add_argument("--evidence", nargs="+", action="extend", default=[], metavar="PATH",
                   help="evidence files or folders to fact-check the claims against")
    p.add_argument("--format", choices=FORMATS, default="md", help="output format (default: md)")
    p.add_argument("-o", "--output", help="write here instead of stdout")
    p.add_argument("--max-chars", type=int, default=300_000, help="refuse longer articles")
    add_backend(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from assistant.api import Assistant
    from assistant.backends import get_backend
    from assistant.cli.common import write_output
    from assistant.text.intake import load_document, looks_english

    # Read everything first: a bad path fails before minutes of model time.
    docs = [load_document(a, max_chars=args.max_chars) for a in args.articles]
    for d in docs:
        if not looks_english(d.text):
            print(f"assistant: warning: {d.source or d.title} does not look like English; "
                  "results may be poor", file=sys.stderr)
    progress = Progress(sys.stderr, enabled=not args.quiet)
    backend = get_backend(args.backend, model=args.model, base_url=args.base_url,
                          timeout=args.timeout, max_retries=args.max_retries)
    assistant = Assistant(watch(backend, progress))
    progress.start(f"briefing {len(docs)} article(s) with {backend.name} ({backend.model})")

    def stage(p: BriefProgress) -> None:
        if p.stage == "build":
            progress.set_where("all articles")
            progress.set_stage("building the briefing")
        else:
            label = p.label if len(p.label) <= 48 else p.label[:47] + "…"
            progress.set_where(f"[{p.article}/{p.articles}] {label}")

    try:
        briefing = assistant.brief(docs, evidence=args.evidence or None, progress=stage)
    finally:
        progress.stop(f"briefing of {len(docs)} article(s)"
                      + (f" → {args.output}" if args.output else ""))
    render = {"md": to_markdown, "html": to_html, "json": to_json}[args.format]
    write_output(render(briefing), args.output)
    return 0
