from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import MissingDependencyError
from assistant.schemas import ClaimType, Document
from assistant.text import signals
from assistant.text.numbers import find_numbers
from assistant.text.segment import split_sentences
from assistant.text.signals import SentenceSignals, analyze_sentences, rank_claim_candidates

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "seed" / \
    "us-russia-ukraine-2022-01-14.txt"
METHODS = ["spacy", "regex"]


def _doc(text: str, title: str | None = None) -> Document:
    return Document(text=text, sentences=split_sentences(text), title=title)


@pytest.fixture(scope="module")
def spacy_ok() -> None:
    if not signals.spacy_available():
        pytest.skip("spaCy or its English model is not installed")


@pytest.fixture(params=METHODS)
def method(request: pytest.FixtureRequest) -> str:
    if request.param == "spacy":
        request.getfixturevalue("spacy_ok")
    return str(request.param)


@pytest.fixture(scope="module")
def seed_doc() -> Document:
    if not SEED.exists():
        pytest.skip("../shared/data is absent")
    text = SEED.read_text(encoding="utf-8")
    return _doc(text, title=text.splitlines()[0])


@pytest.fixture(scope="module")
def seed_spacy(seed_doc: Document, spacy_ok: None) -> dict[str, SentenceSignals]:
    return {s.sentence_id: s for s in analyze_sentences(seed_doc, method="spacy")}


@pytest.fixture(scope="module")
def seed_regex(seed_doc: Document) -> dict[str, SentenceSignals]:
    return {s.sentence_id: s for s in analyze_sentences(seed_doc, method="regex")}


def _one(text: str, method: str, sid: str = "S1") -> SentenceSignals:
    return {s.sentence_id: s for s in analyze_sentences(_doc(text), method=method)}[sid]  # type: ignore[arg-type]


# --------------------------------------------------------------------------- attribution

ATTRIBUTION = [
    # text, sentence, speaker, role, verb
    ("Maria Lopez said the bridge will reopen in May.", "S1", "Maria Lopez", None, "said"),
    ("The bridge will reopen in May, said Maria Lopez.", "S1", "Maria Lopez", None, "said"),
    ("The bridge will reopen in May, according to Maria Lopez.", "S1", "Maria Lopez", None,
     "according to"),
    ("According to the city council, the bridge cost $4.5 million.", "S1", "city council", None,
     "according to"),
    ("Maria Lopez, the mayor of Springfield, said the bridge will reopen in May.", "S1",
     "Maria Lopez", "mayor of Springfield", "said"),
    ("Prime Minister Boris Johnson told reporters the talks had failed.", "S1", "Boris Johnson",
     "Prime Minister", "told"),
    ("Maria Lopez was quoted as saying that the plan “will not work at all”.", "S1",
     "Maria Lopez", None, "quoted as saying"),
    ("Maria Lopez visited the site on Monday. She added that the repairs were finished.", "S2",
     "Maria Lopez", None, "added"),
    ("John Smith, the finance minister, said on Monday that taxes would rise. "
     "Smith added that the deficit would shrink.", "S2", "John Smith", "finance minister", "added"),
    ("Jane Doe, a spokeswoman for the ministry, said talks continue. "
     "“We are open to new talks,” the spokeswoman said.", "S2", "Jane Doe",
     "spokeswoman for the ministry", "said"),
]


@pytest.mark.parametrize(("text", "sid", "speaker", "role", "verb"), ATTRIBUTION)
def test_attribution_forms(method: str, text: str, sid: str, speaker: str, role: str | None,
                           verb: str) -> None:
    a = _one(text, method, sid).attribution
    assert (a.speaker, a.role, a.verb) == (speaker, role, verb)


def test_speaker_offsets(method: str) -> None:
    text = "Maria Lopez visited the site. Lopez said the repairs were finished."
    doc = _doc(text)
    first, second = analyze_sentences(doc, method=method)  # type: ignore[arg-type]
    assert second.attribution.speaker == "Maria Lopez"
    assert second.speaker_start is None  # the full name is not in S2
    assert second.mention_start is not None and second.mention_end is not None
    assert text[second.mention_start:second.mention_end] == second.speaker_mention == "Lopez"
    assert first.speaker_start is None and first.attribution.verb is None


# --------------------------------------------------------------------------- figures

NUMBERS = [
    ("there are some 200 Florida National Guard", [("200", 200, "cardinal", True)]),
    ("a cyberattack on 70 web pages", [("70", 70, "cardinal", True)]),
    ("the two countries", [("two", 2, "cardinal", False)]),
    ("two hundred people", [("two hundred", 200, "cardinal", True)]),
    ("seventy-five percent of voters", [("seventy-five percent", 75, "percent", True)]),
    ("rose 4.5% to $3.2 billion", [("4.5%", 4.5, "percent", True),
                                   ("$3.2 billion", 3.2e9, "money", True)]),
    ("1,500 troops", [("1,500", 1500, "cardinal", True)]),
    ("the annexation of Crimea in 2014", [("2014", 2014, "year", False)]),
    ("on May 5, 2021 the", [("5", 5, "date", False), ("2021", 2021, "year", False)]),
    ("one of the officials", []),
]


@pytest.mark.parametrize(("text", "expected"), NUMBERS)
def test_find_numbers(text: str, expected: list[tuple[str, float, str, bool]]) -> None:
    found = find_numbers(text)
    assert [(n.text, n.value, n.kind, n.central) for n in found] == expected
    assert all(text[n.start:n.end] == n.text for n in found)


def test_number_offsets_are_document_offsets(method: str) -> None:
    text = "Intro sentence here. Officials counted seventy web pages."
    s = _one(text, method, "S2")
    assert [(text[n.start:n.end], n.value) for n in s.numbers] == [("seventy", 70)]


# --------------------------------------------------------------------------- hedges, boilerplate, opinion

HEDGES = [
    ("The suspect allegedly fled and could face charges, police reportedly said.",
     ["allegedly", "could", "reportedly"]),
    ("Officials believe the plant may close.", ["believe", "may"]),
    ("In May, the plant closed.", []),
    ("According to the ministry, the suspected hackers would strike again.",
     ["according to", "suspected", "would"]),
]


@pytest.mark.parametrize(("text", "hedges"), HEDGES)
def test_hedges(method: str, text: str, hedges: list[str]) -> None:
    assert _one(text, method).attribution.hedges == hedges


BOILERPLATE = [
    ("Disclaimer: If you need to update this news then please contact our support team Learn more",
     "disclaimer"),
    ("Subscribe to our newsletter for more stories.", "disclaimer"),
    ("mix of individuals", "fragment"),
    ("Troops moved north on Monday.", None),
]


@pytest.mark.parametrize(("text", "kind"), BOILERPLATE)
def test_boilerplate(method: str, text: str, kind: str | None) -> None:
    s = _one(text, method)
    assert s.features.boilerplate_kind == kind
    assert s.is_boilerplate is (kind is not None)
    if kind:
        assert s.checkworthiness == 0.0


def test_headline_equal_to_title_is_boilerplate(method: str) -> None:
    text = "Talks fail in Geneva\n\nRussian and US diplomats met in Geneva on Monday."
    head, body = analyze_sentences(_doc(text, title="Talks fail in Geneva"), method=method)  # type: ignore[arg-type]
    assert head.features.boilerplate_kind == "headline" and not body.is_boilerplate


OPINION = [
    ("I think this is a terrible idea.", True),
    ("The council should stop the project now.", True),
    ("This is a wonderful and brilliant plan.", True),
    ("The plant in Ohio closed on Monday after 40 years.", False),
]


@pytest.mark.parametrize(("text", "opinion"), OPINION)
def test_opinion(method: str, text: str, opinion: bool) -> None:
    s = _one(text, method)
    assert s.is_opinion is opinion
    if opinion:
        assert s.checkworthiness <= 0.2


def test_direct_quote(method: str) -> None:
    assert _one("He called it “a false flag operation” on Friday.", method).has_direct_quote
    assert not _one("It has a “Russian footprint”, officials said.", method).has_direct_quote


# --------------------------------------------------------------------------- claim type, score

CLAIM_TYPES = [
    ("Unemployment rose to 4.5% in March.", ClaimType.statistic),
    ("The factory closed because of rising energy costs.", ClaimType.causal),
    ("The government is expected to raise taxes next year.", ClaimType.prediction),
    ("The minister proposed a ceasefire on Tuesday.", ClaimType.position_policy),
    ("Rebels attacked the town of Kherson on Tuesday.", ClaimType.event),
    ("Maria Lopez said the bridge was safe.", ClaimType.attributed_statement),
    ("Tension remains high.", ClaimType.other),
]


@pytest.mark.parametrize(("text", "claim_type"), CLAIM_TYPES)
def test_claim_type(method: str, text: str, claim_type: ClaimType) -> None:
    assert _one(text, method).claim_type == claim_type


def test_score_orders_concrete_over_vague(method: str) -> None:
    concrete = _one("Officials in Kyiv said 70 government websites were hacked on Friday.", method)
    vague = _one("Things remain difficult.", method)
    question = _one("Will the talks in Geneva succeed?", method)
    assert concrete.checkworthiness > 0.6 > question.checkworthiness
    assert vague.checkworthiness < 0.2
    assert "figure 70" in concrete.checkworthiness_reason


def test_weights_are_configurable(method: str) -> None:
    doc = _doc("Maria Lopez said 70 web pages were hacked.")
    zero = signals.ScoreWeights(base=0, central_number=0, per_entity=0, max_entities=0,
                                named_speaker=0, action_verb=0, direct_quote=0, specific_date=0)
    assert analyze_sentences(doc, method=method, weights=zero)[0].checkworthiness == 0.0  # type: ignore[arg-type]


# --------------------------------------------------------------------------- seed article

SEED_SPEAKERS = [
    ("S6", "John Kirby", "Defense Department spokesman", "explained"),
    ("S7", "Jen Psaki", "White House Press Secretary", "assured"),
    ("S9", "Josep Borrell", "high representative for Foreign Affairs", "according to"),
    ("S10", "Josep Borrell", "high representative for Foreign Affairs", "said"),
    ("S12", "Andriy Yermak", "head of the Ukrainian presidential office", "announced"),
    ("S13", "Vladimir Putin", None, "accused"),
    ("S17", "Pentagon", None, "according to"),
    ("S18", "John Kirby", "Defense Department spokesman", "pointed out"),
    ("S19", "White House", None, "according to"),
    ("S21", "Jen Psaki", "White House Press Secretary", "warned"),
    ("S22", "Washington", None, "recalled"),
    ("S23", "John Kirby", "Defense Department spokesman", "said"),
    ("S24", "John Kirby", "Defense Department spokesman", "said"),
    ("S27", "John Kirby", "Defense Department spokesman", "said"),
]


@pytest.mark.parametrize(("sid", "speaker", "role", "verb"), SEED_SPEAKERS)
def test_seed_speakers_spacy(seed_spacy: dict[str, SentenceSignals], sid: str, speaker: str,
                             role: str | None, verb: str) -> None:
    a = seed_spacy[sid].attribution
    assert (a.speaker, a.role, a.verb) == (speaker, role, verb)


@pytest.mark.parametrize(("sid", "speaker", "role", "verb"), SEED_SPEAKERS)
def test_seed_speakers_regex(seed_regex: dict[str, SentenceSignals], sid: str, speaker: str,
                             role: str | None, verb: str) -> None:
    a = seed_regex[sid].attribution
    assert (a.speaker, a.role, a.verb) == (speaker, role, verb)


@pytest.mark.parametrize("fixture", ["seed_spacy", "seed_regex"])
def test_seed_article(request: pytest.FixtureRequest, seed_doc: Document, fixture: str) -> None:
    got: dict[str, SentenceSignals] = request.getfixturevalue(fixture)
    assert len(got) == 28
    s6 = got["S6"]
    assert s6.speaker_start is not None and s6.speaker_end is not None
    assert seed_doc.text[s6.speaker_start:s6.speaker_end] == "John Kirby"
    assert got["S13"].speaker_mention == "Putin"
    assert [n.value for n in got["S20"].numbers if n.central] == [70]
    assert got["S20"].claim_type == ClaimType.statistic
    assert got["S26"].claim_type == ClaimType.statistic
    assert got["S26"].numbers[0].text == "200"
    assert got["S25"].attribution.speaker  # "the spokeswoman" resolved to a named person
    assert "alleged" in got["S18"].attribution.hedges
    assert got["S21"].claim_type == ClaimType.position_policy  # will take "the necessary measures"
    for sid in ("S1", "S16", "S28"):
        assert got[sid].is_boilerplate and got[sid].checkworthiness == 0.0
    assert got["S20"].checkworthiness > got["S2"].checkworthiness
    assert {s.method for s in got.values()} == {fixture.removeprefix("seed_")}


def test_rank_claim_candidates(seed_spacy: dict[str, SentenceSignals]) -> None:
    signals_ = list(seed_spacy.values())
    ranked = rank_claim_candidates(signals_, k=8)
    assert len(ranked) == 8
    positions = [int(s.sentence_id[1:]) for s in ranked]
    assert positions == sorted(positions)
    assert not any(s.is_boilerplate for s in ranked)
    assert {"S20", "S26"} <= {s.sentence_id for s in ranked}
    # with no diversity term it is a plain top-k by score
    plain = rank_claim_candidates(signals_, k=8, diversity=0.0)
    floor = min(s.checkworthiness for s in plain)
    dropped = [s for s in signals_ if s not in plain and not s.is_boilerplate]
    assert all(s.checkworthiness <= floor for s in dropped)
    assert rank_claim_candidates(signals_, k=0) == []


def test_rank_keeps_accusations_in_a_figure_heavy_article() -> None:
    text = ("Exports rose 5%. Imports fell 3%. Prices rose 2%. "
            "Wages rose 1%. Minister Ana Ruiz accused the Central Bank of Varnia of hiding losses on Monday.")
    signals_ = [s.model_copy(update={"checkworthiness": 0.5 if s.sentence_id == "S5" else 0.6})
                for s in analyze_sentences(_doc(text), method="regex")]
    assert signals_[0].claim_type == "statistic" and signals_[4].claim_type == "attributed_statement"
    plain = {s.sentence_id for s in rank_claim_candidates(signals_, k=4, diversity=0.0)}
    diverse = {s.sentence_id for s in rank_claim_candidates(signals_, k=4)}
    assert "S5" not in plain and "S5" in diverse


def test_rank_ties_keep_earlier_sentences() -> None:
    doc = _doc("Troops moved north. Troops moved south. Troops moved east.")
    ranked = rank_claim_candidates(analyze_sentences(doc, method="regex"), k=2)
    assert [s.sentence_id for s in ranked] == ["S1", "S2"]


# --------------------------------------------------------------------------- fallback


def test_auto_falls_back_to_regex(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signals, "_nlp", lambda: None)
    doc = _doc("Maria Lopez said 70 web pages were hacked.")
    (s,) = analyze_sentences(doc)
    assert s.method == "regex" and s.attribution.speaker == "Maria Lopez"
    with pytest.raises(MissingDependencyError):
        analyze_sentences(doc, method="spacy")


def test_auto_uses_spacy_when_installed(spacy_ok: None) -> None:
    assert analyze_sentences(_doc("Maria Lopez said so."))[0].method == "spacy"
