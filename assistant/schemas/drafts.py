"""The compact "draft" models the LLM is asked to fill.

Drafts keep model output short (sentence numbers, enums, short strings): code turns them
into the public models, deriving every quote and character offset from the article itself.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from assistant.schemas.analysis import ClaimType, VerificationMethod

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
