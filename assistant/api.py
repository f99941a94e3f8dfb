"""`Assistant` (sync) and `AsyncAssistant`: the library's front door."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from assistant.backends import Backend, get_backend
from assistant.core.driver import Noted, Step, arun, new_provenance, run
from assistant.errors import UserError
from assistant.schemas import (
    Analysis,
    Claim,
    ClaimList,
    ClaimVerdict,
    Document,
    DocumentInfo,
    FactCheckReport,
    FaithfulnessReport,
    Provenance,
    QuestionList,
    Summary,
)
from assistant.steps import analysis
from assistant.steps.evidence import EvidenceInput, EvidenceSet, load_evidence
from assistant.steps.factcheck import article_factcheck_step, claim_inputs, factcheck_step
from assistant.steps.faithfulness import faithfulness_step
from assistant.steps.options import Options
from assistant.text.intake import document_from_text, load_document, require_news

if TYPE_CHECKING:
    from assistant.briefing import Briefing, BriefProgress

R = TypeVar("R")
T = TypeVar("T")

# A Document, a file (pathlib.Path), or the article's text (str): see `as_document`.
Article = Document | str | Path

# Article tokens per model call: the embedded model's 8k window must also hold the
# instructions, the answer and one re-ask; hosted models take far more.
_CHUNK_TOKENS = {"embedded": 3000}
_DEFAULT_CHUNK_TOKENS = 12000


def as_document(article: Article, **meta: Any) -> Document:
    """A Document from a Document, a file, or article text.

    The type decides, never the content: a `pathlib.Path` is a file (a missing one, or a
    directory, is an `InputError` before any model call); a `str` is always the article's
    text, even when it looks like a file name. `meta` (title, outlet, url, published,
    max_chars) goes to intake.
    """
    if isinstance(article, Document):
        return article
    if isinstance(article, Path):
        return load_document(article, **meta)
    if isinstance(article, str):
        return document_from_text(article, **meta)
    raise UserError(f"an article is a Document, a pathlib.Path or a str of text, not "
                    f"{type(article).__name__}")


def _article(article: Article, **meta: Any) -> Document:
    """The article an operation works on: `as_document`, and an `InputError` before any
    model call when it has no news in it (a bare link, a one-liner: `intake.news_problem`)."""
    return require_news(as_document(article, **meta))


class _Base:
    """`backend` is a `Backend`, or a name for `get_backend` (None: the default), which
    gets `model`, `base_url`, `api_key`, `timeout` (seconds per HTTP attempt; default
    `$ASSISTANT_TIMEOUT` or 120) and `max_retries` (default `$ASSISTANT_MAX_RETRIES` or 3).
    A bad timeout or retry count is a `UserError` here, before any article is read."""

    def __init__(self, backend: Backend | str | None = None, *, model: str | None = None,
                 base_url: str | None = None, api_key: str | None = None,
                 timeout: float | None = None, max_retries: int | None = None,
                 options: Options | None = None, **option_overrides: Any) -> None:
        if backend is not None and not isinstance(backend, str):
            if timeout is not None or max_retries is not None:
                raise UserError("timeout= and max_retries= configure a backend by name; set "
                                "them on the Backend object you pass instead")
            self.backend = backend
        else:
            self.backend = get_backend(backend, model=model, base_url=base_url, api_key=api_key,
                                       timeout=timeout, max_retries=max_retries)
        opts = options or Options(
            chunk_tokens=_CHUNK_TOKENS.get(self.backend.name, _DEFAULT_CHUNK_TOKENS))
        self.options = opts.replace(**option_overrides)

    def _count(self, text: str) -> int:
        return self.backend.count_tokens(text)

    def _prov(self, doc: Document) -> Provenance:
        prov = new_provenance(self.backend)
        prov.chunks = len(analysis.chunk_sentences(doc, self.options.chunk_tokens, self._count))
        return prov

    # Each public operation is built here as one composed step and its provenance; the
    # subclasses only drive it (`run` or `await arun`). The steps' notes join provenance.

    def _operation(self, doc: Document, inner: Step[Noted[T]],
                   finish: Callable[[T, Provenance], R]) -> _Operation[R]:
        """`inner` driven to its value, its notes into the run's provenance, then `finish`."""
        prov = self._prov(doc)

        def step() -> Step[R]:
            got = yield from inner
            prov.notes += got.notes
            return finish(got.value, prov)

        return _Operation(step(), prov)

    def _summarize(self, article: Article, **meta: Any) -> _Operation[Summary]:
        doc = _article(article, **meta)
        return self._operation(doc, analysis.summarize_step(doc, self.options, self._count),
                               lambda summary, prov: summary.model_copy(update={"provenance": prov}))

    def _extract_claims(self, article: Article, **meta: Any) -> _Operation[ClaimList]:
        doc = _article(article, **meta)
        return self._operation(
            doc, analysis.claims_step(doc, self.options, self._count, model=self.backend.model),
            lambda claims, prov: ClaimList(claims=claims, provenance=prov))

    def _verification_questions(self, article: Article, claims: ClaimList | Sequence[Claim] | None,
                                **meta: Any) -> _Operation[QuestionList]:
        doc = _article(article, **meta)
        return self._operation(
            doc, analysis.verification_step(doc, _claims_of(claims), self.options, self._count,
                                            model=self.backend.model),
            lambda questions, prov: QuestionList(questions=questions, provenance=prov))

    def _analyze(self, article: Article, **meta: Any) -> _Operation[Analysis]:
        doc = _article(article, **meta)
        return self._operation(
            doc, analysis.analyze_step(doc, self.options, self._count, model=self.backend.model),
            lambda parts, prov: Analysis(document=DocumentInfo.of(doc), summary=parts.summary,
                                         claims=parts.claims, questions=parts.questions,
                                         provenance=prov))

    def _check_summary(self, article: Article, summary_text: str, use_model: bool,
                       **meta: Any) -> _Operation[FaithfulnessReport]:
        doc = _article(article, **meta)
        return self._operation(
            doc, faithfulness_step(doc, summary_text, self.options, self._count,
                                   use_model=use_model, model=self.backend.model),
            lambda report, prov: report.model_copy(update={"provenance": prov}))

    def _fact_check(self, article_or_claims: Article | ClaimList | Sequence[Claim | str],
                    evidence: Sequence[EvidenceInput] | EvidenceInput | EvidenceSet, cove: bool,
                    top_k: int, published: dt.date | None,
                    meta: dict[str, Any]) -> _Operation[FactCheckReport]:
        # Evidence first: a bad evidence path fails before any model call.
        found = load_evidence(evidence)
        opts = self.options if top_k == self.options.fact_check.top_k else \
            self.options.replace(fact_check={"top_k": top_k})
        article: DocumentInfo | None = None
        if isinstance(article_or_claims, ClaimList) or (
                isinstance(article_or_claims, Sequence) and not isinstance(article_or_claims, str)):
            given = list(article_or_claims.claims) if isinstance(article_or_claims, ClaimList) \
                else list(article_or_claims)
            prov = new_provenance(self.backend)

            def verdicts() -> Step[Noted[list[ClaimVerdict]]]:
                return (yield from factcheck_step(claim_inputs(given, published=published), found,
                                                  opts, cove=cove, model=self.backend.model))
        else:
            doc = _article(article_or_claims, **({"published": published} if published else {}), **meta)
            prov, article = self._prov(doc), DocumentInfo.of(doc)

            def verdicts() -> Step[Noted[list[ClaimVerdict]]]:
                return (yield from article_factcheck_step(doc, found, opts, self._count, cove=cove,
                                                          model=self.backend.model))

        def step() -> Step[FactCheckReport]:
            checked = yield from verdicts()
            prov.notes += checked.notes
            return FactCheckReport(article=article, evidence_documents=found.info, verdicts=checked.value,
                                   notes=[*found.notes, *checked.notes], provenance=prov)

        return _Operation(step(), prov)


@dataclasses.dataclass(frozen=True)
class _Operation(Generic[R]):
    """One public operation, ready to drive: its composed step and the provenance it records into."""

    step: Step[R]
    prov: Provenance


def _claims_of(claims: ClaimList | Sequence[Claim] | None) -> list[Claim] | None:
    if claims is None:
        return None
    return list(claims.claims if isinstance(claims, ClaimList) else claims)


class Assistant(_Base):
    """Summaries, claims and verification questions for news articles (blocking calls)."""

    def _run(self, op: _Operation[R]) -> R:
        return run(op.step, self.backend, op.prov)

    def analyze_file(self, path: str | Path, **meta: Any) -> Analysis:
        """`analyze` of the file at `path` (a str here is a path, not text)."""
        return self.analyze(Path(path), **meta)

    def summarize(self, article: Article, **meta: Any) -> Summary:
        return self._run(self._summarize(article, **meta))

    def extract_claims(self, article: Article, **meta: Any) -> ClaimList:
        return self._run(self._extract_claims(article, **meta))

    def verification_questions(self, article: Article, claims: ClaimList | Sequence[Claim] | None = None,
                               **meta: Any) -> QuestionList:
        return self._run(self._verification_questions(article, claims, **meta))

    def analyze(self, article: Article, **meta: Any) -> Analysis:
        """All three stages on one article; calls share the article prefix, in order."""
        return self._run(self._analyze(article, **meta))

    def check_summary(self, article: Article, summary_text: str, *, use_model: bool = True,
                      **meta: Any) -> FaithfulnessReport:
        """Is every sentence of `summary_text` supported by `article`? (see `faithfulness`)"""
        return self._run(self._check_summary(article, summary_text, use_model, **meta))

    def fact_check(self, article_or_claims: Article | ClaimList | Sequence[Claim | str],
                   evidence: Sequence[EvidenceInput] | EvidenceInput | EvidenceSet, *, cove: bool = False,
                   top_k: int = 3, published: dt.date | None = None,
                   **meta: Any) -> FactCheckReport:
        """Verdicts on an article's claims (or on given claims) against `evidence` documents."""
        return self._run(self._fact_check(article_or_claims, evidence, cove, top_k, published, meta))

    def brief(self, articles: Article | Sequence[Article], evidence: Sequence[EvidenceInput] | None = None,
              *, progress: Callable[[BriefProgress], None] | None = None) -> Briefing:
        """A briefing note on one event from one or many articles (`assistant.briefing.notes`).

        Each article is analysed in turn; with `evidence` (paths, texts or Documents) its
        claims are fact-checked against them. `progress` hears each stage as it starts.
        """
        from assistant.briefing import BriefProgress, build_briefing

        docs, ev, notes = _brief_documents(articles, evidence)
        say = progress or _silent
        analyses: list[tuple[Document, Analysis]] = []
        reports: list[Any] = []
        for n, doc in enumerate(docs, 1):
            say(BriefProgress(stage="analyze", article=n, articles=len(docs), label=_label(doc)))
            analyses.append((doc, self.analyze(doc)))
            if ev:
                say(BriefProgress(stage="fact_check", article=n, articles=len(docs), label=_label(doc)))
                reports.append(self.fact_check(analyses[-1][1].claims, evidence=ev, published=doc.published))
        say(BriefProgress(stage="build", article=0, articles=len(docs), label="briefing"))
        briefing = build_briefing(analyses, verdicts=reports or None, evidence=ev)
        briefing.notes += notes
        return briefing


class AsyncAssistant(_Base):
    """The same operations as `Assistant`, as coroutines (the event loop is never blocked)."""

    async def _run(self, op: _Operation[R]) -> R:
        return await arun(op.step, self.backend, op.prov)

    async def analyze_file(self, path: str | Path, **meta: Any) -> Analysis:
        """`analyze` of the file at `path` (a str here is a path, not text)."""
        return await self.analyze(Path(path), **meta)

    async def summarize(self, article: Article, **meta: Any) -> Summary:
        return await self._run(self._summarize(article, **meta))

    async def extract_claims(self, article: Article, **meta: Any) -> ClaimList:
        return await self._run(self._extract_claims(article, **meta))

    async def verification_questions(self, article: Article,
                                     claims: ClaimList | Sequence[Claim] | None = None,
                                     **meta: Any) -> QuestionList:
        return await self._run(self._verification_questions(article, claims, **meta))

    async def analyze(self, article: Article, **meta: Any) -> Analysis:
        return await self._run(self._analyze(article, **meta))

    async def check_summary(self, article: Article, summary_text: str, *, use_model: bool = True,
                            **meta: Any) -> FaithfulnessReport:
        return await self._run(self._check_summary(article, summary_text, use_model, **meta))

    async def fact_check(self, article_or_claims: Article | ClaimList | Sequence[Claim | str],
                         evidence: Sequence[EvidenceInput] | EvidenceInput | EvidenceSet, *, cove: bool = False,
                         top_k: int = 3, published: dt.date | None = None,
                         **meta: Any) -> FactCheckReport:
        return await self._run(self._fact_check(article_or_claims, evidence, cove, top_k, published, meta))

    async def brief(self, articles: Article | Sequence[Article], evidence: Sequence[EvidenceInput] | None = None,
                    *, progress: Callable[[BriefProgress], None] | None = None) -> Briefing:
        """As `Assistant.brief`; articles are analysed concurrently except on the embedded
        model, which serves one request at a time."""
        import asyncio

        from assistant.briefing import BriefProgress, build_briefing

        docs, ev, notes = _brief_documents(articles, evidence)
        say = progress or _silent

        async def one(n: int, doc: Document) -> tuple[Analysis, Any]:
            say(BriefProgress(stage="analyze", article=n, articles=len(docs), label=_label(doc)))
            analysis = await self.analyze(doc)
            report = None
            if ev:
                say(BriefProgress(stage="fact_check", article=n, articles=len(docs), label=_label(doc)))
                report = await self.fact_check(analysis.claims, evidence=ev, published=doc.published)
            return analysis, report

        if self.backend.name == "embedded":
            results = [await one(n, d) for n, d in enumerate(docs, 1)]
        else:
            results = list(await asyncio.gather(*(one(n, d) for n, d in enumerate(docs, 1))))
        say(BriefProgress(stage="build", article=0, articles=len(docs), label="briefing"))
        briefing = build_briefing([(d, a) for d, (a, _) in zip(docs, results, strict=True)],
                                  verdicts=[r for _, r in results if r is not None] or None, evidence=ev)
        briefing.notes += notes
        return briefing


# --------------------------------------------------------------------------- briefing


def _silent(_: BriefProgress) -> None:
    return None


def _label(doc: Document) -> str:
    return doc.title or doc.source or doc.doc_id


def _brief_documents(articles: Article | Sequence[Article],
                     evidence: Sequence[EvidenceInput] | None,
                     ) -> tuple[list[Document], list[Document], list[str]]:
    """Articles and evidence as Documents, read before any model time is spent."""
    items = [articles] if isinstance(articles, Document | str | Path) else list(articles)
    if not items:
        raise UserError("a briefing needs at least one article")
    docs: list[Document] = []
    notes: list[str] = []
    for item in items:
        doc = _article(item)
        if any(d.doc_id == doc.doc_id for d in docs):
            notes.append(f"{_label(doc)!r} was given twice; analysed once")
            continue
        docs.append(doc)
    if not evidence:
        return docs, [], notes
    found = load_evidence(evidence)  # files, folders, texts; numbered E1..En as fact_check does
    return docs, found.docs, notes + found.notes
