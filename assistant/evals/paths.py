"""Where the eval harness finds its files.

The harness code is part of the package; its data is not. The project's `evals/` folder
(fixture articles, gold annotations, committed cassettes, thresholds) lives at the top of
a source checkout, and external development data next to it in `../shared/data`. An
installed wheel has neither, so both are looked up, in order:

- `evals/`: `$ASSISTANT_EVALS_DIR`; the checkout this package was imported from (an
  editable install); the current directory or one above it that holds
  `evals/thresholds.toml`; else `./evals` (absent: the suites say so).
- external data: `$ASSISTANT_EVAL_DATA`, else `shared/data` beside the project root.

A folder that is not found is reported by the suite that needs it, as a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_EVALS_DIR = "ASSISTANT_EVALS_DIR"
ENV_EVAL_DATA = "ASSISTANT_EVAL_DATA"
_MARKER = "thresholds.toml"
_CHECKOUT = Path(__file__).resolve().parents[2]


def evals_dir() -> Path:
    """The project's `evals/` data folder (it may not exist: callers report that)."""
    if env := os.environ.get(ENV_EVALS_DIR):
        return Path(env)
    cwd = Path.cwd()
    for base in (_CHECKOUT, cwd, *cwd.parents):
        if (base / "evals" / _MARKER).is_file():
            return base / "evals"
    return cwd / "evals"  # not found: relative to where the harness runs, never site-packages


def project_root() -> Path:
    """The folder that holds `evals/`: the repository root of a checkout."""
    return evals_dir().parent


def data_dir() -> Path:
    """External development data: `$ASSISTANT_EVAL_DATA`, else `../shared/data`."""
    if env := os.environ.get(ENV_EVAL_DATA):
        return Path(env)
    return project_root().parent / "shared" / "data"


def committed_cassettes() -> Path:
    return evals_dir() / "cassettes"


def local_cassettes() -> Path:
    """Cassettes of external suites: outside the committed tree (they quote external data)."""
    return project_root() / "eval-runs" / "cassettes"


def thresholds_file() -> Path:
    return evals_dir() / _MARKER


def fixtures_dir() -> Path:
    return evals_dir() / "fixtures" / "articles"


def seed_gold() -> Path:
    return evals_dir() / "gold" / "seed.toml"
