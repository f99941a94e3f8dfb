"""Run a suite: each item through the assistant, then every scorer over the outputs.

The backend the assistant talks to is wrapped in a `Meter` (cost and schema validity per
item). With a `CassetteBackend` underneath, each item's exchanges are grouped under its id
and the cassette is saved after every item, so a long recording that is interrupted keeps
what it finished. A replay miss does not stop the run at the first item: all items are
tried, then one `CassetteMiss` lists every miss and what changed.
"""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, JsonValue

from assistant.api import Assistant
from assistant.backends.base import Backend
from assistant.core.prompts import load_prompt
from assistant.errors import AssistantError, PromptError
from assistant.evals import paths, scorers
from assistant.evals.bootstrap import RESAMPLES
from assistant.evals.cassette import CassetteBackend, CassetteMiss, Miss
from assistant.evals.direct import DirectRun
from assistant.evals.items import ArticleItem, EvidenceItem, PairItem, SentenceItem
from assistant.evals.meter import Meter
from assistant.evals.results import Exchanges, ItemRecord, RunProvenance, RunResult, unavailable
from assistant.evals.suites import Suite
from assistant.schemas import PromptRef
from assistant.steps.options import Options
from assistant.text.intake import document_from_text

Progress = Callable[[int, int, ItemRecord], None]

CHECK_APIS = {"check_summary": "check_summary", "fact_check": "fact_check"}


def git_state(cwd: Path | None = None) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the repository at `cwd`, or (None, None) without git."""
    cwd = cwd or paths.project_root()
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                                capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return head or None, bool(status.strip())


def _jsonable(value: Any) -> JsonValue:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _parameters(refs: Sequence[PromptRef], options: Options) -> dict[str, dict[str, JsonValue]]:
    out: dict[str, dict[str, JsonValue]] = {}
    for ref in refs:
        try:
            out[ref.name] = {k: _jsonable(v) for k, v in load_prompt(ref.name, options.prompts_dir).parameters.items()}
        except PromptError:
            out[ref.name] = {}
    return out


def _version() -> str:
    try:
        return metadata.version("newsfact-assistant")
    except metadata.PackageNotFoundError:
        return ""


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# --------------------------------------------------------------------------- checkers


def checker_api(task: str) -> str | None:
    """Why the fact-check API a check suite needs is missing, or None when it is there."""
    method = CHECK_APIS.get(task)
    if method and not hasattr(Assistant, method):
        return f"the fact-check API is not available yet (Assistant.{method} is missing)"
    return None


_POSITIVE = frozenset({"supported", "supports", "consistent"})
_NEGATIVE = frozenset({"not_supported", "refuted", "refutes", "inconsistent"})


def verdict_of(report: Any, task: str) -> tuple[int | None, str]:
    """1 (consistent / supported), 0 (not), or None (not enough evidence, conflicting)."""
    if task == "check_summary":
        value = getattr(report, "label", None)
        score = getattr(report, "score", None)
        why = f"label {getattr(value, 'value', value)}" + (f", score {score:.2f}" if score is not None else "")
    else:
        verdicts = getattr(report, "verdicts", None) or [None]
        value = getattr(verdicts[0], "verdict", None)
        why = f"verdict {getattr(value, 'value', value)}"
    text = str(getattr(value, "value", value))
    return (1 if text in _POSITIVE else 0 if text in _NEGATIVE else None), why


def _check(assistant: Assistant, item: PairItem, task: str,
           refs: dict[tuple[str, str], PromptRef]) -> tuple[int | None, str, JsonValue]:
    premise = document_from_text(item.premise, name=item.id)
    report: Any
    if task == "check_summary":
        report = assistant.check_summary(premise, item.hypothesis)
    else:
        report = assistant.fact_check([item.hypothesis], evidence=[premise])
    prediction, why = verdict_of(report, task)
    for ref in getattr(getattr(report, "provenance", None), "prompts", None) or []:
        refs.setdefault((ref.name, ref.hash), ref)
    dumped = report.model_dump(mode="json", exclude={"provenance"}) if isinstance(report, BaseModel) \
        else str(report)
    return prediction, why, dumped


# --------------------------------------------------------------------------- run


def run_suite(suite: Suite, backend: Backend, *, options: Options | None = None,
              resamples: int = RESAMPLES, seed: int = 0, progress: Progress | None = None,
              command: Sequence[str] = (), rerecord: str | None = None) -> RunResult:
    """Run every item of `suite` through the assistant on `backend` and score the outputs.

    Raises `CassetteMiss` (listing every miss) when `backend` is a replaying cassette that
    lacks an exchange; other per-item failures are recorded on the item and scored.
    """
    started_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    started = time.perf_counter()
    cassette = backend if isinstance(backend, CassetteBackend) else None
    meter = Meter(backend)
    assistant = Assistant(meter, options=options) if options else Assistant(meter)
    commit, dirty = git_state()
    prov = RunProvenance(
        git_commit=commit, git_dirty=dirty, backend=backend.name, model=backend.model,
        base_url=backend.base_url, options=assistant.options.flat(),
        resamples=resamples, seed=seed, command=list(command), package_version=_version(),
        python=platform.python_version(), started_at=started_at,
        cassette=Exchanges(path=str(cassette.path) if cassette else None,
                           mode=cassette.mode if cassette else "live"))
    result = RunResult(suite=suite.name, task=suite.task, source=suite.source,
                       items_total=suite.total or len(suite.items), provenance=prov, metrics=[], items=[])

    if (missing := checker_api(suite.task)) is not None:
        result.note = missing
        result.metrics = [unavailable("balanced_accuracy", "checker balanced accuracy against "
                                      "human labels", missing, statistic="balanced_accuracy")]
        return result

    if suite.evaluate is not None:  # scored as a whole (clef, averitec): see evals.direct
        result.metrics, result.items = suite.evaluate(DirectRun(
            items=suite.items, backend=meter, options=options, resamples=resamples, seed=seed))
        prov.duration_s = round(time.perf_counter() - started, 3)
        return result

    misses: list[Miss] = []
    refs: dict[tuple[str, str], PromptRef] = {}
    article_runs: list[scorers.ArticleRun] = []
    pair_runs: list[scorers.PairRun] = []
    for n, item in enumerate(suite.items, 1):
        if isinstance(item, SentenceItem | EvidenceItem):  # only suites with an evaluator have these
            continue
        if cassette is not None:
            cassette.begin_item(item.id)
        meter.reset()
        record = ItemRecord(id=item.id, title=item.title, gold=item.gold, references=item.references) \
            if isinstance(item, ArticleItem) else ItemRecord(id=item.id, title=item.hypothesis[:80])
        t0 = time.perf_counter()
        try:
            if isinstance(item, ArticleItem):
                doc = item.document()
                try:
                    record.analysis = assistant.analyze(doc)
                except CassetteMiss:
                    raise
                except AssistantError as exc:
                    record.error = _one_line(exc)
                record.wall_s = round(time.perf_counter() - t0, 3)
                article_runs.append(scorers.ArticleRun(item=item, document=doc, analysis=record.analysis,
                                                       calls=meter.calls, wall_s=record.wall_s,
                                                       error=record.error))
            else:
                prediction, why = None, ""
                try:
                    prediction, why, record.output = _check(assistant, item, suite.task, refs)
                except CassetteMiss:
                    raise
                except AssistantError as exc:
                    record.error = _one_line(exc)
                record.wall_s = round(time.perf_counter() - t0, 3)
                pair_runs.append(scorers.PairRun(item=item, prediction=prediction, calls=meter.calls,
                                                 wall_s=record.wall_s, error=record.error, detail=why))
        except CassetteMiss as miss:
            misses += miss.misses
            record.error = f"replay miss: {miss.misses[0]}"
        finally:
            if cassette is not None:
                cassette.end_item()
        result.items.append(record)
        if progress is not None:
            progress(n, len(suite.items), record)
    if misses:
        raise CassetteMiss(misses, rerecord=rerecord)

    for r in result.items:
        for ref in (r.analysis.provenance.prompts if r.analysis else []):
            refs.setdefault((ref.name, ref.hash), ref)
    prov.prompts = sorted(refs.values(), key=lambda p: p.name)
    prov.prompt_parameters = _parameters(prov.prompts, assistant.options)
    if cassette is not None:
        prov.cassette.hits, prov.cassette.recorded = cassette.hits, cassette.recorded

    result.metrics = suite.score(scorers.Runs(articles=article_runs, pairs=pair_runs),
                                 resamples=resamples, seed=seed)
    prov.duration_s = round(time.perf_counter() - started, 3)
    return result
