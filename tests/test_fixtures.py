"""The eval fixtures and the README examples stay consistent with the sentence grid.

Gold annotations cite sentence ids produced by `split_sentences`; a change to the text or
to the segmenter that shifts ids must fail here, not silently skew the evals.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from assistant.schemas import ClaimType, VerificationMethod
from assistant.text.segment import split_sentences

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted((ROOT / "evals" / "fixtures" / "articles").glob("*.json"))
EXAMPLES = sorted((ROOT / "assistant" / "examples").glob("*.txt"))

TRAP_KINDS = {"misattribution", "self_contradiction", "opinion", "boilerplate"}
_WEEK = re.compile(r"(\d{4})-W(\d{2})")


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _sentences(doc: dict[str, Any]) -> dict[str, str]:
    return {s.id: s.text for s in split_sentences(doc["text"])}


def _valid_iso(value: str) -> bool:
    """YYYY-MM-DD, YYYY-MM, YYYY or YYYY-Www, each a real date or period."""
    if m := _WEEK.fullmatch(value):
        year, week = int(m[1]), int(m[2])
        return 1 <= week <= dt.date(year, 12, 28).isocalendar().week
    formats = {10: "%Y-%m-%d", 7: "%Y-%m", 4: "%Y"}
    if len(value) not in formats or not re.fullmatch(r"[\d-]+", value):
        return False
    try:
        dt.datetime.strptime(value, formats[len(value)])
    except ValueError:
        return False
    return True


def _cited_ids(gold: dict[str, Any]) -> list[str]:
    ids = [sid for item in gold["key_facts"] for sid in item["sentence_ids"]]
    ids += [sid for item in gold["claims"] for sid in item["sentence_ids"]]
    ids += [item["sentence_id"] for item in gold["dates"]]
    ids += [sid for item in gold["traps"] for sid in item["sentence_ids"]]
    return ids


fixture = pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])


def test_at_least_ten_fixtures() -> None:
    assert len(FIXTURES) >= 10


def test_traps_cover_every_kind() -> None:
    kinds = {trap["kind"] for p in FIXTURES for trap in _load(p)["gold"]["traps"]}
    assert kinds == TRAP_KINDS


@fixture
def test_header(path: Path) -> None:
    doc = _load(path)
    assert doc["id"] == path.stem
    assert doc["outlet"]
    published = dt.date.fromisoformat(doc["published"])
    lines = doc["text"].split("\n")
    assert lines[0] == doc["title"]
    assert lines[1] == "" and lines[3] == ""
    # The dateline states the same date as `published`, weekday included.
    assert lines[2] == f"{published:%A}, {published:%B} {published.day}, {published.year}"


@fixture
def test_length_and_counts(path: Path) -> None:
    doc = _load(path)
    gold = doc["gold"]
    assert 12 <= len(split_sentences(doc["text"])) <= 25
    assert 4 <= len(gold["key_facts"]) <= 6
    assert 6 <= len(gold["claims"]) <= 12
    assert gold["dates"]
    assert gold["summary_reference"].strip()


@fixture
def test_sentence_ids_exist(path: Path) -> None:
    doc = _load(path)
    sentences = _sentences(doc)
    missing = [sid for sid in _cited_ids(doc["gold"]) if sid not in sentences]
    assert not missing, f"ids not in split_sentences output: {missing}"


@fixture
def test_date_expressions_in_their_sentence(path: Path) -> None:
    doc = _load(path)
    sentences = _sentences(doc)
    for item in doc["gold"]["dates"]:
        assert item["expression"] in sentences[item["sentence_id"]], item


@fixture
def test_dates_are_iso(path: Path) -> None:
    bad = [d["resolved"] for d in _load(path)["gold"]["dates"] if not _valid_iso(d["resolved"])]
    assert not bad


@fixture
def test_speakers_appear_in_text(path: Path) -> None:
    doc = _load(path)
    for claim in doc["gold"]["claims"]:
        speaker = claim["speaker"]
        assert speaker is None or (speaker and speaker in doc["text"]), speaker


@fixture
def test_enum_values(path: Path) -> None:
    gold = _load(path)["gold"]
    for claim in gold["claims"]:
        ClaimType(claim["type"])
        VerificationMethod(claim["verification"])
        assert isinstance(claim["check_worthy"], bool)
        assert claim["sentence_ids"]
    for trap in gold["traps"]:
        assert trap["kind"] in TRAP_KINDS
        assert trap["sentence_ids"]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2024-03-05", True),
        ("2024-02-30", False),
        ("2023-12", True),
        ("2023-13", False),
        ("2019", True),
        ("2024-W26", True),
        ("2024-W53", False),
        ("2020-W53", True),
        ("last week", False),
        ("24-03-05", False),
    ],
)
def test_valid_iso(value: str, ok: bool) -> None:
    assert _valid_iso(value) is ok


def test_examples_present() -> None:
    assert len(EXAMPLES) >= 2
    assert "harbor-bridge-closure" in {p.stem for p in EXAMPLES}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_segments(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert len(split_sentences(text)) >= 15
    dt.datetime.strptime(text.split("\n")[2], "%A, %B %d, %Y")
