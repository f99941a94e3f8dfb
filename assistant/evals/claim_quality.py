"""Claim atomicity and self-containedness, defined by surface rules anyone can check.

A claim is scored on its text and, for the speaker rule, the speaker it is attributed to.

**Body.** The claim without its attribution frame: "John Kirby said on 14 January 2022
that X" and "According to the Pentagon, X" have body X; 'Jen Psaki said: "X"' has body X.

**Atomic** = the body states one fact: at most one of its segments has a finite verb,
where segments are what is left after splitting at ";", at a sentence break, and at
", and" / ", but" / ", while" / "whereas" and a bare "and" followed by a new subject (a
pronoun, "there", or a capitalised word and a verb). A relative clause or a list of nouns
does not split; "A, and B" with a verb on both sides does.

**Self-contained** = a reader without the article can tell what the claim says:

- no third-person pronoun (he, she, him, his, her, hers, they, them, their) without a
  name before it in the claim, outside quotation marks (inside one it points at someone
  the quotation does not name); "it" counts only opening the claim and not expletive
  ("It was reprimanded ..." fails, "It is difficult to ..." does not);
- no demonstrative determiner (this/these/those + noun: "these accusations") outside a
  quotation, except with a time noun ("this year" is caught by the date rule);
- no relative date expression (`text.dates.find_date_expressions` without a year in
  it: "this Friday", "yesterday", "last December", not "in 2014"): dates are absolute;
- when the claim is attributed to a speaker, the speaker's name (for a person, the
  surname) appears in the claim.

Each failed rule is reported, so a score can be traced to the words that lost it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.evals.results import ItemScore
from assistant.text.dates import find_date_expressions

_FRAME_VERBS = (
    r"said|says|explained|explains|assured|warned|warns|reported|reports|announced|considers|"
    r"considered|pointed out|told|added|stated|claimed|claims|argued|confirmed|denied|noted|"
    r"acknowledged|recalled|insisted|believes|believed|wrote|stressed|accused|estimated|"
    r"predicted|promised|revealed|declared|admitted|alleged"
)
_FRAME = re.compile(
    rf"^(?:According to [^,]{{1,80}},\s*|[^“\"]{{1,80}}?\b(?:{_FRAME_VERBS})\b"
    rf"(?:\s+(?:on|in)\s+[^:,“\"]{{1,40}}?)?(?:\s+that\s+|:\s*))"
)
_FINITE = re.compile(
    r"\b(?:is|are|was|were|has|have|had|will|would|can|could|may|might|must|shall|should|"
    r"does|did|do|remains|said|says|made|took|gave|told|found|held|left|led|put|set|cut|hit|"
    r"paid|sold|won|lost|rose|fell|began|became|saw|knew|thought|brought|built|kept|met|ran|"
    r"sent|spent|stood|wrote|struck|fought|grew|went|came|offers|[a-z]{3,}ed)\b"
)
_SEGMENT = re.compile(
    r";\s+|(?<=[.!?])[”\"]?\s+(?=[“\"]?[A-Z])|,\s+(?:and|but|while|whereas)\s+|\s+whereas\s+|"
    r"\s+and\s+(?=(?:he|she|they|it|there)\b|[A-Z]\w+\s+[a-z]+(?:ed|s)\b)"
)
_PRONOUN = re.compile(r"\b(?:he|she|him|his|her|hers|they|them|their|theirs)\b", re.I)
_DEMONSTRATIVE = re.compile(
    r"\b(?:this|these|those)\s+(?!year|week|month|morning|afternoon|evening|weekend|time|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|spring|summer|autumn|fall|winter)"
    r"[a-z]+", re.I)
# "It" opening the claim refers back, unless expletive ("It is difficult to ...").
_LEADING_IT = re.compile(r"It\b(?!\s+(?:is|was|would be|will be|has been|remains)\s+(?:not\s+)?"
                         r"(?:\w+\s+)?(?:to|that|for|whether|unclear|likely|possible)\b)")
_QUOTED = re.compile(r"[“\"«][^”\"»]*[”\"»]")


def claim_body(text: str) -> str:
    """The claim without its attribution frame ("X said that", "According to X,")."""
    m = _FRAME.match(text.strip())
    body = text.strip()[m.end():] if m else text.strip()
    return body.strip(" “”\"") or text


def atomicity_problems(text: str) -> list[str]:
    """Why the claim is not atomic ([] when it is): the segments with a verb of their own."""
    body = claim_body(text)
    segments = [s for s in _SEGMENT.split(body) if s and _FINITE.search(s)]
    if len(segments) <= 1:
        return []
    return [f"{len(segments)} facts: " + " | ".join(s.strip()[:40] for s in segments)]


def _speaker_named(text: str, speaker: str) -> bool:
    words = speaker.split()
    key = words[-1] if len(words) >= 2 and all(w[:1].isupper() for w in words) else speaker
    return key.lower() in text.lower()


def _antecedent_before(outside: str, at: int) -> bool:
    """A pronoun outside quotation marks with a name before it in the claim ("Julian
    Pressley ... a venture he controlled") is resolved inside the claim; inside a
    quotation it is the speaker's and stays unresolved."""
    if outside[at] == "\0":
        return False
    return bool(re.search(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*\b", outside[:at].replace("\0", " ")[1:]))


def self_containment_problems(text: str, speaker: str | None = None) -> list[str]:
    """Why the claim needs the article to be understood ([] when it does not)."""
    outside = _QUOTED.sub(lambda m: "\0" * len(m.group(0)), text)
    problems = [f"pronoun {m.group(0)!r}" for m in _PRONOUN.finditer(text)
                if not _antecedent_before(outside, m.start())]
    problems += [f"deictic {m.group(0)!r}" for m in _DEMONSTRATIVE.finditer(outside)]
    if _LEADING_IT.match(claim_body(text)) and not _QUOTED.match(text):
        problems.append("pronoun 'It' opening the claim")
    problems += [f"relative date {text[a:b]!r}" for a, b, _ in find_date_expressions(text)
                 if not re.search(r"\b\d{4}\b", text[a:b])]
    if speaker and not _speaker_named(text, speaker):
        problems.append(f"speaker {speaker!r} not named")
    return problems


@dataclass
class ClaimQuality:
    atomic: bool
    self_contained: bool
    problems: list[str]


def claim_quality(text: str, speaker: str | None = None) -> ClaimQuality:
    atomic, contained = atomicity_problems(text), self_containment_problems(text, speaker)
    return ClaimQuality(not atomic, not contained, atomic + contained)


def quality_scores(item_id: str, claims: Sequence[tuple[str, str | None]]
                   ) -> tuple[ItemScore, ItemScore]:
    """Per-article shares of atomic and of self-contained claims ((text, speaker) pairs)."""
    if not claims:
        none = ItemScore(item_id=item_id, value=None, detail="no claims")
        return none, none
    rated = [(text, claim_quality(text, speaker)) for text, speaker in claims]
    bad_a = [f"{t[:50]}…: {'; '.join(atomicity_problems(t))}" for t, q in rated if not q.atomic]
    bad_s = [f"{t[:50]}…: {'; '.join(self_containment_problems(t, s))}"
             for (t, s), (_, q) in zip(claims, rated, strict=True) if not q.self_contained]
    n = len(rated)
    return (ItemScore(item_id=item_id, value=sum(q.atomic for _, q in rated) / n,
                      detail=f"{n - len(bad_a)}/{n}; not atomic: {' | '.join(bad_a) or 'none'}"),
            ItemScore(item_id=item_id, value=sum(q.self_contained for _, q in rated) / n,
                      detail=f"{n - len(bad_s)}/{n}; not self-contained: {' | '.join(bad_s) or 'none'}"))
