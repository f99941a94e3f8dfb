"""`Assistant` (sync) and `AsyncAssistant`: the library's front door."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import analysis
from .backends import Backend, get_backend
from .intake import document_from_text, load_document
from .pipeline import Step, arun, new_provenance, run
from .schemas import (
    Analysis,
    Claim,
    ClaimList,
    Document,
    DocumentInfo,
    Provenance,
    QuestionList,
    Summary,
)

Article = Document | str | Path

# Article tokens per model call: the embedded model's 8k window must also hold the
# instructions, the answer and one re-ask; hosted models take far more.
_CHUNK_TOKENS = {"embedded": 3000}
_DEFAULT_CHUNK_TOKENS = 12000


def as_document(article: Article, **meta: Any) -> Document:
    """A Document from a Document, a path, or article text."""
    if isinstance(article, Document):
        return article
    if isinstance(article, Path) or (isinstance(article, str) and "\n" not in article
                                     and len(article) < 4096 and Path(article).is_file()):
        return load_document(article, **meta)
    return document_from_text(str(article), **meta)


class _Base:
    def __init__(self, backend: Backend | str | None = None, *, model: str | None = None,
                 base_url: str | None = None, api_key: str | None = None,
                 options: analysis.Options | None = None, **option_overrides: Any) -> None:
        self.backend = backend if backend is not None and not isinstance(backend, str) else \
            get_backend(backend, model=model, base_url=base_url, api_key=api_key)
        opts = options or analysis.Options(
            chunk_tokens=_CHUNK_TOKENS.get(self.backend.name, _DEFAULT_CHUNK_TOKENS))
        self.options = dataclasses.replace(opts, **option_overrides)

    def _count(self, text: str) -> int:
        return self.backend.count_tokens(text)

    def _steps(self, doc: Document, what: str, notes: list[str],
               claims: Sequence[Claim] | None = None) -> Step[Any]:
        o, c = self.options, self._count
        if what == "summary":
            return analysis.summarize_step(doc, o, c, notes)
        if what == "claims":
            return analysis.claims_step(doc, o, c, notes)
        return analysis.questions_step(doc, list(claims or []), o, c, notes)

    def _prov(self, doc: Document, notes: list[str]) -> Provenance:
        prov = new_provenance(self.backend)
        prov.chunks = len(analysis.chunk_sentences(doc, self.options.chunk_tokens, self._count))
        prov.notes = notes
        return prov


def _claims_of(claims: ClaimList | Sequence[Claim] | None) -> list[Claim] | None:
    if claims is None:
        return None
    return list(claims.claims if isinstance(claims, ClaimList) else claims)


class Assistant(_Base):
    """Summaries, claims and verification questions for news articles (blocking calls)."""

    def summarize(self, article: Article, **meta: Any) -> Summary:
        doc, notes = as_document(article, **meta), []
        prov = self._prov(doc, notes)
        summary = run(self._steps(doc, "summary", notes), self.backend, prov)
        return summary.model_copy(update={"provenance": prov})

    def extract_claims(self, article: Article, **meta: Any) -> ClaimList:
        doc, notes = as_document(article, **meta), []
        prov = self._prov(doc, notes)
        claims = run(self._steps(doc, "claims", notes), self.backend, prov)
        return ClaimList(claims=claims, provenance=prov)

    def verification_questions(self, article: Article, claims: ClaimList | Sequence[Claim] | None = None,
                               **meta: Any) -> QuestionList:
        doc, notes = as_document(article, **meta), []
        prov = self._prov(doc, notes)
        found = _claims_of(claims)
        if found is None:
            found = run(self._steps(doc, "claims", notes), self.backend, prov)
        questions = run(self._steps(doc, "questions", notes, found), self.backend, prov)
        return QuestionList(questions=questions, provenance=prov)

    def analyze(self, article: Article, **meta: Any) -> Analysis:
        """All three stages on one article; calls share the article prefix, in order."""
        doc, notes = as_document(article, **meta), []
        prov = self._prov(doc, notes)
        summary = run(self._steps(doc, "summary", notes), self.backend, prov)
        claims = run(self._steps(doc, "claims", notes), self.backend, prov)
        questions = run(self._steps(doc, "questions", notes, claims), self.backend, prov)
        return Analysis(document=DocumentInfo.of(doc), summary=summary, claims=claims,
                        questions=questions, provenance=prov)


class AsyncAssistant(_Base):
    """The same operations as `Assistant`, as coroutines (the event loop is never blocked)."""

    async def summarize(self, article: Article, **meta: Any) -> Summary:
        doc, notes = as_document(article, **meta), []
        prov = self._prov(doc, notes)
        summary = await arun(self._steps(doc, "summary", notes), self.backend, prov)
        return summary.model_copy(update={"provenance": prov})

    async def extract_claims(self, article: Article, **meta: Any) -> ClaimList:
        doc, notes = as_document(article, **meta), []
        prov = self._prov(doc, notes)
        claims = await arun(self._steps(doc, "claims", notes), self.backend, prov)
        return ClaimList(claims=claims, provenance=prov)

    async def verification_questions(self, article: Article,
                                     claims: ClaimList | Sequence[Claim] | None = None,
                                     **meta: Any) -> QuestionList:
        doc, notes = as_document(article, **meta), []
        prov = self._prov(doc, notes)
        found = _claims_of(claims)
        if found is None:
            found = await arun(self._steps(doc, "claims", notes), self.backend, prov)
        questions = await arun(self._steps(doc, "questions", notes, found), self.backend, prov)
        return QuestionList(questions=questions, provenance=prov)

    async def analyze(self, article: Article, **meta: Any) -> Analysis:
        doc, notes = as_document(article, **meta), []
        prov = self._prov(doc, notes)
        summary = await arun(self._steps(doc, "summary", notes), self.backend, prov)
        claims = await arun(self._steps(doc, "claims", notes), self.backend, prov)
        questions = await arun(self._steps(doc, "questions", notes, claims), self.backend, prov)
        return Analysis(document=DocumentInfo.of(doc), summary=summary, claims=claims,
                        questions=questions, provenance=prov)
