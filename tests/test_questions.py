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


# The issue's examples (issue 13): each claim gets a question naming its fact.

@needs_spacy
@pytest.mark.parametrize(("text", "speaker", "type_", "expected"), [
    ("Indian Railways has been completely privatized, and as a result, scores of people including "
     "those from reserved categories would lose their jobs.", None, ClaimType.causal,
     ["Has Indian Railways been completely privatized?",
      "Would scores of people lose their jobs because Indian Railways has been completely privatized?"]),
    ("Russia has positioned a group of operatives in eastern Ukraine to carry out a false-flag operation.",
     None, ClaimType.event,
     ["Has Russia positioned a group of operatives in eastern Ukraine to carry out a false-flag operation?"]),
    ("Jen Psaki said on 14 January 2022 that the United States will take the necessary measures to defend "
     "Ukraine.", "Jen Psaki", ClaimType.attributed_statement,
     ["Did Jen Psaki say on 14 January 2022 that the United States will take the necessary measures to "
      "defend Ukraine?"]),
    ("Scientific American magazine warned that 5G technology is not safe.", None, ClaimType.attributed_statement,
     ["Is 5G technology not safe?"]),
])
def test_issue_claims_get_questions_naming_their_fact(text: str, speaker: str | None, type_: ClaimType,
                                                      expected: list[str]) -> None:
    c = claim(text, speaker=speaker, type_=type_, as_of="2020-10-01")
    texts = [q.question for q in code_questions(c)]
    for q in expected:
        assert q in texts, texts
    assert all(question_problems(t, c) == [] or question_kind(t) != "on_record" for t in texts)


@needs_spacy
def test_quoted_claim_is_asked_on_record_with_its_words_and_topic() -> None:
    c = claim("BJP MP Kirron Kher said 'Rape Is A Part Of Indian Culture, It Cannot Be Stopped'.",
              speaker="Kirron Kher", type_=ClaimType.attributed_statement, as_of="2020-10-05")
    texts = [q.question for q in code_questions(c)]
    assert "Did Kirron Kher say on 5 October 2020: “Rape Is A Part Of Indian Culture, It Cannot Be Stopped”?" in texts
    assert "What did Kirron Kher say on 5 October 2020 about rape?" in texts
    assert not any(t.startswith("Who said") for t in texts)


@needs_spacy
def test_seed_article_sentences_name_their_facts() -> None:
    guard = claim("The US offers military assistance to Kiev and there are currently some 200 Florida National "
                  "Guard (USA) personnel in Ukraine – a reserve military corps – who are on a training mission.",
                  type_=ClaimType.statistic)
    texts = [q.question for q in code_questions(guard)]
    assert "How many Florida National Guard personnel in Ukraine are there currently?" in texts
    assert any("200" in t and "Florida National Guard" in t for t in texts)
    flag = claim("Both from the White House and from the Pentagon, the US government considers that Russia has "
                 "positioned a group of operatives to carry out what in US military jargon is called “a false "
                 "flag operation” in eastern Ukraine.", speaker="US government", type_=ClaimType.attributed_statement)
    qs = code_questions(flag)
    assert any("false flag operation" in q.question and q.question.startswith("Has Russia positioned") for q in qs)
    on_record = next(q for q in qs if question_kind(q.question) == "on_record")
    assert on_record.question.startswith("Did the US government say on 14 January 2022 that Russia has positioned")


@pytest.mark.parametrize(("question", "problem"), [
    ("Did Jen Psaki say that that the talks would go on?", "doubled"),
    ("Did the talks would go on after Jen Psaki spoke?", "modal"),
    ("Did Jen Psaki say this?", "dangling"),
])
def test_grammar_checks(question: str, problem: str) -> None:
    c = claim("Jen Psaki said the talks would go on.", speaker="Jen Psaki", type_=ClaimType.attributed_statement)
    problems = question_problems(question, c)
    assert any(problem in p for p in problems), problems


@needs_spacy
def test_do_support_agreement_is_checked() -> None:
    c = claim("Joe Biden wants to ban fracking in the US.", as_of=None)
    assert any("base form" in p for p in question_problems("Does Joe Biden wants to ban fracking in the US?", c))
    assert question_problems("Does Joe Biden want to ban fracking in the US?", c) == []


@needs_spacy
def test_do_support_takes_base_forms_and_headlines_are_lowered() -> None:
    c = claim("President Ferdinand Marcos and Dr. Jose Rizal established and founded the World Bank.", as_of=None)
    assert "Did President Ferdinand Marcos and Dr. Jose Rizal establish and found the World Bank?" in [
        q.question for q in code_questions(c)]
    h = claim("Trump Administration claimed songwriter Billie Eilish Is Destroying Our Country",
              speaker="Trump Administration", type_=ClaimType.attributed_statement, as_of=None)
    texts = [q.question for q in code_questions(h)]
    assert "Is songwriter Billie Eilish destroying the Country?" in texts  # no dangling "Our"
    assert all("Our" not in t for t in texts)


@needs_spacy
def test_every_claim_gets_a_question_even_a_headline_without_a_finite_verb() -> None:
    c = claim("COVID-19 pandemic pre-planned with the help from Bill Gates.", as_of=None)
    texts = [q.question for q in code_questions(c)]
    assert texts == ["Is it true that COVID-19 pandemic pre-planned with the help from Bill Gates?"]


def test_without_spacy_questions_are_built_from_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sig, "_nlp", lambda: None)
    railways = claim("Indian Railways has been completely privatized, and as a result, scores of people would "
                     "lose their jobs.", type_=ClaimType.causal, as_of=None)
    assert [q.question for q in code_questions(railways)] == ["Has Indian Railways been completely privatized?"]
    kirk = claim("Charlie Kirk claimed on Twitter: Joe Biden said he wants to ban fracking in the US.",
                 type_=ClaimType.attributed_statement, as_of="2020-10-23")
    texts = [q.question for q in code_questions(kirk)]
    assert texts == ["Is it true that Joe Biden said he wants to ban fracking in the US?",
                     "Did Charlie Kirk say on 23 October 2020 that Joe Biden said he wants to ban fracking in the US?"]
    masks = claim("Wearing face masks will stop the spread of covid 19.", type_=ClaimType.prediction, as_of=None)
    assert [q.question for q in code_questions(masks)] == ["Will wearing face masks stop the spread of covid 19?"]


@needs_spacy
def test_who_could_answer_is_the_record_holder_not_the_speaker() -> None:
    c = claim("Defense Department spokesman John Kirby said that Russia has positioned a group of operatives "
              "in eastern Ukraine.", speaker="John Kirby", type_=ClaimType.attributed_statement)
    c = c.model_copy(update={"attribution": c.attribution.model_copy(update={"role": "Defense Department spokesman"})})
    qs = code_questions(c)
    on_record = [q for q in qs if q.method == "on_record_confirmation"]
    assert on_record and all(q.who_could_answer == "Defense Department (transcripts and published statements)"
                             for q in on_record)
    fact = next(q for q in qs if q.question.startswith("Has Russia positioned"))
    assert "Kirby" not in fact.who_could_answer


@needs_spacy
def test_a_name_with_a_pronoun_in_it_is_not_a_dangling_reference() -> None:
    c = claim("Ernest Medina participated in the My Lai Massacre.", as_of=None)
    texts = [q.question for q in code_questions(c)]
    assert texts[0] == "Did Ernest Medina participate in the My Lai Massacre?"


def test_questions_made_without_spacy_leave_no_stale_parse_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("spacy")
    # Once, a no-spaCy run cached "no parse" for a text, and the spaCy path then crashed on it.
    text = "The council approved a $40 million bridge repair on Monday."
    monkeypatch.setattr(sig, "_nlp", lambda: None)
    without = [q.question for q in code_questions(claim(text, type_=ClaimType.event, as_of=None))]
    monkeypatch.undo()
    with_spacy = [q.question for q in code_questions(claim(text, type_=ClaimType.event, as_of=None))]
    assert without and with_spacy
