from __future__ import annotations

from itertools import pairwise

import pytest

from assistant.schemas import Sentence
from assistant.text.segment import split_sentences


def check_grid(text: str, sentences: list[Sentence]) -> None:
    for n, s in enumerate(sentences, 1):
        assert (s.id, s.index) == (f"S{n}", n)
        assert text[s.start:s.end] == s.text
        assert s.text and s.text == s.text.strip()
    starts = [s.start for s in sentences]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in pairwise(sentences))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # curly quotes, the period inside and outside
        ("He said, “We will win.” Then he left.", ["He said, “We will win.”", "Then he left."]),
        ("He said “we will win”. Then he left.", ["He said “we will win”.", "Then he left."]),
        ("“We will win,” he said. “Nobody doubts it.”",
         ["“We will win,” he said.", "“Nobody doubts it.”"]),
        ('He said: "It is over." She nodded.', ['He said: "It is over."', "She nodded."]),
        # abbreviations
        ("The U.S. economy grew. Then it shrank.", ["The U.S. economy grew.", "Then it shrank."]),
        ("The U.S. Army arrived. Troops left.", ["The U.S. Army arrived.", "Troops left."]),
        ("Dr. Smith met Mr. Jones at 9 a.m. on Monday. They talked.",
         ["Dr. Smith met Mr. Jones at 9 a.m. on Monday.", "They talked."]),
        ("He lives at No. 10 Downing Street. It is old.",
         ["He lives at No. 10 Downing Street.", "It is old."]),
        ("Sen. Warren and Gov. Hochul spoke. They agreed.",
         ["Sen. Warren and Gov. Hochul spoke.", "They agreed."]),
        ("The U.N. Security Council met. It voted.", ["The U.N. Security Council met.", "It voted."]),
        ("J. K. Rowling smiled. She left.", ["J. K. Rowling smiled.", "She left."]),
        ("They met in Washington, D.C. on Friday. Talks ended.",
         ["They met in Washington, D.C. on Friday.", "Talks ended."]),
        # numbers
        ("Inflation rose 3.5% in May. Prices fell 0.2 points.",
         ["Inflation rose 3.5% in May.", "Prices fell 0.2 points."]),
        ("Prices rose by $1.5 billion. Shares, at $3.25, fell.",
         ["Prices rose by $1.5 billion.", "Shares, at $3.25, fell."]),
        ("Section 3.2.1 applies. Read it.", ["Section 3.2.1 applies.", "Read it."]),
        # a missing space after the stop
        ("The meeting ended.The next day it resumed.",
         ["The meeting ended.", "The next day it resumed."]),
        ("Prices rose in 2021.The year after they fell.",
         ["Prices rose in 2021.", "The year after they fell."]),
        ("Is it over?Yes it is!Great.", ["Is it over?", "Yes it is!", "Great."]),
        ("The U.S.The next.", ["The U.S.The next."]),  # an abbreviation, not a glued stop
        ("Mr.Smith came. He sat.", ["Mr.Smith came.", "He sat."]),
        ("Write to a.b@news.Org today.", ["Write to a.b@news.Org today."]),
        # non-ASCII
        ("Café owners in Zürich were happy. Москва ответила. Great news 🎉. Done.",
         ["Café owners in Zürich were happy.", "Москва ответила.", "Great news 🎉.", "Done."]),
        ("Emoji end 🎉! Next one.", ["Emoji end 🎉!", "Next one."]),
        ("Le président a parlé.Ensuite il est parti.",
         ["Le président a parlé.", "Ensuite il est parti."]),
        # ellipsis
        ("He paused... Then he spoke.", ["He paused...", "Then he spoke."]),
        ("Wait… what? Yes.", ["Wait… what?", "Yes."]),
        # paragraph breaks always end sentences
        ("A heading without a stop\n\nBody starts here. It ends.",
         ["A heading without a stop", "Body starts here.", "It ends."]),
        ("Dr.\n\nSmith spoke.", ["Dr.", "Smith spoke."]),
        ("Line one of a wrapped\nparagraph ends here. Next.",
         ["Line one of a wrapped\nparagraph ends here.", "Next."]),
    ],
)
def test_hard_cases(text: str, expected: list[str]) -> None:
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == expected
    check_grid(text, sentences)


def test_paragraph_numbers() -> None:
    text = "One. Two.\n\n  \n\nThree.\n \nFour five."
    sentences = split_sentences(text)
    assert [(s.text, s.paragraph) for s in sentences] == [
        ("One.", 0), ("Two.", 0), ("Three.", 1), ("Four five.", 2)]
    check_grid(text, sentences)


@pytest.mark.parametrize("text", ["", "   ", "\n\n\n"])
def test_empty(text: str) -> None:
    assert split_sentences(text) == []


def test_long_paragraph_is_fast_and_exact() -> None:
    # pysbd is quadratic in its input; one 200 kB paragraph must still be quick and exact.
    text = "The cat sat on the mat in Zürich. Mr. Smith went to Washington, D.C. on Friday. " * 2500
    sentences = split_sentences(text.strip())
    assert len(sentences) == 5000
    check_grid(text.strip(), sentences)
    assert sentences[1].text == "Mr. Smith went to Washington, D.C. on Friday."


def test_long_paragraph_without_sentence_ends() -> None:
    text = "word " * 5000 + "end."
    sentences = split_sentences(text)
    check_grid(text, sentences)
    assert "".join(s.text for s in sentences).replace(" ", "") == text.replace(" ", "")


def test_segmentation_is_thread_safe() -> None:
    from concurrent.futures import ThreadPoolExecutor

    text = "\n\n".join(f"Paragraph {i} starts here. It has Dr. Smith in it. It ends now." for i in range(40))
    expected = [s.text for s in split_sentences(text)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: [s.text for s in split_sentences(text)], range(16)))
    assert all(r == expected for r in results)
