"""The CI gate: committed floors per suite (evals/thresholds.toml) checked against a run."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, Field

from assistant.errors import UserError
from assistant.evals import paths
from assistant.evals.results import RunResult


class GateFailure(BaseModel):
    metric: str = Field(description="Metric name.")
    threshold: float = Field(description="The floor it had to reach.")
    value: float | None = Field(description="What the run measured (None = not measured).")

    def __str__(self) -> str:
        got = "not measured" if self.value is None else f"{self.value:.4f}"
        return f"{self.metric} = {got} < {self.threshold:g}"


def parse_threshold(text: str) -> tuple[str, float]:
    """'metric=value' -> (metric, value)."""
    name, sep, value = text.partition("=")
    try:
        if not sep or not name.strip():
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise UserError(f"--fail-under takes metric=value, got {text!r}") from None


def load_thresholds(suite: str, path: str | Path | None = None) -> dict[str, float]:
    """The `[suite]` table of a thresholds file ({} when the suite has none)."""
    file = Path(path) if path is not None else paths.thresholds_file()
    try:
        table = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"no thresholds file at {file}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{file}: {exc}") from None
    floors = table.get(suite, {})
    return {str(k): float(v) for k, v in floors.items()}


def check_gate(run: RunResult, floors: Mapping[str, float]) -> list[GateFailure]:
    """Metrics under their floor; an unknown metric name is the caller's mistake."""
    failures = []
    for name, floor in floors.items():
        m = run.metric(name)
        if m.mean is None or m.mean < floor - 1e-9:  # 0.8 may be stored as 0.7999...
            failures.append(GateFailure(metric=name, threshold=floor, value=m.mean))
    return failures
