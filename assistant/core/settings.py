"""Run settings (timeout, retries, concurrency, size and budget caps), validated once.

Each setting comes from a CLI flag, else its environment variable, else the default:

    --timeout       ASSISTANT_TIMEOUT       seconds per HTTP attempt           120
    --max-retries   ASSISTANT_MAX_RETRIES   re-sends per call after a fault      3
    --concurrency   ASSISTANT_CONCURRENCY   articles/requests in flight (batch)  8
    --max-chars                             refuse longer articles         300000
    --max-cost, --max-tokens                hard caps on a batch run's spend    none

`Settings` checks them all at once; a value that cannot work (a timeout of 0, a negative
retry count, a cost of NaN, a concurrency of "abc") is a `UserError` naming the flag or
variable it came from, before anything is read, estimated or sent. The library reads the
same variables through `env_timeout()` and friends, so the CLI, the API and every command
agree on one set of defaults and one set of rules.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import UserError

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_CHARS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "ENV",
    "Settings",
    "check_max_retries",
    "check_timeout",
    "env_concurrency",
    "env_max_retries",
    "env_timeout",
    "resolve_args",
]

DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_CONCURRENCY = 8
DEFAULT_MAX_CHARS = 300_000

# setting -> environment variable that supplies it when no flag does
ENV = {"timeout": "ASSISTANT_TIMEOUT", "max_retries": "ASSISTANT_MAX_RETRIES",
       "concurrency": "ASSISTANT_CONCURRENCY"}
_DEFAULTS: dict[str, Any] = {"timeout": DEFAULT_TIMEOUT, "max_retries": DEFAULT_MAX_RETRIES,
                             "concurrency": DEFAULT_CONCURRENCY, "max_chars": DEFAULT_MAX_CHARS}


class Settings(BaseModel):
    """Every setting that can make a run impossible, each with the range that can work."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout: float = Field(DEFAULT_TIMEOUT, gt=0, allow_inf_nan=False,
                           description="Seconds per HTTP attempt.")
    max_retries: int = Field(DEFAULT_MAX_RETRIES, ge=0, le=100,
                             description="Re-sends per call after a transport or answer fault.")
    concurrency: int = Field(DEFAULT_CONCURRENCY, ge=1, le=10_000,
                             description="Articles and requests in flight in a batch.")
    max_chars: int = Field(DEFAULT_MAX_CHARS, ge=1, description="Longest article accepted.")
    max_cost: float | None = Field(None, gt=0, allow_inf_nan=False,
                                   description="Hard cap on USD for a batch run.")
    max_tokens: int | None = Field(None, ge=1, description="Hard cap on tokens for a batch run.")

    @classmethod
    def of(cls, values: dict[str, Any], sources: dict[str, str] | None = None) -> Settings:
        """Validate `values`; the first bad one is a one-line `UserError` naming its source
        (`sources` maps a setting to the flag or variable it came from)."""
        try:
            return cls(**values)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            name = str(err["loc"][0]) if err["loc"] else ""
            source = (sources or {}).get(name, name)
            raise UserError(_message(source, err["msg"], values.get(name))) from None

    @property
    def attempts(self) -> int:
        """Requests a call may send when every one of them fails: 1 + max_retries."""
        return 1 + self.max_retries


def _message(source: str, msg: str, value: Any) -> str:
    msg = msg.replace("Input should be", "must be").replace("Value error, ", "")
    return f"{source} {msg} (got {str(value)!r})"


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _from_env(name: str) -> Any:
    """The environment's value for setting `name`, validated, or its default."""
    var = ENV[name]
    raw = os.environ.get(var, "").strip()
    if not raw:
        return _DEFAULTS[name]
    return getattr(Settings.of({name: raw}, {name: var}), name)


def env_timeout() -> float:
    """`$ASSISTANT_TIMEOUT`, validated, else 120 seconds."""
    return float(_from_env("timeout"))


def env_max_retries() -> int:
    """`$ASSISTANT_MAX_RETRIES`, validated, else 3."""
    return int(_from_env("max_retries"))


def env_concurrency() -> int:
    """`$ASSISTANT_CONCURRENCY`, validated, else 8."""
    return int(_from_env("concurrency"))


def check_timeout(value: float) -> float:
    return Settings.of({"timeout": value}, {"timeout": "timeout"}).timeout


def check_max_retries(value: int) -> int:
    return Settings.of({"max_retries": value}, {"max_retries": "max_retries"}).max_retries


def resolve_args(args: argparse.Namespace) -> Settings | None:
    """Fill in and validate the settings a parsed command line carries.

    A flag left unset (None) takes its environment variable, else the default; the
    validated values are written back onto `args`. Commands without any of these flags
    get None and are left alone.
    """
    names = [n for n in Settings.model_fields if hasattr(args, n)]
    if not names:
        return None
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in names:
        given = getattr(args, name)
        if given is not None:
            values[name], sources[name] = given, _flag(name)
        elif name in ENV and os.environ.get(ENV[name], "").strip():
            values[name], sources[name] = os.environ[ENV[name]].strip(), ENV[name]
    settings = Settings.of(values, sources)
    for name in names:
        setattr(args, name, getattr(settings, name))
    return settings
