"""The `clef` check-worthiness suite: a clean skip without data, and a full run on a small
labelled file this test writes (no model)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.evals.results import load_results
from assistant.evals.suites import SentenceItem, load_suite


def _write_clef(root: Path) -> None:
    rng = random.Random(3)
    rows = []
    for d in ("debate_a", "debate_b", "debate_c"):
        for line in range(1, 41):
            kind = rng.random()
            if kind < 0.3:
                text, label = f"We cut taxes by {rng.randint(2, 40)} percent and created {rng.randint(1, 9)} million jobs.", 1
            elif kind < 0.65:
                text, label = "Thank you very much.", 0
            else:
                text, label = "I think you should ask yourself what you really want?", 0
            rows.append({"debate": d, "line": line, "speaker": "X", "text": text, "label": label})
    (root / "dev").mkdir(parents=True)
    (root / "dev" / "clef2019_checkworthiness_train.jsonl").write_text(
        "\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


def test_clef_is_a_clean_skip_without_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ASSISTANT_EVAL_DATA", str(tmp_path))
    assert main(["eval", "run", "--suite", "clef"]) == 0
    err = capsys.readouterr().err
    assert "suite 'clef' skipped" in err and "is absent" in err


def test_clef_suite_reports_calibrated_and_transparent_scores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ASSISTANT_EVAL_DATA", str(tmp_path / "data"))
    _write_clef(tmp_path / "data")
    suite = load_suite("clef")
    assert suite.task == "checkworthiness" and len(suite.items) == 120
    assert isinstance(suite.items[0], SentenceItem) and suite.items[0].id == "debate_a:1"

    out = tmp_path / "run"
    assert main(["eval", "run", "--suite", "clef", "--out", str(out), "--resamples", "50", "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "balanced_accuracy" in table and "seconds_per_item" in table
    run = load_results(out)
    ba = run.metric("balanced_accuracy")
    assert "leave-one-debate-out" in ba.description and ba.n == 120
    assert ba.mean is not None and ba.mean > 0.9  # the labels follow the figures exactly
    assert ba.ci_low is not None and ba.ci_low <= ba.mean <= (ba.ci_high or 0)
    assert 0 < (run.metric("average_precision").mean or 0) <= 1 + 1e-9  # a perfect ranking sums to 1 in floating point
    assert run.metric("transparent_balanced_accuracy").mean is not None
    assert run.metric("features_only_balanced_accuracy").mean is not None
    assert "without the word model" in run.metric("features_only_average_precision").description
    assert (run.metric("seconds_per_item").mean or 0) > 0
    first = run.items[0].output
    assert isinstance(first, dict) and {"label", "probability", "prediction", "transparent"} <= set(first)
