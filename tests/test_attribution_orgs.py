"""Organisation speakers and constructions resolved by code (`attribution.OrgIndex`), on
both paths: invented articles, not the eval fixtures."""

from __future__ import annotations

import pytest

from assistant.schemas import Document
from assistant.text import signals
from assistant.text.attribution import org_names
from assistant.text.segment import split_sentences
from assistant.text.signals import analyze_sentences


@pytest.fixture(params=["spacy", "regex"])
def method(request: pytest.FixtureRequest) -> str:
    if request.param == "spacy" and not signals.spacy_available():
        pytest.skip("spaCy or its English model is not installed")
    return str(request.param)


def _speakers(text: str, method: str) -> list[str | None]:
    doc = Document(text=text, sentences=split_sentences(text))
    return [s.attribution.speaker for s in analyze_sentences(doc, method=method)]  # type: ignore[arg-type]


def test_org_names_allow_and_of_inside() -> None:
    names = [n for _, n in org_names("Members of the Orlen Bay and Canal Boatmen's Union met "
                                     "the Bank of Orlen and Minister Ada Kell on Friday.")]
    assert names == ["Orlen Bay and Canal Boatmen's Union"]


@pytest.mark.parametrize("text, expected", [
    # a definite "the <head>" is the latest organisation with that head
    ("The Orlen Bay Boatmen's Union called a strike on Friday. The union claims the owners "
     "plan to sell 40 boats.", [None, "Orlen Bay Boatmen's Union"]),
    ("Barges were stopped, the Orlen Canal Authority said. Fares will rise by 4 percent, "
     "the authority said.", ["Orlen Canal Authority", "Orlen Canal Authority"]),
    # "the company" is the latest company-like organisation or one-word named speaker
    ("Quenby said on Monday that 3,000 accounts were hit. The company said no cards were "
     "taken.", ["Quenby", "Quenby"]),
    # an organisation as the subject of a statement or decision verb
    ("The Marlow County School Board voted 6 to 1 to close two schools.",
     ["Marlow County School Board"]),
    ("The Orlen Budget Council, a state watchdog, estimated that the plan would cost "
     "$2 billion.", ["Orlen Budget Council"]),
    # "study/survey by ORG found"; "economists at ORG said"
    ("A survey by the Orlen Farmers Association found that 41 percent of farms lost money.",
     ["Orlen Farmers Association"]),
    ("Economists at Brandt University said the figure was too high.", ["Brandt University"]),
    # a short name that begins an organisation's full name
    ("Pellick Capital collapsed in 2021. Pellick was founded in 2004 and at its peak said it "
     "managed $90 million.", [None, "Pellick Capital"]),
])
def test_organisation_speakers(method: str, text: str, expected: list[str | None]) -> None:
    assert _speakers(text, method) == expected


def test_common_noun_group_resolves_to_the_named_organisation(method: str) -> None:
    text = ("Health officials in Tarrow said on Friday that 12 people were ill. "
            "\"We expect more cases,\" said Ana Ruiz, director of the Tarrow Public Health Unit.")
    assert _speakers(text, method)[0] == "Tarrow Public Health Unit"


def test_constructions_naming_the_speaker(method: str) -> None:
    text = ("\"Nobody will pay more for water,\" the mayor said on Monday. "
            "\"This plan will empty our wells.\" "
            "That warning came from Ruth Okafor, who runs the farmers' cooperative. "
            "A ministry spokesman, Col. Pavel Drozd, called the report \"nonsense.\"")
    got = _speakers(text, method)
    assert got[1:] == ["Ruth Okafor", "Ruth Okafor", "Pavel Drozd"]


def test_no_speaker_without_a_statement(method: str) -> None:
    """Precision: an organisation named in the article's own voice is not a speaker."""
    text = ("The Orlen Canal Authority runs 40 barges. The authority was founded in 1961. "
            "The union has 2,000 members. \"We will not sell.\" "
            "That was part of Orlen's plan to cut costs.")
    assert _speakers(text, method) == [None, None, None, None, None]


def test_source_reviewed_by_an_organisation(method: str) -> None:
    text = ("Aid is blocked, according to the Tarn Valley Relief Mission, a group of observers. "
            "Troops crossed the river on Sunday, according to photographs reviewed by the mission.")
    assert _speakers(text, method)[1] == "Tarn Valley Relief Mission"


def test_lede_naming_the_speaker_in_the_next_sentence(method: str) -> None:
    text = ("The owner of Brisk Haulage, a failed trucking firm, told a court on Friday that he "
            "never hid any money. Owen Talbot, 61, is accused of fraud.")
    assert _speakers(text, method)[0] == "Owen Talbot"


def test_one_word_company_speaker_said_later_in_its_sentence(method: str) -> None:
    text = ("Zentro said on Monday that it had lost $4 million. "
            "Zentro opened in 2015 and says it employs 300 people.")
    assert _speakers(text, method) == ["Zentro", "Zentro"]
