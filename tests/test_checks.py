"""Deterministic checks: each kind of mismatch, and the variants that must not be one."""

from __future__ import annotations

import pytest

from assistant.schemas import MismatchKind
from assistant.text.checks import Reference, check_text, entity_variants_match, numbers_match
from assistant.text.intake import document_from_text
from assistant.text.numbers import find_numbers
from assistant.text.signals import spacy_available

# Expectations of spaCy-quality NER and roles; the regex fallback is tested on its own.
NEEDS_SPACY = pytest.mark.skipif(not spacy_available(), reason="needs spaCy and en_core_web_sm (the nlp extra)")

ARTICLE = """Harbor Bridge to close for repairs

The city council voted 7-2 on Tuesday to close the Harbor Bridge for 18 months, starting March 4, 2024.
Mayor Jane Smith said the repairs will cost $45 million, about 12% of the city's annual budget.
Engineers found 170 litres of water in a cracked support beam last December.
The bridge, built in 1962, carries forty thousand cars a day across the Merrow River.
The U.K. firm Arup will lead the work with the Metropolitan Police managing traffic.
"We cannot wait any longer," Smith told reporters.
"""


@pytest.fixture(scope="module")
def ref() -> Reference:
    return Reference(document_from_text(ARTICLE, published="2024-01-10"))


def kinds(text: str, ref: Reference) -> list[MismatchKind]:
    return [m.kind for m in check_text(text, ref)]


@pytest.mark.parametrize(("text", "expected"), [
    ("The repairs will cost $45 million.", []),
    ("The repairs will cost 45 million dollars.", []),
    ("The repairs will cost $54 million.", [MismatchKind.number]),
    ("The repairs will cost $50 million.", [MismatchKind.number]),
    ("The bridge carries 40,000 cars a day.", []),
    ("The bridge carries forty thousand cars a day.", []),
    ("The bridge carries fifty thousand cars a day.", [MismatchKind.number]),
    ("The bridge carries 40 thousand cars a day.", []),
    ("The council voted 7-2.", []),
    ("The council voted 8-1.", [MismatchKind.number, MismatchKind.number]),
    ("The repairs cost about 12% of the budget.", []),
    ("The repairs cost about 12 percent of the budget.", []),
    ("The repairs cost about 21% of the budget.", [MismatchKind.number]),
    ("The bridge will close for eighteen months.", []),
    ("The bridge will close for 18 weeks.", [MismatchKind.unit]),
    ("Engineers found 170 litres of water.", []),
    ("Engineers found 170 gallons of water.", [MismatchKind.unit]),
    ("The repairs cost 45 million.", []),
])
def test_numbers_in_words_digits_and_units(text: str, expected: list[MismatchKind],
                                           ref: Reference) -> None:
    assert kinds(text, ref) == expected


@pytest.mark.parametrize(("claimed", "found", "same"), [
    ("1.5 million", "1,532,000", True),
    ("1.5 million", "1,580,000", False),
    ("$50 million", "$45 million", False),
    ("1,500,000", "1,532,000", True),
    ("45", "45", True),
    ("45", "46", False),
    ("two hundred", "200", True),
])
def test_rounding_is_allowed_only_to_the_written_precision(claimed: str, found: str, same: bool) -> None:
    a, b = find_numbers(claimed)[0], find_numbers(found)[0]
    assert numbers_match(a, b) is same


@pytest.mark.parametrize(("text", "expected"), [
    ("The council voted on Tuesday.", []),
    ("The council voted on Wednesday.", [MismatchKind.date]),
    ("The closure starts on March 4, 2024.", []),
    ("The closure starts on March 5, 2024.", [MismatchKind.date]),
    ("The closure starts in March.", []),
    ("The closure starts in April.", [MismatchKind.date]),
    ("The closure starts on a Monday.", []),  # March 4, 2024 is a Monday
    ("The bridge was built in 1962.", []),
    ("The bridge was built in 1926.", [MismatchKind.date]),
    ("Water was found in December.", []),
    ("Water was found last December.", []),
    ("Water was found last year.", []),  # 2023, as is last December
    ("The council voted yesterday.", []),  # published Wednesday: yesterday is that Tuesday
    ("Water was found two days ago.", [MismatchKind.date]),
    ("The council may vote again.", []),  # "may" the verb is not a month
])
def test_dates(text: str, expected: list[MismatchKind], ref: Reference) -> None:
    assert kinds(text, ref) == expected


@pytest.mark.parametrize(("entity", "found"), [
    ("Jane Smith", True),
    ("Smith", True),
    ("Mayor Smith", True),
    ("Smith's", True),
    ("John Smith", False),
    ("Harbor Bridge", True),
    ("the Harbor Bridge", True),
    ("UK", True),
    ("United Kingdom", True),
    ("Britain", True),
    ("British", True),
    ("US", False),
    ("Arup", True),
    ("Merrow River", True),
    ("Thames River", False),
    ("Metropolitan Police", True),
])
def test_entity_variants(entity: str, found: bool, ref: Reference) -> None:
    assert entity_variants_match(entity, ref) is found


@pytest.mark.parametrize(("text", "expected"), [
    ("Mayor Jane Smith backed the closure.", []),
    ("Mayor John Smith backed the closure.", [MismatchKind.entity]),
    ("British firm Arup will lead the work.", []),
    pytest.param("German firm Siemens will lead the work.", [MismatchKind.entity, MismatchKind.entity],
                 marks=NEEDS_SPACY),  # "German" is a NORP entity only to spaCy
])
def test_entities_in_text(text: str, expected: list[MismatchKind], ref: Reference) -> None:
    assert kinds(text, ref) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ('Smith said "we cannot wait any longer".', []),
    ("Smith said \u201cWe cannot wait any longer.\u201d", []),
    ('Smith said "we can wait a little longer".', [MismatchKind.quote]),
    ('Smith said "no".', []),  # one word in quotes is not a quotation to check
])
def test_quotes(text: str, expected: list[MismatchKind], ref: Reference) -> None:
    assert kinds(text, ref) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("The council voted to close the Harbor Bridge.", []),
    ("The council did not vote to close the Harbor Bridge.", [MismatchKind.negation]),
    ("The council never voted to close the Harbor Bridge.", [MismatchKind.negation]),
    ("The council failed to close the Harbor Bridge.", [MismatchKind.negation]),
    ("Smith said they cannot wait any longer.", []),  # the article negates too
])
def test_negation(text: str, expected: list[MismatchKind], ref: Reference) -> None:
    assert kinds(text, ref) == expected


def test_mismatch_reports_both_spans(ref: Reference) -> None:
    text = "Mayor Jane Smith said the repairs will cost $54 million."
    [m] = check_text(text, ref)
    assert text[m.claim_span.start:m.claim_span.end] == m.claim_span.text == "$54 million"
    assert m.source_span is not None
    assert ref.doc.text[m.source_span.start:m.source_span.end] == m.source_span.text == "$45 million"
    assert m.source_span.sentence_id == "S3"


def test_scope_limits_the_reference_to_given_sentences() -> None:
    doc = document_from_text(ARTICLE)
    assert check_text("The bridge was built in 1962.", doc) == []
    [m] = check_text("The bridge was built in 1962.", doc, sentence_ids=["S2"])
    assert m.kind == MismatchKind.date and m.source_span is not None
    assert m.source_span.text == "2024", "the counterpart is a year of the scoped sentence"
    [m] = check_text("The bridge was built in 1962.", doc, sentence_ids=["S3"])
    assert m.source_span is None, "S3 has no year to compare with"


def test_without_a_publication_date_relative_words_are_not_checked() -> None:
    doc = document_from_text(ARTICLE).model_copy(update={"published": None})
    assert check_text("Water was found two days ago.", doc) == []
