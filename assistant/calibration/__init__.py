"""Calibrated decisions: small logistic models over named features, fitted per task and
per language model, shipped and looked up as JSON profiles.

    from assistant.calibration import checkworthiness_scores
    scores = checkworthiness_scores(doc, signals, model="qwen2.5-coder-1.5b-instruct-q4_k_m")
    scores["S3"].probability, scores["S3"].check_worthy, scores["S3"].effects

Fitting is pure Python (`fit_logistic`: Newton/IRLS with an L2 penalty on standardised
weights, balanced class weights); `cross_validate` keeps whole groups (debates,
articles) in one fold and chooses each fold's threshold on its training rows;
`fit_profile` does both and returns a `Profile` with its dev scores and bootstrap
intervals. `assistant calibrate` is the command line over `fit_profile`.

Check-worthiness has a shipped profile for the embedded model (fitted on CLEF-2019
training debates, see `profiles/`); its features are text-only, so it is also the
documented default for any other model. Faithfulness and verdict profiles are fitted
from precomputed feature rows: `scripts/faithfulness_features.py` and
`scripts/verdict_features.py` write them (the model's probabilities plus the checks'
findings, named in `steps.faithfulness.FEATURES` and `steps.factcheck.VERDICT_FEATURES`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.calibration._checkworthiness import FEATURES as CHECKWORTHINESS_FEATURES
from assistant.calibration._checkworthiness import (
    TRANSPARENT_FEATURES as CHECKWORTHINESS_TRANSPARENT_FEATURES,
)
from assistant.calibration._checkworthiness import WORD_FEATURES as CHECKWORTHINESS_WORD_FEATURES
from assistant.calibration._checkworthiness import (
    WORD_KEEP,
    add_word_features,
    cross_validate_checkworthiness,
    document_of,
    document_rows,
    extractor_name,
    full_rows,
    neighbours_of,
    sentence_features,
    texts_features,
)
from assistant.calibration._cv import (
    CrossValidation,
    DevScores,
    Interval,
    cross_validate,
    dev_scores,
    grouped_folds,
    score_interval,
)
from assistant.calibration._logistic import LogisticFit, best_threshold, fit_logistic, sigmoid
from assistant.calibration._profile import (
    DEFAULT_MODEL,
    ENV_PROFILE_DIR,
    PACKAGE_DIR,
    TASKS,
    FittedOn,
    Profile,
    ProfileChoice,
    Task,
    find_profile,
    load_profile,
    profile_dirs,
    profile_filename,
    save_profile,
    user_profile_dir,
)
from assistant.calibration._words import (
    WordCounts,
    WordModel,
    cross_fitted_scores,
    fit_word_model,
    tokens,
)
from assistant.errors import InputError, UserError
from assistant.schemas import CalibratedScore, Document, FeatureEffect
from assistant.text.signals import SentenceSignals

SHOWN_EFFECTS = 5


class LabelledRows:
    """Rows read from a labelled JSONL file: features (computed or given), labels, groups."""

    def __init__(self, rows: list[dict[str, float]], labels: list[int], groups: list[str],
                 features: list[str], extractor: str, fitted_on: FittedOn,
                 texts: list[str] | None = None) -> None:
        self.rows, self.labels, self.groups = rows, labels, groups
        self.features, self.extractor, self.fitted_on, self.texts = features, extractor, fitted_on, texts


def _label(value: object, where: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if value in (0, 1, "0", "1"):
        return int(value)
    raise InputError(f"{where}: label must be 0 or 1 (or true/false), got {value!r}")


def read_records(path: Path) -> tuple[bytes, list[tuple[int, dict[str, Any]]]]:
    """The file's bytes (for its hash) and its JSONL objects with their line numbers; an
    `InputError` naming the file and line for anything unreadable, not UTF-8 or not an object."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror or err}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(rec, dict):
            raise InputError(f"{path}:{n}: each line must be a JSON object")
        out.append((n, rec))
    if not out:
        raise InputError(f"{path} has no rows")
    return raw, out


def read_labelled(path: str | Path, task: Task, *, group_by: str = "group",
                  method: str = "auto") -> LabelledRows:
    """Read `path` (JSONL). checkworthiness: `text`, `label`, optional `group_by` field;
    features are computed here. faithfulness / verdict: `features` (name -> number),
    `label`, optional group: precomputed feature rows. A row without a group is its own."""
    file = Path(path)
    raw, records = read_records(file)
    labels = [_label(rec.get("label"), f"{file}:{n}") for n, rec in records]
    groups = [str(rec[group_by]) if rec.get(group_by) is not None else f"row{n}" for n, rec in records]
    texts: list[str] | None = None
    if task == "checkworthiness":
        texts = []
        for n, rec in records:
            if not isinstance(rec.get("text"), str) or not rec["text"].strip():
                raise InputError(f"{file}:{n}: checkworthiness rows need a non-empty 'text'")
            texts.append(rec["text"])
        rows, extractor, _ = texts_features(texts, groups, method)  # type: ignore[arg-type]
        features = list(CHECKWORTHINESS_FEATURES)
    else:
        rows = []
        for n, rec in records:
            feats = rec.get("features")
            if not isinstance(feats, dict) or not feats or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in feats.values()):
                raise InputError(f"{file}:{n}: {task} rows need 'features': an object of numbers "
                                 "(feature extraction for this task is not built yet; give precomputed rows)")
            rows.append({str(k): float(v) for k, v in feats.items()})
        features = sorted({k for r in rows for k in r})
        extractor = "precomputed"
    fitted_on = FittedOn(data=file.name, sha256=hashlib.sha256(raw).hexdigest()[:16], rows=len(rows),
                         positives=sum(labels), groups=len(set(groups)), group_by=group_by)
    return LabelledRows(rows, labels, groups, features, extractor, fitted_on, texts)


def fit_profile(data: LabelledRows, task: Task, model: str, *, folds: int = 5, l2: float = 0.1,
                resamples: int = 1000, seed: int = 0, notes: Sequence[str] = ()) -> Profile:
    """Grouped cross-validation for the dev scores, then the final fit on every row, its
    threshold chosen for balanced accuracy on those rows."""
    if len(set(data.labels)) < 2:
        raise UserError("the labelled data needs both labels (0 and 1)")
    if len(set(data.groups)) < 2:
        raise UserError("cross-validation needs at least 2 groups: give rows a group field "
                        "(--group-by) or more rows")
    k = min(folds, len(set(data.groups)))
    scheme = (f"leave-one-{data.fitted_on.group_by}-out" if k == len(set(data.groups))
              else f"grouped {k}-fold by {data.fitted_on.group_by}")
    words = task == "checkworthiness" and data.texts is not None
    if words:
        assert data.texts is not None
        # Before and after on the same folds: the transparent features alone, then with
        # the word model refitted inside each fold.
        base = cross_validate(data.rows, data.labels, data.groups, CHECKWORTHINESS_TRANSPARENT_FEATURES, k=k, l2=l2)
        before = dev_scores(base, data.labels, data.groups, scheme=scheme, resamples=resamples, seed=seed)
        cv = cross_validate_checkworthiness(data.rows, data.texts, data.labels, data.groups, k=k, l2=l2)
        dev = dev_scores(cv, data.labels, data.groups, scheme=scheme, resamples=resamples, seed=seed)
        dev.baseline = {"transparent_features_balanced_accuracy": before.balanced_accuracy,
                        "transparent_features_average_precision": before.average_precision}
        full = full_rows(data.rows, data.texts, data.labels, data.groups)
        rows, word_model = full.rows, full.word_model
    else:
        cv = cross_validate(data.rows, data.labels, data.groups, data.features, k=k, l2=l2)
        dev = dev_scores(cv, data.labels, data.groups, scheme=scheme, resamples=resamples, seed=seed)
        rows, word_model = data.rows, None
    fit = fit_logistic(rows, data.labels, data.features, l2=l2)
    cut = best_threshold(data.labels, [fit.probability(r) for r in rows])
    return Profile.from_fit(fit, task=task, model=model, extractor=data.extractor, threshold=round(cut, 6),
                            fitted_on=data.fitted_on, dev=dev, created=dt.date.today(), notes=list(notes),
                            word_model=word_model)


def choice_note(task: Task, choice: ProfileChoice | None, model: str | None,
                without: str) -> str | None:
    """What a result should say about the profile it used: none found (`without` says
    what decides then), the documented default for another model, or nothing."""
    if choice is None:
        return f"no {task} profile found: {without}"
    if choice.default_used:
        return (f"no {task} profile for model {model!r}: used the documented default "
                f"({choice.profile.key}); fit one with `assistant calibrate --task {task}`")
    return None


def score_row(profile: Profile, row: dict[str, float], *, default_used: bool = False,
              shown: int = SHOWN_EFFECTS, fit: LogisticFit | None = None) -> CalibratedScore:
    """The profile's probability and decision for one feature row, with its largest effects."""
    fit = fit or profile.fit()
    p = fit.probability(row)
    effects = [FeatureEffect(feature=f, value=round(v, 4), log_odds=round(e, 4))
               for f, v, e in fit.contributions(row)[:shown]]
    return CalibratedScore(probability=round(p, 4), decision=p >= profile.threshold,
                           threshold=profile.threshold, profile=profile.key, default_used=default_used,
                           effects=effects)


def checkworthiness_scores(doc: Document, signals: Sequence[SentenceSignals], *, model: str | None,
                           directory: str | Path | None = None) -> dict[str, CalibratedScore]:
    """Calibrated check-worthiness of each sentence, by sentence id; {} when no profile
    fits the extractor that produced `signals` (then the transparent score stands)."""
    if not signals:
        return {}
    choice = find_profile("checkworthiness", model, extractor_name(signals[0].method), directory=directory)
    if choice is None:
        return {}
    fit = choice.profile.fit()
    rows = document_rows(doc, signals, choice.profile.word_model)
    return {s.sentence_id: score_row(choice.profile, row, default_used=choice.default_used, fit=fit)
            for s, row in zip(signals, rows, strict=True)}


__all__ = [
    "CHECKWORTHINESS_FEATURES",
    "CHECKWORTHINESS_TRANSPARENT_FEATURES",
    "CHECKWORTHINESS_WORD_FEATURES",
    "DEFAULT_MODEL",
    "ENV_PROFILE_DIR",
    "PACKAGE_DIR",
    "SHOWN_EFFECTS",
    "TASKS",
    "WORD_KEEP",
    "CalibratedScore",
    "CrossValidation",
    "DevScores",
    "FeatureEffect",
    "FittedOn",
    "Interval",
    "LabelledRows",
    "LogisticFit",
    "Profile",
    "ProfileChoice",
    "Task",
    "WordCounts",
    "WordModel",
    "add_word_features",
    "best_threshold",
    "checkworthiness_scores",
    "cross_fitted_scores",
    "cross_validate",
    "cross_validate_checkworthiness",
    "dev_scores",
    "document_of",
    "document_rows",
    "extractor_name",
    "find_profile",
    "fit_logistic",
    "fit_profile",
    "fit_word_model",
    "full_rows",
    "grouped_folds",
    "load_profile",
    "neighbours_of",
    "profile_dirs",
    "profile_filename",
    "read_labelled",
    "save_profile",
    "score_interval",
    "score_row",
    "sentence_features",
    "sigmoid",
    "texts_features",
    "tokens",
    "user_profile_dir",
]
