"""The batch estimate counts the calls a run really makes: it runs each task's own code
against a Planner (no model call), so chunks, map-reduce, questions, fact-check verdicts,
refused inputs and the re-ask bound all come from the steps themselves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from articles import write_dir
from fault_server import draft_responder

import assistant.text.signals
from assistant.backends.base import ChatRequest
from assistant.backends.budget import request_tokens
from assistant.backends.fake import FakeBackend
from assistant.batch import estimate, read_inputs, run_batch
from assistant.cli import main
from assistant.core.driver import Planner, blank
from assistant.core.tokens import count_tokens
from assistant.schemas import ReadDraft
from assistant.steps.analysis import Options

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "assistant" / "examples"
EVIDENCE = ("The city council voted 7-2 on Monday to close the Harbor Bridge for 18 months of "
            "repairs, the clerk said. Repairs will cost $45 million, the city said.")


@pytest.fixture
def regex_signals(monkeypatch: pytest.MonkeyPatch) -> None:
    """The regex signal path: the same pipeline with less CPU per article."""
    monkeypatch.setattr(assistant.text.signals, "_nlp", lambda: None)


def _answer(request: ChatRequest) -> str:
    return draft_responder({"messages": [m.model_dump() for m in request.messages]})


def _inputs(root: Path) -> Path:
    """Short articles, two long examples, a bare link and a one-liner."""
    write_dir(root, 4)
    for f in sorted(EXAMPLES.glob("*.txt")):
        shutil.copy(f, root / f.name)
    (root / "link.txt").write_text("https://www.example.com/news/2024/05/01/bridge\n")
    (root / "one-liner.txt").write_text("The bridge will close next month, the council said.\n")
    return root


def _tokens(requests: list[ChatRequest]) -> int:
    return sum(request_tokens(r, lambda t: count_tokens(t, "fake-model").tokens) for r in requests)


TASKS = ["analyze", "summarize", "claims", "questions", "check", "brief"]


@pytest.mark.parametrize("chunk_tokens", [12000, 250], ids=["one-chunk", "map-reduce"])
@pytest.mark.parametrize("task", TASKS)
def test_the_estimate_is_the_fault_free_run(task: str, chunk_tokens: int, tmp_path: Path,
                                            regex_signals: None) -> None:
    folder = _inputs(tmp_path / "in")
    evidence = tmp_path / "evidence.txt"
    evidence.write_text(EVIDENCE + "\n")
    options = Options(chunk_tokens=chunk_tokens)
    shared = [] if task not in ("check", "brief") else [evidence]
    from assistant.steps.evidence import load_evidence

    fake = FakeBackend(default=_answer)
    est = estimate(read_inputs(folder), fake, task=task, options=options,
                   evidence=load_evidence(shared).docs if shared else [])
    assert fake.requests == [], "estimating made a model call"
    summary = run_batch(folder, tmp_path / "out.jsonl", backend=fake, task=task,
                        options=options, evidence=shared)
    records = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    refused = [r for r in records if r["status"] == "error"]
    assert sorted(r["name"] for r in refused) == ["link.txt", "one-liner.txt"]
    made = len(fake.requests)
    assert summary.usage.calls == made > 0
    if task in ("check", "brief"):
        # Evidence hits are searched with the model's claim rewrite and questions, which
        # planning stands in with the claim's own sentence: close, not exact.
        assert abs(est.calls - made) <= 0.1 * made, (est.calls, made)
    else:
        assert est.calls == made, (est.calls, made)
    probes = sum(r.prompt.startswith(("entail@", "contradict@")) for r in fake.requests)
    if probes:  # calibrated verdicts: a probe is one token read as a probability, never re-asked
        assert est.calls < est.max_calls < 3 * est.calls
        assert est.max_calls >= 3 * (est.calls - 1.1 * probes)
    else:
        assert est.max_calls == 3 * est.calls  # every call may take 3 attempts
    if chunk_tokens < 1000 and task in ("analyze", "summarize", "claims", "brief"):
        reads = [r for r in fake.requests if r.prompt.startswith("read@")]
        assert len(reads) > summary.ok, "a long article is read in several chunks"
    sent = _tokens(fake.requests)
    assert 0.9 * sent <= est.prompt_tokens <= 1.1 * sent, (est.prompt_tokens, sent)
    ceiling = sum(r.max_tokens for r in fake.requests)
    if task in ("check", "brief"):
        assert abs(est.max_completion_tokens - ceiling) <= 0.1 * ceiling
    else:
        assert est.max_completion_tokens == ceiling


def test_re_asks_stay_within_the_estimates_bound(tmp_path: Path, regex_signals: None) -> None:
    """A model whose first answer to every call is not JSON: twice the calls, under the bound."""
    folder = _inputs(tmp_path / "in")
    seen: set[str] = set()

    def first_bad(request: ChatRequest) -> str:
        key = json.dumps([m.model_dump() for m in request.messages[:2]])
        if key not in seen:
            seen.add(key)
            return "{not json"
        return _answer(request)

    fake = FakeBackend(default=first_bad)
    est = estimate(read_inputs(folder), fake)
    run_batch(folder, tmp_path / "out.jsonl", backend=fake)
    assert len(fake.requests) == 2 * est.calls
    assert est.max_calls is not None and est.calls < len(fake.requests) <= est.max_calls
    assert f"up to {est.max_calls:,} with re-asks" in est.line()


def test_cli_estimate_counts_fact_check_verdicts(tmp_path: Path, regex_signals: None,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _inputs(tmp_path / "in")
    evidence = tmp_path / "evidence.txt"
    evidence.write_text(EVIDENCE + "\n")
    fake = FakeBackend(default=_answer)
    import assistant.backends as backends

    monkeypatch.setattr(backends, "get_backend", lambda *a, **k: fake)
    args = ["batch", str(folder), "--out", str(tmp_path / "out.jsonl"), "--task", "check",
            "--evidence", str(evidence), "--no-cache", "--no-progress"]
    assert main([*args, "--estimate"]) == 0
    out, err = capsys.readouterr()
    found = json.loads(out)
    assert fake.requests == []
    main(args)
    capsys.readouterr()
    # calibrated verdicts (the default): two one-token probes per claim, never re-asked
    verdicts = [r for r in fake.requests if r.prompt.startswith(("entail@", "contradict@"))]
    assert len(verdicts) > len(fake.requests) / 2, "most calls are fact-check verdicts"
    made = len(fake.requests)
    assert abs(found["calls"] - made) <= 0.1 * made, (found["calls"], made)
    assert found["calls"] < found["max_calls"] < 3 * found["calls"]
    assert f"{found['calls']:,} call(s) (up to" in err


def test_blank_answers_have_nothing_in_them() -> None:
    read = blank(ReadDraft)
    assert (read.headline, read.main, read.check) == ("", [], [])  # type: ignore[attr-defined]


def test_a_planner_never_calls_the_model() -> None:
    planner = Planner(FakeBackend())
    with pytest.raises(Exception, match="makes no model call"):
        planner.complete(ChatRequest(messages=[]))
    assert (planner.name, planner.model) == ("fake", "fake-model")
