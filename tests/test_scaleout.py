"""Scale-out configuration (docs/scale-out.md): an OpenAI-compatible cluster endpoint such as
vLLM, configured by environment or flags; checked on the wire at a local server."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from articles import write_dir
from fault_server import FaultServer
from openai_server import Delay

import assistant.text.signals
from assistant.batch import read_results
from assistant.cli import main

DOCS = Path(__file__).resolve().parents[1] / "docs" / "scale-out.md"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(assistant.text.signals, "_nlp", lambda: None)
    for name in ("ASSISTANT_MODEL", "OPENAI_MODEL", "ASSISTANT_STRUCTURED_MODE",
                 "ASSISTANT_CONCURRENCY", "ASSISTANT_TIMEOUT", "ASSISTANT_MAX_RETRIES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path / "cache"))


def cluster_env(monkeypatch: pytest.MonkeyPatch, server: FaultServer, **extra: str) -> None:
    """The environment docs/scale-out.md gives for a vLLM cluster behind one URL."""
    values = {"ASSISTANT_BASE_URL": server.url, "ASSISTANT_MODEL": "cluster-model",
              "OPENAI_API_KEY": "sk-cluster-token", **extra}
    for k, v in values.items():
        monkeypatch.setenv(k, v)


def response_format(body: Any) -> Any:
    return body.get("response_format")


@pytest.mark.parametrize("mode", ["json_schema", "json_object_schema"])
def test_environment_configures_model_mode_concurrency_and_timeouts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    write_dir(tmp_path / "in", 12)
    with FaultServer(latency=0.15) as server:
        cluster_env(monkeypatch, server, ASSISTANT_STRUCTURED_MODE=mode,
                    ASSISTANT_CONCURRENCY="6", ASSISTANT_TIMEOUT="10", ASSISTANT_MAX_RETRIES="0")
        code = main(["batch", str(tmp_path / "in"), "--out", str(tmp_path / "out.jsonl"),
                     "--no-progress", "--no-cache"])
        sent = server.completions
        peak = server.max_in_flight
    assert code == 0
    assert len(sent) == 12  # one read call per article
    assert 3 <= peak <= 6, "concurrency bounds requests in flight at the endpoint"
    for r in sent:
        body = r.json
        assert body["model"] == "cluster-model"
        assert body["max_tokens"] > 0 and "max_completion_tokens" not in body  # vLLM's name
        assert body["temperature"] == 0.0 and body["seed"] == 0
        assert r.headers["authorization"] == "Bearer sk-cluster-token"
        fmt = response_format(body)
        if mode == "json_schema":
            assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
            assert fmt["json_schema"]["schema"]["additionalProperties"] is False
        else:
            assert fmt["type"] == "json_object" and "properties" in fmt["schema"]


def test_timeout_is_per_attempt_and_flags_override_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_dir(tmp_path / "in", 4)
    with FaultServer() as server:
        cluster_env(monkeypatch, server, ASSISTANT_CONCURRENCY="16", ASSISTANT_TIMEOUT="30",
                    ASSISTANT_STRUCTURED_MODE="json_object")
        server.enqueue(Delay(3.0), Delay(3.0))  # two answers slower than the timeout
        started = time.monotonic()
        code = main(["batch", str(tmp_path / "in"), "--out", str(tmp_path / "out.jsonl"),
                     "--concurrency", "1", "--timeout", "0.4", "--max-retries", "1",
                     "--structured-mode", "json_schema", "--no-progress", "--no-cache"])
        elapsed = time.monotonic() - started
        sent = server.completions
        peak = server.max_in_flight
    records = read_results(tmp_path / "out.jsonl")
    failed = [r for r in records.values() if r.status == "error"]
    assert code == 1 and len(failed) == 1
    assert failed[0].error is not None
    assert "timed out after 1 retry (timeout 0.4s per attempt)" in failed[0].error.message
    assert elapsed < 6, "the client gave up at the timeout, not when the server answered"
    assert peak == 1
    assert {response_format(r.json)["type"] for r in sent} == {"json_schema"}
    assert sent[1].headers.get("x-stainless-retry-count") == "1"


def test_docs_name_every_setting_the_tests_use() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for setting in ("ASSISTANT_BASE_URL", "ASSISTANT_MODEL", "ASSISTANT_STRUCTURED_MODE",
                    "ASSISTANT_CONCURRENCY", "ASSISTANT_TIMEOUT", "ASSISTANT_MAX_RETRIES",
                    "--concurrency", "--timeout", "--structured-mode", "json_schema",
                    "--max-num-seqs", "--enable-prefix-caching"):
        assert setting in text, setting
