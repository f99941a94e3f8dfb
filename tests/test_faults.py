"""One classification of errors, answer faults re-sent, timeouts and retries honoured by
every command, and settings that cannot work refused before anything runs."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai_server import EmptyChoices, Fault, InvalidJSON, OpenAIServer, Raw, Reply
from tenacity import retry_if_exception, stop_after_attempt, wait_none

from assistant import Assistant
from assistant.backends.base import ChatRequest, Message
from assistant.backends.openai_compat import OpenAIBackend
from assistant.backends.retry import RetryPolicy
from assistant.cli import main
from assistant.core.settings import Settings
from assistant.errors import (
    AnswerError,
    BackendError,
    BudgetExceededError,
    InputError,
    OutputValidationError,
    UserError,
    error_class,
    is_retryable,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "assistant" / "examples" / "harbor-bridge-closure.txt"
KEY = "sk-test-SECRET-faults-0c4e"


def request() -> ChatRequest:
    return ChatRequest(messages=[Message(role="system", content="Answer."),
                                 Message(role="user", content="Hi?")])


# -- the classification ---------------------------------------------------------------------

CLASSES = [
    (BackendError("x", fault="transport"), "transport", True),
    (BackendError("x", status_code=429), "transport", True),
    (BackendError("x", status_code=503), "transport", True),
    (BackendError("x", status_code=408), "transport", True),
    (BackendError("x", status_code=400), "permanent", False),
    (BackendError("x", status_code=401), "permanent", False),
    (BackendError("x"), "permanent", False),
    (AnswerError("x"), "answer", True),
    (BudgetExceededError("x", status_code=429), "permanent", False),
    (OutputValidationError("x", prompt="p", attempts=[]), "validation", False),
    (InputError("x"), "permanent", False),
    (ValueError("a bug"), "permanent", False),
]


@pytest.mark.parametrize("exc, kind, retryable", CLASSES, ids=[f"{type(c[0]).__name__}-{i}"
                                                               for i, c in enumerate(CLASSES)])
def test_error_class_table(exc: BaseException, kind: str, retryable: bool) -> None:
    assert error_class(exc) == kind
    assert is_retryable(exc) is retryable


# -- answer faults are re-sent ----------------------------------------------------------------

@pytest.mark.parametrize("fault", [EmptyChoices(), InvalidJSON(), Raw("[1, 2]")],
                         ids=["empty-choices", "invalid-json", "not-a-completion"])
def test_an_answer_fault_is_sent_again(fault: Any) -> None:
    with OpenAIServer() as server:
        server.enqueue(fault, Reply("recovered"))
        with OpenAIBackend("m", server.url, api_key=KEY, max_retries=1) as backend:
            assert backend.complete(request()).text == "recovered"
        assert len(server.completions) == 2
        assert server.completions[0].json == server.completions[1].json, "sent unchanged"


async def test_an_answer_fault_is_sent_again_async() -> None:
    with OpenAIServer() as server:
        server.enqueue(EmptyChoices(), EmptyChoices(), Reply("recovered"))
        async with OpenAIBackend("m", server.url, api_key=KEY, max_retries=2) as backend:
            assert (await backend.acomplete(request())).text == "recovered"
        assert len(server.completions) == 3


def test_answer_faults_stop_after_max_retries() -> None:
    with OpenAIServer(default=lambda body: EmptyChoices()) as server:
        with OpenAIBackend("m", server.url, api_key=KEY, max_retries=2) as backend, \
                pytest.raises(AnswerError) as info:
            backend.complete(request())
        assert len(server.completions) == 3
    assert info.value.retryable and "no choices" in str(info.value)


def test_a_permanent_status_is_sent_once() -> None:
    with OpenAIServer(default=lambda body: Fault(401)) as server:
        with OpenAIBackend("m", server.url, api_key=KEY, max_retries=3) as backend, \
                pytest.raises(BackendError) as info:
            backend.complete(request())
        assert len(server.completions) == 1
    assert error_class(info.value) == "permanent" and info.value.unreachable


def test_an_injected_policy_replaces_the_default_resending() -> None:
    never = RetryPolicy(stop=stop_after_attempt(1))
    with OpenAIServer() as server:
        server.enqueue(EmptyChoices(), Reply("too late"))
        with OpenAIBackend("m", server.url, api_key=KEY, max_retries=3, retry=never) as backend, \
                pytest.raises(AnswerError):
            backend.complete(request())
        assert len(server.completions) == 1, "the default would have sent it again"


async def test_an_injected_policy_decides_which_errors_are_sent_again() -> None:
    """Through `get_backend`, async: a policy that also re-sends a 404, three times at most."""
    from assistant.backends import get_backend

    seen: list[int] = []
    not_found = retry_if_exception(lambda e: isinstance(e, BackendError) and e.status_code == 404)
    policy = RetryPolicy(stop=stop_after_attempt(3), wait=wait_none(), retry=not_found)
    with OpenAIServer() as server:
        server.enqueue(Fault(404), Fault(404), Reply("found"))
        backend = get_backend("openai", model="m", base_url=server.url, api_key=KEY,
                              max_retries=0, retry=policy)
        try:
            assert (await backend.acomplete(request())).text == "found"
            seen.append(len(server.completions))
            server.enqueue(Fault(404), Fault(404), Fault(404), Reply("never asked"))
            with pytest.raises(BackendError) as info:
                await backend.acomplete(request())
            seen.append(len(server.completions))
        finally:
            await backend.aclose()  # type: ignore[attr-defined]
    assert seen == [3, 6] and info.value.status_code == 404


def test_empty_choices_no_longer_fails_an_article() -> None:
    """Issue 11, item 1: one empty answer per stage used to end `analyze` with exit 4."""
    from fault_server import FaultServer

    with FaultServer() as server:
        server.enqueue(EmptyChoices(), EmptyChoices(), EmptyChoices())
        with OpenAIBackend("test-model", server.url, api_key=KEY, max_retries=3) as backend:
            result = Assistant(backend).analyze(EXAMPLE)
        assert result.summary.headline and result.claims
        assert len(server.completions) == 3 + result.provenance.usage.calls


# -- timeouts: a server that never answers ---------------------------------------------------

@pytest.fixture
def silent_url() -> Iterator[str]:
    """An endpoint whose kernel accepts connections that nobody ever reads or answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        sock.close()


TIMEOUT, RETRIES = 0.4, 1
# The SDK waits between attempts (0.5 s, then doubling, with up to 25 % jitter off).
BACKOFF = 0.5
LIMIT = (1 + RETRIES) * TIMEOUT + BACKOFF * RETRIES + 1.5  # + start-up, intake, slack


def _command(name: str, tmp_path: Path) -> list[str]:
    evidence = tmp_path / "evidence.txt"
    evidence.write_text("The harbor bridge closed on Monday for repairs, officials said.\n")
    summary = tmp_path / "summary.txt"
    summary.write_text("The harbor bridge closed.\n")
    return {
        "analyze": ["analyze", str(EXAMPLE)],
        "summarize": ["summarize", str(EXAMPLE)],
        "claims": ["claims", str(EXAMPLE)],
        "questions": ["questions", str(EXAMPLE)],
        "check": ["check", str(EXAMPLE), "--evidence", str(evidence)],
        "check-summary": ["check-summary", str(EXAMPLE), str(summary)],
        "brief": ["brief", str(EXAMPLE), "--quiet"],
        "batch": ["batch", str(EXAMPLE.parent), "--out", str(tmp_path / "out.jsonl"),
                  "--no-cache", "--no-progress"],
    }[name]


@pytest.mark.parametrize("name", ["analyze", "summarize", "claims", "questions", "check",
                                  "check-summary", "brief", "batch"])
def test_every_command_gives_up_on_a_silent_server(
        name: str, silent_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path / "cache"))
    args = [*_command(name, tmp_path), "--backend", "openai", "--model", "m",
            "--base-url", silent_url, "--timeout", str(TIMEOUT), "--max-retries", str(RETRIES)]
    started = time.monotonic()
    code = main(args)
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 4, err
    assert "timed out" in err and "Traceback" not in err
    # batch stops after its first articles fail; the rest are left for a later run.
    assert elapsed < (2 * LIMIT if name == "batch" else LIMIT), f"{name} took {elapsed:.1f}s"


def test_the_environment_sets_the_timeout_for_the_api(silent_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_TIMEOUT", "0.3")
    monkeypatch.setenv("ASSISTANT_MAX_RETRIES", "0")
    assistant = Assistant("openai", model="m", base_url=silent_url)
    assert (assistant.backend.timeout, assistant.backend.max_retries) == (0.3, 0)  # type: ignore[attr-defined]
    started = time.monotonic()
    with pytest.raises(BackendError, match="timed out"):
        assistant.summarize("The bridge closed on Monday. Officials said repairs take a week.")
    assert time.monotonic() - started < 2.0


def test_constructor_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_TIMEOUT", "50")
    a = Assistant("openai", model="m", base_url="http://127.0.0.1:9/v1", timeout=7,
                  max_retries=0)
    assert (a.backend.timeout, a.backend.max_retries) == (7, 0)  # type: ignore[attr-defined]


# -- settings that cannot work ---------------------------------------------------------------

@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf")])
def test_the_api_refuses_a_timeout_that_cannot_work(value: float) -> None:
    with pytest.raises(UserError, match="timeout"):
        Assistant("openai", model="m", base_url="http://127.0.0.1:9/v1", timeout=value)
    with pytest.raises(UserError, match="max_retries"):
        OpenAIBackend("m", "http://127.0.0.1:9/v1", max_retries=-1)


def test_a_bad_environment_value_is_refused_by_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_TIMEOUT", "soon")
    with pytest.raises(UserError, match="ASSISTANT_TIMEOUT"):
        OpenAIBackend("m", "http://127.0.0.1:9/v1")


BAD_SETTINGS = [
    (["batch", "IN", "--out", "OUT", "--max-cost", "0"], {}, "--max-cost must be greater than 0"),
    (["batch", "IN", "--out", "OUT", "--max-cost", "-1"], {}, "--max-cost must be greater than 0"),
    (["batch", "IN", "--out", "OUT", "--max-cost", "nan"], {}, "--max-cost must be a finite"),
    (["batch", "IN", "--out", "OUT", "--timeout", "0"], {}, "--timeout must be greater than 0"),
    (["batch", "IN", "--out", "OUT", "--max-retries", "-1"], {}, "--max-retries must be greater"),
    (["batch", "IN", "--out", "OUT", "--max-chars", "0"], {}, "--max-chars must be greater"),
    (["batch", "IN", "--out", "OUT"], {"ASSISTANT_CONCURRENCY": "abc"},
     "ASSISTANT_CONCURRENCY must be a valid integer"),
    (["batch", "IN", "--out", "OUT"], {"ASSISTANT_CONCURRENCY": "0"},
     "ASSISTANT_CONCURRENCY must be greater than or equal to 1"),
    (["batch", "IN", "--out", "OUT", "--concurrency", "0"], {}, "--concurrency must be greater"),
    (["analyze", "IN", "--timeout", "-1"], {}, "--timeout must be greater than 0"),
    (["analyze", "IN", "--timeout", "abc"], {}, "--timeout must be a valid number"),
    (["claims", "IN", "--max-retries", "-1"], {}, "--max-retries must be greater"),
    (["summarize", "IN", "--max-chars", "0"], {}, "--max-chars must be greater"),
    (["check", "IN", "--evidence", "IN", "--timeout", "0"], {}, "--timeout must be greater"),
    (["check-summary", "IN", "IN"], {"ASSISTANT_TIMEOUT": "-5"}, "ASSISTANT_TIMEOUT must be"),
    (["brief", "IN"], {"ASSISTANT_MAX_RETRIES": "many"}, "ASSISTANT_MAX_RETRIES must be"),
]


@pytest.mark.parametrize("argv, env, message", BAD_SETTINGS,
                         ids=[" ".join(a[:1] + a[2:]) + "".join(f" {k}={v}" for k, v in e.items())
                              for a, e, _ in BAD_SETTINGS])
def test_a_setting_that_cannot_work_is_one_line_exit_2(
        argv: list[str], env: dict[str, str], message: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("The bridge closed on Monday, officials said.\n")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("ASSISTANT_MODEL", "m")
    fixed = [str(tmp_path / "in" / "a.txt") if a == "IN" and argv[0] != "batch"
             else str(tmp_path / "in") if a == "IN" else str(tmp_path / "out.jsonl")
             if a == "OUT" else a for a in argv]
    code = main([*fixed, "--estimate"] if argv[0] == "batch" else fixed)
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1, captured.err  # nothing before it, no estimate
    assert message in captured.err and "Traceback" not in captured.err
    assert captured.out == ""
    assert not (tmp_path / "out.jsonl").exists()


def test_settings_attempts() -> None:
    assert Settings(max_retries=2).attempts == 3
