"""Calibration profiles: a fitted model for one task and one language model, as JSON.

Lookup order for (task, model, extractor): the `directory` argument, then
`$ASSISTANT_PROFILE_DIR`, then `<cache>/profiles` (where `assistant calibrate` writes by
default), then the profiles shipped in this package. The first profile whose task, model
key and extractor all match wins. With none for the model, the **default** is the one
fitted for the embedded model (`DEFAULT_MODEL`), looked up the same way, and the result
says `default_used=True`. A profile file may have any name ending in `.json`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.backends.model_files import MODEL_FILENAME, cache_dir
from assistant.calibration._cv import DevScores
from assistant.calibration._logistic import ClassWeight, LogisticFit
from assistant.calibration._words import WordModel
from assistant.errors import InputError

Task = Literal["faithfulness", "verdict", "refutation", "checkworthiness"]
TASKS: tuple[Task, ...] = ("faithfulness", "verdict", "refutation", "checkworthiness")
ENV_PROFILE_DIR = "ASSISTANT_PROFILE_DIR"
PACKAGE_DIR = Path(__file__).resolve().parent / "profiles"
DEFAULT_MODEL = Path(MODEL_FILENAME).stem
PROFILE_VERSION = 1


class FittedOn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: str = Field(description="File name of the labelled data (no path: it may be private).")
    sha256: str = Field(description="Hash of the file's bytes, first 16 hex digits.")
    rows: int = Field(description="Rows used.")
    positives: int = Field(description="Rows labelled 1.")
    groups: int = Field(description="Distinct groups.")
    group_by: str = Field(description="Field the rows were grouped by for cross-validation.")


class Profile(BaseModel):
    """Weights, threshold, the data it was fitted on and its held-out scores."""

    model_config = ConfigDict(extra="forbid")
    version: int = Field(PROFILE_VERSION, description="Profile format version.")
    task: Task = Field(description="faithfulness, verdict, refutation or checkworthiness.")
    model: str = Field(description="Model key it applies to: the backend's model name (GGUF stem for embedded).")
    extractor: str = Field(description="Feature extractor the weights expect: signals-spacy, signals-regex, "
                                       "precomputed.")
    weights: dict[str, float] = Field(description="Feature name -> weight on the raw feature value (log-odds).")
    intercept: float = Field(description="Log-odds when every feature is 0.")
    means: dict[str, float] = Field(description="Training mean per feature: contributions are measured from it.")
    scales: dict[str, float] = Field(description="Training standard deviation per feature.")
    threshold: float = Field(ge=0, le=1, description="Decide 1 when the probability is at least this "
                                                     "(chosen for balanced accuracy on the training rows).")
    l2: float = Field(description="L2 penalty on the standardised weights.")
    class_weight: ClassWeight = Field(description="balanced: the probability is under equal class priors.")
    fitted_on: FittedOn = Field(description="What it was fitted on.")
    dev: DevScores = Field(description="Grouped cross-validation scores on that data.")
    created: dt.date = Field(description="Day it was fitted.")
    notes: list[str] = Field(default_factory=list, description="Caveats.")
    word_model: WordModel | None = Field(
        None, description="Check-worthiness: the word log-odds model the word_* features are read from "
                          "(fitted on every row); absent for profiles without word features.")

    @model_validator(mode="after")
    def _same_features(self) -> Profile:
        if set(self.means) != set(self.weights) or set(self.scales) != set(self.weights):
            raise ValueError("weights, means and scales must name the same features")
        return self

    @property
    def features(self) -> list[str]:
        return list(self.weights)

    @property
    def key(self) -> str:
        return f"{self.task}/{self.model}/{self.extractor}"

    def fit(self) -> LogisticFit:
        f = self.features
        return LogisticFit(features=f, weights=[self.weights[x] for x in f], intercept=self.intercept,
                           means=[self.means[x] for x in f], scales=[self.scales[x] for x in f],
                           l2=self.l2, class_weight=self.class_weight, iterations=0, converged=True)

    @classmethod
    def from_fit(cls, fit: LogisticFit, **fields: object) -> Profile:
        return cls(weights=dict(zip(fit.features, fit.weights, strict=True)), intercept=fit.intercept,
                   means=dict(zip(fit.features, fit.means, strict=True)),
                   scales=dict(zip(fit.features, fit.scales, strict=True)), l2=fit.l2,
                   class_weight=fit.class_weight, **fields)


class ProfileChoice(BaseModel):
    """The profile a lookup found and whether it is the documented default."""

    profile: Profile = Field(description="The profile to use.")
    path: str = Field(description="Where it was read from.")
    default_used: bool = Field(description="True when no profile matched the model and the default was used.")
    requested_model: str | None = Field(description="The model key that was looked up.")


def profile_dirs(directory: str | Path | None = None) -> list[Path]:
    dirs = [Path(directory)] if directory else []
    if env := os.environ.get(ENV_PROFILE_DIR):
        dirs.append(Path(env).expanduser())
    return [*dirs, cache_dir() / "profiles", PACKAGE_DIR]


def user_profile_dir() -> Path:
    """Where `assistant calibrate` writes by default: `$ASSISTANT_PROFILE_DIR`, else `<cache>/profiles`."""
    env = os.environ.get(ENV_PROFILE_DIR)
    return Path(env).expanduser() if env else cache_dir() / "profiles"


def load_profile(path: str | Path) -> Profile:
    file = Path(path)
    try:
        return Profile.model_validate_json(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no profile at {file}") from None
    except (ValidationError, UnicodeDecodeError) as exc:
        raise InputError(f"{file} is not a calibration profile: {' '.join(str(exc).split())[:300]}") from None


def save_profile(profile: Profile, path: str | Path) -> Path:
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(file.suffix + ".tmp")
    tmp.write_text(json.dumps(profile.model_dump(mode="json"), indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, file)
    return file


def profile_filename(task: str, model: str, extractor: str) -> str:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in model)
    return f"{task}.{safe}.{extractor}.json"


# Parsed profiles by (path, mtime, size): a batch looks a profile up per article, and a
# refitted file (new mtime) is read again.
_PARSED: dict[tuple[str, int, int], Profile | None] = {}


def _cached_profile(file: Path) -> Profile | None:
    st = file.stat()
    key = (str(file), st.st_mtime_ns, st.st_size)
    if key not in _PARSED:
        try:
            _PARSED[key] = load_profile(file)
        except InputError:
            _PARSED[key] = None  # another tool's JSON in the same folder
    return _PARSED[key]


def _profiles(directory: str | Path | None) -> Iterator[tuple[Path, Profile]]:
    for folder in profile_dirs(directory):
        if not folder.is_dir():
            continue
        for file in sorted(folder.glob("*.json")):
            if (profile := _cached_profile(file)) is not None:
                yield file, profile


def find_profile(task: Task, model: str | None, extractor: str, *,
                 directory: str | Path | None = None) -> ProfileChoice | None:
    """The profile for `model` (see the module docstring for the order), else the default
    model's with `default_used=True`; None when there is neither."""
    found = [(f, p) for f, p in _profiles(directory) if p.task == task and p.extractor == extractor]
    for wanted, is_default in ((model, False), (DEFAULT_MODEL, True)):
        for file, p in found:
            if wanted is not None and p.model == wanted:
                return ProfileChoice(profile=p, path=str(file), default_used=is_default and model != DEFAULT_MODEL,
                                     requested_model=model)
    return None
