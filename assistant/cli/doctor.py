"""`assistant doctor [--verify-hash] [--format text|json]`: what is installed and configured.

Prints one line per check; exits 1 with one `problem:` line per problem found, else 0.
Loads no model and sends no request; the API key is reported as set or not set only.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "doctor", help="check the installation: runtime, CPU, model file, spaCy, endpoint",
        description="Report Python, platform, CPU features (AVX2, AVX-512, AMX), the embedded "
                    "runtime and its system info, the model file, threads, spaCy, HTML "
                    "extraction, installed extras and the configured endpoint (never the key).")
    p.add_argument("--verify-hash", action="store_true",
                   help="also hash the model file (about 5 s) instead of trusting its size")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from assistant.doctor import diagnose, render

    checks = diagnose(verify_hash=args.verify_hash)
    if args.format == "json":
        print(json.dumps([c.model_dump() for c in checks], indent=2))
    else:
        print(render(checks), end="")
    return 1 if any(c.problem for c in checks) else 0
