"""The seed article (../shared/data/seed, skipped when absent): who says what, and the
claims built from its sentences name the right speaker and only that one."""

from __future__ import annotations

import pytest

from assistant.evals.claim_quality import claim_quality
from assistant.evals.paths import data_dir
from assistant.schemas import Document
from assistant.steps.atomic import atomic_claims, claim_context, main_claim
from assistant.text import signals
from assistant.text.intake import load_document

SEED_NAME = "us-russia-ukraine-2022-01-14.txt"
EXPECTED = {
    "S6": "John Kirby", "S18": "John Kirby", "S23": "John Kirby", "S24": "John Kirby",
    "S27": "John Kirby", "S7": "Jen Psaki", "S21": "Jen Psaki", "S25": "Jen Psaki",
    "S9": "Josep Borrell", "S10": "Josep Borrell", "S26": None,
}


@pytest.fixture(scope="module")
def seed() -> Document:
    path = data_dir() / "seed" / SEED_NAME
    if not path.exists():
        pytest.skip("../shared/data is absent")
    return load_document(path)


@pytest.fixture(params=["spacy", "regex"])
def method(request: pytest.FixtureRequest) -> str:
    if request.param == "spacy" and not signals.spacy_available():
        pytest.skip("spaCy or its English model is not installed")
    return str(request.param)


def test_seed_attributions(seed: Document, method: str) -> None:
    sigs = {s.sentence_id: s for s in signals.analyze_sentences(seed, method=method)}  # type: ignore[arg-type]
    got = {sid: sigs[sid].attribution.speaker for sid in EXPECTED}
    assert got == EXPECTED
    # the spokeswoman is Psaki (a woman, press secretary), not Kirby (the spokesman)
    assert sigs["S25"].speaker_mention in ("spokeswoman", "the spokeswoman")


def test_seed_claims_name_their_speaker(seed: Document, method: str) -> None:
    ctx = claim_context(seed, method=method)  # type: ignore[arg-type]
    for sid, speaker in EXPECTED.items():
        claims = atomic_claims(seed, seed.sentence(sid), ctx)
        main = main_claim(claims, speaker)
        if speaker is None:  # S26: the National Guard sentence is the article's own statement
            assert not any("Kirby" in c.text or "Psaki" in c.text for c in claims)
        else:
            assert speaker in main.text, (sid, main.text)
            others = {"John Kirby", "Jen Psaki", "Josep Borrell"} - {speaker}
            assert not any(o in c.text for c in claims for o in others), (sid, main.text)
    s25 = [c.text for c in atomic_claims(seed, seed.sentence("S25"), ctx)]
    assert s25[-1] == "Jen Psaki said: “If they decide they want to engage in diplomatic talks, we are very open”."


def test_seed_claims_are_self_contained_where_the_sentence_allows(seed: Document, method: str) -> None:
    ctx = claim_context(seed, method=method)  # type: ignore[arg-type]
    s3 = [c.text for c in atomic_claims(seed, seed.sentence("S3"), ctx)]
    assert s3[0] == "On 14 January 2022 Ukraine suffered a massive cyberattack with a “Russian footprint”."
    assert all(claim_quality(t).self_contained for t in s3)
    s15 = [c.text for c in atomic_claims(seed, seed.sentence("S15"), ctx)]
    assert s15 == ["Moscow acknowledged that the US position on NATO’s eastward expansion remains "
                   "“impenetrable”.", "Moscow said it would not wait “forever” for a response on "
                   "security guarantees."]
