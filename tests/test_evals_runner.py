"""Runner, reports and the `assistant eval` command line, on a cassette recorded from a
scripted model (the committed, real-model cassette is exercised by test_eval_gate.py)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from evals_fake import respond

from assistant import FakeBackend
from assistant.cli import main
from assistant.core.prompts import prompts_dir
from assistant.evals import (
    CassetteBackend,
    format_table,
    load_results,
    load_suite,
    render_html,
    run_suite,
)
from assistant.evals.results import ItemRecord, RunProvenance, RunResult, aggregate
from assistant.evals.results import ItemScore as Score
from assistant.evals.runner import checker_api

ITEMS = ["fx01-port-strike", "fx08-school-closures"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResult]:
    path = tmp_path_factory.mktemp("cassette") / "fixtures.json"
    suite = load_suite("fixtures").select(ITEMS)
    run = run_suite(suite, CassetteBackend(FakeBackend(default=respond), path, "record"), resamples=200)
    return path, run


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _run_args(cassette: Path, out: Path, *extra: str) -> list[str]:
    args = ["eval", "run", "--suite", "fixtures", "--replay", "--cassette", str(cassette),
            "--out", str(out), "--resamples", "200", "--quiet"]
    for item in ITEMS:
        args += ["--items", item]
    return args + list(extra)


def test_replay_scores_like_the_recording(recorded: tuple[Path, RunResult]) -> None:
    path, live = recorded
    replay = CassetteBackend(None, path, "replay")
    run = run_suite(load_suite("fixtures").select(ITEMS), replay, resamples=200)
    assert replay.recorded == 0 and replay.hits == live.provenance.cassette.recorded
    same = lambda r: {m.name: (m.mean, m.ci_low, m.ci_high) for m in r.metrics if m.name != "wall_s"}  # noqa: E731
    assert same(run) == same(live)
    assert run.provenance.cassette.mode == "replay"
    assert {p.name for p in run.provenance.prompts} >= {"read"}
    assert run.provenance.prompt_parameters["read"]["max_tokens"] == 160
    assert run.provenance.options["analysis.max_claims"]
    assert run.metric("grounding_rate").mean == 1.0
    assert [i.id for i in run.items] == ITEMS and all(i.analysis for i in run.items)


def test_every_metric_has_an_interval_and_per_item_values(recorded: tuple[Path, RunResult]) -> None:
    _, run = recorded
    names = {m.name for m in run.metrics}
    assert {"schema_validity", "grounding_rate", "key_fact_coverage", "claim_precision", "claim_recall",
            "claim_f1", "speaker_accuracy", "check_worthiness_f1", "date_accuracy", "vq_pass",
            "cost_calls", "cost_prompt_tokens", "cost_model_s"} <= names
    for m in run.metrics:
        if m.available and m.mean is not None:
            assert m.ci_low is not None and m.ci_high is not None, m.name
            assert m.ci_low - 1e-9 <= m.mean <= m.ci_high + 1e-9, m.name
            assert [s.item_id for s in m.per_item] == ITEMS


def test_cli_gate_passes_and_fails(recorded: tuple[Path, RunResult], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = recorded
    code, out, err = _cli(capsys, *_run_args(path, tmp_path / "ok", "--fail-under", "grounding_rate=1.0",
                                             "--fail-under", "claim_f1=0.1"))
    assert code == 0, err
    assert "grounding_rate" in out and "95% CI" in out and "gate: all 2 threshold(s) met" in out
    assert (tmp_path / "ok" / "results.json").is_file() and (tmp_path / "ok" / "report.html").is_file()
    code, out, err = _cli(capsys, *_run_args(path, tmp_path / "bad", "--fail-under", "claim_f1=1.01"))
    assert code == 1
    assert "FAIL claim_f1 = " in err and "< 1.01" in err


def test_cli_usage_errors(recorded: tuple[Path, RunResult], tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = recorded
    code, _, err = _cli(capsys, *_run_args(path, tmp_path / "x", "--fail-under", "no_such_metric=1"))
    assert code == 2 and "no metric 'no_such_metric'" in err
    code, _, err = _cli(capsys, *_run_args(path, tmp_path / "x", "--fail-under", "claim_f1"))
    assert code == 2 and "metric=value" in err
    code, _, err = _cli(capsys, *_run_args(tmp_path / "absent.json", tmp_path / "x"))
    assert code == 2 and "no cassette at" in err
    code, _, err = _cli(capsys, "eval", "run", "--suite", "nope", "--replay")
    assert code == 2 and "unknown suite" in err
    code, _, err = _cli(capsys, "eval", "run", "--suite", "fixtures", "--backend", "openai", "--threads", "1")
    assert code == 2 and "--threads applies to the embedded backend only" in err
    code, _, err = _cli(capsys, "eval", "run", "--suite", "fixtures", "--replay", "--sample", "0")
    assert code == 2 and "--sample must be at least 1" in err


def test_cli_replay_miss_lists_what_changed(recorded: tuple[Path, RunResult], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = recorded
    edited = tmp_path / "prompts"
    shutil.copytree(prompts_dir(), edited)
    read = edited / "read.prompt"
    read.write_text(read.read_text().replace("fact-checkers", "fact checkers"))
    monkeypatch.setenv("ASSISTANT_PROMPTS_DIR", str(edited))
    code, _, err = _cli(capsys, *_run_args(path, tmp_path / "miss"))
    assert code == 4
    assert "2 replay miss(es)" in err
    assert err.count("template 'read' changed") == 2
    assert f"re-record with: assistant eval run --suite fixtures --backend fake --record --cassette {path}" in err
    assert not (tmp_path / "miss").exists()


def test_cli_compare(recorded: tuple[Path, RunResult], tmp_path: Path,
                     capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = recorded
    for name in ("a", "b"):
        assert _cli(capsys, *_run_args(path, tmp_path / name))[0] == 0
    code, out, _ = _cli(capsys, "eval", "compare", str(tmp_path / "a"), str(tmp_path / "b"),
                        "--json", str(tmp_path / "cmp.json"))
    assert code == 0
    assert "nothing in the set-up" in out and "claim_f1" in out and "95% CI of delta" in out
    assert json.loads((tmp_path / "cmp.json").read_text())["suite"] == "fixtures"


def test_missing_external_data_is_a_clean_skip(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_EVAL_DATA", str(tmp_path))
    for suite in ("seed", "wikinews", "summedits", "fever"):
        code, _, err = _cli(capsys, "eval", "run", "--suite", suite, "--replay")
        assert code == 0
        assert f"suite {suite!r} skipped: {tmp_path}" in err and "is absent" in err
    code, out, _ = _cli(capsys, "eval", "suites")
    assert code == 0 and "fixtures" in out and "wikinews   unavailable" in out


def test_checker_suites_report_a_missing_api(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.api import Assistant

    monkeypatch.delattr(Assistant, "check_summary", raising=False)
    assert checker_api("check_summary") == \
        "the fact-check API is not available yet (Assistant.check_summary is missing)"
    assert checker_api("analyze") is None


def test_html_escapes_everything_and_is_self_contained(recorded: tuple[Path, RunResult]) -> None:
    _, run = recorded
    evil = "<script>alert(1)</script>"
    bad = run.model_copy(update={"items": [*run.items, ItemRecord(id="x<y", title=evil, error=evil)],
                                 "note": evil})
    page = render_html(bad)
    assert "<script" not in page and "&lt;script&gt;" in page and "x&lt;y" in page
    assert "http://" not in page and "https://" not in page and "src=" not in page
    assert "<details" in page and "fx01-port-strike" in page


def test_table_shows_unavailable_metrics_and_direction() -> None:
    scores = [Score(item_id="a", value=1.0), Score(item_id="b", value=0.0)]
    run = RunResult(suite="s", task="analyze", provenance=RunProvenance(backend="fake", model="m"),
                    metrics=[aggregate("acc", "d", scores, resamples=50),
                             aggregate("cost_calls", "d", scores, unit="count", higher_is_better=False,
                                       resamples=50)],
                    items=[ItemRecord(id="a"), ItemRecord(id="b", error="boom")])
    run.metrics.append(run.metrics[0].model_copy(update={"name": "gone", "available": False,
                                                         "note": "rouge-score is not installed"}))
    table = format_table(run)
    assert "suite s: 2 of 2 items, 1 failed" in table
    assert re.search(r"^acc +0\.500 +\[0\.000, 1\.000\] +2$", table, re.MULTILINE)
    assert re.search(r"^cost_calls +0\.5 +\[0\.0, 1\.0\] +2 +\(lower is better\)$", table, re.MULTILINE)
    assert "gone" in table and "rouge-score is not installed" in table


def test_results_round_trip(recorded: tuple[Path, RunResult], tmp_path: Path) -> None:
    _, run = recorded
    (tmp_path / "results.json").write_text(run.model_dump_json())
    assert load_results(tmp_path) == run


def test_checker_suite_scores_balanced_accuracy_grouped_by_document() -> None:
    from assistant.evals.suites import PairItem, Suite

    article = ("Council approves bridge repairs\n\nMonday, March 4, 2024\n\n"
               "The city council approved repairs to the Harbor Bridge on Tuesday. "
               "The work will cost $4.2 million and take six weeks.")
    items = [PairItem(id=f"p{i}", premise=article, hypothesis=h, label=label, group="doc1")
             for i, (h, label) in enumerate([
                 ("The council approved bridge repairs.", 1),
                 ("The council never approved the repairs.", 0),
                 ("The repairs will cost $4.2 million.", 1),
                 ("The repairs will cost $9 million.", 0)])]
    suite = Suite(name="summedits", task="check_summary", description="t", source="test", items=items)
    run = run_suite(suite, FakeBackend(default=respond), resamples=100)
    ba = run.metric("balanced_accuracy")
    assert ba.statistic == "balanced_accuracy" and ba.n == 4
    assert [s.label for s in ba.per_item] == [1, 0, 1, 0]
    assert all(s.group == "doc1" for s in ba.per_item)
    predictions = [s.prediction for s in ba.per_item]
    assert set(predictions) <= {0, 1}
    # Balanced accuracy is the mean of the two recalls, computed from these predictions.
    pos = [p for p, s in zip(predictions, ba.per_item, strict=True) if s.label == 1]
    neg = [p for p, s in zip(predictions, ba.per_item, strict=True) if s.label == 0]
    assert ba.mean == pytest.approx((pos.count(1) / 2 + neg.count(0) / 2) / 2)
    assert (ba.ci_low, ba.ci_high) == (ba.mean, ba.mean)   # one document: resampling it changes nothing
    assert run.metric("answered_rate").mean == 1.0
    assert run.items[0].output is not None


def test_fact_check_suite_runs_each_claim_against_its_evidence() -> None:
    from assistant.evals.suites import PairItem, Suite

    items = [PairItem(id="f1", premise="The Cretaceous ended with a mass extinction.",
                      hypothesis="The Cretaceous ended.", label=1),
             PairItem(id="f2", premise="Daggering is associated with dancehall music.",
                      hypothesis="Daggering is associated with death metal.", label=0)]
    suite = Suite(name="fever", task="fact_check", description="t", source="test", items=items)
    run = run_suite(suite, FakeBackend(default=respond), resamples=50)
    ba = run.metric("balanced_accuracy")
    assert [s.label for s in ba.per_item] == [1, 0] and ba.n == 2
    assert all(s.detail.startswith("human ") and "checker" in s.detail for s in ba.per_item)
    assert run.metric("cost_calls").n == 2
    assert run.provenance.prompts, "the checker's templates are part of the provenance"


@pytest.mark.parametrize("task, report, expected", [
    ("check_summary", {"label": "supported", "score": 1.0}, 1),
    ("check_summary", {"label": "not_supported", "score": 0.5}, 0),
    ("fact_check", {"verdicts": [{"verdict": "refuted"}]}, 0),
    ("fact_check", {"verdicts": [{"verdict": "supported"}]}, 1),
    ("fact_check", {"verdicts": [{"verdict": "not_enough_evidence"}]}, None),
    ("fact_check", {"verdicts": []}, None),
])
def test_verdict_mapping(task: str, report: dict[str, object], expected: int | None) -> None:
    from types import SimpleNamespace

    from assistant.evals.runner import verdict_of

    verdicts = [SimpleNamespace(**v) for v in report.pop("verdicts", [])]  # type: ignore[attr-defined]
    assert verdict_of(SimpleNamespace(**report, verdicts=verdicts), task)[0] == expected


def test_select_filters_samples_and_limits() -> None:
    suite = load_suite("fixtures")
    assert [i.id for i in suite.select(["fx0[12]-*"]).items] == ["fx01-port-strike", "fx02-budget-vote"]
    assert len(suite.select(limit=3).items) == 3
    sampled = [i.id for i in suite.select(sample=4, seed=1).items]
    assert sampled == [i.id for i in suite.select(sample=4, seed=1).items]    # seeded
    assert sampled == sorted(sampled) and len(sampled) == 4                    # suite order
    assert sampled != [i.id for i in suite.select(sample=4, seed=2).items]
    with pytest.raises(Exception, match="no item of suite 'fixtures' matches nope"):
        suite.select(["nope"])


def test_a_suite_is_scored_by_the_scorer_it_carries():
    from assistant.evals.results import ItemScore, aggregate
    from assistant.evals.suites import PairItem, Suite

    seen = []

    def count_pairs(runs, *, resamples, seed):
        seen.append([r.item.id for r in runs.pairs])
        return [aggregate("pairs_run", "pairs the runner handed over",
                          [ItemScore(item_id=r.item.id, value=1.0) for r in runs.pairs],
                          resamples=resamples, seed=seed)]

    items = [PairItem(id=f"p{n}", premise="The sky is blue.", hypothesis="The sky is blue.", label=1)
             for n in range(3)]
    suite = Suite(name="custom", task="check_summary", description="t", source="test", items=items,
                  scorer=count_pairs)
    run = run_suite(suite, FakeBackend(default="{}"), resamples=10)
    assert seen == [["p0", "p1", "p2"]]
    assert [m.name for m in run.metrics] == ["pairs_run"]


def test_every_named_suite_carries_its_scoring():
    import inspect

    from assistant.evals import runner, suites

    # Each loader states how its suite is scored (data may be absent: read the source).
    for name, loader in suites.LOADERS.items():
        source = inspect.getsource(loader)
        assert "scorer=" in source or "evaluate=" in source, name
    assert "suite.name ==" not in inspect.getsource(runner)


@pytest.mark.parametrize(("verdict", "prompts"), [("stance", {"verdict"}), ("calibrated", {"entail", "contradict"})])
def test_eval_run_takes_the_verdict_method_for_fact_check_suites(
        verdict: str, prompts: set[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dev").mkdir()
    rows = [{"id": 1, "claim": "The Cretaceous ended.", "evidence": "The Cretaceous ended with a mass extinction.",
             "label": "SUPPORTS"},
            {"id": 2, "claim": "Daggering is associated with death metal.",
             "evidence": "Daggering is associated with dancehall music.", "label": "REFUTES"}]
    (tmp_path / "dev" / "fever_symmetric_dev.jsonl").write_text(
        "\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    monkeypatch.setenv("ASSISTANT_EVAL_DATA", str(tmp_path))
    fake = FakeBackend(default=respond)
    monkeypatch.setattr("assistant.backends.get_backend", lambda *a, **k: fake)
    code, _, _ = _cli(capsys, "eval", "run", "--suite", "fever", "--verdict", verdict, "--out",
                      str(tmp_path / "run"), "--resamples", "10", "--quiet")
    assert code == 0 and {r.prompt.split("@")[0] for r in fake.requests} == prompts
    code, _, err = _cli(capsys, "eval", "run", "--suite", "fixtures", "--verdict", verdict)
    assert code != 0 and "--verdict applies to fact-check suites" in err
