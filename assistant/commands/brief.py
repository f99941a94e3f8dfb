"""`assistant brief ARTICLE... [--evidence PATH...] [--format md|html|json] [-o FILE]`.

Progress goes to stderr while the model works: the article, the stage (summary, claims,
questions, fact-check), model calls so far and the elapsed time. On a terminal one line
is redrawn; otherwise each stage is printed once, so logs stay readable.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any, TextIO

from ..backends.base import Backend, ChatRequest, ChatResponse
from ..brief_render import FORMATS, to_html, to_json, to_markdown
from ..briefing import BriefProgress


def register(subparsers: Any) -> None:
    from ..cli import _add_backend

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
    p.add_argument("--quiet", action="store_true", help="no progress display")
    _add_backend(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..api import Assistant
    from ..backends import get_backend
    from ..cli import _write
    from ..intake import load_document, looks_english

    # Read everything first: a bad path fails before minutes of model time.
    docs = [load_document(a, max_chars=args.max_chars) for a in args.articles]
    for d in docs:
        if not looks_english(d.text):
            print(f"assistant: warning: {d.source or d.title} does not look like English; "
                  "results may be poor", file=sys.stderr)
    display = Progress(sys.stderr, live=sys.stderr.isatty(), enabled=not args.quiet)
    backend = get_backend(args.backend, model=args.model, base_url=args.base_url,
                          timeout=args.timeout, max_retries=args.max_retries)
    assistant = Assistant(_Watched(backend, display))
    display.start(f"{assistant.backend.name} ({assistant.backend.model})")
    try:
        briefing = assistant.brief(docs, evidence=args.evidence or None, progress=display.stage)
    finally:
        display.stop()
    render = {"md": to_markdown, "html": to_html, "json": to_json}[args.format]
    _write(render(briefing), args.output)
    display.done(len(docs), args.output)
    return 0


class _Watched:
    """The backend, reporting each model call to the progress display."""

    def __init__(self, inner: Backend, display: Progress) -> None:
        self.inner = inner
        self.display = display
        self.name, self.model, self.base_url = inner.name, inner.model, inner.base_url

    def complete(self, request: ChatRequest) -> ChatResponse:
        self.display.call(request)
        return self.inner.complete(request)

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        self.display.call(request)
        return await self.inner.acomplete(request)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


_SPIN = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_STEP_NAMES = {"summarize": "summary", "summary_reduce": "summary (merging chunks)",
               "claims": "claims", "questions": "verification questions"}


class Progress:
    """Which article and stage is running, and for how long (stderr)."""

    def __init__(self, out: TextIO, *, live: bool, enabled: bool = True) -> None:
        self.out, self.live, self.enabled = out, live, enabled
        self.started = time.monotonic()
        self.where = ""
        self.step = ""
        self.calls = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _elapsed(self) -> str:
        s = int(time.monotonic() - self.started)
        return f"{s // 60}:{s % 60:02d}"

    def start(self, model: str) -> None:
        if not self.enabled:
            return
        self.started = time.monotonic()
        print(f"assistant: briefing with {model}", file=self.out, flush=True)
        if self.live:
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()

    def stage(self, p: BriefProgress) -> None:
        with self._lock:
            if p.stage == "build":
                self.where, self.step = "all articles", "building the briefing"
            else:
                label = p.label if len(p.label) <= 48 else p.label[:47] + "…"
                self.where = f"[{p.article}/{p.articles}] {label}"
                self.step = "analysing" if p.stage == "analyze" else "fact-checking"
        self._print_step()

    def call(self, request: ChatRequest) -> None:
        names = [part.split("@")[0] for part in request.prompt.split("+") if part]
        step = next((_STEP_NAMES.get(n, n) for n in names if n not in ("article", "reask")), "")
        with self._lock:
            self.calls += 1
            changed = step and step != self.step
            if changed:
                self.step = step
        if changed:
            self._print_step()

    def _print_step(self) -> None:
        if self.enabled and not self.live:
            print(f"assistant: {self.where} · {self.step} · {self._elapsed()}", file=self.out, flush=True)

    def _line(self, spin: str) -> str:
        with self._lock:
            return f"{spin} {self.where} · {self.step} · {self.calls} model calls · {self._elapsed()}"

    def _tick(self) -> None:
        n = 0
        while not self._stop.wait(0.2):
            self.out.write("\r\033[K" + self._line(_SPIN[n % len(_SPIN)]))
            self.out.flush()
            n += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self.out.write("\r\033[K")
            self.out.flush()

    def done(self, articles: int, output: str | None) -> None:
        if self.enabled:
            where = f" → {output}" if output else ""
            print(f"assistant: briefing of {articles} article(s) in {self._elapsed()} "
                  f"({self.calls} model calls){where}", file=self.out, flush=True)
