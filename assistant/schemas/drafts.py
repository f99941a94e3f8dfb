"""The compact "draft" models the LLM is asked to fill.

Drafts keep model output short (sentence numbers, enums, short strings): code turns them
into the public models, deriving every quote and character offset from the article itself.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# --------------------------------------------------------------------------- drafts (LLM-facing)


class ReadDraft(BaseModel):
    """What one "read" call over an article chunk returns: a headline and sentence numbers.

    Everything else of an analysis (key points, 5W, claims, quotes, questions) is built by
    code from these numbers and the article's own text, so the answer stays a few dozen
    tokens long.
    """

    model_config = ConfigDict(extra="forbid")
    headline: str = Field(max_length=100, description="Neutral headline, at most 12 words.")
    main: list[int] = Field(max_length=8, description="Numbers of the sentences that state the "
                                                      "main points, most important first.")
    check: list[int] = Field(max_length=10, description="Numbers of the sentences stating facts "
                                                        "a fact-checker could verify.")


DRAFTS: dict[str, type[BaseModel]] = {m.__name__: m for m in (ReadDraft,)}


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
