"""The briefing's data model: sections of statements, each with grounded citations.

The rules that fill it are in `assistant.briefing.notes` (see its docstring);
`Briefing` refuses to validate when a citation does not match its source's text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, model_validator

from assistant.schemas import ClaimType, Document, Provenance, Quote
from assistant.schemas import (
    Confidence as Confidence,  # the one scale; re-exported for the briefing
)
from assistant.text.grounding import verify_quote

if TYPE_CHECKING:
    pass

MIN_SUPPORT = 0.4


class Likelihood(StrEnum):
    almost_no_chance = "almost no chance"
    very_unlikely = "very unlikely"
    unlikely = "unlikely"
    roughly_even_chance = "roughly even chance"
    likely = "likely"
    very_likely = "very likely"
    almost_certain = "almost certain"


class ScaleStep(BaseModel):
    term: str = Field(description="The word used in the briefing.")
    range: str = Field(description="Probability range (likelihood) or the evidence required (confidence).")
    meaning: str = Field(description="What the term tells the reader.")


LIKELIHOOD_SCALE_NAME = ("ICD 203 expressions of likelihood (US Intelligence Community "
                         "Directive 203, Analytic Standards)")
LIKELIHOOD_SCALE = [
    ScaleStep(term=Likelihood.almost_no_chance, range="1–5%", meaning="remote"),
    ScaleStep(term=Likelihood.very_unlikely, range="5–20%", meaning="highly improbable"),
    ScaleStep(term=Likelihood.unlikely, range="20–45%", meaning="improbable"),
    ScaleStep(term=Likelihood.roughly_even_chance, range="45–55%", meaning="roughly even odds"),
    ScaleStep(term=Likelihood.likely, range="55–80%", meaning="probable"),
    ScaleStep(term=Likelihood.very_likely, range="80–95%", meaning="highly probable"),
    ScaleStep(term=Likelihood.almost_certain, range="95–99%", meaning="nearly certain"),
]
CONFIDENCE_SCALE = [
    ScaleStep(term=Confidence.high, range="two or more independent sources agree, or evidence "
              "settles it with high confidence", meaning="well sourced; unlikely to change"),
    ScaleStep(term=Confidence.moderate, range="one source states it in its own voice, or "
              "evidence with moderate confidence", meaning="credibly sourced, not corroborated"),
    ScaleStep(term=Confidence.low, range="one speaker's word, hedged, unnamed or disputed, or "
              "evidence with low confidence", meaning="thinly sourced; treat with caution"),
]


# --------------------------------------------------------------------------- models


class Citation(BaseModel):
    """Exact source words: `sources[source - 1].document.text[start:end] == text`."""

    source: int = Field(description="1-based number of the source in Briefing.sources.")
    sentence_id: str = Field(description="Sentence of that source holding the words (S1..Sn).")
    text: str = Field(description="The source's exact words.")
    start: int = Field(description="Character offset in the source's text.")
    end: int = Field(description="Character offset one past the words.")

    @property
    def anchor(self) -> str:
        """The HTML id of the cited sentence in the appendix."""
        return f"src{self.source}-{self.sentence_id}"


class VerdictNote(BaseModel):
    verdict: Literal["supported", "refuted", "not_enough_evidence", "conflicting"] = Field(
        description="The fact-check verdict on the claim against the evidence given.")
    confidence: Confidence = Field(description="The fact-check's confidence.")
    rationale: str = Field(description="The fact-check's one-line reason.")
    evidence: list[Citation] = Field(default_factory=list, description="Evidence sentences (sources of role evidence).")


class KnownItem(BaseModel):
    text: str = Field(description="The statement (a key point or claim in the outlet's own voice).")
    citations: list[Citation] = Field(description="Source sentences stating it.")
    sources: list[int] = Field(description="Sources reporting it.")
    confidence: Confidence = Field(description="How well sourced (see the confidence scale).")
    likelihood: Likelihood | None = Field(description="How probable (ICD 203 term); None = not assessed.")
    basis: str = Field(description="One line: why this confidence and likelihood.")
    claim_refs: list[str] = Field(default_factory=list, description="Claims behind it, as 'source:claim id' (1:C3).")
    verdict: VerdictNote | None = Field(default=None, description="Evidence verdict, when evidence was given.")
    first_reported_by: list[int] = Field(default_factory=list, description="Source(s) with the earliest publication date, when several report it.")


class ClaimedItem(BaseModel):
    text: str = Field(description="The claim.")
    claimant: str | None = Field(description="Who claims it, as named in the source; None = the outlet, hedged.")
    role: str | None = Field(default=None, description="The claimant's role exactly as the source states it.")
    verb: str | None = Field(default=None, description="Attribution verb (said, accused, according to).")
    hedges: list[str] = Field(default_factory=list, description="Hedging words (allegedly, considers).")
    claim_type: ClaimType | None = Field(default=None, description="Kind of claim, when a claim backs it.")
    check_worthiness: float = Field(description="0..1, from the claim (0 when only a key point backs it).")
    citations: list[Citation] = Field(description="Source sentences making the claim.")
    sources: list[int] = Field(description="Sources reporting the claim.")
    confidence: Confidence = Field(description="How well sourced (see the confidence scale).")
    likelihood: Likelihood | None = Field(description="How probable (ICD 203 term); None = not assessed.")
    basis: str = Field(description="One line: why this confidence and likelihood.")
    claim_refs: list[str] = Field(default_factory=list, description="Claims behind it, as 'source:claim id'.")
    verdict: VerdictNote | None = Field(default=None, description="Evidence verdict, when evidence was given.")
    first_reported_by: list[int] = Field(default_factory=list, description="Source(s) with the earliest publication date, when several report it.")


class Side(BaseModel):
    """One source's account of a matched fact."""

    source: int = Field(description="Source number.")
    text: str = Field(description="What this side states (claim or sentence).")
    figures: list[str] = Field(default_factory=list, description="The figures in dispute, exactly as written.")
    claimant: str | None = Field(default=None, description="Who states it, when attributed.")
    citations: list[Citation] = Field(description="The exact words of this side.")


class Dispute(BaseModel):
    kind: Literal["across_sources", "within_source", "evidence"] = Field(
        description="Two sources differ; one source contradicts itself; or evidence refutes/conflicts.")
    text: str = Field(description="One line: what differs.")
    sides: list[Side] = Field(description="Each account with its quotes (two or more).")
    citations: list[Citation] = Field(description="All quotes of all sides.")
    verdict: VerdictNote | None = Field(default=None, description="The evidence verdict for kind 'evidence'.")
    confidence: Confidence = Field(default=Confidence.low, description="Always low until resolved.")
    likelihood: Likelihood | None = Field(default=None, description="From the evidence verdict, else not assessed.")
    first_reported_by: list[int] = Field(default_factory=list, description="Source(s) with the earliest publication date.")


class Agreement(BaseModel):
    text: str = Field(description="The fact several sources report alike.")
    sides: list[Side] = Field(description="Each source's words.")
    citations: list[Citation] = Field(description="All quotes.")
    first_reported_by: list[int] = Field(default_factory=list, description="Source(s) with the earliest publication date.")
    first_reported_on: dt.date | None = Field(default=None, description="That earliest publication date.")


class Unknown(BaseModel):
    kind: Literal["missing_5w", "hedged", "unnamed_source", "no_response", "not_settled"] = Field(
        description="Why it is a gap.")
    text: str = Field(description="One line: what is not known.")
    citations: list[Citation] = Field(description="The sentences the gap concerns.")


class CheckItem(BaseModel):
    rank: int = Field(description="1 = check first.")
    question: str = Field(description="Verification question, answerable without the article.")
    method: str = Field(description="How to check it (official record, expert, dataset...).")
    who_could_answer: str = Field(description="Person, office or body that could answer.")
    claim_ref: str = Field(description="The claim it verifies, as 'source:claim id'.")
    claim_text: str = Field(description="That claim.")
    check_worthiness: float = Field(description="The claim's check-worthiness (the ranking key).")
    citations: list[Citation] = Field(description="The claim's source words.")


class RoleMention(BaseModel):
    role: str = Field(description="The role exactly as a source states it.")
    citations: list[Citation] = Field(description="Where the source states it.")


class Actor(BaseModel):
    name: str = Field(description="Name as written in the sources (longest form).")
    kind: Literal["person", "organisation", "place", "group", "other"] = Field(
        description="person/organisation/place from the NER label or attribution; other when unsure.")
    roles: list[RoleMention] = Field(default_factory=list, description="Roles as the sources state them.")
    speaks: bool = Field(description="Quoted or cited as a source of statements.")
    statements: int = Field(default=0, description="Sentences attributed to them.")
    citations: list[Citation] = Field(description="First mentions (at most three).")


class TimelineEntry(BaseModel):
    date: str = Field(description="ISO date or period: 2022-01-14, 2022-W02, 2021-12, 2014.")
    precision: Literal["day", "week", "month", "year"] = Field(description="Granularity of date.")
    label: str = Field(description="The date for display (14 Jan 2022, Dec 2021, week of 10 Jan 2022).")
    expression: str = Field(description="The words of the source that give the date.")
    relative: bool = Field(description="True when resolved from a relative expression against the publication date.")
    text: str = Field(description="The sentence the date comes from, exactly.")
    citations: list[Citation] = Field(description="That sentence (and matched sentences of other sources).")


class SourceRef(BaseModel):
    index: int = Field(description="1-based source number used by citations.")
    role: Literal["article", "evidence"] = Field(description="An analysed article or an evidence document.")
    label: str = Field(description="Evidence id (E1) or 'article'.")
    document: Document = Field(description="The source as read: text and sentence grid citations point into, title, outlet, URL, date.")


class BlufLine(BaseModel):
    label: str = Field(description="Lead (the first source's opening, verbatim) / Known / Disputed / Claimed / Check first.")
    text: str = Field(description="The line.")
    citations: list[Citation] = Field(description="Its source words.")


class BottomLine(BaseModel):
    lines: list[BlufLine] = Field(description="Three to five lines a reader can stop after.")
    confidence: Confidence = Field(description="Overall confidence in the briefing's picture.")
    basis: str = Field(description="Why that confidence.")


class Briefing(BaseModel):
    title: str = Field(description="The first source's own title (its summary headline when it has none).")
    as_of: dt.date | None = Field(default=None, description="Latest publication date among the articles.")
    bottom_line: BottomLine = Field(description="Bottom line up front.")
    known: list[KnownItem] = Field(description="What we know.")
    claimed: list[ClaimedItem] = Field(description="What is claimed but not verified, most check-worthy first.")
    disputed: list[Dispute] = Field(description="Contradictions between or within sources, and refuted claims.")
    agreements: list[Agreement] = Field(default_factory=list, description="Facts two or more sources report alike.")
    unknowns: list[Unknown] = Field(description="What we don't know.")
    checks: list[CheckItem] = Field(description="What to check next, ranked.")
    actors: list[Actor] = Field(description="People and organisations.")
    timeline: list[TimelineEntry] = Field(description="Dated events, oldest first.")
    sources: list[SourceRef] = Field(description="Articles then evidence documents; citations number them.")
    likelihood_scale_name: str = Field(default=LIKELIHOOD_SCALE_NAME, description="The named likelihood scale.")
    likelihood_scale: list[ScaleStep] = Field(default_factory=lambda: list(LIKELIHOOD_SCALE), description="Its terms.")
    confidence_scale: list[ScaleStep] = Field(default_factory=lambda: list(CONFIDENCE_SCALE), description="The confidence terms.")
    notes: list[str] = Field(default_factory=list, description="About the briefing itself: what was not done or was dropped.")
    provenance: Provenance | None = Field(default=None, description="Model usage over all analyses.")

    @model_validator(mode="after")
    def _citations_match_sources(self) -> Briefing:
        bad = []
        for c in iter_citations(self):
            if not 1 <= c.source <= len(self.sources):
                bad.append(f"source {c.source} does not exist")
            elif not verify_quote(self.sources[c.source - 1].document,
                                  Quote(sentence_id=c.sentence_id, text=c.text, start=c.start, end=c.end)):
                bad.append(f"{c.anchor} [{c.start}:{c.end}] is not the source's text")
        if bad:
            raise ValueError(f"{len(bad)} citation(s) do not match their source: {'; '.join(bad[:3])}")
        return self


def iter_citations(obj: Any) -> Iterator[Citation]:
    """Every citation inside a model, in field order (SourceRef documents are skipped)."""
    if isinstance(obj, Citation):
        yield obj
    elif isinstance(obj, SourceRef | Document):
        return
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from iter_citations(getattr(obj, name))
    elif isinstance(obj, list | tuple):
        for x in obj:
            yield from iter_citations(x)


class BriefProgress(BaseModel):
    """What `Assistant.brief` is doing, for progress displays."""

    stage: Literal["analyze", "fact_check", "build"] = Field(description="Current stage.")
    article: int = Field(description="1-based article number (0 while building).")
    articles: int = Field(description="Number of articles.")
    label: str = Field(description="The article's title or path.")


