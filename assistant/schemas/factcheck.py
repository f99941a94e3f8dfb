"""Public models of the fact-check features, and the tiny drafts the model fills for them.

Three results: `Mismatch` (a deterministic check's finding, with both spans),
`FaithfulnessReport` (is a summary supported by its article, sentence by sentence) and
`FactCheckReport` (verdicts on claims against evidence documents the user supplies).

Evidence and the article are kept apart by type: article words are `Quote`s with
sentence ids of the article; evidence words are `EvidenceQuote`s that name their evidence
document (E1, E2, ...). Model knowledge (chain-of-verification) is a `CoveResult` whose
label says it is unverified, and it never appears among the evidence.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.schemas.analysis import CalibratedScore, DateResolution
from assistant.schemas.document import DocumentInfo, Quote
from assistant.schemas.drafts import DRAFTS
from assistant.schemas.provenance import Provenance

# --------------------------------------------------------------------------- deterministic


class MismatchKind(StrEnum):
    number = "number"
    unit = "unit"
    entity = "entity"
    date = "date"
    quote = "quote"
    negation = "negation"


class TextSpan(BaseModel):
    """Words of the checked text (a summary sentence or a claim)."""

    text: str = Field(description="The words exactly as written in the checked text.")
    start: int = Field(description="Offset in the checked text.")
    end: int = Field(description="Offset one past the words in the checked text.")


class SourceSpan(BaseModel):
    """Words of the reference document (the article, or one evidence document)."""

    document: str | None = Field(default=None, description="Evidence document id (E1..) when the reference is evidence; None for the article.")
    sentence_id: str = Field(description="Sentence of the reference document holding the words.")
    text: str = Field(description="Exactly the reference document's text at start:end.")
    start: int = Field(description="Offset in the reference document's text.")
    end: int = Field(description="Offset one past the words.")


class Mismatch(BaseModel):
    """Something the checked text states that the reference document does not."""

    kind: MismatchKind = Field(description="number, unit, entity, date, quote or negation.")
    claim_span: TextSpan = Field(description="The words in the checked text.")
    source_span: SourceSpan | None = Field(default=None, description="The closest counterpart in the reference (same kind, most related "
                          "sentence); None when the reference has nothing of the kind.")
    message: str = Field(description="One line: what differs.")


# --------------------------------------------------------------------------- faithfulness


class FaithLabel(StrEnum):
    supported = "supported"
    not_supported = "not_supported"


class ErrorType(StrEnum):
    """Error types of the FRANK typology, reduced to what a reader can act on."""

    none = "none"
    entity = "entity"
    predicate = "predicate"
    circumstance = "circumstance"
    coreference = "coreference"
    discourse_link = "discourse_link"
    not_in_article = "not_in_article"


class SentenceJudgement(BaseModel):
    index: int = Field(description="1-based number of the summary sentence.")
    text: str = Field(description="The summary sentence.")
    start: int = Field(description="Offset of the sentence in the summary text.")
    end: int = Field(description="Offset one past the sentence in the summary text.")
    label: FaithLabel = Field(description="supported or not_supported, deterministic checks and model combined.")
    error_type: ErrorType = Field(description="Why it is not supported; none when supported.")
    sentence_ids: list[str] = Field(description="Article sentences that support it (S ids).")
    quotes: list[Quote] = Field(description="Those article sentences' exact text with offsets.")
    support: float = Field(description="Share of the sentence's content words found in the cited sentences (0..1).")
    mismatches: list[Mismatch] = Field(description="Deterministic findings (numbers, units, entities, dates, quotes).")
    model_label: FaithLabel | None = Field(default=None, description="The model judge's label; None in deterministic-only mode.")
    model_error: ErrorType | None = Field(default=None, description="The model judge's error type.")
    model_changed: str | None = Field(default=None, description="Words the model says the article does not state.")
    changed_unsupported: list[str] = Field(
        default_factory=list, description="Content words of model_changed that code found in none of "
                                          "the candidate article sentences (a verified flag).")
    probability: float | None = Field(
        default=None, description="The model's P(supported) over the sentence's focused premise "
                                  "(the closest article sentences); None without the model.")
    probability_method: Literal["logprobs", "label"] | None = Field(
        default=None, description="logprobs: read from the answer token's log-probabilities; "
                                  "label: the endpoint returned none, so the greedy Yes/No stands in.")
    calibrated: CalibratedScore | None = Field(
        default=None, description="The calibrated decision: the profile's probability over the "
                                  "checks' findings and the model's probability, and what moved it.")
    decided_by: Literal["checks", "model", "support", "calibrated"] = Field(
        description="What decided the label: a deterministic mismatch, the model judge (its "
                    "flag verified by code), lexical support alone (deterministic-only mode), "
                    "or the calibrated combination of checks and the model's probability.")


class FaithfulnessReport(BaseModel):
    document: DocumentInfo = Field(description="The article the summary is checked against.")
    summary: str = Field(description="The summary text as given.")
    label: FaithLabel = Field(description="supported only when every summary sentence is supported.")
    score: float = Field(description="Share of summary sentences judged supported (0..1).")
    sentences: list[SentenceJudgement] = Field(description="One judgement per summary sentence.")
    mode: Literal["combined", "checks"] = Field(description="combined: model judge plus checks; checks: deterministic only.")
    provenance: Provenance | None = Field(default=None, description="How this result was produced.")


class FaithDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    changed: str = Field(max_length=80, description="Words of the summary sentence the article does not state, or empty.")
    label: FaithLabel = Field(description="supported only if the article states every fact in it.")
    error: ErrorType = Field(description="The error type if not supported, else none.")
    ids: list[int] = Field(max_length=3, description="Numbers of the article sentences that state it; [] if none.")


# --------------------------------------------------------------------------- fact-check


class Verdict(StrEnum):
    supported = "supported"
    refuted = "refuted"
    not_enough_evidence = "not_enough_evidence"
    conflicting = "conflicting"


class Confidence(StrEnum):
    """How well sourced a finding is, in ICD 203's terms: one scale for fact-check
    verdicts and for the statements of a briefing note (see `briefing.CONFIDENCE_SCALE`)."""

    low = "low"
    moderate = "moderate"
    high = "high"


class Stance(StrEnum):
    supports = "supports"
    refutes = "refutes"
    unrelated = "unrelated"


class EvidenceDocument(BaseModel):
    id: str = Field(description="Evidence document id, E1..En, in the order given.")
    title: str | None = Field(default=None, description="Title, given or taken from the first line.")
    source: str | None = Field(default=None, description="Path the document was read from, or None for text.")
    doc_id: str = Field(description="Content hash of the document text (duplicates are dropped by it).")
    published: str | None = Field(default=None, description="Publication date, ISO, if known.")
    sentences: int = Field(description="Number of sentences.")


class EvidenceQuote(BaseModel):
    """Exact words of an evidence document (never of the article), checked by code."""

    document: str = Field(description="Evidence document id (E1..En); see FactCheckReport.evidence_documents.")
    source: str | None = Field(default=None, description="The evidence document's path or title, for display.")
    sentence_id: str = Field(description="Sentence id inside that evidence document.")
    text: str = Field(description="Exactly the evidence document's text at start:end.")
    start: int = Field(description="Offset in the evidence document's text.")
    end: int = Field(description="Offset one past the quote.")
    stance: Stance = Field(description="What the sentence does to the claim.")
    score: float = Field(description="BM25 retrieval score of the sentence for the claim.")


class CoveAnswer(BaseModel):
    question: str = Field(description="Verification question, asked without the claim or article.")
    answer: str = Field(description="The model's own answer from its training knowledge.")
    agreement: Literal["agrees", "contradicts", "unknown"] = Field(
        description="Whether the answer agrees with the claim.")


class CoveResult(BaseModel):
    """Chain-of-verification: what the model itself believes. Not evidence."""

    label: Literal["model knowledge, unverified"] = Field(
        default="model knowledge, unverified", description="Always this: the answers are not evidence.")
    answers: list[CoveAnswer] = Field(description="One answer per verification question.")
    agreement: Literal["consistent", "inconsistent", "unknown"] = Field(
        description="consistent when some answer agrees and none contradicts; inconsistent "
                    "when one contradicts; unknown otherwise.")


class ClaimVerdict(BaseModel):
    claim_id: str = Field(description="Claim id (C1..Cn).")
    claim_text: str = Field(description="The claim as checked.")
    article_quote: Quote | None = Field(default=None, description="The ARTICLE words the claim comes from (not evidence).")
    as_of: str | None = Field(default=None, description="Publication date the claim is anchored to (ISO).")
    dates: list[DateResolution] = Field(default_factory=list, description="Relative dates of the claim resolved against as_of.")
    verdict: Verdict = Field(description="supported, refuted, not_enough_evidence or conflicting.")
    evidence: list[EvidenceQuote] = Field(description="Evidence sentences that support or refute the claim.")
    confidence: Confidence = Field(description="low, moderate or high (see factcheck module docs).")
    rationale: str = Field(description="One or two lines on why, written by code from the findings.")
    mismatches: list[Mismatch] = Field(default_factory=list, description="Deterministic differences between the claim and its evidence.")
    cove: CoveResult | None = Field(default=None, description="Model knowledge (unverified), only with cove=True.")
    decided_by: Literal["calibrated", "probability", "stance", "retrieval"] = Field(
        default="stance", description="calibrated: a verdict profile over the two probabilities and the "
                                      "checks; probability: no profile, the probabilities by a fixed rule; "
                                      "stance: the model's stance labels per sentence; retrieval: nothing "
                                      "retrieved, so nothing to judge.")
    p_supported: float | None = Field(default=None, description="The model's P(Yes) to 'Is the claim fully "
                                                                 "supported by the passage?' over the retrieved sentences.")
    p_contradicted: float | None = Field(default=None, description="The model's P(Yes) to 'Does the passage "
                                                                    "show the claim is false?' over the same passage.")
    probability_method: Literal["logprobs", "label"] | None = Field(
        default=None, description="logprobs: read from the answer token; label: the endpoint gave no "
                                  "log-probabilities and the greedy Yes/No stands in (1.0 / 0.0).")
    calibrated: CalibratedScore | None = Field(default=None, description="The verdict profile's P(supported), "
                                                                         "decision and the features that moved it.")
    calibrated_refuted: CalibratedScore | None = Field(
        default=None, description="For a claim the verdict profile does not call supported: the refutation "
                                  "profile's P(refuted rather than not enough evidence), decision and the "
                                  "features that moved it.")
    supported_part: EvidenceQuote | None = Field(
        default=None, description="When the evidence states part of the claim but not all of it: the "
                                  "evidence sentence that states it (see supported_text).")
    supported_text: str | None = Field(default=None, description="The part of the claim that evidence states "
                                                                 "(the claim's own words).")


class FactCheckReport(BaseModel):
    article: DocumentInfo | None = Field(default=None, description="The article the claims come from, if one was given.")
    evidence_documents: list[EvidenceDocument] = Field(description="Evidence used, after de-duplication.")
    verdicts: list[ClaimVerdict] = Field(description="One verdict per claim.")
    notes: list[str] = Field(default_factory=list, description="Evidence skipped or de-duplicated, and why.")
    provenance: Provenance | None = Field(default=None, description="How this result was produced.")


class StanceDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stance: Stance = Field(description="supports, refutes or unrelated.")


class CovePlanDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    questions: list[str] = Field(min_length=1, max_length=2, description="Short factual questions.")


class CoveAnswerDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: str = Field(max_length=160, description="A short factual answer, or 'unknown'.")


class CoveCompareDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agreement: Literal["agrees", "contradicts", "unknown"] = Field(description="Does the answer agree with the statement?")


# Prompt files name their output schema; the registry lets tools resolve those names.
for _draft in (FaithDraft, StanceDraft, CovePlanDraft, CoveAnswerDraft, CoveCompareDraft):
    DRAFTS[_draft.__name__] = _draft
