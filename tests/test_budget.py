"""Budgets: price tables, the pre-run estimate, and hard caps that stop a batch cleanly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from articles import title_of, write_dir
from fault_server import FaultServer, draft_responder

import assistant.text.signals
from assistant import FakeBackend
from assistant.backends.base import ChatRequest, ChatResponse, Message
from assistant.backends.budget import (
    Budget,
    BudgetedBackend,
    Estimate,
    Ledger,
    Price,
    PriceTable,
    request_tokens,
)
from assistant.backends.cache import ResponseCache
from assistant.backends.openai_compat import OpenAIBackend
from assistant.batch import estimate, read_inputs, read_results, run_batch
from assistant.core.tokens import count_tokens
from assistant.errors import BackendError, BudgetExceededError, UserError


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assistant.text.signals, "_nlp", lambda: None)
    monkeypatch.delenv("ASSISTANT_PRICES", raising=False)


def req(text: str = "hello world", max_tokens: int = 100) -> ChatRequest:
    return ChatRequest(messages=[Message(role="user", content=text)], max_tokens=max_tokens)


def count(text: str) -> int:
    return len(text.split())


# -- prices -------------------------------------------------------------------------------

@pytest.mark.parametrize(("model", "expected"), [
    ("gpt-4o-mini", Price(input=0.15, output=0.60)),
    ("openai/gpt-4o-mini", Price(input=0.15, output=0.60)),
    ("gpt-4o-mini-2024-07-18", Price(input=0.15, output=0.60)),  # longest prefix, not gpt-4o
    ("gpt-4o-2024-08-06", Price(input=2.50, output=10.00)),
    ("llama-3-70b", None),
])
def test_price_lookup(model: str, expected: Price | None) -> None:
    assert PriceTable().lookup(model) == expected


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_price_file_overrides_and_wildcard(tmp_path: Path, suffix: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    data = {"models": {"gpt-4o-mini": {"input": 1.0, "output": 2.0},
                       "*": {"input": 0.0, "output": 0.0}}}
    path = tmp_path / f"prices{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(data))
    else:
        path.write_text('[models."gpt-4o-mini"]\ninput = 1.0\noutput = 2.0\n'
                        '[models."*"]\ninput = 0.0\noutput = 0.0\n')
    table = PriceTable.load(path)
    assert table.lookup("gpt-4o-mini") == Price(input=1.0, output=2.0)
    assert table.lookup("llama-3-70b") == Price(input=0.0, output=0.0)
    assert table.lookup("gpt-4o") == Price(input=2.50, output=10.00), "built-ins stay"
    monkeypatch.setenv("ASSISTANT_PRICES", str(path))
    assert PriceTable.load().lookup("gpt-4o-mini") == Price(input=1.0, output=2.0)


@pytest.mark.parametrize("text", ["models = 3", "[models.x]\ninput = -1\noutput = 1",
                                  "[models.x]\ninput = 1", "not toml ["])
def test_bad_price_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(UserError, match="price file"):
        PriceTable.load(path)


def test_local_backends_are_free_unless_priced() -> None:
    table = PriceTable({"*": Price(input=9, output=9)})
    assert table.for_backend(FakeBackend()) == Price(input=0, output=0)
    table.prices["fake-model"] = Price(input=1, output=1)
    assert table.for_backend(FakeBackend()) == Price(input=1, output=1)


# -- estimate -----------------------------------------------------------------------------

def test_estimate_arithmetic() -> None:
    est = Estimate.of([req("a b c", 100), req("d", 50)], articles=1, model="gpt-4o-mini",
                      price=Price(input=1.0, output=2.0), completion_ratio=0.5, discount=0.5)
    assert est.calls == 2 and est.max_completion_tokens == 150 and est.completion_tokens == 75
    assert est.cost == pytest.approx(0.5 * (est.prompt_tokens * 1.0 + 75 * 2.0) / 1e6)
    assert est.max_cost == pytest.approx(0.5 * (est.prompt_tokens * 1.0 + 150 * 2.0) / 1e6)
    assert "2 call(s)" in est.line() and "$" in est.line()
    unknown = Estimate.of([req()], articles=1, model="x", price=None)
    assert unknown.cost is None and "cost unknown" in unknown.line()


def test_estimate_matches_what_the_run_sends(tmp_path: Path) -> None:
    write_dir(tmp_path / "in", 6)
    fake = FakeBackend(default=lambda r: draft_responder(
        {"messages": [m.model_dump() for m in r.messages]}))
    est = estimate(read_inputs(tmp_path / "in"), fake)
    assert est is not None
    summary = run_batch(tmp_path / "in", tmp_path / "out.jsonl", backend=fake)
    first_asks = [r for r in fake.requests if len(r.messages) == 2]
    assert est.calls == len(first_asks) == summary.usage.calls
    sent = sum(request_tokens(r, lambda t: count_tokens(t, "fake-model").tokens)
               for r in first_asks)
    # Summary calls are exact; claim candidates are chosen at run time (the longest
    # sentences stand in, without the speaker/date hints), so the total is close.
    assert 0.95 * sent <= est.prompt_tokens <= 1.3 * sent
    assert est.max_completion_tokens == sum(r.max_tokens for r in first_asks)


# -- the ledger ---------------------------------------------------------------------------

def test_ledger_reserves_worst_case_and_settles_actual_usage() -> None:
    ledger = Ledger(Budget(max_tokens=300), price=None, count=count)
    held = ledger.reserve(req("a b c", max_tokens=100))  # 3 + 4 + 3 prompt, 100 completion
    assert ledger._held_tokens == 110
    ledger.settle(held, ChatResponse(text="x", prompt_tokens=10, completion_tokens=5))
    assert (ledger.spent_tokens, ledger._held_tokens) == (15, 0)
    ledger.reserve(req(max_tokens=150))
    with pytest.raises(BudgetExceededError, match="token cap of 300"):
        ledger.reserve(req(max_tokens=150))  # 15 spent + 159 held + 159 > 300
    assert ledger.exhausted


def test_failed_calls_cost_nothing_on_http_errors_and_the_prompt_on_timeouts() -> None:
    ledger = Ledger(Budget(max_tokens=10_000), price=None, count=count)
    ledger.settle(ledger.reserve(req("a b")), None, BackendError("HTTP 500", status_code=500))
    assert ledger.spent_tokens == 0
    ledger.settle(ledger.reserve(req("a b")), None, BackendError("timed out"))
    assert ledger.spent_tokens == request_tokens(req("a b"), count)


def test_cost_cap_needs_a_price() -> None:
    with pytest.raises(UserError, match="no price for model 'x'"):
        Ledger(Budget(max_cost=1.0), price=None, count=count, model="x")


def test_cost_cap_refuses_the_call_that_could_cross_it() -> None:
    ledger = Ledger(Budget(max_cost=0.001), price=Price(input=1.0, output=10.0), count=count)
    backend = BudgetedBackend(FakeBackend(default="ok"), ledger)
    backend.complete(req(max_tokens=10))
    with pytest.raises(BudgetExceededError, match="cost cap"):
        backend.complete(req(max_tokens=100))  # 100 completion tokens could cost $0.001
    assert ledger.calls == 1 and ledger.spent_cost < 0.001


# -- caps stop a batch cleanly ------------------------------------------------------------

def test_token_cap_stops_cleanly_then_a_rerun_finishes_only_the_rest(tmp_path: Path) -> None:
    titles = write_dir(tmp_path / "in", 12)
    out = tmp_path / "out.jsonl"
    with FaultServer() as server, ResponseCache(tmp_path / "c.sqlite") as cache:
        backend = OpenAIBackend("test-model", server.url, max_retries=0)
        cap = 5_000  # about 7 of the 12 articles at one read call each
        first = run_batch(tmp_path / "in", out, backend=backend, concurrency=2, cache=cache,
                          budget=Budget(max_tokens=cap))
        served = sum(r.json and _usage(r.json) for r in server.completions)
        assert first.stopped and "token cap" in first.stopped
        assert first.ok >= 1 and first.not_started >= 1 and first.error == 0
        assert first.ok + first.not_started == 12
        assert first.spent_tokens is not None and first.spent_tokens <= cap
        assert served <= cap, "the server billed no more than the cap"
        assert first.estimate is not None and first.estimate.articles == 12
        records = read_results(out)
        assert len(records) == 12
        stopped = [r for r in records.values() if r.status == "not_started"]
        assert all(r.error and r.error.type in ("BudgetExceededError", "NotStarted")
                   for r in stopped)

        mark = len(server.completions)
        second = run_batch(tmp_path / "in", out, backend=backend, concurrency=2, cache=cache,
                           budget=Budget(max_tokens=1_000_000))
        again = {title_of(r.json) for r in server.completions[mark:]}
    done_first = {t for t, r in zip(titles, _ordered(records, tmp_path), strict=True)
                  if r.status == "ok"}
    assert second.ok == first.not_started and second.skipped == first.ok
    assert not again & done_first, "finished articles are not asked again"
    final = out.read_text().splitlines()
    assert len(final) == 12, "superseded not_started records are compacted away"
    assert {json.loads(x)["status"] for x in final} == {"ok"}


def _usage(body: Any) -> int:
    # The usage FaultServer reports for a draft_responder reply (chars/4 + 1 each).
    prompt = sum(len(str(m.get("content", ""))) // 4 + 1 for m in body.get("messages", []))
    return prompt + len(draft_responder(body)) // 4 + 1


def _ordered(records: dict[str, Any], tmp_path: Path) -> list[Any]:
    return [records[i.id] for i in read_inputs(tmp_path / "in")]


def test_cost_cap_with_a_price_file(tmp_path: Path) -> None:
    write_dir(tmp_path / "in", 6)
    prices = tmp_path / "prices.toml"
    prices.write_text('[models."test-model"]\ninput = 50.0\noutput = 100.0\n')
    with FaultServer() as server:
        backend = OpenAIBackend("test-model", server.url, max_retries=0)
        summary = run_batch(tmp_path / "in", tmp_path / "out.jsonl", backend=backend,
                            budget=Budget(max_cost=0.15), prices=PriceTable.load(prices))
    assert summary.estimate is not None and summary.estimate.cost is not None
    assert summary.estimate.cost > 0.15, "the estimate foresaw the cap"
    assert summary.spent_cost is not None and summary.spent_cost <= 0.15
    assert summary.not_started >= 1 and summary.ok >= 1
