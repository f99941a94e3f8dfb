"""Analysis results: the structured summary, check-worthy claims and verification questions."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from assistant.schemas.document import DocumentInfo, Quote
from assistant.schemas.provenance import Provenance


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


class Analysis(BaseModel):
    document: DocumentInfo = Field(description="The article analysed.")
    summary: Summary = Field(description="Structured summary.")
    claims: list[Claim] = Field(description="Check-worthy claims.")
    questions: list[VerificationQuestion] = Field(description="Verification questions per claim.")
    provenance: Provenance = Field(description="Totals over the three stages.")
