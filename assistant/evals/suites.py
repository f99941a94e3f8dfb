"""Eval suites: the project's fixtures and the external data sets, loaded into typed items.

    fixtures   evals/fixtures/articles/*.json: project-written articles with gold annotations
    seed       ../shared/data/seed/*.txt: the article the project was specified from
    wikinews   ../shared/data/wikinews/articles.jsonl: articles with human summaries
    summedits  ../shared/data/dev/summedits_news.jsonl: summaries labelled consistent or not
    fever      ../shared/data/dev/fever_symmetric_dev.jsonl: claim + evidence, SUPPORTS/REFUTES
    wice       ../shared/data/dev/wice_dev.jsonl: Wikipedia claims, the sentences of the article
               each cites and gold evidence sets (no model: retrieval recall; evals/wice.py)
    clef       ../shared/data/dev/clef2019_checkworthiness_train.jsonl: debate sentences,
               check-worthy or not (no model: calibrated features, grouped by debate)
    synthetic  one-edit unfaithful summaries (entity, speaker, number, date, negation) and
               faithful ones, made by code from the fixtures (and Wikinews when present)
    averitec   ../shared/data/dev/averitec_dev_part.jsonl: real claims and the questions
               fact-checkers asked (references = their questions; see evals/question_score.py)

External data is read in place, never copied into the repo. When it is absent (a user's
clone has no `../shared`), `load_suite` raises `SuiteUnavailable`, whose message says
what is missing; callers report it as a skip. `ASSISTANT_EVAL_DATA` points elsewhere.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import json
import random
import re
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from assistant.errors import UserError
from assistant.evals import paths, scorers
from assistant.evals.direct import DirectRun, Scored, checkworthiness_suite, questions_suite
from assistant.evals.items import (
    ArticleItem,
    EvidenceItem,
    Gold,
    GoldClaim,
    GoldDate,
    Item,
    KeyFact,
    PairItem,
    SentenceItem,
    Task,
    Trap,
    claim_date,
)
from assistant.evals.question_score import fixture_question_rates
from assistant.evals.results import ItemScore, MetricResult, aggregate
from assistant.evals.synthetic import KINDS, synthetic_pairs
from assistant.evals.wice import retrieval_suite

__all__ = [
    "LOADERS", "SUITES", "ArticleItem", "EvidenceItem", "Gold", "GoldClaim", "GoldDate", "Item", "KeyFact",
    "PairItem", "SentenceItem", "Suite", "SuiteUnavailable", "Task", "Trap", "claim_date",
    "load_averitec", "load_suite",
]

class SuiteUnavailable(UserError):
    """A suite's data is absent or the API it needs does not exist; report it as a skip."""

    def __init__(self, suite: str, reason: str) -> None:
        super().__init__(f"suite {suite!r} skipped: {reason}")
        self.suite = suite
        self.reason = reason


data_dir = paths.data_dir


# --------------------------------------------------------------------------- scoring


Scorer = Callable[..., list[MetricResult]]  # (runs: scorers.Runs, *, resamples, seed)
Evaluator = Callable[[DirectRun], Scored]


def _articles(score: Callable[..., list[MetricResult]]) -> Scorer:
    def on_articles(runs: scorers.Runs, *, resamples: int, seed: int) -> list[MetricResult]:
        return score(runs.articles, resamples=resamples, seed=seed)
    return on_articles


def _pairs(score: Callable[..., list[MetricResult]]) -> Scorer:
    def on_pairs(runs: scorers.Runs, *, resamples: int, seed: int) -> list[MetricResult]:
        return score(runs.pairs, resamples=resamples, seed=seed)
    return on_pairs


def _fixture_scores(runs: scorers.Runs, *, resamples: int, seed: int) -> list[MetricResult]:
    return (scorers.fixture_metrics(runs.articles, resamples=resamples, seed=seed)
            + fixture_question_rates([r.item for r in runs.articles], resamples=resamples, seed=seed))


def _synthetic_scores(runs: scorers.Runs, *, resamples: int, seed: int) -> list[MetricResult]:
    metrics = scorers.summary_check_metrics(runs.pairs, resamples=resamples, seed=seed)
    for kind in ("faithful", *KINDS):
        mine = [r for r in runs.pairs if r.item.id.rsplit(":", 1)[-1].startswith(kind)]
        if mine:
            metrics.append(aggregate(
                f"correct_{kind}", f"{kind} summaries the checker labels right"
                + (" (caught)" if kind != "faithful" else " (kept)"),
                [ItemScore(item_id=r.item.id, value=float(r.prediction == r.item.label), group=r.item.group,
                           detail=r.detail) for r in mine], resamples=resamples, seed=seed))
    return metrics


# How a suite built ad hoc (no scorer of its own) is scored: by what its items are run through.
DEFAULT_SCORERS: dict[str, Scorer] = {
    "analyze": _articles(scorers.wikinews_metrics),
    "check_summary": _pairs(scorers.summary_check_metrics),
    "fact_check": _pairs(scorers.claim_check_metrics),
}


class Suite(BaseModel):
    name: str = Field(description="Suite name.")
    task: Task = Field(description="What the assistant is asked to do per item.")
    description: str = Field(description="One line.")
    source: str = Field(description="Where the items were read from.")
    items: list[Item] = Field(description="Items in a stable order.")
    total: int = Field(0, description="Items before --items/--limit selection.")
    scorer: Scorer | None = Field(None, exclude=True, description=(
        "Metrics over the runs of this suite's items; None: the default for its task."))
    evaluate: Evaluator | None = Field(None, exclude=True, description=(
        "Scores the suite as a whole instead of running its items through the assistant."))

    def score(self, runs: scorers.Runs, *, resamples: int, seed: int) -> list[MetricResult]:
        """This suite's metrics over what its items produced."""
        scorer = self.scorer or DEFAULT_SCORERS.get(self.task)
        if scorer is None:
            raise UserError(f"suite {self.name!r} ({self.task}) has no scorer")
        return scorer(runs, resamples=resamples, seed=seed)

    def select(self, patterns: Sequence[str] = (), limit: int | None = None,
               sample: int | None = None, seed: int = 0) -> Suite:
        """Items whose id matches any glob in `patterns`; then a seeded random `sample` of
        them (kept in suite order), or else the first `limit`."""
        chosen = [i for i in self.items
                  if not patterns or any(fnmatch.fnmatchcase(i.id, p) for p in patterns)]
        if patterns and not chosen:
            raise UserError(f"no item of suite {self.name!r} matches {', '.join(patterns)}")
        if sample is not None and sample < len(chosen):
            keep = set(random.Random(seed).sample(range(len(chosen)), sample))
            chosen = [item for n, item in enumerate(chosen) if n in keep]
        return self.model_copy(update={"items": chosen[:limit] if limit else chosen})


# --------------------------------------------------------------------------- loaders


def _need(suite: str, path: Path) -> Path:
    if not path.exists():
        raise SuiteUnavailable(suite, f"{path} is absent (external data is read from "
                                      "../shared/data; set ASSISTANT_EVAL_DATA to use another folder)")
    return path


def _jsonl(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _fixtures() -> Suite:
    folder = paths.fixtures_dir()
    files = sorted(folder.glob("*.json"))
    if not files:
        raise SuiteUnavailable("fixtures", f"no fixture articles in {folder} (run from a source checkout, or set ASSISTANT_EVALS_DIR)")
    items: list[Item] = []
    for path in files:
        raw = json.loads(path.read_text(encoding="utf-8"))
        items.append(ArticleItem(id=raw["id"], text=raw["text"], title=raw["title"],
                                 outlet=raw["outlet"], published=raw["published"],
                                 gold=Gold.model_validate(raw["gold"])))
    return Suite(name="fixtures", task="analyze", source=str(folder), items=items,
                 scorer=_fixture_scores, description="project-written articles with gold key facts, claims and dates")


def _seed() -> Suite:
    folder = _need("seed", data_dir() / "seed")
    gold = tomllib.loads(paths.seed_gold().read_text(encoding="utf-8")) if paths.seed_gold().exists() else {}
    items: list[Item] = []
    for path in sorted(folder.glob("*.txt")):
        found = re.search(r"\d{4}-\d{2}-\d{2}", path.name)
        items.append(ArticleItem(
            id=path.stem, text=path.read_text(encoding="utf-8"),
            published=dt.date.fromisoformat(found.group(0)) if found else None,
            speakers=gold.get(path.stem, {}).get("speakers", {})))
    if not items:
        raise SuiteUnavailable("seed", f"no .txt article in {folder}")
    return Suite(name="seed", task="analyze", source=str(folder), items=items,
                 scorer=_articles(scorers.seed_metrics), description="the seed article (translation slips, attributed quotes)")


def _wikinews() -> Suite:
    path = _need("wikinews", data_dir() / "wikinews" / "articles.jsonl")
    items: list[Item] = [ArticleItem(id=str(r["id"]), text=str(r["text"]), title=str(r["title"]),
                         outlet="Wikinews", url=str(r["source_url"]),
                         published=str(r["date_created"]),
                         references=[str(s["summary"]) for s in r["human_summaries"]])  # type: ignore[attr-defined]
             for r in _jsonl(path)]
    return Suite(name="wikinews", task="analyze", source=str(path), items=items,
                 scorer=DEFAULT_SCORERS["analyze"],
                 description="Wikinews articles (CC BY 2.5) with GUM human summaries (CC BY 4.0)")


def _group(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _summedits() -> Suite:
    path = _need("summedits", data_dir() / "dev" / "summedits_news.jsonl")
    items: list[Item] = [PairItem(id=str(r["id"]), premise=str(r["document"]), hypothesis=str(r["summary"]),
                      label=int(r["label_consistent"]), group=_group(str(r["document"])))  # type: ignore[call-overload]
             for r in _jsonl(path)]
    return Suite(name="summedits", task="check_summary", source=str(path), items=items,
                 scorer=DEFAULT_SCORERS["check_summary"],
                 description="SummEdits news: is the summary consistent with the article?")


def _fever() -> Suite:
    path = _need("fever", data_dir() / "dev" / "fever_symmetric_dev.jsonl")
    items: list[Item] = [PairItem(id=str(r["id"]), premise=str(r["evidence"]), hypothesis=str(r["claim"]),
                      label=int(r["label"] == "SUPPORTS"))
             for r in _jsonl(path) if r["label"] in ("SUPPORTS", "REFUTES")]
    return Suite(name="fever", task="fact_check", source=str(path), items=items,
                 scorer=DEFAULT_SCORERS["fact_check"],
                 description="FEVER-Symmetric dev: does the evidence support or refute the claim?")


def _wice() -> Suite:
    path = _need("wice", data_dir() / "dev" / "wice_dev.jsonl")
    items: list[Item] = [EvidenceItem(id=str(r["id"]), claim=str(r["claim"]), evidence=r["evidence"],
                                      gold_sets=r["supporting_sentences"], label=str(r["label"]))
                         for r in _jsonl(path)]
    return Suite(name="wice", task="retrieval", source=str(path), items=items, evaluate=retrieval_suite,
                 description="WiCE dev: is a complete gold evidence set among the top 5 retrieved sentences?")


def _clef() -> Suite:
    path = _need("clef", data_dir() / "dev" / "clef2019_checkworthiness_train.jsonl")
    items: list[Item] = [SentenceItem(id=f"{r['debate']}:{r['line']}", text=str(r["text"]),
                                      label=int(r["label"]), group=str(r["debate"]))  # type: ignore[call-overload]
                         for r in _jsonl(path)]
    return Suite(name="clef", task="checkworthiness", source=str(path), items=items,
                 evaluate=checkworthiness_suite, description="CLEF-2019 check-worthiness: debate sentences checked by fact-checkers or not")


def _synthetic() -> Suite:
    articles = [i for i in _fixtures().items if isinstance(i, ArticleItem)]
    sources = [paths.fixtures_dir()]
    wikinews = data_dir() / "wikinews" / "articles.jsonl"
    if wikinews.exists():
        articles += [i for i in _wikinews().items if isinstance(i, ArticleItem)]
        sources.append(wikinews)
    by_id = {a.id: a for a in articles}
    items: list[Item] = [PairItem(id=p.id, premise=by_id[p.article_id].text, hypothesis=p.summary,
                                  label=p.label, group=p.article_id)
                         for p in synthetic_pairs((a.id, a.document()) for a in articles)]
    return Suite(name="synthetic", task="check_summary", source=", ".join(map(str, sources)), items=items,
                 scorer=_synthetic_scores,
                 description="code-made one-edit summaries (FactCC-style) and faithful ones, per edit kind")


def load_averitec() -> list[dict[str, object]]:
    path = data_dir() / "dev" / "averitec_dev_part.jsonl"
    if not path.exists():
        raise SuiteUnavailable("averitec", f"{path} is absent (external data is read from "
                                           "../shared/data; set ASSISTANT_EVAL_DATA to use another folder)")
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _averitec() -> Suite:
    path = data_dir() / "dev" / "averitec_dev_part.jsonl"
    items: list[Item] = [ArticleItem(id=str(r["id"]), text=str(r["claim"]), published=claim_date(r.get("claim_date")),
                                     references=[str(q["question"]) for q in r["questions"]])  # type: ignore[attr-defined]
                         for r in load_averitec()]
    return Suite(name="averitec", task="questions", source=str(path), items=items,
                 evaluate=questions_suite, description="AVeriTeC dev part: our verification questions vs the fact-checkers'")


LOADERS: dict[str, Callable[[], Suite]] = {
    "fixtures": _fixtures, "seed": _seed, "wikinews": _wikinews,
    "summedits": _summedits, "fever": _fever, "wice": _wice, "clef": _clef, "synthetic": _synthetic,
    "averitec": _averitec,
}
SUITES = tuple(LOADERS)


def load_suite(name: str) -> Suite:
    """The suite's items; `SuiteUnavailable` when its data is absent, `UserError` if unknown."""
    try:
        loader = LOADERS[name]
    except KeyError:
        raise UserError(f"unknown suite {name!r}; choose one of: {', '.join(SUITES)}") from None
    suite = loader()
    return suite.model_copy(update={"total": len(suite.items)})
