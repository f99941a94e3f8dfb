"""Record / replay: zero model calls on replay, clear misses that say what changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from evals_fake import respond

from assistant import Assistant, FakeBackend, UserError
from assistant.backends.base import ChatRequest, ChatResponse, Message
from assistant.core.prompts import prompts_dir
from assistant.evals.cassette import (
    CassetteBackend,
    CassetteMiss,
    Exchange,
    explain_miss,
)
from assistant.text.intake import document_from_text

ARTICLE = ("Harbor bridge to close for repairs\n\nMonday, March 4, 2024\n\n"
           "The city council voted 7-2 on Tuesday to close the Harbor Bridge for six weeks. "
           "Repairs will cost $4.2 million, according to city engineer Dana Whitfield. "
           "\"We cannot wait another winter,\" said Mayor Ruth Alvarez.\n\n"
           "Commuters will be diverted to the Elm Street crossing starting next Monday.")


@pytest.fixture
def doc():  # type: ignore[no-untyped-def]
    return document_from_text(ARTICLE, name="bridge")


def _record(path: Path, doc, item: str = "bridge", mode: str = "record") -> tuple[FakeBackend, object]:  # type: ignore[no-untyped-def]
    fake = FakeBackend(default=respond)
    cassette = CassetteBackend(fake, path, mode, suite="test")  # type: ignore[arg-type]
    cassette.begin_item(item)
    result = Assistant(cassette).analyze(doc)
    cassette.end_item()
    return fake, result


def _without_latency(analysis):  # type: ignore[no-untyped-def]
    return analysis.model_copy(update={"provenance": analysis.provenance.model_copy(update={"latency_s": 0})})


def test_replay_reproduces_the_recording_without_a_model(tmp_path: Path, doc) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.json"
    fake, recorded = _record(path, doc)
    assert len(fake.requests) == 1  # one read call per article
    replay = CassetteBackend(None, path, "replay")
    assert (replay.name, replay.model) == ("fake", "fake-model")   # from the cassette
    replay.begin_item("bridge")
    again = Assistant(replay).analyze(doc)
    assert _without_latency(again) == _without_latency(recorded)   # type: ignore[arg-type]
    assert (replay.hits, replay.recorded, replay.token_misses) == (1, 0, 0)


def test_the_file_is_sorted_and_stable(tmp_path: Path, doc) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.json"
    _record(path, doc, item="b-item")
    _record(path, document_from_text(ARTICLE.replace("7-2", "6-3"), name="a"), item="a-item")
    data = json.loads(path.read_text())
    assert [(e["item"], e["seq"]) for e in data["exchanges"]] == [
        ("a-item", 0), ("b-item", 0)]
    assert list(data["token_counts"]) == sorted(data["token_counts"])
    first = path.read_text()
    _record(path, doc, item="b-item")            # re-recording the same item: same content
    strip = lambda t: "\n".join(x for x in t.splitlines() if "recorded_at" not in x)  # noqa: E731
    assert strip(path.read_text()) == strip(first)
    assert data["exchanges"][0]["prompt"].startswith("read@")
    assert data["exchanges"][0]["response"]["text"].startswith("{")


def test_a_changed_template_is_a_miss_that_names_it(tmp_path: Path, doc,  # type: ignore[no-untyped-def]
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.json"
    _record(path, doc)
    edited = tmp_path / "prompts"
    shutil.copytree(prompts_dir(), edited)
    read = edited / "read.prompt"
    read.write_text(read.read_text().replace("Answer with the JSON object.", "Answer with the JSON object now."))
    monkeypatch.setenv("ASSISTANT_PROMPTS_DIR", str(edited))
    replay = CassetteBackend(None, path, "replay")
    replay.begin_item("bridge")
    with pytest.raises(CassetteMiss) as info:
        Assistant(replay).analyze(doc)
    miss = info.value.misses[0]
    assert miss.item == "bridge" and miss.prompt.startswith("read@")
    assert len(miss.reasons) == 2
    assert miss.reasons[0].startswith("template 'read' changed (")
    assert miss.reasons[1] == "so message 2 (user) differs"
    assert "replay miss: bridge:" in str(info.value)
    assert replay.hits == 0


def test_explain_miss_lists_parameters_inputs_and_unknown_items() -> None:
    def request(content: str, max_tokens: int = 900, prompt: str = "article@aaa+claims@bbb") -> ChatRequest:
        return ChatRequest(messages=[Message(role="system", content="s"), Message(role="user", content=content)],
                           json_schema={"type": "object"}, schema_name="ClaimsDraft", prompt=prompt,
                           max_tokens=max_tokens)

    old = request("article one")
    entry = Exchange(item="x", seq=0, key="k", prompt=old.prompt,
                     messages=[f"{m.role}:{_sha(m.content)}" for m in old.messages],
                     schema_name="ClaimsDraft", schema_hash=_sha(json.dumps({"type": "object"}, sort_keys=True)),
                     params={"temperature": 0.0, "max_tokens": 900, "seed": 0},
                     response=ChatResponse(text="{}"))
    assert explain_miss(request("article one", max_tokens=700), "x", [entry]) == ["max_tokens changed (900 -> 700)"]
    assert explain_miss(request("article two"), "x", [entry]) == [
        "message 2 (user) differs with the same templates: the article, a variable or an earlier answer changed"]
    assert explain_miss(request("a", prompt="article@aaa+summarize@ccc"), "x", [entry]) == [
        "no recorded call uses templates article+summarize (recorded: article, claims); the pipeline "
        "now makes a call the recording did not (a code change, or the item stopped earlier when it "
        "was recorded)"]
    assert explain_miss(old, "y", []) == ["nothing recorded for item 'y'"]


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:12]


def test_fill_records_only_what_is_missing(tmp_path: Path, doc) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.json"
    _record(path, doc, item="one")
    two = document_from_text(ARTICLE.replace("7-2", "6-3"))
    _record(path, two, item="two")
    data = json.loads(path.read_text())
    data["exchanges"] = [e for e in data["exchanges"] if e["item"] != "two"]
    path.write_text(json.dumps(data))
    fake, _ = _record(path, doc, item="one", mode="fill")
    assert fake.requests == [], "item one replays"
    fake, _ = _record(path, two, item="two", mode="fill")
    assert len(fake.requests) == 1 and fake.requests[0].schema_name == "ReadDraft"
    assert len(json.loads(path.read_text())["exchanges"]) == 2


def test_recording_one_item_keeps_the_others(tmp_path: Path, doc) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.json"
    _record(path, doc, item="one")
    _record(path, document_from_text(ARTICLE.replace("7-2", "6-3")), item="two")
    items = {e["item"] for e in json.loads(path.read_text())["exchanges"]}
    assert items == {"one", "two"}


def test_token_counts_replay_and_fall_back(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    fake = FakeBackend(default="{}")
    rec = CassetteBackend(fake, path, "record")
    assert rec.count_tokens("a" * 40) == 10
    rec.begin_item("i")
    rec.end_item()
    replay = CassetteBackend(None, path, "replay")
    assert replay.count_tokens("a" * 40) == 10 and replay.token_misses == 0
    assert replay.count_tokens("b" * 80) == 20 and replay.token_misses == 1


def test_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no cassette at"):
        CassetteBackend(None, tmp_path / "absent.json", "replay")
    with pytest.raises(UserError, match="needs a backend"):
        CassetteBackend(None, tmp_path / "absent.json", "record")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(UserError, match="not a cassette file"):
        CassetteBackend(None, bad, "replay")


def test_recording_under_another_model_starts_afresh(tmp_path: Path, doc) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.json"
    _record(path, doc)
    other = CassetteBackend(FakeBackend(default=respond, model="other-model"), path, "record")
    assert other.model == "other-model" and other.file.exchanges == []


async def test_async_replay(tmp_path: Path, doc) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.json"
    _record(path, doc)
    replay = CassetteBackend(None, path, "replay")
    request = ChatRequest(messages=[Message(role="user", content="never recorded")])
    with pytest.raises(CassetteMiss):
        await replay.acomplete(request)
    fake = FakeBackend(default=ChatResponse(text="{}", latency_s=1.5))
    rec = CassetteBackend(fake, tmp_path / "d.json", "record")
    assert (await rec.acomplete(request)).text == "{}"
    assert rec.recorded == 1


def test_the_cassette_keeps_the_response_whole(tmp_path: Path) -> None:
    """Log-probabilities survive a recording; `cached` is never written, nor empty logprobs."""
    from assistant.backends.base import TokenLogprob

    answered = ChatResponse(text="Yes", finish_reason="stop", prompt_tokens=9, completion_tokens=1,
                            model="fake-model", latency_s=0.12345, cached=True,
                            logprobs=[TokenLogprob(token="Yes", logprob=-0.1, top={"No": -2.4})])
    request = ChatRequest(messages=[Message(role="user", content="supported?")], top_logprobs=5)
    path = tmp_path / "c.json"
    rec = CassetteBackend(FakeBackend([answered, "plain"]), path, "record")
    rec.begin_item("x")
    rec.complete(request)
    rec.complete(ChatRequest(messages=[Message(role="user", content="other")]))
    rec.end_item()
    written = [e["response"] for e in json.loads(path.read_text())["exchanges"]]
    assert "cached" not in written[0] and "cached" not in written[1]
    assert "logprobs" in written[0] and "logprobs" not in written[1]
    replay = CassetteBackend(None, path, "replay")
    replay.begin_item("x")
    assert replay.complete(request) == answered.model_copy(update={"cached": False, "latency_s": 0.123})


def test_the_committed_cassette_reads_and_writes_back_unchanged() -> None:
    from assistant.evals.cassette import CassetteFile, default_path

    text = default_path("fixtures").read_text(encoding="utf-8")
    assert CassetteFile.model_validate_json(text).model_dump_json(indent=1) + "\n" == text


def test_signal_method_is_recorded_and_a_mismatch_is_refused(tmp_path: Path, doc,  # type: ignore[no-untyped-def]
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.evals.cassette as cassette_module
    from assistant.evals.cassette import SignalsMismatch, current_signals

    path = tmp_path / "c.json"
    _record(path, doc)
    recorded = json.loads(path.read_text())["signals"]
    assert recorded == current_signals()
    other = "regex" if recorded == "spacy" else "spacy"
    monkeypatch.setattr(cassette_module, "current_signals", lambda: other)
    with pytest.raises(SignalsMismatch, match=f"recorded with {recorded} signals but this install has {other}"):
        CassetteBackend(None, path, "replay")
