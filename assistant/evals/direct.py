"""Suites scored as a whole instead of item by item through `Assistant`.

`clef` scores check-worthiness features with grouped cross-validation (no model call);
`averitec` asks for verification questions for each real claim and matches them with the
fact-checkers' own. A suite names its evaluator (`Suite.evaluate`); the runner hands it a
`DirectRun` and records what it returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.api import Assistant
from assistant.backends.base import Backend
from assistant.backends.fake import FakeBackend
from assistant.core.driver import new_provenance
from assistant.core.driver import run as run_step
from assistant.evals.checkworthiness import checkworthiness_metrics
from assistant.evals.items import ArticleItem, Item, SentenceItem
from assistant.evals.question_score import averitec_metrics
from assistant.evals.results import ItemRecord, MetricResult
from assistant.schemas import Claim
from assistant.steps import analysis
from assistant.steps.options import Options
from assistant.text import signals as sig
from assistant.text.dates import resolve_relative_dates
from assistant.text.grounding import sentence_quote
from assistant.text.intake import document_from_text

Scored = tuple[list[MetricResult], list[ItemRecord]]


@dataclass(frozen=True)
class DirectRun:
    """What a whole-suite evaluator gets: the items, the (metered) backend, the options."""

    items: Sequence[Item]
    backend: Backend
    options: Options | None
    resamples: int
    seed: int


def checkworthiness_suite(run: DirectRun) -> Scored:
    """Grouped cross-validation of the calibrated check-worthiness features (no model)."""
    return checkworthiness_metrics([i for i in run.items if isinstance(i, SentenceItem)],
                                   resamples=run.resamples, seed=run.seed, model=run.backend.model)


def questions_via(assistant: Assistant) -> Callable[[str, dt.date | None], list[str]]:
    """Claim text in, the assistant's verification questions for it out."""

    def ask(claim: str, published: dt.date | None) -> list[str]:
        # The claim is the claim: questioned as given, not re-selected by check-worthiness.
        doc = document_from_text(claim, title="claim", published=published, name="claim")
        s = sig.analyze_sentences(doc)[0]
        one = Claim(id="C1", text=claim, type=s.claim_type, attribution=s.attribution,
                    check_worthiness=s.checkworthiness, check_worthiness_reason="", sentence_ids=["S1"],
                    quote=sentence_quote(doc, "S1"), dates=resolve_relative_dates(doc, doc.sentence("S1")),
                    as_of=published.isoformat() if published else None)
        # The questions step itself: a one-sentence claim is not an article the API accepts.
        step = analysis.questions_step(doc, [one], assistant.options, assistant.backend.count_tokens)
        questions = run_step(step, assistant.backend, new_provenance(assistant.backend))
        return [q.question for q in questions.value]

    return ask


def questions_suite(run: DirectRun) -> Scored:
    """AVeriTeC question score: the code path always, the model path on a real backend."""
    rows: list[dict[str, object]] = [
        {"id": i.id, "claim": i.text, "questions": [{"question": q} for q in i.references],
         "claim_date": i.published.strftime("%d-%m-%Y") if i.published else None}
        for i in run.items if isinstance(i, ArticleItem)]
    code = Assistant(FakeBackend(default="{}"), options=run.options) if run.options \
        else Assistant(FakeBackend(default="{}"))
    metrics, records = averitec_metrics(rows, questions_via(code), resamples=run.resamples, seed=run.seed)
    if run.backend.name != "fake":
        model = Assistant(run.backend, options=run.options) if run.options else Assistant(run.backend)
        model_metrics, _ = averitec_metrics(rows, questions_via(model), resamples=run.resamples,
                                            seed=run.seed, label=f"model path, {run.backend.name}")
        metrics += [m.model_copy(update={"name": f"model_{m.name}"}) for m in model_metrics]
    return metrics, records
