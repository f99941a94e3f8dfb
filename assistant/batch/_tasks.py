"""What a batch run does per article: the tasks, the calls each will make (planned by
running the task's own code against a `pipeline.Planner`), and the end-of-run step of
`brief` (one briefing over every finished article)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assistant.api import AsyncAssistant
from assistant.core.driver import PlannedCall, Planner, plan_calls
from assistant.errors import InputError, UserError
from assistant.schemas import Analysis, Document, FactCheckReport


@dataclass(frozen=True)
class TaskInput:
    """One article as a task sees it."""

    doc: Document
    name: str
    evidence: list[Document] = field(default_factory=list)


Runner = Callable[[AsyncAssistant, TaskInput], Coroutine[Any, Any, BaseModel]]
# (results path, [(input name, document, result)] of the ok inputs, evidence) -> files written
Finisher = Callable[[Path, list[tuple[str, Document, dict[str, Any]]], list[Document]],
                    list[Path]]


@dataclass(frozen=True)
class Task:
    """A per-article operation. `run` produces the result (and, run against a Planner,
    lays out its calls: `plan`); `finish`, if any, runs once every input is finished."""

    name: str
    run: Runner
    finish: Finisher | None = None
    description: str = ""


# --------------------------------------------------------------------------- plans


def plan(task: Task, a: AsyncAssistant, t: TaskInput) -> list[PlannedCall]:
    """The calls `task` makes on `t` (first attempts, each with its attempt limit), laid
    out by the task's own code with no model call: chunks, map-reduce, questions per
    chunk with claims, fact-check verdicts per claim and evidence hit. An input the task
    refuses (no news, no evidence) raises as the run would, before any call."""
    planner = Planner(a.backend)
    plan_calls(task.run(AsyncAssistant(planner, options=a.options), t))
    return planner.calls


# --------------------------------------------------------------------------- check, brief


def _need_evidence(t: TaskInput) -> list[Document]:
    if not t.evidence:
        raise InputError(f"{t.name}: no evidence to check against; pass --evidence, or an "
                         "'evidence' list (paths or texts) in the JSONL line")
    return t.evidence


async def _check(a: AsyncAssistant, t: TaskInput) -> FactCheckReport:
    # `fact_check` reads paths and texts itself; Documents pass through as they are.
    return await a.fact_check(t.doc, list(_need_evidence(t)), published=t.doc.published)


class BriefItem(BaseModel):
    """One article's share of a briefing."""

    analysis: Analysis = Field(description="The article's analysis.")
    fact_check: FactCheckReport | None = Field(None, description="Its claims against the evidence.")


async def _brief_item(a: AsyncAssistant, t: TaskInput) -> BriefItem:
    found = await a.analyze(t.doc)
    report = None
    if t.evidence:
        report = await a.fact_check(found.claims, list(t.evidence), published=t.doc.published)
    return BriefItem(analysis=found, fact_check=report)


def _write_briefing(out: Path, done: list[tuple[str, Document, dict[str, Any]]],
                    evidence: list[Document]) -> list[Path]:
    """One briefing over every finished article, next to the results file."""
    from assistant.briefing.notes import build_briefing
    from assistant.briefing.render import to_json, to_markdown

    items = [(doc, BriefItem.model_validate(result)) for _, doc, result in done]
    if not items:
        return []
    reports = [i.fact_check for _, i in items if i.fact_check is not None]
    briefing = build_briefing([(doc, i.analysis) for doc, i in items],
                              verdicts=reports or None, evidence=evidence)
    written = []
    for suffix, render in ((".briefing.md", to_markdown), (".briefing.json", to_json)):
        path = out.with_name(out.name + suffix)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(render(briefing), encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written


TASKS: dict[str, Task] = {
    "analyze": Task("analyze", lambda a, t: a.analyze(t.doc),
                    description="summary, claims and verification questions"),
    "summarize": Task("summarize", lambda a, t: a.summarize(t.doc), description="structured summary"),
    "claims": Task("claims", lambda a, t: a.extract_claims(t.doc), description="check-worthy claims"),
    "questions": Task("questions", lambda a, t: a.verification_questions(t.doc),
                      description="claims plus verification questions"),
    "check": Task("check", _check, description="the article's claims fact-checked against evidence"),
    "brief": Task("brief", _brief_item, finish=_write_briefing,
                  description="per-article analysis (and fact-check with evidence), then one "
                              "briefing over all of them: OUT.briefing.md and .json"),
}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise UserError(f"unknown batch task {name!r}; tasks: {', '.join(TASKS)}")
    return TASKS[name]
