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
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.errors import UserError
from assistant.evals import paths
from assistant.schemas import ClaimType, Document, VerificationMethod
from assistant.text.intake import document_from_text

Task = Literal["analyze", "check_summary", "fact_check", "checkworthiness", "questions", "retrieval"]


class SuiteUnavailable(UserError):
    """A suite's data is absent or the API it needs does not exist; report it as a skip."""

    def __init__(self, suite: str, reason: str) -> None:
        super().__init__(f"suite {suite!r} skipped: {reason}")
        self.suite = suite
        self.reason = reason


data_dir = paths.data_dir


# --------------------------------------------------------------------------- gold


class KeyFact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str = Field(description="What a good summary must say.")
    sentence_ids: list[str] = Field(description="Sentences that state it.")


class GoldClaim(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sentence_ids: list[str] = Field(description="Sentence(s) the claim is made in.")
    speaker: str | None = Field(description="Who the article credits, as spelled in the text.")
    type: ClaimType = Field(description="Kind of claim.")
    check_worthy: bool = Field(description="Could a fact-checker verify it, and does it matter?")
    verification: VerificationMethod = Field(description="Most direct way to check it.")
    note: str = Field("", description="Annotator's note.")


class GoldDate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sentence_id: str = Field(description="Sentence containing the expression.")
    expression: str = Field(description="Exact substring of the sentence.")
    resolved: str = Field(description="ISO date, month, year or week.")


class Trap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["misattribution", "self_contradiction", "opinion", "boilerplate"]
    sentence_ids: list[str] = Field(description="Sentences the trap is in.")
    note: str = Field("", description="What goes wrong.")


class Gold(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    key_facts: list[KeyFact] = Field(description="Facts a summary must cover.")
    claims: list[GoldClaim] = Field(description="Every claim-bearing sentence (run).")
    dates: list[GoldDate] = Field(description="Relative date expressions and their resolution.")
    traps: list[Trap] = Field(default_factory=list, description="Sentences models get wrong.")
    summary_reference: str = Field(description="A human two-sentence summary.")


# --------------------------------------------------------------------------- items


class ArticleItem(BaseModel):
    """One article to analyse, with whatever gold its suite has."""

    model_config = ConfigDict(frozen=True)
    id: str = Field(description="Stable item id.")
    text: str = Field(description="Article text as a reader sees it.")
    title: str | None = Field(None, description="Title.")
    outlet: str | None = Field(None, description="Outlet.")
    url: str | None = Field(None, description="Source URL (attribution for external data).")
    published: dt.date | None = Field(None, description="Publication date.")
    gold: Gold | None = Field(None, description="Full gold annotations (fixtures).")
    references: list[str] = Field(default_factory=list, description="Human summaries (wikinews).")
    speakers: dict[str, str] = Field(default_factory=dict,
                                     description="Sentence id -> expected speaker (seed).")

    def document(self) -> Document:
        return document_from_text(self.text, title=self.title, outlet=self.outlet, url=self.url,
                                  published=self.published, name=self.id)


class PairItem(BaseModel):
    """A premise (article or evidence), a hypothesis (summary or claim) and a human label."""

    model_config = ConfigDict(frozen=True)
    id: str = Field(description="Stable item id.")
    premise: str = Field(description="Article (summedits) or evidence sentence (fever).")
    hypothesis: str = Field(description="Summary (summedits) or claim (fever).")
    label: int = Field(description="1 = consistent / SUPPORTS, 0 = inconsistent / REFUTES.")
    group: str | None = Field(None, description="Items sharing a premise (bootstrap unit).")


class SentenceItem(BaseModel):
    """One sentence of a transcript or article, labelled check-worthy (1) or not (0)."""

    model_config = ConfigDict(frozen=True)
    id: str = Field(description="Stable item id (group:line).")
    text: str = Field(description="The sentence.")
    label: int = Field(description="1 = fact-checkers checked it.")
    group: str = Field(description="Debate or article (cross-validation and bootstrap unit).")


class EvidenceItem(BaseModel):
    """A claim, the sentences of the article it cites, and gold evidence sets (WiCE)."""

    model_config = ConfigDict(frozen=True)
    id: str = Field(description="Stable item id.")
    claim: str = Field(description="The claim.")
    evidence: list[str] = Field(description="The cited article's sentences, in order.")
    gold_sets: list[list[int]] = Field(description="Alternative sets of indices into `evidence` "
                                                   "that together support the claim.")
    label: str = Field(description="supported, partially_supported or not_supported.")


Item = ArticleItem | PairItem | SentenceItem | EvidenceItem


class Suite(BaseModel):
    name: str = Field(description="Suite name.")
    task: Task = Field(description="What the assistant is asked to do per item.")
    description: str = Field(description="One line.")
    source: str = Field(description="Where the items were read from.")
    items: list[Item] = Field(description="Items in a stable order.")
    total: int = Field(0, description="Items before --items/--limit selection.")

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
                 description="project-written articles with gold key facts, claims and dates")


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
                 description="the seed article (translation slips, attributed quotes)")


def _wikinews() -> Suite:
    path = _need("wikinews", data_dir() / "wikinews" / "articles.jsonl")
    items: list[Item] = [ArticleItem(id=str(r["id"]), text=str(r["text"]), title=str(r["title"]),
                         outlet="Wikinews", url=str(r["source_url"]),
                         published=str(r["date_created"]),
                         references=[str(s["summary"]) for s in r["human_summaries"]])  # type: ignore[attr-defined]
             for r in _jsonl(path)]
    return Suite(name="wikinews", task="analyze", source=str(path), items=items,
                 description="Wikinews articles (CC BY 2.5) with GUM human summaries (CC BY 4.0)")


def _group(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _summedits() -> Suite:
    path = _need("summedits", data_dir() / "dev" / "summedits_news.jsonl")
    items: list[Item] = [PairItem(id=str(r["id"]), premise=str(r["document"]), hypothesis=str(r["summary"]),
                      label=int(r["label_consistent"]), group=_group(str(r["document"])))  # type: ignore[call-overload]
             for r in _jsonl(path)]
    return Suite(name="summedits", task="check_summary", source=str(path), items=items,
                 description="SummEdits news: is the summary consistent with the article?")


def _fever() -> Suite:
    path = _need("fever", data_dir() / "dev" / "fever_symmetric_dev.jsonl")
    items: list[Item] = [PairItem(id=str(r["id"]), premise=str(r["evidence"]), hypothesis=str(r["claim"]),
                      label=int(r["label"] == "SUPPORTS"))
             for r in _jsonl(path) if r["label"] in ("SUPPORTS", "REFUTES")]
    return Suite(name="fever", task="fact_check", source=str(path), items=items,
                 description="FEVER-Symmetric dev: does the evidence support or refute the claim?")


def _wice() -> Suite:
    path = _need("wice", data_dir() / "dev" / "wice_dev.jsonl")
    items: list[Item] = [EvidenceItem(id=str(r["id"]), claim=str(r["claim"]), evidence=r["evidence"],
                                      gold_sets=r["supporting_sentences"], label=str(r["label"]))
                         for r in _jsonl(path)]
    return Suite(name="wice", task="retrieval", source=str(path), items=items,
                 description="WiCE dev: is a complete gold evidence set among the top 5 retrieved sentences?")


def _clef() -> Suite:
    path = _need("clef", data_dir() / "dev" / "clef2019_checkworthiness_train.jsonl")
    items: list[Item] = [SentenceItem(id=f"{r['debate']}:{r['line']}", text=str(r["text"]),
                                      label=int(r["label"]), group=str(r["debate"]))  # type: ignore[call-overload]
                         for r in _jsonl(path)]
    return Suite(name="clef", task="checkworthiness", source=str(path), items=items,
                 description="CLEF-2019 check-worthiness: debate sentences checked by fact-checkers or not")


def load_averitec() -> list[dict[str, object]]:
    path = data_dir() / "dev" / "averitec_dev_part.jsonl"
    if not path.exists():
        raise SuiteUnavailable("averitec", f"{path} is absent (external data is read from "
                                           "../shared/data; set ASSISTANT_EVAL_DATA to use another folder)")
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def claim_date(raw: object) -> dt.date | None:
    try:
        day, month, year = (int(x) for x in str(raw).split("-"))
        return dt.date(year, month, day)
    except (ValueError, TypeError):
        return None


def _averitec() -> Suite:
    path = data_dir() / "dev" / "averitec_dev_part.jsonl"
    items: list[Item] = [ArticleItem(id=str(r["id"]), text=str(r["claim"]), published=claim_date(r.get("claim_date")),
                                     references=[str(q["question"]) for q in r["questions"]])  # type: ignore[attr-defined]
                         for r in load_averitec()]
    return Suite(name="averitec", task="questions", source=str(path), items=items,
                 description="AVeriTeC dev part: our verification questions vs the fact-checkers'")


LOADERS: dict[str, Callable[[], Suite]] = {
    "fixtures": _fixtures, "seed": _seed, "wikinews": _wikinews,
    "summedits": _summedits, "fever": _fever, "wice": _wice, "clef": _clef, "averitec": _averitec,
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
