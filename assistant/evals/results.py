"""What an eval run produces: per-item scores, metrics with intervals, and the run record.

`RunResult` is what `results.json` holds; `assistant.evals.report` renders it and `assistant.evals.compare`
diffs two of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, JsonValue

from assistant.errors import UserError
from assistant.evals.bootstrap import (
    LEVEL,
    RESAMPLES,
    average_precision,
    balanced_accuracy,
    bootstrap_ci,
    mean,
)
from assistant.evals.items import Gold
from assistant.schemas import Analysis, PromptRef

Statistic = Literal["mean", "balanced_accuracy", "average_precision"]
Unit = Literal["rate", "score", "count", "tokens", "seconds"]
RESULTS_VERSION = 1


class ItemScore(BaseModel):
    item_id: str = Field(description="Eval item.")
    value: float | None = Field(description="The item's value; None = not applicable to it.")
    label: int | None = Field(None, description="Human label (balanced accuracy).")
    prediction: int | None = Field(None, description="Predicted label (balanced accuracy).")
    group: str | None = Field(None, description="Bootstrap unit shared with other items.")
    detail: str = Field("", description="Why: what matched, what was missing.")


class MetricResult(BaseModel):
    name: str = Field(description="Metric name, as used by --fail-under.")
    description: str = Field(description="What is measured, and the rule.")
    statistic: Statistic = Field("mean", description="How per-item values combine.")
    unit: Unit = Field("rate", description="rate (0..1), score, count, tokens or seconds.")
    higher_is_better: bool = Field(True, description="Direction of improvement.")
    mean: float | None = Field(None, description="Value of the statistic over all items.")
    ci_low: float | None = Field(None, description="Bootstrap interval, lower bound.")
    ci_high: float | None = Field(None, description="Bootstrap interval, upper bound.")
    n: int = Field(0, description="Items the metric applies to.")
    per_item: list[ItemScore] = Field(default_factory=list, description="Per-item breakdown.")
    available: bool = Field(True, description="False when it could not be measured.")
    note: str = Field("", description="Why it is unavailable, or a caveat.")


def statistic_of(kind: Statistic, scores: Sequence[ItemScore]) -> float | None:
    if kind == "balanced_accuracy":  # no prediction (abstained, failed) counts as wrong
        return balanced_accuracy([(s.label, s.prediction if s.prediction is not None else 1 - s.label)
                                  for s in scores if s.label is not None])
    if kind == "average_precision":  # value is the item's score, ranked against its label
        return average_precision([(s.label, s.value) for s in scores
                                  if s.label is not None and s.value is not None])
    return mean([s.value for s in scores if s.value is not None])


def aggregate(name: str, description: str, scores: Sequence[ItemScore], *,
              statistic: Statistic = "mean", unit: Unit = "rate", higher_is_better: bool = True,
              resamples: int = RESAMPLES, seed: int = 0, note: str = "") -> MetricResult:
    """Statistic, bootstrap interval (group-aware when items carry groups) and breakdown."""
    used = [s for s in scores if s.value is not None]
    groups = [s.group for s in used] if any(s.group for s in used) else None
    ci = bootstrap_ci(used, lambda sample: statistic_of(statistic, sample), groups=groups,
                      resamples=resamples, level=LEVEL, seed=seed)
    return MetricResult(name=name, description=description, statistic=statistic, unit=unit,
                        higher_is_better=higher_is_better, mean=statistic_of(statistic, used),
                        ci_low=ci[0] if ci else None, ci_high=ci[1] if ci else None,
                        n=len(used), per_item=list(scores), note=note)


def unavailable(name: str, description: str, note: str, *, statistic: Statistic = "mean",
                unit: Unit = "rate") -> MetricResult:
    return MetricResult(name=name, description=description, statistic=statistic, unit=unit,
                        available=False, note=note)


class ItemRecord(BaseModel):
    id: str = Field(description="Eval item.")
    title: str | None = Field(None, description="Article title or a short label.")
    error: str | None = Field(None, description="One line when the task failed on this item.")
    wall_s: float = Field(0.0, description="Wall time of the task on this item.")
    analysis: Analysis | None = Field(None, description="Output of analyze suites.")
    gold: Gold | None = Field(None, description="Gold annotations (fixtures), for the drill-down.")
    references: list[str] = Field(default_factory=list, description="Human summaries (wikinews).")
    output: JsonValue = Field(None, description="Output of check suites, as JSON.")


class Exchanges(BaseModel):
    """Cassette bookkeeping for the run."""

    path: str | None = Field(None, description="Cassette file.")
    mode: str = Field("live", description="live, record, replay or fill.")
    hits: int = Field(0, description="Requests answered from the cassette.")
    recorded: int = Field(0, description="Requests sent to the model and recorded.")


class RunProvenance(BaseModel):
    git_commit: str | None = Field(None, description="`git rev-parse HEAD`, if available.")
    git_dirty: bool | None = Field(None, description="Uncommitted changes in the work tree.")
    backend: str = Field(description="Backend name.")
    model: str = Field(description="Model name.")
    base_url: str | None = Field(None, description="Endpoint of HTTP backends.")
    prompts: list[PromptRef] = Field(default_factory=list, description="Templates used.")
    prompt_parameters: dict[str, dict[str, JsonValue]] = Field(
        default_factory=dict, description="Template name -> front-matter parameters.")
    options: dict[str, JsonValue] = Field(default_factory=dict, description="assistant.Options.")
    cassette: Exchanges = Field(default_factory=lambda: Exchanges(), description="Record/replay.")
    resamples: int = Field(RESAMPLES, description="Bootstrap resamples.")
    seed: int = Field(0, description="Bootstrap seed.")
    command: list[str] = Field(default_factory=list, description="argv of the run.")
    package_version: str = Field("", description="newsfact-assistant version.")
    python: str = Field("", description="Python version.")
    started_at: str = Field("", description="UTC start time.")
    duration_s: float = Field(0.0, description="Wall time of the run.")


class RunResult(BaseModel):
    version: int = Field(RESULTS_VERSION, description="results.json format version.")
    suite: str = Field(description="Suite name.")
    task: str = Field(description="analyze, check_summary or fact_check.")
    source: str = Field("", description="Where the items came from.")
    items_total: int = Field(0, description="Items in the suite before selection.")
    provenance: RunProvenance = Field(description="Everything needed to reproduce the run.")
    metrics: list[MetricResult] = Field(description="Metric results, in report order.")
    items: list[ItemRecord] = Field(description="Per-item outputs.")
    note: str = Field("", description="Caveat for the whole run (e.g. not available).")

    def metric(self, name: str) -> MetricResult:
        for m in self.metrics:
            if m.name == name:
                return m
        raise UserError(f"run of suite {self.suite!r} has no metric {name!r}; it has: "
                        f"{', '.join(m.name for m in self.metrics)}")


def load_results(path: str | Path) -> RunResult:
    """A run from its results.json, or from the run directory holding one."""
    file = Path(path)
    if file.is_dir():
        file = file / "results.json"
    if not file.is_file():
        raise UserError(f"no results.json at {path}")
    try:
        return RunResult.model_validate_json(file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UserError(f"{file} is not an eval results file: {str(exc).splitlines()[0]}") from None
