"""Public result models, and the compact "draft" models the LLM is asked to fill.

Drafts keep model output short (sentence numbers, enums, short strings): code turns them
into the public models, deriving every quote and character offset from the article itself.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# --------------------------------------------------------------------------- documents


class Sentence(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Sentence id, S1..Sn, global to the document.")
    index: int = Field(description="1-based sentence number (the n in Sn).")
    start: int = Field(description="Character offset of the first character in Document.text.")
    end: int = Field(description="Character offset one past the last character in Document.text.")
    text: str = Field(description="Exactly Document.text[start:end].")
    paragraph: int = Field(0, description="0-based paragraph number the sentence belongs to.")


class Document(BaseModel):
    """An article after intake: clean text plus its sentence grid (the grounding system)."""

    text: str = Field(description="The article text every offset refers to.")
    sentences: list[Sentence] = Field(description="Sentences S1..Sn in reading order.")
    title: str | None = Field(None, description="Title, given or taken from the first line.")
    outlet: str | None = Field(None, description="Publisher or outlet name.")
    url: str | None = Field(None, description="Source URL.")
    published: dt.date | None = Field(None, description="Publication date.")
    published_source: str | None = Field(
        None, description="Where the date came from: argument, text, html or filename."
    )
    source: str | None = Field(None, description="Path or '-' the article was read from.")
    doc_id: str = Field("", description="Content hash of text (sha256, first 16 hex digits).")

    def sentence(self, sid: str | int) -> Sentence:
        index = sid if isinstance(sid, int) else int(str(sid).lstrip("Ss"))
        if not 1 <= index <= len(self.sentences):
            raise KeyError(f"S{index}")
        return self.sentences[index - 1]

    def has_sentence(self, sid: str | int) -> bool:
        try:
            self.sentence(sid)
        except (KeyError, ValueError):
            return False
        return True


# --------------------------------------------------------------------------- grounding


class Quote(BaseModel):
    """Exact source words: `Document.text[start:end] == text`, checked by code."""

    sentence_id: str = Field(description="Id of the sentence the quote comes from.")
    text: str = Field(description="The exact words of the article.")
    start: int = Field(description="Character offset of the quote in Document.text.")
    end: int = Field(description="Character offset one past the quote's end.")


# --------------------------------------------------------------------------- provenance


class PromptRef(BaseModel):
    name: str = Field(description="Prompt template name.")
    version: str = Field(description="Version declared in the template's front matter.")
    hash: str = Field(description="sha256 of the template file, first 12 hex digits.")


class Usage(BaseModel):
    calls: int = Field(0, description="Model requests made (re-asks included).")
    prompt_tokens: int = Field(0, description="Prompt tokens as reported by the backend.")
    completion_tokens: int = Field(0, description="Completion tokens as reported by the backend.")
    cached_calls: int = Field(0, description="Requests answered from the response cache.")

    def add(self, other: Usage) -> None:
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cached_calls += other.cached_calls


class Provenance(BaseModel):
    backend: str = Field(description="Backend name: openai, embedded or fake.")
    model: str = Field(description="Model identifier the backend used.")
    base_url: str | None = Field(None, description="Endpoint for HTTP backends (never a key).")
    prompts: list[PromptRef] = Field(default_factory=list, description="Templates used.")
    usage: Usage = Field(default_factory=Usage, description="Token usage over all calls.")
    latency_s: float = Field(0.0, description="Wall time of the whole operation in seconds.")
    attempts: int = Field(0, description="Structured-output attempts over all calls.")
    chunks: int = Field(1, description="Article chunks processed (more than 1 = map-reduce).")
    notes: list[str] = Field(default_factory=list, description="Repairs made by code (re-anchored citations, dropped items).")

    def merge(self, other: Provenance) -> None:
        known = {(p.name, p.hash) for p in self.prompts}
        self.prompts += [p for p in other.prompts if (p.name, p.hash) not in known]
        self.usage.add(other.usage)
        self.attempts += other.attempts
        self.chunks = max(self.chunks, other.chunks)
        self.notes += other.notes


# --------------------------------------------------------------------------- summary


class KeyPoint(BaseModel):
    text: str = Field(description="One key point in a sentence.")
    sentence_ids: list[str] = Field(description="Sentences that support the point (at least one).")
    quotes: list[Quote] = Field(description="The cited sentences' exact text with offsets.")
    support: float = Field(description="Share of the point's content words found in the cited sentences.")


class WField(BaseModel):
    text: str = Field(description="Short answer as the article states it.")
    sentence_ids: list[str] = Field(description="Sentences stating it.")


class FiveW(BaseModel):
    who: WField | None = Field(None, description="Main actors.")
    what: WField | None = Field(None, description="What happened.")
    when: WField | None = Field(None, description="When it happened.")
    where: WField | None = Field(None, description="Where it happened.")
    why: WField | None = Field(None, description="Why, if the article says.")


class Summary(BaseModel):
    headline: str = Field(description="A neutral headline of at most 15 words.")
    tldr: str = Field(description="One-paragraph summary.")
    tldr_sentence_ids: list[str] = Field(default_factory=list, description="Sentences the TL;DR draws on.")
    key_points: list[KeyPoint] = Field(description="3 to 8 key points, each citing sentences.")
    five_w: FiveW = Field(default_factory=FiveW, description="Who/what/when/where/why where stated.")
    provenance: Provenance | None = Field(None, description="How this result was produced.")


# --------------------------------------------------------------------------- claims


class ClaimType(StrEnum):
    statistic = "statistic"
    attributed_statement = "attributed_statement"
    event = "event"
    causal = "causal"
    prediction = "prediction"
    position_policy = "position_policy"
    other = "other"


class Attribution(BaseModel):
    speaker: str | None = Field(None, description="Who makes the claim, as named in the article.")
    role: str | None = Field(None, description="The speaker's role exactly as the article states it.")
    verb: str | None = Field(None, description="Attribution verb or phrase (said, accused, according to).")
    hedges: list[str] = Field(default_factory=list, description="Hedging words (alleged, considers, would).")


class DateResolution(BaseModel):
    expression: str = Field(description="The relative expression as written (e.g. 'this Friday').")
    resolved: str = Field(description="ISO date or period (2022-01-14, 2021-12, 2014).")
    sentence_id: str = Field(description="Sentence containing the expression.")
    start: int = Field(description="Offset of the expression in Document.text.")
    end: int = Field(description="Offset one past the expression.")


class FeatureEffect(BaseModel):
    feature: str = Field(description="Feature name (see the profile's weights).")
    value: float = Field(description="The feature's value for this item.")
    log_odds: float = Field(description="Log-odds it adds against the training average (negative lowers).")


class CalibratedScore(BaseModel):
    """A probability from a calibration profile, its decision and what moved it."""

    probability: float = Field(ge=0, le=1, description="Probability under equal class priors.")
    decision: bool = Field(description="probability >= threshold.")
    threshold: float = Field(description="The profile's threshold (chosen for balanced accuracy).")
    profile: str = Field(description="task/model/extractor of the profile used.")
    default_used: bool = Field(description="No profile matched the model; the documented default was used.")
    effects: list[FeatureEffect] = Field(default_factory=list, description="Largest effects first.")


class Claim(BaseModel):
    id: str = Field(description="Claim id, C1..Cn.")
    text: str = Field(description="Atomic, self-contained statement of the claim.")
    type: ClaimType = Field(description="Kind of claim.")
    attribution: Attribution = Field(default_factory=Attribution, description="Who says it and how.")
    check_worthiness: float = Field(ge=0, le=1, description="0 = not worth checking, 1 = must check.")
    check_worthiness_reason: str = Field(description="One line on why.")
    check_worthiness_calibrated: CalibratedScore | None = Field(
        None, description="The calibrated score behind check_worthiness, when a profile applied.")
    sentence_ids: list[str] = Field(description="Sentences the claim is taken from.")
    quote: Quote = Field(description="Exact source words (first cited sentence), offsets by code.")
    quotes: list[Quote] = Field(default_factory=list, description="All cited sentences' exact text.")
    dates: list[DateResolution] = Field(default_factory=list, description="Relative dates resolved.")
    as_of: str | None = Field(None, description="Publication date the claim is anchored to (ISO).")


class VerificationMethod(StrEnum):
    primary_document = "primary_document"
    official_record = "official_record"
    dataset = "dataset"
    expert = "expert"
    on_record_confirmation = "on_record_confirmation"
    other_outlets = "other_outlets"
    other = "other"


class VerificationQuestion(BaseModel):
    claim_id: str = Field(description="The claim this question verifies.")
    question: str = Field(description="A question answerable without the article.")
    method: VerificationMethod = Field(description="How to check it.")
    who_could_answer: str = Field(description="Person, office or body that could answer.")


class ClaimList(BaseModel):
    claims: list[Claim] = Field(description="Check-worthy claims in article order.")
    provenance: Provenance | None = Field(None, description="How this result was produced.")


class QuestionList(BaseModel):
    questions: list[VerificationQuestion] = Field(description="1-3 questions per claim.")
    provenance: Provenance | None = Field(None, description="How this result was produced.")


class DocumentInfo(BaseModel):
    title: str | None = Field(None, description="Article title.")
    outlet: str | None = Field(None, description="Outlet.")
    url: str | None = Field(None, description="URL.")
    published: dt.date | None = Field(None, description="Publication date.")
    source: str | None = Field(None, description="Where it was read from.")
    doc_id: str = Field(description="Content hash of the article text.")
    sentences: int = Field(description="Number of sentences.")

    @classmethod
    def of(cls, doc: Document) -> DocumentInfo:
        return cls(
            title=doc.title, outlet=doc.outlet, url=doc.url, published=doc.published,
            source=doc.source, doc_id=doc.doc_id, sentences=len(doc.sentences),
        )


class Analysis(BaseModel):
    document: DocumentInfo = Field(description="The article analysed.")
    summary: Summary = Field(description="Structured summary.")
    claims: list[Claim] = Field(description="Check-worthy claims.")
    questions: list[VerificationQuestion] = Field(description="Verification questions per claim.")
    provenance: Provenance = Field(description="Totals over the three stages.")


# --------------------------------------------------------------------------- drafts (LLM-facing)


class KeyPointDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=160, description="The key point in your own short words.")
    ids: list[int] = Field(min_length=1, max_length=3, description="Sentence numbers that state it.")


class WDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=80, description="A few words.")
    ids: list[int] = Field(min_length=1, max_length=2, description="Sentence numbers that state it.")


class SummaryDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    headline: str = Field(max_length=100, description="Neutral headline, at most 15 words.")
    tldr: str = Field(max_length=400, description="Two or three sentences summarising the article.")
    key_points: list[KeyPointDraft] = Field(min_length=1, max_length=6, description="Key points, 3 or more.")
    who: WDraft | None = Field(None, description="Main actors, if stated.")
    when: WDraft | None = Field(None, description="When, if stated.")
    where: WDraft | None = Field(None, description="Where, if stated.")
    why: WDraft | None = Field(None, description="Why, if stated.")


class ClaimDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int = Field(description="Sentence number the claim comes from.")
    claim: str = Field(max_length=160, description="The claim in at most 25 words, self-contained.")
    type: ClaimType = Field(description="Kind of claim.")
    speaker: str | None = Field(None, max_length=60, description="Name of who makes the claim, or null.")
    checkworthy: bool = Field(description="Could a fact-checker verify it with records or data?")
    quote: str | None = Field(None, max_length=200, description="Optional exact words from the sentence.")


class ClaimsDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    claims: list[ClaimDraft] = Field(max_length=10, description="One entry per listed sentence.")


class QuestionDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    claim: int = Field(description="Claim number.")
    question: str = Field(max_length=160, description="Question answerable without the article.")
    method: VerificationMethod = Field(description="How to check it.")
    who: str = Field(max_length=60, description="Who could answer.")


class QuestionsDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    questions: list[QuestionDraft] = Field(max_length=20, description="One or two per claim.")


DRAFTS: dict[str, type[BaseModel]] = {
    m.__name__: m for m in (SummaryDraft, ClaimsDraft, QuestionsDraft)
}


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with `$ref`s inlined and titles dropped.

    Grammar compilers (llama.cpp) and strict modes handle flat schemas best.
    """
    raw = model.model_json_schema()
    defs = raw.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(defs[node["$ref"].split("/")[-1]])
            return {k: walk(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(raw)  # type: ignore[no-any-return]


class ReduceDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    headline: str = Field(max_length=100, description="Neutral headline, at most 15 words.")
    tldr: str = Field(max_length=400, description="Two or three sentences summarising the article.")
    keep: list[int] = Field(min_length=1, max_length=8, description="Point numbers to keep, best first.")


DRAFTS[ReduceDraft.__name__] = ReduceDraft
