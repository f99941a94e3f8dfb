"""What a batch run does per article: the tasks, their pre-run call plans, and the
end-of-run step of `brief` (one briefing over every finished article)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from . import analysis
from .api import AsyncAssistant
from .backends.base import ChatRequest
from .check_schemas import FactCheckReport
from .errors import InputError, UserError
from .schemas import (
    Analysis,
    ClaimsDraft,
    Document,
    QuestionsDraft,
    ReduceDraft,
    SummaryDraft,
)
from .structured import CallSpec, _Exchange


@dataclass(frozen=True)
class TaskInput:
    """One article as a task sees it."""

    doc: Document
    name: str
    evidence: list[Document] = field(default_factory=list)


Runner = Callable[[AsyncAssistant, TaskInput], Awaitable[BaseModel]]
Planner = Callable[[AsyncAssistant, Document], list[ChatRequest]]
# (results path, [(input name, document, result)] of the ok inputs, evidence) -> files written
Finisher = Callable[[Path, list[tuple[str, Document, dict[str, Any]]], list[Document]],
                    list[Path]]


@dataclass(frozen=True)
class Task:
    """A per-article operation. `run` produces the result; `plan` lists the requests it
    makes at one attempt each (for the pre-run estimate; None if unknown); `finish`, if
    any, runs once every input is finished."""

    name: str
    run: Runner
    plan: Planner | None = None
    finish: Finisher | None = None
    description: str = ""


# --------------------------------------------------------------------------- plans


def _request(spec: CallSpec) -> ChatRequest:
    return _Exchange(spec).request()


def _plan(a: AsyncAssistant, doc: Document, stages: Sequence[str]) -> list[ChatRequest]:
    """The first-attempt requests of the analysis stages, rendered as they will be sent.

    Summary calls are exact. Claim candidates are chosen by sentence signals at run time;
    the estimate stands in the longest sentences (no spaCy pass before the run) and lists
    the same sentences as the claims the questions call will see.
    """
    o = a.options
    chunks = analysis.chunk_sentences(doc, o.chunk_tokens, a.backend.count_tokens)
    dirs = o.prompts_dir
    out: list[ChatRequest] = []
    if "summary" in stages:
        for chunk in chunks:
            out.append(_request(CallSpec("summarize", {**analysis.prefix_values(doc, chunk),
                                                       "max_points": o.max_points},
                                         SummaryDraft, prompts_dir=dirs)))
        if len(chunks) > 1:
            listing = "\n".join(f"{i}. {'x ' * 20}" for i in range(1, o.max_points * len(chunks)))
            out.append(_request(CallSpec("summary_reduce", {"title": doc.title or "(none)",
                                                            "points": listing,
                                                            "max_points": o.max_points},
                                         ReduceDraft, prompts_dir=dirs)))
    if "claims" in stages or "questions" in stages:
        longest = sorted(doc.sentences, key=lambda s: len(s.text), reverse=True)[: o.max_claims]
        chosen = {s.index for s in longest}
        for chunk in chunks:
            mine = [s for s in chunk if s.index in chosen]
            if not mine:
                continue
            prefix = analysis.prefix_values(doc, chunk)
            if "claims" in stages:
                out.append(_request(CallSpec("claims", {**prefix,
                                                        "candidates": analysis.numbered(mine)},
                                             ClaimsDraft, prompts_dir=dirs)))
            if "questions" in stages:
                listing = "\n".join(f"{n}. {s.text}" for n, s in enumerate(mine, 1))
                out.append(_request(CallSpec("questions", {**prefix, "claims": listing},
                                             QuestionsDraft, prompts_dir=dirs)))
    return out


def _with_plan(stages: Sequence[str]) -> Planner:
    return lambda a, doc: _plan(a, doc, stages)


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
    from .brief_render import to_json, to_markdown
    from .briefing import build_briefing

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
                    _with_plan(("summary", "claims", "questions")),
                    description="summary, claims and verification questions"),
    "summarize": Task("summarize", lambda a, t: a.summarize(t.doc), _with_plan(("summary",)),
                      description="structured summary"),
    "claims": Task("claims", lambda a, t: a.extract_claims(t.doc), _with_plan(("claims",)),
                   description="check-worthy claims"),
    "questions": Task("questions", lambda a, t: a.verification_questions(t.doc),
                      _with_plan(("claims", "questions")),
                      description="claims plus verification questions"),
    "check": Task("check", _check, _with_plan(("claims",)),
                  description="the article's claims fact-checked against evidence "
                              "(estimate: claim extraction only)"),
    "brief": Task("brief", _brief_item, _with_plan(("summary", "claims", "questions")),
                  finish=_write_briefing,
                  description="per-article analysis (and fact-check with evidence), then one "
                              "briefing over all of them: OUT.briefing.md and .json"),
}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise UserError(f"unknown batch task {name!r}; tasks: {', '.join(TASKS)}")
    return TASKS[name]
