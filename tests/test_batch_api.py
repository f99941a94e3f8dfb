"""OpenAI Batch API mode against a local server implementing files and batches."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from articles import title_of, write_dir
from fault_server import FaultServer

import assistant.text.signals
from assistant.backends.batch_api import BatchApiBackend
from assistant.backends.budget import Budget
from assistant.backends.openai_compat import OpenAIBackend
from assistant.batch import arun_batch, read_inputs, read_results, run_batch
from assistant.cli import main
from assistant.errors import UserError
from assistant.schemas import Analysis

KEY = "sk-test-SECRET-batchapi-91b2"


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(assistant.text.signals, "_nlp", lambda: None)
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path / "default-cache"))


def api_backend(server: FaultServer, tmp_path: Path, **kwargs: Any) -> BatchApiBackend:
    inner = OpenAIBackend("test-model", server.url, api_key=KEY, max_retries=0)
    kwargs.setdefault("poll_interval", 0.01)
    kwargs.setdefault("journal", tmp_path / "journal.jsonl")
    return BatchApiBackend(inner, **kwargs)


def uploads(server: FaultServer) -> list[list[dict[str, Any]]]:
    """The JSONL request files uploaded, one list of lines per upload."""
    from fault_server import _multipart

    out = []
    for r in server.requests:
        if r.method == "POST" and r.path.rstrip("/") == "/v1/files":
            _, data = _multipart(r)["file"]
            out.append([json.loads(x) for x in data.splitlines() if x.strip()])
    return out


def test_rounds_map_every_answer_back_to_its_article(tmp_path: Path) -> None:
    titles = write_dir(tmp_path / "in", 8)
    out = tmp_path / "out.jsonl"
    with FaultServer(polls=2) as server:
        backend = api_backend(server, tmp_path)
        summary = run_batch(tmp_path / "in", out, backend=backend)
        assert summary.ok == 8 and summary.error == 0
        assert not server.completions, "no live chat completion at all"
        assert backend.rounds == 1 and len(server.batches) == 1  # one read call per article
        files = uploads(server)
        assert not server.files, "uploaded and downloaded files are deleted"
    assert [len(f) for f in files] == [8]
    for lines in files:
        ids = [x["custom_id"] for x in lines]
        assert len(set(ids)) == len(ids)
        for line in lines:
            assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
            body = line["body"]
            assert body["model"] == "test-model" and body["response_format"]["type"] == "json_schema"
    records = read_results(out)
    inputs = {i.id: i for i in read_inputs(tmp_path / "in")}
    for rid, record in records.items():
        analysis = Analysis.model_validate(record.result)
        doc = inputs[rid].load()
        assert analysis.document.title == doc.title
        # The stand-in model's headline is the article's own first words: mapped correctly.
        assert analysis.summary.headline.split()[0] in doc.sentences[0].text
    assert {r.result["document"]["title"] for r in records.values() if r.result} == set(titles)
    journal = [json.loads(x) for x in (tmp_path / "journal.jsonl").read_text().splitlines()]
    assert [e["event"] for e in journal] == ["submitted", "collected"]


def test_line_failures_are_retried_in_the_next_round_and_bad_answers_re_asked(
        tmp_path: Path) -> None:
    write_dir(tmp_path / "in", 10)
    with FaultServer(fault_rate=0.3, faults=("500", "429", "schema", "truncated"),
                     seed=4) as server:
        backend = api_backend(server, tmp_path, line_retries=3)
        summary = run_batch(tmp_path / "in", tmp_path / "out.jsonl", backend=backend)
        kinds = {k for _, _, k in server.batch_requests}
    assert kinds >= {"500", "429", "schema"}
    assert summary.ok + summary.error == 10 and summary.ok >= 8
    assert backend.rounds > 1


@pytest.mark.parametrize(("outcome", "message"), [("failed", "failed: scripted batch failure"),
                                                  ("expired", "expired")])
def test_failed_or_expired_jobs_fail_only_their_requests(tmp_path: Path, outcome: str,
                                                         message: str) -> None:
    write_dir(tmp_path / "in", 6)
    with FaultServer() as server:
        server.batch_outcomes.append(outcome)
        summary = run_batch(tmp_path / "in", tmp_path / "out.jsonl",
                            backend=api_backend(server, tmp_path, line_retries=0))
    records = read_results(tmp_path / "out.jsonl")
    errors = [r.error.message for r in records.values() if r.error]
    assert summary.error == len(errors) >= 3 and all(message in e for e in errors)
    if outcome == "expired":
        assert summary.ok == 3, "the answered half carries on"


async def test_a_crashed_run_adopts_its_jobs_instead_of_paying_again(tmp_path: Path) -> None:
    write_dir(tmp_path / "in", 5)
    out = tmp_path / "out.jsonl"
    with FaultServer(polls=10**6) as server:  # the first job never finishes while we watch
        first = api_backend(server, tmp_path)
        task = asyncio.create_task(arun_batch(tmp_path / "in", out, backend=first))
        while not server.batches:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        task.cancel()  # the process dies with the job out
        with pytest.raises(asyncio.CancelledError):
            await task
        await first.aclose()
        (job,) = server.batches.values()
        job.polls_left = 0  # the provider finishes the job meanwhile
        server.polls = 0
        round_one = {x["custom_id"] for x in uploads(server)[0]}

        second = api_backend(server, tmp_path)
        summary = await arun_batch(tmp_path / "in", out, backend=second)
        await second.aclose()
        later = [x["custom_id"] for f in uploads(server)[1:] for x in f]
    assert summary.ok == 5
    assert second.adopted == 5
    assert not round_one & set(later), "no request of the adopted job was sent again"
    assert len(server.batches) == 1, "the adopted job is the whole run: one read round"


def test_budget_with_batch_pricing_and_estimate(tmp_path: Path) -> None:
    write_dir(tmp_path / "in", 4)
    prices = tmp_path / "prices.toml"
    prices.write_text('[models."test-model"]\ninput = 10.0\noutput = 20.0\n')
    with FaultServer() as server:
        from assistant.backends.budget import PriceTable

        table = PriceTable.load(prices)
        live = run_batch(tmp_path / "in", tmp_path / "live.jsonl", backend=OpenAIBackend(
            "test-model", server.url, max_retries=0), budget=Budget(max_cost=100), prices=table)
        batch = run_batch(tmp_path / "in", tmp_path / "batch.jsonl",
                          backend=api_backend(server, tmp_path), budget=Budget(max_cost=100),
                          prices=table, price_discount=0.5)
    assert live.estimate and batch.estimate and live.estimate.cost and batch.estimate.cost
    assert batch.estimate.cost == pytest.approx(live.estimate.cost / 2)
    assert batch.spent_cost and live.spent_cost
    assert batch.spent_cost == pytest.approx(live.spent_cost / 2, rel=0.05)


def test_sync_use_is_refused(tmp_path: Path) -> None:
    from assistant.backends.base import ChatRequest, Message

    with FaultServer() as server:
        backend = api_backend(server, tmp_path)
        with pytest.raises(UserError, match="asynchronous"):
            backend.complete(ChatRequest(messages=[Message(role="user", content="hi")]))


def test_cli_batch_api_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    titles = write_dir(tmp_path / "in", 3)
    out = tmp_path / "out.jsonl"
    with FaultServer() as server:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        code = main(["batch", str(tmp_path / "in"), "--out", str(out), "--batch-api",
                     "--poll-interval", "0.01", "--base-url", server.url, "--model", "test-model",
                     "--no-progress", "--no-cache"])
        assert code == 0, capsys.readouterr().err
        sent = {title_of(line["body"]) for f in uploads(server) for line in f}
    assert sent == set(titles)
    journal = out.with_name(out.name + ".batches.jsonl")
    assert journal.exists() and KEY not in journal.read_text()
