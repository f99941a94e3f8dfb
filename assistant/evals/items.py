"""The typed items of the eval suites and their gold annotations.

Kept apart from `suites` (which loads them and says how each suite is scored) so that the
scorers can read items without importing the suites that use them.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.schemas import ClaimType, Document, VerificationMethod
from assistant.text.intake import document_from_text

Task = Literal["analyze", "check_summary", "fact_check", "checkworthiness", "questions", "retrieval"]


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


def claim_date(raw: object) -> dt.date | None:
    """An AVeriTeC `claim_date` ("DD-MM-YYYY") as a date, or None."""
    try:
        day, month, year = (int(x) for x in str(raw).split("-"))
        return dt.date(year, month, day)
    except (ValueError, TypeError):
        return None
