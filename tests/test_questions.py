"""Verification questions: the checks, the code-built questions, and the question score."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest

from assistant.evals.question_score import assignment, matched_score, meteor_like
from assistant.schemas import Attribution, Claim, ClaimType
from assistant.steps.questions import code_questions, format_date, question_kind, question_problems
from assistant.text import signals as sig
from assistant.text.attribution import has_attribution_cue
from assistant.text.dates import resolve_relative_dates
from assistant.text.grounding import sentence_quote
from assistant.text.intake import document_from_text

needs_spacy = pytest.mark.skipif(not sig.spacy_available(), reason="spaCy model not installed")


def claim(text: str, speaker: str | None = None, type_: ClaimType = ClaimType.event,
          as_of: str | None = "2022-01-14") -> Claim:
    doc = document_from_text(text, title="claim", published=dt.date.fromisoformat(as_of) if as_of else None)
    return Claim(id="C1", text=text, type=type_, attribution=Attribution(speaker=speaker, verb="said" if speaker else None),
                 check_worthiness=0.8, check_worthiness_reason="", sentence_ids=["S1"],
                 quote=sentence_quote(doc, "S1"), dates=resolve_relative_dates(doc, doc.sentence("S1")),
                 as_of=as_of)


ATTACK = claim("This Friday a cyberattack hit about 70 Ukrainian government web pages.")


@pytest.mark.parametrize(("question", "problem"), [
    ("Is there a transcript, recording or official statement around 2022-01-14 in which Josep Borrell "
     "is according to this?", "according"),
    ("Who referred to this in his appearance before the media?", "dangling"),
    ("What does the article say about the cyberattack on 70 web pages?", "article"),
    ("Did a cyberattack hit Ukrainian government web pages on 14 January 2022?", "figure 70"),
    ("Did a cyberattack hit about 70 Ukrainian government web pages?", "date"),
    ("Did a cyberattack hit about 700 Ukrainian web pages on 14 January 2022?", "not in the claim"),
    ("A cyberattack hit 70 Ukrainian web pages on 14 January 2022.", "'?'"),
])
def test_bad_questions_are_caught(question: str, problem: str) -> None:
    problems = question_problems(question, ATTACK)
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize("question", [
    "Did a cyberattack hit about 70 Ukrainian government web pages on 14 January 2022?",
    "How many Ukrainian government web pages did the cyberattack hit?",
])
def test_good_questions_pass(question: str) -> None:
    assert question_problems(question, ATTACK) == []


def test_kinds_and_dates() -> None:
    assert question_kind("Did Jen Psaki say on 14 January 2022 that the US will act?") == "on_record"
    assert question_kind("How many web pages were hit?") == "wh"
    assert question_kind("Does wearing a face mask stop the spread of Covid-19?") == "yes_no"
    assert format_date("2022-01-14") == "on 14 January 2022" and format_date("2021-12") == "in December 2021"
    assert format_date("2022-W02") == "in the week of 10 January 2022"


@needs_spacy
def test_code_questions_restate_the_fact_with_the_date_written_out() -> None:
    qs = code_questions(ATTACK)
    texts = [q.question for q in qs]
    assert texts[0] == "Did a cyberattack hit about 70 Ukrainian government web pages on 14 January 2022?"
    assert any(t.startswith("How many") for t in texts)
    assert all(not question_problems(t, ATTACK) for t in texts)


@needs_spacy
def test_nested_report_asks_about_the_reported_position() -> None:
    c = claim("Charlie Kirk claimed that Joe Biden said he wants to ban fracking in the US.", speaker="Charlie Kirk",
              type_=ClaimType.attributed_statement)
    texts = [q.question for q in code_questions(c)]
    assert "Does Biden want to ban fracking in the US?" in texts
    assert any(t.startswith("Did Charlie Kirk say on 14 January 2022 that") for t in texts)
    on_record = next(q for q in code_questions(c) if q.method == "on_record_confirmation")
    assert on_record.who_could_answer != "Charlie Kirk"


@needs_spacy
def test_masks_claim_becomes_a_yes_no_question() -> None:
    c = claim("Wearing face masks will stop the spread of covid 19.", type_=ClaimType.prediction, as_of=None)
    assert next(q.question for q in code_questions(c)) == "Will wearing face masks stop the spread of covid 19?"


def test_attribution_cue() -> None:
    assert not has_attribution_cue("There are currently some 200 Florida National Guard personnel in Ukraine.")
    assert has_attribution_cue("“They are on a rotating mission,” said Kirby.")
    assert has_attribution_cue("“We are very open.”")  # a continued quotation keeps its speaker


def test_spokeswoman_is_not_the_spokesman() -> None:
    text = ("Talks\n\nThe White House Press Secretary, Jen Psaki, said the talks would go on. "
            "Defense Department spokesman John Kirby said troops were ready. "
            "\u201cWe are very open,\u201d the spokeswoman said.")
    doc = document_from_text(text, title="Talks")
    last = sig.analyze_sentences(doc)[-1]
    assert last.attribution.speaker == "Jen Psaki"


def test_assignment_matches_brute_force() -> None:
    rng = random.Random(3)
    for n, m in ((1, 1), (2, 3), (3, 2), (4, 4), (5, 3)):
        for _ in range(20):
            matrix = [[rng.random() for _ in range(m)] for _ in range(n)]
            pairs = assignment(matrix)
            assert len(pairs) == min(n, m) and len({r for r, _ in pairs}) == len({c for _, c in pairs}) == min(n, m)
            k = min(n, m)
            brute = max(sum(matrix[r][c] for r, c in zip(rows, cols, strict=True))
                        for rows in itertools.combinations(range(n), k)
                        for cols in itertools.permutations(range(m), k))
            assert abs(sum(matrix[r][c] for r, c in pairs) - brute) < 1e-9


def test_meteor_like_and_matched_score() -> None:
    assert meteor_like("Does a face mask prevent the spread of Covid 19?",
                       "Does a face mask prevent the spread of Covid 19?") > 0.99
    assert meteor_like("Do face masks prevent spreading Covid?", "Does a face mask prevent the spread of Covid 19?") > 0.3
    assert meteor_like("Where was the claim published?", "Does Biden want to ban fracking?") == 0.0
    theirs = ["Does Biden want to ban fracking in the US?", "Where was this claim published?"]
    full, strict = matched_score(["Does Joe Biden want to ban fracking in the US?"], theirs)
    assert 0.4 < full < 0.5 and strict == full
    padded, padded_strict = matched_score(["Does Joe Biden want to ban fracking in the US?", "What?", "Why?"], theirs)
    assert padded >= full and padded_strict < padded


def test_averitec_suite_skips_without_data_and_scores_a_claim(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    from assistant.backends.fake import FakeBackend
    from assistant.evals.runner import run_suite
    from assistant.evals.suites import SuiteUnavailable, load_suite

    monkeypatch.setenv("ASSISTANT_EVAL_DATA", str(tmp_path))
    with pytest.raises(SuiteUnavailable, match=r"averitec_dev_part\.jsonl is absent"):
        load_suite("averitec")
    (tmp_path / "dev").mkdir()
    row = {"id": "a-1", "claim": "Joe Biden wants to ban fracking in the US.", "claim_date": "10-10-2020",
           "questions": [{"question": "Does Biden want to ban fracking in the US?", "answers": []}]}
    (tmp_path / "dev" / "averitec_dev_part.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    result = run_suite(load_suite("averitec"), FakeBackend(default="{}"), resamples=10)
    score = next(m for m in result.metrics if m.name == "question_score")
    assert score.n == 1 and score.mean is not None
    if sig.spacy_available():
        assert score.mean > 0.5  # "Does Joe Biden want to ban fracking in the US?"


@needs_spacy
@pytest.mark.parametrize(("text", "wh"), [
    ("52% of Nigeria’s current population lives in urban areas.",
     "What percentage of Nigeria’s current population lives in urban areas?"),
    ("India’s imports from China increased by 27% in 2020.",
     "By what percentage did India’s imports from China increase in 2020?"),
    ("There are currently some 200 Florida National Guard (USA) personnel in Ukraine.",
     "How many Florida National Guard personnel in Ukraine are there currently?"),
])
def test_wh_question_for_the_figure(text: str, wh: str) -> None:
    c = claim(text, type_=ClaimType.statistic, as_of=None)
    assert wh in [q.question for q in code_questions(c)]
