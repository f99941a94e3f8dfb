"""`assistant serve`: a backend behind the real HTTP server on an ephemeral loopback port,
read by the real `openai` SDK client (`OpenAIBackend`); then `assistant calibrate` and
`check-summary` through it, end to end."""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.backends import ChatRequest, ChatResponse, FakeBackend, Message, get_backend
from assistant.backends.base import TokenLogprob
from assistant.backends.server import ModelServer, chat_request, make_server
from assistant.calibration import load_profile
from assistant.cli.app import main
from assistant.core.structured import ProbeSpec, call_probe
from assistant.errors import BackendError
from assistant.text.grounding import content_terms


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[tuple[ModelServer, threading.Thread]] = []

    def start(backend: Any, **kwargs: Any) -> ModelServer:
        server = make_server(backend, "127.0.0.1", 0, **kwargs)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return server

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _raw(url: str, body: bytes | None = None, *, method: str = "POST",
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _client(server: ModelServer, **kwargs: Any) -> Any:
    return get_backend("openai", model=server.model_name, base_url=server.url, max_retries=0, **kwargs)


# --------------------------------------------------------------------------- the protocol


def test_a_completion_round_trips_through_the_sdk_client(serve: Any) -> None:
    fake = FakeBackend(['{"answer": 42}'], model="tiny")
    server = serve(fake)
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    with _client(server) as client:
        out = client.complete(ChatRequest(messages=[Message(role="system", content="Be brief."),
                                                    Message(role="user", content="Six times seven?")],
                                          json_schema=schema, max_tokens=17, temperature=0.3, seed=5))
    assert out.text == '{"answer": 42}' and out.finish_reason == "stop" and out.model == "tiny"
    assert out.prompt_tokens > 0 and out.completion_tokens > 0 and out.logprobs is None
    got = fake.requests[0]
    assert [m.role for m in got.messages] == ["system", "user"]
    assert got.messages[1].content == "Six times seven?"
    assert (got.max_tokens, got.temperature, got.seed, got.top_logprobs) == (17, 0.3, 5, None)
    # The client sends OpenAI's strict json_schema form; the server hands the schema on.
    assert got.json_schema is not None and got.json_schema["properties"]["answer"]["type"] == "integer"


def test_logprobs_pass_through_and_the_probe_reads_a_probability(serve: Any) -> None:
    def answer(request: ChatRequest) -> ChatResponse:
        top = {"Yes": math.log(0.7), "No": math.log(0.2), " yes": math.log(0.05)}
        return ChatResponse(text="Yes", finish_reason="length", prompt_tokens=30, completion_tokens=1,
                            logprobs=[TokenLogprob(token="Yes", logprob=math.log(0.7), top=top)])

    fake = FakeBackend(default=answer)
    server = serve(fake)
    with _client(server) as client:
        raw = client.complete(ChatRequest(messages=[Message(role="user", content="?")], top_logprobs=2,
                                          max_tokens=1))
        prob = call_probe(client, ProbeSpec("entail", {"premise": "It rained.", "claim": "It rained."}))
    assert raw.finish_reason == "length" and raw.logprobs is not None
    assert raw.logprobs[0].token == "Yes" and set(raw.logprobs[0].top) == {"Yes", "No"}  # the top 2
    assert fake.requests[0].top_logprobs == 2 and fake.requests[1].top_logprobs == 10
    assert prob.method == "logprobs" and prob.p == pytest.approx(0.75 / 0.95, abs=1e-6)


def test_a_backend_without_logprobs_answers_null_and_the_probe_says_label(serve: Any) -> None:
    server = serve(FakeBackend(default="No"))
    with _client(server) as client:
        prob = call_probe(client, ProbeSpec("entail", {"premise": "It rained.", "claim": "It snowed."}))
    assert (prob.method, prob.p) == ("label", 0.0)


def test_models_endpoint_and_model_names(serve: Any) -> None:
    server = serve(FakeBackend(default="ok", model="inner-name"), model_name="served-name")
    status, body = _raw(server.url + "/models", method="GET")
    assert status == 200 and [m["id"] for m in body["data"]] == ["served-name"]
    assert _raw(server.url + "/models/served-name", method="GET")[0] == 200
    assert _raw(server.url + "/models/other", method="GET")[0] == 404
    with _client(server) as client:
        assert client.complete(ChatRequest(messages=[Message(role="user", content="hi")])).model == "served-name"
    wrong: Any = get_backend("openai", model="other", base_url=server.url, max_retries=0)
    with wrong, pytest.raises(BackendError, match=r"HTTP 404 .*'other' is not served here.*'served-name'"):
        wrong.complete(ChatRequest(messages=[Message(role="user", content="hi")]))


@pytest.mark.parametrize(("body", "status", "message"), [
    (b"{not json", 400, "not valid JSON"),
    (b"[1, 2]", 400, "must be a JSON object"),
    (b'{"messages": []}', 400, "messages must be a non-empty list"),
    (b'{"messages": [{"role": "tool", "content": "x"}]}', 400, "role must be one of"),
    (b'{"messages": [{"role": "user", "content": "x"}], "stream": true}', 400, "streaming is not supported"),
    (b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}', 400, "max_tokens must be at least 1"),
    (b'{"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}', 400, "temperature must be a number"),
    (b'{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "xml"}}', 400, "not supported"),
    (b'{"messages": [{"role": "user", "content": "x"}], "top_logprobs": 3}', 400, "needs logprobs=true"),
])
def test_bad_requests_get_a_clear_400(serve: Any, body: bytes, status: int, message: str) -> None:
    server = serve(FakeBackend(default="ok"))
    got, err = _raw(server.url + "/chat/completions", body, headers={"Content-Type": "application/json"})
    assert got == status and message in err["error"]["message"]
    assert err["error"]["type"] == "invalid_request_error"


def test_unknown_paths_methods_and_backend_failures(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    def crash(request: ChatRequest) -> ChatResponse:
        raise RuntimeError("secret internals")

    server = serve(FakeBackend([BackendError("embedded model failed: out of memory"), crash]))
    status, err = _raw(server.url.replace("/v1", "/nowhere"), b"{}")
    assert status == 404 and "no such endpoint" in err["error"]["message"]
    assert _raw(server.url + "/chat/completions", method="GET")[0] == 405
    ok_body = json.dumps({"model": server.model_name, "messages": [{"role": "user", "content": "x"}]}).encode()
    status, err = _raw(server.url + "/chat/completions", ok_body)
    assert status == 502 and err["error"]["message"] == "embedded model failed: out of memory"
    with caplog.at_level(logging.ERROR, logger="assistant.backends.server"):
        status, err = _raw(server.url + "/chat/completions", ok_body)
    assert status == 500 and err["error"]["message"] == "internal server error (RuntimeError)"
    assert "Traceback" not in json.dumps(err) and "secret" not in json.dumps(err)
    assert _raw(server.url.replace("/v1", "/health"), method="GET") == (200, {"status": "ok", "model": "fake-model"})


def test_an_api_key_is_required_when_set_and_never_logged(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    key = "sk-test-very-secret-123"
    server = serve(FakeBackend(default="fine"), api_key=key)
    body = json.dumps({"model": "fake-model", "messages": [{"role": "user", "content": "x"}]}).encode()
    with caplog.at_level(logging.DEBUG):
        assert _raw(server.url + "/chat/completions", body)[0] == 401
        assert _raw(server.url + "/chat/completions", body, headers={"Authorization": "Bearer nope"})[0] == 401
        with _client(server, api_key=key) as client:
            assert client.complete(ChatRequest(messages=[Message(role="user", content="x")])).text == "fine"
    assert key not in caplog.text and "POST /v1/chat/completions -> 200" in caplog.text
    assert key not in repr(server)


def test_chat_request_reads_openai_and_llama_cpp_forms() -> None:
    base = {"messages": [{"role": "developer", "content": [{"type": "text", "text": "a"},
                                                           {"type": "text", "text": "b"}]}]}
    r = chat_request({**base, "max_completion_tokens": 9, "logprobs": True})
    assert r.messages[0].role == "system" and r.messages[0].content == "ab"
    assert r.max_tokens == 9 and r.top_logprobs == 1 and r.json_schema is None
    assert chat_request({**base, "response_format": {"type": "json_object"}}).json_schema == {"type": "object"}
    schema = {"type": "object", "properties": {"x": {"type": "string"}}}
    assert chat_request({**base, "response_format": {"type": "json_object", "schema": schema}}).json_schema == schema


# --------------------------------------------------------------------------- calibrate end to end


def _entailment(request: ChatRequest) -> ChatResponse:
    """A scripted judge with signal: P(Yes) is high when every content word of the claim
    is in the premise, low otherwise (what a good entailment model roughly does)."""
    text = request.messages[-1].content
    premise = re.search(r"BEGIN PASSAGE\n(.*)\nEND PASSAGE", text, re.S)
    claim = re.search(r"Claim: (.*)\n", text)
    assert premise and claim, text
    missing = set(content_terms(claim.group(1))) - set(content_terms(premise.group(1)))
    p = 0.1 if missing else 0.9
    return ChatResponse(text="Yes" if p > 0.5 else "No", finish_reason="length", prompt_tokens=40,
                        completion_tokens=1,
                        logprobs=[TokenLogprob(token="Yes" if p > 0.5 else "No", logprob=math.log(max(p, 1 - p)),
                                               top={"Yes": math.log(p), "No": math.log(1 - p)})])


def synthetic_pairs() -> list[dict[str, Any]]:
    """12 short article/summary pairs over 6 articles: a faithful summary of each, and one
    with a swapped number, entity or negation (FactCC-style)."""
    cases = [
        ("The council in Leeds approved 40 new homes on Tuesday. Residents had asked for a park instead.",
         "Leeds council approved 40 new homes.", "Leeds council approved 90 new homes."),
        ("Maria Lopez won the regional chess title in Porto. She beat the defending champion in five hours.",
         "Maria Lopez won the chess title in Porto.", "Anna Silva won the chess title in Porto."),
        ("The museum will open its new wing in March. The wing cost 12 million euros to build.",
         "The new wing cost 12 million euros.", "The new wing cost 30 million euros."),
        ("Police said the driver was not injured in the crash. The road was closed for two hours.",
         "The driver was not injured in the crash.", "The driver was injured in the crash."),
        ("Apex Motors recalled 5,000 cars over faulty brakes. The company said no accidents were reported.",
         "Apex Motors recalled 5,000 cars over faulty brakes.",
         "Zenith Motors recalled 5,000 cars over faulty brakes."),
        ("The river in Cork flooded after three days of rain. Schools stayed open on Friday.",
         "Schools stayed open on Friday.", "Schools did not stay open on Friday."),
    ]
    rows = []
    for i, (article, good, bad) in enumerate(cases):
        rows.append({"article": article, "summary": good, "label": 1, "group": f"a{i}"})
        rows.append({"article": article, "summary": bad, "label": 0, "group": f"a{i}"})
    return rows


def test_calibrate_against_a_served_endpoint_writes_the_profile_check_summary_uses(
        serve: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ASSISTANT_PROFILE_DIR", str(tmp_path / "profiles"))
    fake = FakeBackend(default=_entailment, model="inner")
    server = serve(fake, model_name="loopback-judge")
    data = tmp_path / "labelled.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in synthetic_pairs()), encoding="utf-8")
    endpoint = ["--backend", "openai", "--base-url", server.url, "--model", "loopback-judge"]
    code = main(["calibrate", "--task", "faithfulness", "--data", str(data), "--resamples", "50",
                 "--features-out", str(tmp_path / "features.jsonl"), *endpoint])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "faithfulness/loopback-judge/precomputed: 12 rows, 6 positive, 6 groups" in out
    assert "balanced accuracy" in out and "computing faithfulness features for 12 summaries" in err
    assert len(fake.requests) == 12 and all(r.top_logprobs == 10 for r in fake.requests)
    [written] = (tmp_path / "profiles").glob("*.json")
    profile = load_profile(written)
    assert profile.model == "loopback-judge" and profile.fitted_on.rows == 12
    assert profile.weights["p_min"] > 0 and "loopback-judge" in profile.notes[0]
    refit = [json.loads(line) for line in (tmp_path / "features.jsonl").read_text().splitlines()]
    assert len(refit) == 12 and refit[1]["label"] == 0 and refit[1]["features"]["p_min"] < 0.5

    article = tmp_path / "article.txt"
    article.write_text(synthetic_pairs()[0]["article"], encoding="utf-8")
    summary = tmp_path / "summary.txt"
    summary.write_text("Leeds council approved 90 new homes.", encoding="utf-8")
    code = main(["check-summary", str(article), str(summary), "--format", "json", "-q", *endpoint])
    out, err = capsys.readouterr()
    assert code == 0, err
    [judged] = json.loads(out)["sentences"]
    assert judged["decided_by"] == "calibrated" and judged["label"] == "not_supported"
    assert judged["calibrated"]["profile"] == "faithfulness/loopback-judge/precomputed"
    assert judged["calibrated"]["default_used"] is False and judged["probability_method"] == "logprobs"
    assert main(["check-summary", str(article), str(summary), "-q", *endpoint]) == 0
    assert "decided by calibrated (profile faithfulness/loopback-judge/precomputed" in capsys.readouterr().out


def test_calibrate_text_rows_give_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"article": "A cat sat.", "summary": "A cat sat.", "label": 1}\n'
                    '{"article": "", "summary": "x", "label": 0}\n', encoding="utf-8")
    assert main(["calibrate", "--task", "faithfulness", "--data", str(data), "--backend", "openai",
                 "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]) == 3
    assert "bad.jsonl:2: faithfulness rows need a non-empty 'article'" in capsys.readouterr().err
    data.write_text('{"article": "A cat sat.", "summary": "A cat sat.", "label": 2}\n', encoding="utf-8")
    assert main(["calibrate", "--task", "faithfulness", "--data", str(data)]) == 3
    assert "label must be 0 or 1" in capsys.readouterr().err


def test_serve_command_refuses_a_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "70000", "--backend", "openai", "--model", "m",
                 "--base-url", "http://127.0.0.1:9/v1"]) == 2
    assert "--port must be between 0 and 65535" in capsys.readouterr().err


@pytest.mark.slow
def test_calibrate_and_check_summary_against_the_embedded_model_served_on_loopback(
        serve: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The real thing: the embedded model behind `assistant serve`'s server on loopback,
    `assistant calibrate` computing P(supported) through its logprobs over HTTP, and the
    next `check-summary` deciding with the profile it wrote."""
    pytest.importorskip("xllamacpp")
    import time

    from assistant.backends.embedded import EmbeddedBackend

    monkeypatch.setenv("ASSISTANT_PROFILE_DIR", str(tmp_path / "profiles"))
    monkeypatch.delenv("ASSISTANT_MODEL_PATH", raising=False)
    started = time.perf_counter()
    server = serve(EmbeddedBackend(), model_name="loopback-qwen")
    data = tmp_path / "labelled.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in synthetic_pairs()), encoding="utf-8")
    endpoint = ["--backend", "openai", "--base-url", server.url, "--model", "loopback-qwen"]
    code = main(["calibrate", "--task", "faithfulness", "--data", str(data), "--resamples", "200",
                 "--features-out", str(tmp_path / "features.jsonl"), *endpoint])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "faithfulness/loopback-qwen/precomputed: 12 rows, 6 positive, 6 groups" in out
    assert "no log-probabilities" not in err  # the embedded runtime's logprobs came through
    profile = load_profile(next((tmp_path / "profiles").glob("*.json")))
    assert profile.model == "loopback-qwen"
    rows = [json.loads(line) for line in (tmp_path / "features.jsonl").read_text().splitlines()]
    ps = [r["features"]["p_min"] for r in rows]
    assert all(0 < p < 1 for p in ps) and len(set(ps)) > 6  # probabilities, not 0/1 labels

    article = tmp_path / "article.txt"
    article.write_text(synthetic_pairs()[6]["article"], encoding="utf-8")
    summary = tmp_path / "summary.txt"
    summary.write_text("The driver was not injured in the crash. The road was closed for two hours.",
                       encoding="utf-8")
    code = main(["check-summary", str(article), str(summary), "--format", "json", "-q", *endpoint])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    for judged in report["sentences"]:
        assert judged["decided_by"] == "calibrated" and judged["probability_method"] == "logprobs"
        assert judged["calibrated"]["profile"] == "faithfulness/loopback-qwen/precomputed"
        assert judged["calibrated"]["default_used"] is False
    with capsys.disabled():
        print(f"\nserve+calibrate+check-summary on the embedded model: {time.perf_counter() - started:.1f} s; "
              f"{out.count('decided_by')} sentences; dev {profile.dev.balanced_accuracy.value}; "
              f"p_min faithful {[round(p, 3) for p, r in zip(ps, rows, strict=True) if r['label']]} "
              f"unfaithful {[round(p, 3) for p, r in zip(ps, rows, strict=True) if not r['label']]}")


def test_serve_command_proxies_another_endpoint_and_stops_on_ctrl_c() -> None:
    """`assistant serve` as a process: the first stderr line names the URL; a client's
    completion goes through to the upstream endpoint; SIGINT stops it with exit 0."""
    import os
    import signal
    import subprocess
    import sys

    from openai_server import OpenAIServer, Reply

    root = Path(__file__).resolve().parents[1]
    with OpenAIServer(default=lambda body: Reply("from upstream"), model="upstream-m") as upstream:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--port", "0", "--name", "proxied",
             "--backend", "openai", "--base-url", upstream.url, "--model", "upstream-m",
             "--api-key", "sk-serve-secret"],
            cwd=root, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(root)})
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            url = re.search(r"at (http://127\.0\.0\.1:\d+/v1) \(bearer key required\)", line)
            assert url and "serving proxied (openai)" in line, line
            client: Any = get_backend("openai", model="proxied", base_url=url.group(1), max_retries=0,
                                      api_key="sk-serve-secret")
            with client:
                out = client.complete(ChatRequest(messages=[Message(role="user", content="hello")]))
            assert out.text == "from upstream" and out.model == "proxied"
            assert upstream.completions[0].json["messages"][-1]["content"] == "hello"
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "stopped after 1 completions" in err and "sk-serve-secret" not in line + err
