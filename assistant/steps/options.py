"""`Options`: every knob that changes results, in one validated object.

Knobs every step reads (attempts, chunk size, fallback, where prompts and calibration
profiles live) sit at the top; the rest are grouped by the operation that reads them:
`analysis` (summary, claims, questions), `faithfulness` (`check_summary`) and
`fact_check`. The object is validated when it is built, frozen, and handed as it is to
every step, so no operation translates it into options of its own.

The flat keyword names of earlier versions still work where a caller gives options
(`Options(max_claims=4)`, `Assistant(backend, faithfulness_judge=True)`): each goes to
the field of its section that `LEGACY_NAMES` names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    field_serializer,
    model_validator,
)

from assistant.errors import UserError
from assistant.schemas import MismatchKind


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AnalysisOptions(_Section):
    """Summary, claims and verification questions (`analyze` and its stages)."""

    max_points: int = Field(6, ge=1, description="Key points kept in a summary.")
    max_claims: int = Field(10, ge=0, description="Candidate sentences offered for claims.")
    min_check_worthiness: float = Field(0.3, ge=0.0, le=1.0,
                                        description="Claims scoring below it are left out.")
    support_threshold: float = Field(0.4, ge=0.0, le=1.0,
                                     description="Content-word support a key point needs from "
                                                 "the sentences it cites.")


class FaithfulnessOptions(_Section):
    """`check_summary`: does a summary say only what its article supports."""

    candidates: int = Field(3, ge=1, description="Article sentences shown per summary sentence.")
    # Kinds whose mismatch alone makes a sentence not supported (all of them scored best
    # on the SummEdits tuning documents; see scripts/run_factcheck_dev.py).
    blocking: frozenset[MismatchKind] = Field(frozenset(MismatchKind),
                                              description="Mismatch kinds that decide alone.")
    # A guard against sentences from elsewhere: on SummEdits (edits of close paraphrases)
    # 0.3 is a wash (0.630 vs 0.628 without it); higher values cost accuracy.
    support_threshold: float = Field(0.3, ge=0.0, le=1.0,
                                     description="Lowest content-word support for 'supported' "
                                                 "when no check fires and the model does not decide.")
    # Off by default: on SummEdits news the embedded 1.5B judge lowered balanced accuracy
    # (checks alone 0.68, checks or model 0.58, n=50). Turn on for a stronger model.
    model_decides: bool = Field(False, description="The judge's label decides sentences no "
                                                   "check flags.")
    verify_flags: bool = Field(True, description="With model_decides: keep a 'not supported' "
                                                 "only when a word the model names as changed "
                                                 "is missing from the sentences it saw.")
    max_summary_sentences: int = Field(40, ge=1, description="Longer summaries are refused.")
    probe: bool = Field(True, description="Read P(supported) per summary sentence (one 1-token "
                                          "call); a calibration profile combines it with the checks.")
    # Off by default: its label was at chance on SummEdits; ~90 output tokens per sentence.
    judge: bool = Field(False, description="Also run the generated judge (changed words, error "
                                           "type, sentence ids): explanations, unless model_decides.")

    @field_serializer("blocking")
    def _sorted(self, kinds: frozenset[MismatchKind]) -> list[str]:
        return sorted(k.value for k in kinds)


class FactCheckOptions(_Section):
    """`fact_check`: verdicts on claims against evidence documents."""

    top_k: int = Field(3, ge=1, description="Evidence sentences retrieved per claim.")
    max_claims: int = Field(50, ge=1, description="Most claims checked in one call.")
    verdict: Literal["calibrated", "stance"] = Field(
        "calibrated", description="calibrated: two yes/no probabilities per claim over its retrieved sentences "
                                  "(supported? contradicted?) and the deterministic checks, combined by the "
                                  "verdict profile (supported or not) and the refutation profile (refuted or "
                                  "not enough evidence) for the model; stance: the model's stance label per "
                                  "sentence.")


SECTIONS = ("analysis", "faithfulness", "fact_check")

# Flat names of earlier versions -> (section, field).
LEGACY_NAMES = {
    "max_points": ("analysis", "max_points"),
    "max_claims": ("analysis", "max_claims"),
    "min_check_worthiness": ("analysis", "min_check_worthiness"),
    "support_threshold": ("analysis", "support_threshold"),
    "faithfulness_judge": ("faithfulness", "judge"),
    "faithfulness_probe": ("faithfulness", "probe"),
}


def _section_dict(value: Any) -> dict[str, Any]:
    return value.model_dump() if isinstance(value, BaseModel) else dict(value)


def _route_legacy(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with each flat name of `LEGACY_NAMES` moved into its section."""
    if not LEGACY_NAMES.keys() & data.keys():
        return data
    data = dict(data)
    for old, (section, name) in LEGACY_NAMES.items():
        if old in data:
            data[section] = {**_section_dict(data.get(section, {})), name: data.pop(old)}
    return data


class Options(_Section):
    """Knobs that change results (and so belong in cache keys)."""

    max_attempts: int = Field(3, ge=1, description="Attempts per structured call (1 + re-asks).")
    chunk_tokens: int = Field(3000, ge=1, description="Article tokens per model call.")
    # When a stage's model output never validates: fall back to the article's own
    # sentences (noted in provenance) instead of failing the whole analysis.
    fallback: bool = Field(True, description="Fall back to code when a stage never validates.")
    prompts_dir: Path | None = Field(None, description="Prompt templates looked up here first.")
    profiles_dir: Path | None = Field(None, description="Calibration profiles looked up here "
                                                        "first (see assistant.calibration).")
    analysis: AnalysisOptions = Field(default_factory=AnalysisOptions)
    faithfulness: FaithfulnessOptions = Field(default_factory=FaithfulnessOptions)
    fact_check: FactCheckOptions = Field(default_factory=FactCheckOptions)

    @model_validator(mode="before")
    @classmethod
    def _legacy_names(cls, data: Any) -> Any:
        return _route_legacy(data) if isinstance(data, dict) else data

    def replace(self, **changes: Any) -> Options:
        """A validated copy with `changes`: top-level fields, sections (a section model, or
        a dict of the fields to change in it) or the flat names of `LEGACY_NAMES`. A name
        or value that does not fit is a `UserError`."""
        if not changes:
            return self
        data = self.model_dump()
        for key, value in _route_legacy(changes).items():
            data[key] = {**data[key], **value} if key in SECTIONS and isinstance(value, dict) else value
        try:
            return Options.model_validate(data)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            raise UserError(f"bad option {'.'.join(map(str, err['loc']))}: {err['msg']}") from None

    def flat(self) -> dict[str, JsonValue]:
        """Every value under a dotted name (`analysis.max_claims`), for run records."""
        out: dict[str, JsonValue] = {}
        for key, value in self.model_dump(mode="json").items():
            if key in SECTIONS:
                out.update({f"{key}.{name}": v for name, v in value.items()})
            else:
                out[key] = value
        return out
