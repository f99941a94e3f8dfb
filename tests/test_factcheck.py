"""fact_check against a scripted model: retrieval, verdicts, evidence grounding, bad evidence."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from assistant import Assistant, AsyncAssistant, FakeBackend, InputError
from assistant.backends.base import ChatRequest
from assistant.cli import main
from assistant.schemas import (
    ClaimVerdict,
    Confidence,
    EvidenceQuote,
    FactCheckReport,
    Stance,
    Verdict,
)
from assistant.steps.evidence import load_evidence
from assistant.steps.factcheck import ClaimInput, EvidenceIndex, aggregate, verify_evidence_quote
from assistant.steps.options import Options
from assistant.text.intake import document_from_text

REPORT = """Harbor Bridge inspection report

The Harbor Bridge was built in 1962 and carries about 40,000 vehicles a day.
Inspectors found cracks in two support beams in December 2023.
Repairs are estimated at $45 million.
The council approved the closure by a vote of 7 to 2.
"""
MINUTES = """Council minutes

The council met on Tuesday, January 9, 2024.
Members voted 7-2 to close the Harbor Bridge for repairs.
The mayor said the closure would last 18 months.
"""
BLOG = """Rumours blog

Some residents say the bridge repairs will cost $90 million.
Nobody has seen the engineers' report.
"""
# This module tests the stance path (one stance label per retrieved sentence); the default
# calibrated path is tested in test_factcheck_calibrated.py.
STANCE = Options(fact_check={"verdict": "stance"})
EXAMPLE = Path(__file__).resolve().parents[1] / "assistant" / "examples" / "harbor-bridge-closure.txt"


def stance_by_rules(request: ChatRequest) -> dict[str, Any]:
    """A stand-in judge: refutes when the evidence names a different dollar figure,
    supports when it shares the claim's figure or year, else unrelated."""
    text = request.messages[-1].content
    evidence = re.search(r"EVIDENCE: (.*)", text)
    claim = re.search(r"CLAIM: (.*)", text)
    assert evidence and claim
    e_nums = set(re.findall(r"\$?\d[\d,]*", evidence.group(1)))
    c_nums = set(re.findall(r"\$?\d[\d,]*", claim.group(1)))
    if c_nums & e_nums:
        return {"stance": "supports"}
    if any(n.startswith("$") for n in e_nums) and any(n.startswith("$") for n in c_nums):
        return {"stance": "refutes"}
    return {"stance": "unrelated"}


@pytest.fixture
def evidence_texts() -> list[str]:
    return [REPORT, MINUTES, BLOG]


# --------------------------------------------------------------------------- retrieval


@pytest.mark.parametrize(("query", "expected"), [
    ("The Harbor Bridge was built in 1962.", ("E1", "S2")),
    ("When was the bridge built?", ("E1", "S2")),
    ("The council voted 7-2 to close the bridge.", ("E2", "S3")),
    ("How long will the closure last?", ("E2", "S4")),
    ("Repairs will cost $45 million.", ("E1", "S4")),
    ("Cracks were found in support beams.", ("E1", "S3")),
])
def test_bm25_retrieval_finds_the_evidence_sentence(query: str, expected: tuple[str, str],
                                                    evidence_texts: list[str]) -> None:
    evidence = load_evidence(evidence_texts)
    hits = EvidenceIndex(evidence).search([query], k=3)
    top = hits[0]
    assert (evidence.info[top.doc_index].id, top.sentence.id) == expected
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_retrieval_uses_the_verification_questions(evidence_texts: list[str]) -> None:
    evidence = load_evidence(evidence_texts)
    index = EvidenceIndex(evidence)
    assert index.search(["It happened."], k=3) == []
    hits = index.search(["It happened.", "How many vehicles cross the bridge each day?"], k=1)
    assert hits and hits[0].sentence.text.startswith("The Harbor Bridge was built")


def test_retrieval_needs_a_shared_content_word(evidence_texts: list[str]) -> None:
    index = EvidenceIndex(load_evidence(evidence_texts))
    assert index.search(["Penguins migrate south."], k=3) == []


def test_a_single_sentence_corpus_still_ranks() -> None:
    # BM25Okapi's idf goes negative on one-document corpora; the chosen variant must not.
    evidence = load_evidence(["Lost is an American television drama series."])
    [hit] = EvidenceIndex(evidence).search(["Lost is a political party."], k=3)
    assert hit.score > 0


# --------------------------------------------------------------------------- verdicts


def _claim() -> ClaimInput:
    return ClaimInput(id="C1", text="Repairs will cost $45 million.", as_of="2024-01-10")


@pytest.mark.parametrize(("stances", "verdict", "confidence"), [
    ([Stance.supports, Stance.supports], Verdict.supported, Confidence.high),
    ([Stance.supports, Stance.unrelated], Verdict.supported, Confidence.moderate),
    ([Stance.refutes, Stance.unrelated], Verdict.refuted, Confidence.moderate),
    ([Stance.unrelated, Stance.refutes], Verdict.refuted, Confidence.low),
    ([Stance.supports, Stance.refutes], Verdict.conflicting, Confidence.low),
    ([Stance.unrelated, Stance.unrelated], Verdict.not_enough_evidence, Confidence.moderate),
    ([], Verdict.not_enough_evidence, Confidence.high),
])
def test_aggregation_rules(stances: list[Stance], verdict: Verdict, confidence: Confidence,
                           evidence_texts: list[str]) -> None:
    evidence = load_evidence(evidence_texts)
    hits = EvidenceIndex(evidence).search(["Repairs will cost $45 million."], k=2)[: len(stances)]
    v = aggregate(_claim(), hits, stances, [[] for _ in hits], evidence)
    assert (v.verdict, v.confidence) == (verdict, confidence)
    assert len(v.evidence) == sum(s != Stance.unrelated for s in stances)
    assert v.rationale and v.as_of == "2024-01-10"
    assert ClaimVerdict.model_validate_json(v.model_dump_json()) == v


def test_support_with_a_differing_figure_is_not_counted(evidence_texts: list[str]) -> None:
    evidence = load_evidence(evidence_texts)
    report = Assistant(FakeBackend(default={"stance": "supports"}), options=STANCE).fact_check(
        ["Repairs will cost $90 million."], [REPORT])
    [v] = report.verdicts
    assert v.verdict == Verdict.not_enough_evidence, "a '$45 million' sentence cannot support $90 million"
    assert "not counted" in v.rationale and v.mismatches
    assert v.mismatches[0].source_span is not None and v.mismatches[0].source_span.text == "$45 million"
    assert evidence


def test_verdicts_quotes_and_schema(evidence_texts: list[str]) -> None:
    fake = FakeBackend(default=stance_by_rules)
    report = Assistant(fake, options=STANCE).fact_check(
        ["The bridge repairs will cost $45 million.", "The council voted 7-2 last Tuesday.",
         "Penguins migrate south."], evidence_texts, published=dt_date("2024-01-12"))
    assert isinstance(report, FactCheckReport)
    assert [e.id for e in report.evidence_documents] == ["E1", "E2", "E3"]
    money, vote, penguins = report.verdicts
    assert money.verdict == Verdict.conflicting  # $45 million in E1, $90 million in E3
    assert {q.document for q in money.evidence} == {"E1", "E3"}
    assert vote.verdict == Verdict.supported
    assert vote.as_of == "2024-01-12"
    assert [(d.expression, d.resolved) for d in vote.dates] == [("last Tuesday", "2024-01-02")]
    assert penguins.verdict == Verdict.not_enough_evidence and penguins.confidence == Confidence.high
    evidence = load_evidence(evidence_texts)
    for v in report.verdicts:
        for q in v.evidence:
            assert verify_evidence_quote(evidence, q)
            assert q.source is not None
    assert FactCheckReport.model_validate_json(report.model_dump_json()) == report
    # fixed instructions first, the evidence sentence next, then the claim
    first = fake.requests[0]
    assert first.messages[0].role == "system" and "EVIDENCE:" in first.messages[1].content
    assert len({r.messages[0].content for r in fake.requests}) == 1


def dt_date(value: str) -> Any:
    import datetime as dt

    return dt.date.fromisoformat(value)


@pytest.mark.parametrize(("field", "value"), [
    ("text", "Repairs are estimated at $46 million."),
    ("start", 1),
    ("document", "E9"),
    ("sentence_id", "S1"),
])
def test_tampered_evidence_quotes_fail_verification(field: str, value: Any,
                                                   evidence_texts: list[str]) -> None:
    evidence = load_evidence(evidence_texts)
    doc = evidence.docs[0]
    s = doc.sentence("S4")
    good = EvidenceQuote(document="E1", sentence_id="S4", text=s.text, start=s.start, end=s.end,
                         stance=Stance.supports, score=1.0)
    assert verify_evidence_quote(evidence, good)
    assert not verify_evidence_quote(evidence, good.model_copy(update={field: value}))


def test_article_claims_are_checked_with_their_questions() -> None:
    from test_api_fake import responder

    def model(request: ChatRequest) -> Any:
        if "EVIDENCE:" in request.messages[-1].content:
            return stance_by_rules(request)
        return responder(request)

    fake = FakeBackend(default=model)
    article = document_from_text(EXAMPLE.read_text(encoding="utf-8"))
    report = Assistant(fake, options=STANCE).fact_check(article, [MINUTES, REPORT])
    assert report.article is not None and report.article.doc_id == article.doc_id
    assert report.verdicts, "the example article has claims"
    for v in report.verdicts:
        assert v.article_quote is not None
        assert article.text[v.article_quote.start:v.article_quote.end] == v.article_quote.text
        # evidence quotes never point into the article
        assert all(q.document.startswith("E") for q in v.evidence)
    reads = [r for r in fake.requests if r.prompt.startswith("read@")]
    assert len(reads) == 1, "claims and their questions come from one read call"


async def test_async_matches_sync(evidence_texts: list[str]) -> None:
    claims = ["The bridge repairs will cost $45 million.", "The council voted 7-2."]
    sync = Assistant(FakeBackend(default=stance_by_rules), options=STANCE).fact_check(claims, evidence_texts)
    result = await AsyncAssistant(FakeBackend(default=stance_by_rules), options=STANCE).fact_check(claims, evidence_texts)
    assert [v.verdict for v in result.verdicts] == [v.verdict for v in sync.verdicts]


# --------------------------------------------------------------------------- CoVe


def test_cove_answers_without_seeing_the_claim_and_is_labelled_unverified(
        evidence_texts: list[str]) -> None:
    claim = "The Harbor Bridge was built in 1962."

    def model(request: ChatRequest) -> Any:
        text = request.messages[-1].content
        if "EVIDENCE:" in text:
            return {"stance": "supports"}
        if "STATEMENT:" in text and "QUESTION:" not in text:
            return {"questions": ["When was the Harbor Bridge built?", "Who built the Harbor Bridge?"]}
        if "QUESTION:" in text and "STATEMENT:" not in text:
            return {"answer": "unknown" if "Who" in text else "In 1962."}
        return {"agreement": "agrees"}

    fake = FakeBackend(default=model)
    report = Assistant(fake, options=STANCE).fact_check([claim], evidence_texts, cove=True)
    [v] = report.verdicts
    assert v.cove is not None and v.cove.label == "model knowledge, unverified"
    assert [a.agreement for a in v.cove.answers] == ["agrees", "unknown"]
    assert v.cove.agreement == "consistent"
    answers = [r for r in fake.requests if "QUESTION:" in r.messages[-1].content
               and "STATEMENT:" not in r.messages[-1].content]
    assert len(answers) == 2
    for r in answers:
        seen = " ".join(m.content for m in r.messages)
        assert "1962" not in seen and "ARTICLE" not in seen and "EVIDENCE" not in seen
    assert all(q.document.startswith("E") for q in v.evidence), "CoVe answers are never evidence"
    # "unknown" answers are not sent to the comparison step
    assert sum("ANSWER:" in r.messages[-1].content for r in fake.requests) == 1


# --------------------------------------------------------------------------- bad evidence


def test_empty_evidence_file_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(InputError, match=r"evidence .*empty\.txt.*empty"):
        Assistant(FakeBackend()).fact_check(["A claim."], [empty])


def test_binary_evidence_file_is_a_clear_error(tmp_path: Path) -> None:
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(b"%PDF-1.7\n\x00\x01\x02binary")
    with pytest.raises(InputError, match="PDF"):
        load_evidence([pdf])


def test_missing_evidence_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_evidence([str(tmp_path / "nope.txt")])


@pytest.mark.parametrize("items", [[], ()])
def test_no_evidence_is_a_clear_error(items: Any) -> None:
    with pytest.raises(InputError, match="no evidence"):
        load_evidence(items)


def test_folder_with_thousands_of_files_is_refused_quickly(tmp_path: Path) -> None:
    for n in range(3000):
        (tmp_path / f"doc{n:04d}.txt").write_text(f"Document {n}.")
    with pytest.raises(InputError, match=r"more than 200 text files"):
        load_evidence([tmp_path])


def test_folder_skips_unusable_files_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "report.txt").write_text(REPORT)
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0")  # not a text suffix: ignored
    (tmp_path / "blob.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "minutes.md").write_text(MINUTES)
    evidence = load_evidence([tmp_path])
    assert [Path(i.source or "").name for i in evidence.info] == ["report.txt", "minutes.md"]
    assert any("empty.txt" in n for n in evidence.notes)
    assert any("blob.txt" in n and "PNG" in n for n in evidence.notes)


def test_folder_without_text_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0")
    with pytest.raises(InputError, match="no text files"):
        load_evidence([tmp_path])


def test_duplicate_documents_are_used_once(tmp_path: Path) -> None:
    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_text(REPORT)
    b.write_text(REPORT.replace("\n", "\r\n"))  # same text after clean-up
    fake = FakeBackend(default={"stance": "supports"})
    report = Assistant(fake, options=STANCE).fact_check(["Repairs are estimated at $45 million."], [a, b, REPORT])
    assert len(report.evidence_documents) == 1
    assert sum("duplicates E1" in n for n in report.notes) == 2
    [v] = report.verdicts
    assert len(v.evidence) == len({(q.document, q.sentence_id) for q in v.evidence})


def test_long_one_line_evidence_text_is_text_not_a_path() -> None:
    text = "The Harbor Bridge was built in 1962 and " + "carries many cars " * 40 + "every day."
    assert "\n" not in text and len(text) > 300  # longer than any file name
    evidence = load_evidence([text])
    assert evidence.info[0].source is None and evidence.docs[0].text == text


def test_empty_claim_is_an_error(evidence_texts: list[str]) -> None:
    with pytest.raises(InputError, match="claim 2 is empty"):
        Assistant(FakeBackend()).fact_check(["A claim.", "  "], evidence_texts)


# --------------------------------------------------------------------------- CLI


def test_cli_check_with_claims_json_and_markdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.cli import check

    monkeypatch.setattr(check, "_assistant", lambda args: Assistant(FakeBackend(default=stance_by_rules), options=STANCE))
    (tmp_path / "report.txt").write_text(REPORT)
    (tmp_path / "blog.txt").write_text(BLOG)
    out = tmp_path / "out.json"
    code = main(["check", "--claim", "Repairs will cost $45 million.", "--date", "2024-01-10",
                 "--evidence", str(tmp_path), "--format", "json", "-o", str(out)])
    assert code == 0
    report = FactCheckReport.model_validate_json(out.read_text())
    assert report.verdicts[0].verdict == Verdict.conflicting
    assert main(["check", "--claim", "Repairs will cost $45 million.", "--date", "2024-01-10",
                 "--evidence", str(tmp_path / "report.txt")]) == 0
    md = capsys.readouterr().out
    assert "SUPPORTED" in md and "As of 2024-01-10" in md and "E1" in md
    assert "Repairs are estimated at $45 million." in md


def test_cli_check_bad_evidence_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty.txt").write_text("")
    code = main(["check", "--claim", "x y z", "--evidence", str(tmp_path / "empty.txt")])
    err = capsys.readouterr().err
    assert code == 3 and err.count("\n") == 1 and "empty" in err


def test_cli_check_summary_checks_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    article = tmp_path / "article.txt"
    article.write_text(REPORT)
    summary = tmp_path / "summary.txt"
    summary.write_text("The bridge was built in 1962. Repairs will cost $54 million.")
    assert main(["check-summary", str(article), str(summary), "--checks-only"]) == 0
    md = capsys.readouterr().out
    assert "NOT SUPPORTED" in md and "$54 million" in md and "$45 million" in md
    assert main(["check-summary", str(article), str(summary), "--checks-only", "--format", "json"]) == 0
    data = capsys.readouterr().out
    assert '"label": "not_supported"' in data
