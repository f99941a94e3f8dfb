"""`compare_runs` / `format_comparison` on two hand-built runs with known per-item values."""

from __future__ import annotations

import re

import pytest

from assistant.evals.compare import compare_runs, format_comparison
from assistant.evals.results import ItemRecord, ItemScore, RunProvenance, RunResult, aggregate
from assistant.schemas import PromptRef

IDS = ["i1", "i2", "i3", "i4"]


def _run(values: dict[str, list[float | None]], *, summarize: str = "aaa111",
         lower: tuple[str, ...] = ("cost_calls",)) -> RunResult:
    metrics = [aggregate(name, "test", [ItemScore(item_id=i, value=v) for i, v in zip(IDS, vals, strict=True)],
                         higher_is_better=name not in lower, resamples=500,
                         unit="count" if name in lower else "rate")
               for name, vals in values.items()]
    prov = RunProvenance(backend="embedded", model="qwen", git_commit="c0ffee" * 6,
                         prompts=[PromptRef(name="summarize", version="1", hash=summarize),
                                  PromptRef(name="claims", version="2", hash="bbb222")],
                         options={"max_claims": 10})
    return RunResult(suite="fixtures", task="analyze", provenance=prov, metrics=metrics,
                     items=[ItemRecord(id=i) for i in IDS])


def test_deltas_intervals_and_changed_items() -> None:
    a = _run({"coverage": [0.5, 0.5, 0.5, 0.5], "recall": [0.5, 0.5, 0.5, 0.5],
              "cost_calls": [3, 3, 3, 3], "flat": [1, 0, 1, None]})
    b = _run({"coverage": [0.75, 0.75, 0.75, 0.75], "recall": [1.0, 0.5, 0.5, 0.5],
              "cost_calls": [4, 4, 4, 4], "flat": [1, 0, 1, None]}, summarize="ddd444")
    c = compare_runs(a, b, label_a="before", label_b="after")
    d = {m.name: m for m in c.metrics}

    # Every item +0.25: the paired interval is the point 0.25, clearly better.
    assert d["coverage"].delta == pytest.approx(0.25)
    assert (d["coverage"].ci_low, d["coverage"].ci_high) == pytest.approx((0.25, 0.25))
    assert d["coverage"].verdict == "better" and d["coverage"].n_paired == 4
    # One item of four +0.5: mean +0.125; resamples without i1 give 0, so the interval
    # touches 0 and the change is not clear.
    assert d["recall"].delta == pytest.approx(0.125)
    assert d["recall"].ci_low == pytest.approx(0.0) and d["recall"].ci_high <= 0.5
    assert d["recall"].verdict == "no clear change"
    assert [(ch.item_id, ch.a, ch.b) for ch in d["recall"].changed] == [("i1", 0.5, 1.0)]
    # More calls is worse for a lower-is-better metric.
    assert d["cost_calls"].verdict == "worse" and d["cost_calls"].delta == 1
    # Nothing moved; the item without a value is not paired.
    assert d["flat"].delta == 0 and d["flat"].changed == [] and d["flat"].verdict == "same"
    assert d["flat"].n_paired == 3
    assert c.differences == ["template summarize: v1@aaa111 -> v1@ddd444"]


def test_format_comparison() -> None:
    a = _run({"coverage": [0.5, 0.5, 0.5, 0.5], "gone": [1, 1, 1, 1]})
    b = _run({"coverage": [0.25, 0.5, 0.75, 1.0], "new": [1, 1, 1, 1]})
    b.provenance.model = "other"
    b.provenance.options = {"max_claims": 8}
    text = format_comparison(compare_runs(a, b, label_a="runs/a", label_b="runs/b"), shown=2)
    assert "A = runs/a" in text and "B = runs/b" in text
    assert "  model qwen -> other" in text and "  option max_claims: 10 -> 8" in text
    row = next(line for line in text.splitlines() if line.startswith("coverage"))
    assert re.match(r"coverage +0\.500 +0\.625 +\+0\.125 +\[[-+±]\d\.\d{3}, \+\d\.\d{3}\] +4 +no clear change", row), row
    # Largest change first, then by id; two shown, the rest counted.
    assert "  coverage: i4 0.500->1.000, i1 0.500->0.250 (+1 more)" in text
    assert "only in A: gone; only in B: new" in text
