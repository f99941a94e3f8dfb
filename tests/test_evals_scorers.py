"""Each scorer on small hand-built cases whose expected values are worked out by hand."""

from __future__ import annotations

import pytest

from assistant.evals.scorers import (
    check_worthiness,
    date_outcomes,
    grounding,
    key_fact_coverage,
    key_fact_text_coverage,
    match_claims,
    question_outcome,
    response_valid,
    rouge_l,
    same_period,
    speaker_matches,
    trap_outcome,
)
from assistant.evals.suites import GoldClaim, GoldDate, KeyFact, Trap
from assistant.schemas import (
    Analysis,
    Attribution,
    Claim,
    ClaimType,
    DateResolution,
    DocumentInfo,
    KeyPoint,
    Provenance,
    Quote,
    Summary,
    VerificationMethod,
    VerificationQuestion,
)
from assistant.text.intake import document_from_text

TEXT = ("Port strike halts ships\n\nThursday, June 20, 2024\n\n"
        "About 2,400 dockworkers walked off the job on Wednesday evening. "
        "By then 31 ships were waiting at anchor, said Ines Duarte. "
        "The union says operators plan to cut 600 jobs by 2027.\n\n"
        "Talks resume next week, said Anders Holm.\n\n"
        "Reporting by Tomas Eberhardt")


@pytest.fixture(scope="module")
def doc():  # type: ignore[no-untyped-def]
    return document_from_text(TEXT)


def _claim(cid: str, ids: list[str], *, speaker: str | None = None, worth: float = 0.9,
           text: str = "A claim.", doc=None) -> Claim:  # type: ignore[no-untyped-def]
    quote = Quote(sentence_id=ids[0], text="x", start=0, end=1)
    if doc is not None:
        s = doc.sentence(ids[0])
        quote = Quote(sentence_id=s.id, text=s.text, start=s.start, end=s.end)
    return Claim(id=cid, text=text, type=ClaimType.event, attribution=Attribution(speaker=speaker),
                 check_worthiness=worth, check_worthiness_reason="test", sentence_ids=ids, quote=quote)


def _gold(ids: list[str], speaker: str | None = None, worthy: bool = True,
          method: VerificationMethod = VerificationMethod.official_record) -> GoldClaim:
    return GoldClaim(sentence_ids=ids, speaker=speaker, type=ClaimType.event, check_worthy=worthy,
                     verification=method)


def _analysis(doc, key_points: list[KeyPoint], claims: list[Claim], tldr: str = "TL;DR.",  # type: ignore[no-untyped-def]
              tldr_ids: list[str] | None = None) -> Analysis:
    return Analysis(document=DocumentInfo.of(doc),
                    summary=Summary(headline="H", tldr=tldr, tldr_sentence_ids=tldr_ids or [],
                                    key_points=key_points),
                    claims=claims, questions=[], provenance=Provenance(backend="fake", model="m"))


def _kp(doc, text: str, ids: list[str]) -> KeyPoint:  # type: ignore[no-untyped-def]
    quotes = [Quote(sentence_id=s.id, text=s.text, start=s.start, end=s.end)
              for s in (doc.sentence(i) for i in ids)]
    return KeyPoint(text=text, sentence_ids=ids, quotes=quotes, support=1.0)


# --------------------------------------------------------------------------- speakers


@pytest.mark.parametrize("predicted, gold, ok", [
    ("Anders Holm", "Anders Holm", True),
    ("holm", "Anders Holm", True),                       # surname only, case
    ("Mr. Holm", "Anders Holm", True),                   # same surname
    ("Halden University economists", "Halden University", True),   # one contains the other
    ("the union", "Varrow Dock and Harbour Workers' Union", True),  # whole-word containment
    ("Ann", "Hanna Berg", False),                        # not a whole word
    ("Ines Duarte", "Anders Holm", False),
    (None, "Anders Holm", False),
    ("", "Anders Holm", False),
])
def test_speaker_matches(predicted: str | None, gold: str, ok: bool) -> None:
    assert speaker_matches(predicted, gold) is ok


# --------------------------------------------------------------------------- claims


def test_match_claims_is_greedy_one_to_one_with_speakers() -> None:
    predicted = [_claim("C1", ["S3"], speaker="Ines Duarte"),
                 _claim("C2", ["S4", "S5"], speaker="Holm"),
                 _claim("C3", ["S9"])]
    gold = [_gold(["S3"], "Varrow Chamber of Commerce"), _gold(["S5"], "Anders Holm"),
            _gold(["S4"], "Ines Duarte"), _gold(["S7"], "Celia Marchetti")]
    m = match_claims(predicted, gold)
    # C1-S3; C2 overlaps S5 and S4 by one each: the first gold wins; C3 matches nothing.
    assert m.pairs == [(0, 0), (1, 1)]
    assert m.precision == pytest.approx(2 / 3)
    assert m.recall == pytest.approx(2 / 4)
    assert m.f1 == pytest.approx(4 / 7)              # 2PR/(P+R) = 2*2/(3+4)
    assert (m.speaker_correct, m.speaker_total) == (1, 2)   # Duarte != Chamber; Holm ok
    assert m.speaker_accuracy == 0.5


def test_match_claims_prefers_the_larger_overlap_and_handles_empty() -> None:
    m = match_claims([_claim("C1", ["S4", "S5"])], [_gold(["S4"]), _gold(["S4", "S5"])])
    assert m.pairs == [(0, 1)]
    empty = match_claims([], [_gold(["S3"])])
    assert (empty.precision, empty.recall, empty.f1) == (None, 0.0, 0.0)


def test_check_worthiness_f1() -> None:
    predicted = [_claim("C1", ["S3"], worth=0.8), _claim("C2", ["S4", "S5"], worth=0.6),
                 _claim("C3", ["S9"], worth=0.9)]
    gold = [_gold(["S3"]), _gold(["S5"]), _gold(["S4"], worthy=False), _gold(["S7"])]
    b = check_worthiness(predicted, gold)
    assert (b.tp, b.fp, b.fn, b.tn) == (2, 1, 1, 0)
    assert b.f1 == pytest.approx(4 / 6)               # 2TP / (2TP + FP + FN)
    predicted[1] = _claim("C2", ["S4", "S5"], worth=0.45)   # under the 0.5 rule
    b = check_worthiness(predicted, gold)
    assert (b.tp, b.fp, b.fn, b.tn) == (1, 0, 2, 1)
    assert b.f1 == pytest.approx(2 / 4)


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize("a, b, ok", [
    ("2024-06-19", "2024-06-19", True),
    ("2024-W26", "2024-06-24", True),     # Monday of week 26
    ("2024-06-30", "2024-W26", True),     # Sunday of week 26, either order
    ("2024-W26", "2024-06-23", False),    # the Sunday before
    ("2025-W01", "2024-12-30", True),     # ISO year differs from the calendar year
    ("2024-06", "2024-06-19", False),     # a month is not a week
    ("2024-W26", "2024-W27", False),
    ("2027", "2027", True),
])
def test_same_period(a: str, b: str, ok: bool) -> None:
    assert same_period(a, b) is ok


def test_date_outcomes(doc) -> None:  # type: ignore[no-untyped-def]
    s3 = next(s for s in doc.sentences if "Wednesday" in s.text)
    s5 = next(s for s in doc.sentences if "next week" in s.text)
    s4 = next(s for s in doc.sentences if "2027" in s.text)

    def found(sentence, expression: str, resolved: str) -> DateResolution:  # type: ignore[no-untyped-def]
        start = doc.text.index(expression, sentence.start)
        return DateResolution(expression=expression, resolved=resolved, sentence_id=sentence.id,
                              start=start, end=start + len(expression))

    gold = [GoldDate(sentence_id=s3.id, expression="Wednesday evening", resolved="2024-06-19"),
            GoldDate(sentence_id=s5.id, expression="next week", resolved="2024-W26"),
            GoldDate(sentence_id=s4.id, expression="by 2027", resolved="2027")]
    predicted = [found(s3, "on Wednesday", "2024-06-19"),   # shorter span, overlapping
                 found(s5, "next week", "2024-06-24")]      # a date inside the gold week
    out = date_outcomes(doc, predicted, gold)
    assert [o.correct for o in out] == [True, True, False]
    assert [o.predicted for o in out] == ["2024-06-19", "2024-06-24", None]


# --------------------------------------------------------------------------- key facts


def test_key_fact_coverage(doc) -> None:  # type: ignore[no-untyped-def]
    s = {i: doc.sentence(i) for i in ("S3", "S4", "S5")}
    assert "2,400" in s["S3"].text and "31 ships" in s["S4"].text
    summary = Summary(headline="H", tldr="Thirty-one ships wait at anchor.", tldr_sentence_ids=["S4"],
                      key_points=[_kp(doc, "Dockworkers walked out", ["S3"]),
                                  _kp(doc, "Chamber puts the daily cost at $95 million", ["S5"])])
    facts = [KeyFact(text="Dockworkers went on strike on Wednesday", sentence_ids=["S3"]),
             KeyFact(text="31 ships waited at anchor", sentence_ids=["S4"]),
             KeyFact(text="The chamber puts the cost at $95 million a day", sentence_ids=["S9"]),
             KeyFact(text="Retailers warn of empty shelves by August", sentence_ids=["S12"])]
    # cited by a key point; cited by the TL;DR; 5 of its 6 content terms in the summary
    # text (not "day"); neither.
    assert key_fact_coverage(summary, facts) == ["cited", "cited", "text", None]
    # Text alone: 1/4 terms for the first; "31" is in no summary text, which caps support
    # at 0.2 for the second.
    assert key_fact_text_coverage(summary, facts) == [False, False, True, False]


# --------------------------------------------------------------------------- grounding


def test_grounding_counts_every_quote_and_flags_a_shifted_one(doc) -> None:  # type: ignore[no-untyped-def]
    claims = [_claim("C1", ["S3"], doc=doc), _claim("C2", ["S4"], doc=doc)]
    a = _analysis(doc, [_kp(doc, "Workers walked out", ["S3"])], claims, tldr_ids=["S3"])
    t = grounding(doc, a)
    # key point: ids + 1 quote; TL;DR ids; 2 claims x 1 quote each
    assert (t.ok, t.total, t.rate) == (5, 5, 1.0)
    bad = claims[1].quote.model_copy(update={"start": claims[1].quote.start + 1})
    a.claims[1] = claims[1].model_copy(update={"quote": bad})
    t = grounding(doc, a)
    assert (t.ok, t.total) == (4, 5)
    assert t.failures == [f"C2 quote S4@{bad.start}"]


# --------------------------------------------------------------------------- questions

CLAIM = "The union claims the operators plan to cut 600 jobs by 2027."


@pytest.mark.parametrize("question, method, claim_text, expected", [
    ("Do the operators' automation plans include cutting 600 jobs by 2027?",
     VerificationMethod.primary_document, CLAIM, (True, True, True)),
    ("What does the article say about job cuts?",             # 'job', 'cuts' != 'jobs', 'cut'
     VerificationMethod.primary_document, CLAIM, (False, False, True)),
    ("Do the operators plan to cut 600 jobs by 2027?", VerificationMethod.other, CLAIM,
     (True, True, False)),
    ("Do the operators plan to cut 600 jobs?", VerificationMethod.expert, None, (False, True, True)),
])
def test_question_outcome(question: str, method: VerificationMethod, claim_text: str | None,
                          expected: tuple[bool, bool, bool]) -> None:
    claim = _claim("C1", ["S5"], text=claim_text) if claim_text else None
    q = VerificationQuestion(claim_id="C1", question=question, method=method,
                             who_could_answer="Port Varrow Terminal Operators Group")
    out = question_outcome(q, claim)
    assert (out.targets_claim, out.self_contained, out.method_given) == expected
    assert out.passed is all(expected)


# --------------------------------------------------------------------------- traps


def test_trap_outcomes(doc) -> None:  # type: ignore[no-untyped-def]
    s6 = doc.sentences[-2].id     # "Talks resume next week, said Anders Holm."
    credit = doc.sentences[-1].id  # "Reporting by Tomas Eberhardt"
    gold = [_gold([s6], "Anders Holm")]
    right = _analysis(doc, [], [_claim("C1", [s6], speaker="Holm", worth=0.4)])
    wrong = _analysis(doc, [_kp(doc, "Credit", [credit])], [_claim("C1", [s6], speaker="Ines Duarte", worth=0.7)])
    mis = Trap(kind="misattribution", sentence_ids=[s6])
    opinion = Trap(kind="opinion", sentence_ids=[s6])
    boiler = Trap(kind="boilerplate", sentence_ids=[credit])
    assert [trap_outcome(t, right, gold) for t in (mis, opinion, boiler)] == [True, True, True]
    assert [trap_outcome(t, wrong, gold) for t in (mis, opinion, boiler)] == [False, False, False]
    nothing = _analysis(doc, [], [])
    assert trap_outcome(mis, nothing, gold) is None     # no claim on the sentence: not scored
    assert trap_outcome(Trap(kind="self_contradiction", sentence_ids=[s6]), right, gold) is None


# --------------------------------------------------------------------------- others


def test_rouge_l_is_the_best_reference_f_measure() -> None:
    pytest.importorskip("rouge_score")
    # LCS "the cat on the mat" = 5 of 6 tokens each way: P = R = F = 5/6.
    assert rouge_l("the cat sat on the mat", ["the cat is on the mat"]) == pytest.approx(5 / 6)
    assert rouge_l("the cat sat on the mat", ["a dog", "The cat is on the mat."]) == pytest.approx(5 / 6)
    assert rouge_l("anything", []) == 0.0


@pytest.mark.parametrize("schema, text, ok", [
    ("ReadDraft", '{"headline": "x", "main": [], "check": []}', True),
    ("ReadDraft", '```json\n{"headline": "x", "main": [1], "check": []}\n```', True),  # fences are tolerated
    ("ReadDraft", '{"headline": "x"}', False),                       # fields missing
    ("ReadDraft", '{"main": [', False),                              # not JSON
    ("SomeCheckerDraft", '{"anything": 1}', True),                   # unknown schema: JSON only
    ("SomeCheckerDraft", "nope", False),
])
def test_response_valid(schema: str, text: str, ok: bool) -> None:
    assert response_valid(schema, text) is ok
