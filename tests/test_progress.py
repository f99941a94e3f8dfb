"""The progress display: stages from the prompts a call names, shown on a terminal only."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from assistant.backends.base import ChatRequest, Message
from assistant.backends.fake import FakeBackend
from assistant.cli import app as cli
from assistant.core.progress import Progress, Watched, stage_of, watch

EXAMPLE = Path(__file__).resolve().parents[1] / "assistant" / "examples" / "harbor-bridge-closure.txt"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _request(prompt: str) -> ChatRequest:
    return ChatRequest(messages=[Message(role="user", content="x")], prompt=prompt)


@pytest.mark.parametrize(("prompt", "stage"), [
    ("read@3c4d", "reading the article"),
    ("read@3c4d+reask@3", "reading the article"),
    ("article@1a2b+faithfulness@99", "checking the summary"),
    ("reask@3", "model call"),
    ("", "model call"),
    ("article@1+something_new@2", "something_new"),
])
def test_stage_of(prompt: str, stage: str) -> None:
    assert stage_of(_request(prompt)) == stage


def test_silent_off_a_terminal_and_backend_unwrapped() -> None:
    out = io.StringIO()
    progress = Progress(out)
    backend = FakeBackend(default="{}")
    assert watch(backend, progress) is backend
    progress.start("analyze")
    progress.call(_request("article@1+claims@2"))
    progress.stop("done")
    assert out.getvalue() == ""


def test_quiet_on_a_terminal_is_silent() -> None:
    out = Terminal()
    progress = Progress(out, enabled=False)
    progress.start("analyze")
    progress.stop("done")
    assert out.getvalue() == ""


def test_terminal_shows_stages_calls_and_time() -> None:
    out = Terminal()
    progress = Progress(out, interval=0.01)
    backend = watch(FakeBackend(default="{}"), progress)
    assert isinstance(backend, Watched) and backend.name == "fake"
    progress.start("analyze of 3 sentences with fake (fake)")
    backend.complete(_request("read@2"))
    backend.complete(_request("article@1+faithfulness@2"))
    backend.complete(_request("article@1+faithfulness@2+reask@3"))
    assert "checking the summary · call 2" in progress.line()
    progress.stop("analysis")
    text = out.getvalue()
    assert text.startswith("assistant: analyze of 3 sentences with fake (fake)\n")
    assert "✓ reading the article · 1 model call · 0:00" in text
    assert "✓ checking the summary · 2 model calls · 0:00" in text
    assert text.rstrip().endswith("assistant: analysis in 0:00")


def test_broken_stderr_does_not_stop_the_job() -> None:
    class Broken(Terminal):
        def write(self, s: str) -> int:
            raise OSError("broken pipe")

    progress = Progress(Broken())
    progress.start("analyze")
    progress.call(_request("article@1+claims@2"))
    progress.stop("done")
    assert progress.enabled is False


def test_cli_analyze_reports_stages_on_a_terminal(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from test_api_fake import responder

    import assistant.api as api

    monkeypatch.setattr(api, "get_backend", lambda *a, **k: FakeBackend(default=responder))
    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    assert cli.main(["analyze", str(EXAMPLE), "--format", "json"]) == 0
    text = err.getvalue()
    assert "assistant: analyze of" in text and "✓ reading the article · 1 model call" in text
    assert capsys.readouterr().out.lstrip().startswith("{")  # stdout holds only the result

    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert cli.main(["analyze", str(EXAMPLE), "--format", "json", "--quiet"]) == 0
    assert quiet.getvalue() == ""
