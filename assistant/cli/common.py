"""What the `assistant` commands share: exit codes, the argument parser class, the
backend and article options, ISO dates and atomic output files."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INPUT, EXIT_BACKEND, EXIT_OUTPUT = 0, 1, 2, 3, 4, 5


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, usage exit code
        self.exit(EXIT_USAGE, f"assistant: error: {message} (see --help)\n")


def parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {value!r}") from None


def add_backend(p: argparse.ArgumentParser, *, quiet: bool = True) -> argparse._ArgumentGroup:
    """The model options (`--backend`, `--model`, `--base-url`, `--timeout`,
    `--max-retries`) as a group the caller may extend, plus `-q/--quiet` unless the
    command has a progress switch of its own (`quiet=False`)."""
    g = p.add_argument_group("model")
    g.add_argument("--backend", choices=["openai", "embedded"],
                   help="default: openai when OPENAI_API_KEY/OPENAI_BASE_URL/ASSISTANT_BASE_URL "
                        "is set, else embedded")
    g.add_argument("--model", help="model name (openai) or GGUF path (embedded)")
    g.add_argument("--base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
    g.add_argument("--timeout", metavar="SECONDS",
                   help="seconds per HTTP attempt (default $ASSISTANT_TIMEOUT or 120)")
    g.add_argument("--max-retries", metavar="N",
                   help="re-sends per call after a transport or answer fault, honouring "
                        "Retry-After (default $ASSISTANT_MAX_RETRIES or 3)")
    if quiet:
        p.add_argument("-q", "--quiet", action="store_true",
                       help="no progress display on stderr (it is shown only on a terminal)")
    return g


def add_article(p: argparse.ArgumentParser) -> None:
    p.add_argument("article", help="article file (text, Markdown or HTML), or - for stdin")
    p.add_argument("--title")
    p.add_argument("--outlet")
    p.add_argument("--url")
    p.add_argument("--date", type=parse_date, help="publication date, YYYY-MM-DD")
    p.add_argument("--max-chars", type=int, default=300_000, help="refuse longer articles")


def write_output(text: str, output: str | None) -> None:
    if output:
        tmp = Path(output + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, output)
    else:
        sys.stdout.write(text)
