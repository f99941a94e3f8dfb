"""The `assistant` command line: `main` parses, calls the library and prints.

One module per feature command (`eval`, `check`, `brief`, `batch`, `calibrate`, `doctor`),
each with `register(subparsers)`; `app` holds the parser and the core commands, `common`
what they share (exit codes, backend and article options, atomic output).
"""

from assistant.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
