"""`assistant` command line: parse → call the library → print. Errors are one line.

Exit codes: 0 ok · 2 usage · 3 input · 4 backend · 5 output validation · 1 other error ·
130 interrupted; `batch` also exits 1 when some inputs ended as errors and 4 when it
stopped early (README: "Exit codes").
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from pathlib import Path
from typing import Any

from .errors import (
    AssistantError,
    BackendError,
    InputError,
    OutputValidationError,
    UserError,
)

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INPUT, EXIT_BACKEND, EXIT_OUTPUT = 0, 1, 2, 3, 4, 5


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, usage exit code
        self.exit(EXIT_USAGE, f"assistant: error: {message} (see --help)\n")


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {value!r}") from None


def _add_backend(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--backend", choices=["openai", "embedded"],
                   help="default: openai when OPENAI_API_KEY/OPENAI_BASE_URL is set, else embedded")
    g.add_argument("--model", help="model name (openai) or GGUF path (embedded)")
    g.add_argument("--base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
    g.add_argument("--timeout", metavar="SECONDS",
                   help="seconds per HTTP attempt (default $ASSISTANT_TIMEOUT or 120)")
    g.add_argument("--max-retries", metavar="N",
                   help="re-sends per call after a transport or answer fault, honouring "
                        "Retry-After (default $ASSISTANT_MAX_RETRIES or 3)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress display on stderr (it is shown only on a terminal)")


def _add_article(p: argparse.ArgumentParser) -> None:
    p.add_argument("article", help="article file (text, Markdown or HTML), or - for stdin")
    p.add_argument("--title")
    p.add_argument("--outlet")
    p.add_argument("--url")
    p.add_argument("--date", type=_date, help="publication date, YYYY-MM-DD")
    p.add_argument("--max-chars", type=int, default=300_000, help="refuse longer articles")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="assistant", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--debug", action="store_true", help="log details and show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, help_ in [("summarize", "structured summary"), ("claims", "check-worthy claims"),
                        ("questions", "claims plus verification questions"),
                        ("analyze", "summary, claims and questions in one run")]:
        p = sub.add_parser(name, help=help_)
        _add_article(p)
        _add_backend(p)
        p.add_argument("--format", choices=["json", "md"], default="md")
        p.add_argument("-o", "--output", help="write here instead of stdout")
        p.add_argument("--strict", action="store_true",
                       help="fail (exit 5) when a stage's model output never validates, instead "
                            "of falling back to the article's own sentences")
    m = sub.add_parser("model", help="the embedded model's weights")
    m.add_argument("action", choices=["path", "install"], help="print the GGUF path / assemble it")
    for module in _command_modules():
        module.register(sub)
    return parser


# Feature commands live in assistant/commands/<name>.py, each with
# `register(subparsers)` that adds its parsers and sets `handler=` on them via
# `set_defaults`; the handler takes the parsed args and returns an exit code.
COMMANDS = ("eval", "check", "brief", "batch", "calibrate", "doctor")


def _command_modules() -> list[Any]:
    import importlib
    import importlib.util

    return [importlib.import_module(f"assistant.commands.{name}") for name in COMMANDS
            if importlib.util.find_spec(f"assistant.commands.{name}") is not None]


def _write(text: str, output: str | None) -> None:
    if output:
        tmp = Path(output + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, output)
    else:
        sys.stdout.write(text)


def _run(args: argparse.Namespace) -> int:
    if (handler := getattr(args, "handler", None)) is not None:
        return int(handler(args))
    if args.command == "model":
        from .model_files import ensure_model

        print(ensure_model())
        return EXIT_OK

    from .api import Assistant
    from .intake import load_document, looks_english
    from .progress import Progress, watch
    from .render import to_markdown

    doc = load_document(args.article, title=args.title, outlet=args.outlet, url=args.url,
                        published=args.date, max_chars=args.max_chars)
    if not looks_english(doc.text):
        print("assistant: warning: the article does not look like English; results may be poor",
              file=sys.stderr)
    assistant = Assistant(args.backend, model=args.model, base_url=args.base_url,
                          timeout=args.timeout, max_retries=args.max_retries,
                          fallback=not args.strict)
    progress = Progress(sys.stderr, enabled=not args.quiet)
    assistant.backend = watch(assistant.backend, progress)
    progress.start(f"{args.command} of {len(doc.sentences)} sentences with "
                   f"{assistant.backend.name} ({assistant.backend.model})")
    result: Any
    try:
        if args.command == "summarize":
            result = assistant.summarize(doc)
        elif args.command == "claims":
            result = assistant.extract_claims(doc)
        elif args.command == "questions":
            result = assistant.verification_questions(doc)
        else:
            result = assistant.analyze(doc)
    finally:
        progress.stop()
    text = result.model_dump_json(indent=2) + "\n" if args.format == "json" else to_markdown(result)
    _write(text, args.output)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="assistant: %(levelname)s %(name)s: %(message)s")
    try:
        from .settings import resolve_args

        resolve_args(args)  # every setting checked once, before anything is read or sent
        return _run(args)
    except KeyboardInterrupt:
        print("assistant: interrupted", file=sys.stderr)
        return 130
    except AssistantError as exc:
        if args.debug:
            raise
        code = (EXIT_USAGE if isinstance(exc, UserError) else EXIT_INPUT if isinstance(exc, InputError)
                else EXIT_BACKEND if isinstance(exc, BackendError)
                else EXIT_OUTPUT if isinstance(exc, OutputValidationError) else EXIT_ERROR)
        print(f"assistant: error: {exc}", file=sys.stderr)
        return code
    except OSError as exc:
        if args.debug:
            raise
        print(f"assistant: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
