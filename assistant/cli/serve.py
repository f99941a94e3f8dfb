"""`assistant serve`: any backend as an OpenAI-compatible HTTP server.

    assistant serve                                  # the embedded model on 127.0.0.1:8000
    assistant serve --port 0 --name local-qwen       # a free port; clients say model=local-qwen
    assistant serve --backend openai --base-url http://gpu-box:8000/v1 --model big-llm

Then point any OpenAI-compatible client at it, this project's included:

    assistant check-summary article.txt summary.txt --backend openai \\
        --base-url http://127.0.0.1:8000/v1 --model qwen2.5-coder-1.5b-instruct-q4_k_m

It listens on loopback unless `--host` says otherwise; `--api-key` (or
`$ASSISTANT_SERVE_API_KEY`) makes clients send `Authorization: Bearer KEY`. The first
line on stderr names the URL and the model; Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

ENV_SERVE_KEY = "ASSISTANT_SERVE_API_KEY"


def register(subparsers: Any) -> None:
    from assistant.cli.common import add_backend

    p = subparsers.add_parser("serve", help="serve a backend over OpenAI-compatible HTTP",
                              description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--name", metavar="MODEL",
                   help="model name the server lists and requests use (default: the backend's "
                        "model name; the GGUF file stem for the embedded model)")
    p.add_argument("--api-key", metavar="KEY",
                   help=f"require this bearer key from clients (default ${ENV_SERVE_KEY}; none)")
    p.add_argument("--load", action="store_true",
                   help="load the model before listening (else on the first request)")
    add_backend(p, quiet=False)
    p.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from assistant.backends import get_backend
    from assistant.backends.server import LOOPBACK, make_server
    from assistant.errors import UserError

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be between 0 and 65535, got {args.port}")
    backend = get_backend(args.backend, model=args.model, base_url=args.base_url,
                          timeout=args.timeout, max_retries=args.max_retries)
    key = args.api_key or os.environ.get(ENV_SERVE_KEY) or None
    if args.load and callable(load := getattr(backend, "load", None)):
        load()
    server = make_server(backend, args.host, args.port, model_name=args.name, api_key=key)
    if args.host not in LOOPBACK:
        print(f"assistant: warning: listening on {args.host}, reachable from other machines"
              + ("" if key else "; no --api-key is set"), file=sys.stderr)
    print(f"assistant: serving {server.model_name} ({backend.name}) at {server.url}"
          + (" (bearer key required)" if key else ""), file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print(f"assistant: stopped after {server.requests_served} completions", file=sys.stderr)
    finally:
        server.server_close()
        if callable(close := getattr(backend, "close", None)):
            close()
    return 0
