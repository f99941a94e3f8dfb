"""Inputs with no news in them (a bare link, a one-liner) are refused before any model
call, by every command; Markdown never shows an empty headline or citation line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fault_server import FaultServer

from assistant import Assistant, FakeBackend, InputError
from assistant.cli import main
from assistant.cli.common import EXIT_INPUT
from assistant.render.analysis import summary_md
from assistant.schemas import Summary
from assistant.steps.analysis import Options, extractive_summary
from assistant.text.intake import document_from_text, news_problem

URL = "https://www.example.com/news/2024/05/01/harbor-bridge-to-close"
ONE = "The harbor bridge will close for repairs next month, the city council said on Monday."

NEWS_TABLE = [
    ("a bare link", URL, "only a link"),
    ("links and an address", f"{URL}\nwww.example.org/a\nnews@example.com", "only a link"),
    ("a handle and tags", "@cityhall #bridge #news", "0 sentence(s)"),
    ("one sentence", ONE, "1 sentence(s)"),
    ("one sentence and a link", f"{ONE}\n\nRead more: {URL}", "1 sentence(s)"),
    ("fragments", "Share. Click here. Subscribe now.", "0 sentence(s)"),
    ("two sentences", f"{ONE} Work starts on June 3, officials said.", None),
    ("a headline and a sentence", f"Harbor bridge to close for repairs\n\n{ONE}", None),
    ("unspaced script", "市议会周一投票决定关闭港口大桥进行维修。维修工程预计将持续十八个月。", None),
]


@pytest.mark.parametrize("text, expected", [(t, e) for _, t, e in NEWS_TABLE],
                         ids=[n for n, _, _ in NEWS_TABLE])
def test_news_problem(text: str, expected: str | None) -> None:
    problem = news_problem(document_from_text(text))
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem


def test_the_api_refuses_before_any_call() -> None:
    fake = FakeBackend(default={"unused": True})
    a = Assistant(fake)
    for call in (a.analyze, a.summarize, a.extract_claims, a.verification_questions):
        with pytest.raises(InputError, match="no news to analyse: it holds only a link"):
            call(URL)
    with pytest.raises(InputError, match="1 sentence"):
        a.check_summary(ONE, "The bridge closes.")
    with pytest.raises(InputError, match="1 sentence"):
        a.fact_check(ONE, ["The council voted on Monday to close the bridge next month."])
    with pytest.raises(InputError, match="1 sentence"):
        a.brief([ONE])
    assert fake.requests == []


def _commands(article: Path, tmp_path: Path) -> dict[str, list[str]]:
    evidence = tmp_path / "evidence.txt"
    evidence.write_text("The council voted on Monday to close the bridge next month.\n")
    summary = tmp_path / "summary.txt"
    summary.write_text("The bridge closes.\n")
    return {
        "analyze": ["analyze", str(article)],
        "summarize": ["summarize", str(article)],
        "claims": ["claims", str(article)],
        "questions": ["questions", str(article)],
        "check": ["check", str(article), "--evidence", str(evidence)],
        "check-summary": ["check-summary", str(article), str(summary)],
        "brief": ["brief", str(article), "--quiet"],
    }


@pytest.mark.parametrize("kind, text", [("link", URL + "\n"), ("one-liner", ONE + "\n")])
def test_every_command_refuses_in_one_line_with_exit_3_and_no_call(
        kind: str, text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-tiny")
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path / "cache"))
    article = tmp_path / f"{kind}.txt"
    article.write_text(text, encoding="utf-8")
    with FaultServer() as server:
        for name, args in _commands(article, tmp_path).items():
            code = main([*args, "--backend", "openai", "--model", "m", "--base-url", server.url])
            captured = capsys.readouterr()
            assert code == EXIT_INPUT, (name, captured.err)
            lines = captured.err.strip().splitlines()
            assert len(lines) == 1 and "no news to analyse" in lines[0], (name, captured.err)
            assert captured.out == "" and "## " not in captured.out
        assert server.completions == []


def test_batch_records_tiny_inputs_as_input_errors_without_calls(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-tiny")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "link.txt").write_text(URL + "\n")
    (folder / "one.txt").write_text(ONE + "\n")
    out = tmp_path / "out.jsonl"
    with FaultServer() as server:
        code = main(["batch", str(folder), "--out", str(out), "--no-cache", "--no-progress",
                     "--backend", "openai", "--model", "m", "--base-url", server.url])
        assert server.completions == []
    capsys.readouterr()
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert code == 1 and len(records) == 2
    for r in records:
        assert r["status"] == "error" and r["error"]["type"] == "InputError"
        assert "no news to analyse" in r["error"]["message"] and not r["error"]["retryable"]


def test_markdown_never_shows_an_empty_headline_or_citation_line() -> None:
    doc = document_from_text("The bridge closed. Repairs start soon.")
    fallback = extractive_summary(doc, Options())
    assert fallback.headline == "The bridge closed."
    md = "\n".join(summary_md(Summary(headline="", tldr="", key_points=[])))
    assert "## (no headline)" in md and "Draws on" not in md
    assert not [line for line in md.splitlines() if line.strip() in ("##", "## ")]
