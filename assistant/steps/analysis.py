"""The analysis of one article: one short "read" call per chunk, the rest by code.

The model reads each chunk once (`prompts/read.prompt`, fixed instructions before the
article so a prefix cache carries them across articles) and answers with a `ReadDraft`:
a headline of a few words and sentence numbers, the main points and the check-worthy
facts, a few dozen tokens. Code builds everything else from those numbers and the
article's own text:

    headline     the model's, when every content word is in the article and it does not
                 swap who says what; else the article's title, else its lead sentence
    key points   the cited sentences (3 to `max_points`, topped up by the transparent
                 importance score when the model cites fewer), quotes and offsets by code
    5W           who (speaker or named actor), what (the first key point), when (a date
                 the key sentences state), where (a place they name), why (a causal
                 clause), each citing its sentence, each only where the article states it
    claims       the transparent check-worthiness ranking (`text.signals`), the model's
                 pick as one vote, calibrated where a profile applies
    questions    `steps.questions.code_questions`, built from each claim and checked

A chunk whose answer never validates falls back to code alone (noted), so `analyze`
always makes one call per chunk and at most `max_attempts` per chunk.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant import calibration
from assistant.core.driver import Noted, Step
from assistant.core.structured import CallSpec, Findings, Structured
from assistant.errors import OutputValidationError
from assistant.schemas import (
    Claim,
    Document,
    FiveW,
    KeyPoint,
    ReadDraft,
    Sentence,
    Summary,
    VerificationQuestion,
    WField,
)
from assistant.steps import atomic
from assistant.steps.options import Options as Options  # the public name `analysis.Options` stays
from assistant.steps.questions import code_questions, format_date
from assistant.text import signals as sig
from assistant.text.attribution import PERSON_ROLES, has_attribution_cue
from assistant.text.dates import resolve_relative_dates
from assistant.text.grounding import (
    sentence_quote,
    support,
    unsupported_terms,
)

TokenCounter = Callable[[str], int]


# --------------------------------------------------------------------------- chunks


def numbered(sentences: Sequence[Sentence]) -> str:
    return "\n".join(f"[{s.index}] {s.text}" for s in sentences)


def chunk_sentences(doc: Document, budget: int, count: TokenCounter) -> list[list[Sentence]]:
    """Split on sentence boundaries so each chunk's numbered text fits `budget` tokens.

    Sentence numbers stay global. One sentence longer than the budget becomes a chunk of
    its own (the backend then reports a context overflow rather than us truncating it).
    """
    chunks: list[list[Sentence]] = [[]]
    used = 0
    for s in doc.sentences:
        cost = count(f"[{s.index}] {s.text}\n")
        if chunks[-1] and used + cost > budget:
            chunks.append([])
            used = 0
        chunks[-1].append(s)
        used += cost
    return chunks


def prefix_values(doc: Document, sentences: Sequence[Sentence]) -> dict[str, Any]:
    return {
        "title": doc.title or "(none)",
        "published": doc.published.isoformat() if doc.published else "unknown",
        "sentences": numbered(sentences),
    }


# --------------------------------------------------------------------------- summary


# Governments are often named by their capitals or seats: a key point saying "the US"
# for a sentence whose speaker is "Washington" names the same speaker.
_METONYMS = [
    {"us", "u.s.", "united", "states", "america", "american", "washington", "white", "house",
     "pentagon", "biden", "administration"},
    {"russia", "russian", "moscow", "kremlin", "putin"},
    {"ukraine", "ukrainian", "kiev", "kyiv", "zelensky"},
    {"uk", "britain", "british", "london", "downing"},
    {"china", "chinese", "beijing"},
    {"eu", "european", "union", "brussels"},
]
_REPORTING = re.compile(r"\b(?:accus|said|says|say\b|claim|warn|blam|den(?:y|ie)|alleg|threat|"
                        r"insist|argu|assur|acknowledg|announc|propos|call(?:s|ed)? for)", re.I)


def _name_tokens(name: str) -> set[str]:
    tokens = {t for t in re.findall(r"[\w.]+", name.lower()) if len(t) > 1} - {"the", "of", "for"}
    for group in _METONYMS:
        if tokens & group:
            tokens |= group
    return tokens


def speaker_conflict(text: str, cited: Sequence[str], speakers: dict[str, str]) -> str | None:
    """The cited sentence's speaker when `text` reports speech but names none of them.

    Catches the classic small-model error of swapping who accuses whom: "US accuses
    Ukraine of ..." citing a sentence in which Putin accuses Zelensky.
    """
    if not _REPORTING.search(text):
        return None
    named = [speakers[s] for s in cited if s in speakers]
    if not named:
        return None
    words = set(re.findall(r"[\w.]+", text.lower()))
    if any(words & _name_tokens(n) for n in named):
        return None
    return named[0]


_WHEN = re.compile(r"\d|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|"
                   r"fri|sat|sun|today|yesterday|tomorrow|week|month|year|morning|evening|night|"
                   r"spring|summer|autumn|fall|winter)", re.I)


def five_w_answer_ok(name: str, text: str, cited: Sequence[Sentence]) -> bool:
    """A 5W answer must be short and stated by its sentences: `when` names a time, `who`
    and `where` a name that occurs in the cited sentences."""
    source = " ".join(s.text for s in cited)
    if not cited or len(text.split()) > 10 or support(text, [source]) < 0.5:
        return False
    if name == "when":
        return bool(_WHEN.search(text))
    if name in ("who", "where"):
        names = re.findall(r"\b[A-Z][\w.’'-]+", text)
        return any(n.lower() in source.lower() for n in names)
    return True




# --------------------------------------------------------------------------- the read call

HEADLINE_WORDS = 12


@dataclass(frozen=True)
class Reading:
    """What the read calls said about an article, checked: sentence numbers that exist,
    each once, and the headline only when the article supports it (else None). `answered`
    is False when no chunk's answer validated (code alone decides then)."""

    headline: str | None = None
    main: list[int] = field(default_factory=list)
    check: list[int] = field(default_factory=list)
    answered: bool = False


def _headline_problem(text: str, doc: Document, cited: Sequence[int],
                      speakers: dict[str, str]) -> str | None:
    if not text.strip():
        return "empty"
    if len(text.split()) > HEADLINE_WORDS:
        return f"longer than {HEADLINE_WORDS} words"
    if bad := unsupported_terms(text, doc):
        return f"mentions {', '.join(map(repr, bad))}, which the article does not contain"
    if who := speaker_conflict(text, [f"S{n}" for n in cited], speakers):
        return f"the sentences it rests on are {who}'s, but it attributes them otherwise"
    return None


def _read_check(doc: Document, chunk: Sequence[Sentence],
                speakers: dict[str, str]) -> Callable[[Any], Findings]:
    """Keep what is usable rather than re-ask: a second call would double the cost of the
    one call `analyze` makes, and code covers whatever is dropped."""
    allowed = {s.index for s in chunk}

    def check(draft: ReadDraft) -> Findings:
        notes: list[str] = []
        fixed: dict[str, Any] = {}
        for name in ("main", "check"):
            ids = getattr(draft, name)
            kept = [n for n in dict.fromkeys(ids) if n in allowed]
            if dropped := [n for n in ids if n not in allowed]:
                notes.append(f"read: {name} cites sentence(s) {dropped} outside "
                             f"{chunk[0].index}-{chunk[-1].index}; dropped")
            fixed[name] = kept
        if problem := _headline_problem(draft.headline, doc, fixed["main"][:3], speakers):
            notes.append(f"read: headline {draft.headline!r} not used: {problem}")
            fixed["headline"] = ""
        return Findings(notes=notes, value=draft.model_copy(update=fixed))

    return check


def read_step(doc: Document, opts: Options, count: TokenCounter,
              signals: Sequence[sig.SentenceSignals] | None = None) -> Step[Noted[Reading]]:
    """One read call per chunk, all chunks at once (they decode as parallel sequences).
    `signals` are the article's sentence signals, when the caller has them already."""
    if not doc.sentences:
        return Noted(Reading(), [])
    chunks = chunk_sentences(doc, opts.chunk_tokens, count)
    signals = signals if signals is not None else sig.analyze_sentences(doc)
    speakers = {s.sentence_id: s.attribution.speaker for s in signals if s.attribution.speaker}
    specs = [CallSpec("read", prefix_values(doc, c), ReadDraft, _read_check(doc, c, speakers),
                      opts.max_attempts, prompts_dir=opts.prompts_dir) for c in chunks]
    try:
        results: list[Structured[ReadDraft]] = yield specs
    except OutputValidationError as exc:
        if not opts.fallback:
            raise
        return Noted(Reading(), [*exc.notes, f"read: {exc}; the analysis is built by code alone"])
    notes = [n for r in results for n in r.notes]
    drafts = [r.value for r in results]
    if len(drafts) > 1:
        notes.append(f"read {len(drafts)} chunks in parallel")
    # Main points: each chunk's best first, then their seconds, ... (a long article's
    # later chunks are not crowded out by the first one's list).
    main: list[int] = []
    for rank in range(max((len(d.main) for d in drafts), default=0)):
        main += [d.main[rank] for d in drafts if rank < len(d.main)]
    return Noted(Reading(headline=drafts[0].headline or None, main=main,
                         check=[n for d in drafts for n in d.check], answered=True), notes)


# --------------------------------------------------------------------------- summary

MIN_POINTS = 5  # fixtures, model picks simulated: key-fact coverage 0.52 at 3, 0.60 at 5
LEAD_WEIGHT = 0.4  # importance = (1 - LEAD_WEIGHT) * check-worthiness + LEAD_WEIGHT * lead


def importance(s: sig.SentenceSignals, position: int) -> float:
    """The transparent importance of a body sentence, for topping up key points: its
    check-worthiness score blended with a lead bonus, 1 / (1 + position / 4), where
    `position` counts body sentences from 0 (news puts the main facts first)."""
    return round((1 - LEAD_WEIGHT) * s.checkworthiness + LEAD_WEIGHT / (1 + position / 4), 4)


def _body(doc: Document, signals: Sequence[sig.SentenceSignals]) -> list[sig.SentenceSignals]:
    title = (doc.title or "").strip()
    return [s for s in signals if not s.is_boilerplate and not s.features.is_question
            and doc.sentence(s.sentence_id).text.strip() != title]


def key_point_ids(doc: Document, signals: Sequence[sig.SentenceSignals], reading: Reading,
                  max_points: int) -> tuple[list[int], list[str]]:
    """Sentence numbers of the key points, most important first: the model's picks that
    are body sentences, topped up to `MIN_POINTS` by
    `importance`, at most `max_points`. With notes on what was dropped or added."""
    body = _body(doc, signals)
    number = {s.sentence_id: doc.sentence(s.sentence_id).index for s in body}
    eligible = set(number.values())
    notes: list[str] = []
    picks = [n for n in reading.main if n in eligible][:max_points]
    if skipped := [n for n in reading.main if n not in eligible]:
        notes.append(f"key points: sentence(s) {skipped} skipped (title, heading or boilerplate)")
    want = min(len(body), max_points, MIN_POINTS)
    if len(picks) < want:
        ranked = sorted(((importance(s, i), number[s.sentence_id]) for i, s in enumerate(body)),
                        key=lambda x: (-x[0], x[1]))
        extra = [n for _, n in ranked if n not in picks][: want - len(picks)]
        notes.append(f"key points: {len(picks)} from the model, {len(extra)} added by importance "
                     f"({', '.join(f'S{n}' for n in extra)})")
        picks += extra
    return picks, notes


def _key_point(doc: Document, text: str, ids: Sequence[int]) -> KeyPoint:
    sids = [f"S{n}" for n in ids]
    quotes = [sentence_quote(doc, s) for s in sids]
    return KeyPoint(text=text, sentence_ids=sids, quotes=quotes,
                    support=round(support(text, [q.text for q in quotes]), 3))


_WHO_LABELS = ("PERSON", "ORG", "NAME")
_WHERE_LABELS = ("GPE", "LOC", "FAC")
_WHY = re.compile(r"\b(?:because(?: of)?|due to|in order to|so as to|in response to|aimed at|"
                  r"in an attempt to|as a result of|in retaliation for)\b\s+", re.I)


def _short(text: str, words: int = 10) -> str:
    return " ".join(text.split()[:words]).rstrip(" ,;:.")


def five_w(doc: Document, signals: Sequence[sig.SentenceSignals], ids: Sequence[int]) -> FiveW:
    """Who/what/when/where/why from the key sentences `ids` (most important first), each
    citing the sentence that states it and held to `five_w_answer_ok`; None where the
    key sentences do not state it."""
    by_id = {s.sentence_id: s for s in signals}
    cited = [doc.sentence(n) for n in ids]

    def first(pick: Callable[[Sentence, sig.SentenceSignals], list[str]], name: str) -> WField | None:
        for sentence in cited:
            for text in pick(sentence, by_id[sentence.id]):
                if text and five_w_answer_ok(name, text, [sentence]):
                    resolved = dates.get((sentence.id, text)) if name == "when" else None
                    return WField(text=f"{text} ({resolved})" if resolved else text,
                                  sentence_ids=[sentence.id])
        return None

    def who(_: Sentence, s: sig.SentenceSignals) -> list[str]:
        named = s.attribution.speaker and s.features.speaker_kind == "named"
        first_ = [s.attribution.speaker] if named and s.attribution.speaker else []
        return first_ + [e.text for e in s.entities if e.label in _WHO_LABELS]

    # A relative date is shown with its calendar date: "This Friday (14 January 2022)".
    dates = {(sentence.id, d.expression): format_date(d.resolved).split(" ", 1)[1]
             for sentence in cited for d in resolve_relative_dates(doc, sentence)
             if d.resolved not in d.expression}

    def when(sentence: Sentence, s: sig.SentenceSignals) -> list[str]:
        out = [d.expression for d in resolve_relative_dates(doc, sentence)]
        return out + [e.text for e in s.entities if e.label == "DATE"]

    def where(_: Sentence, s: sig.SentenceSignals) -> list[str]:
        return [e.text for e in s.entities if e.label in _WHERE_LABELS]

    def why(sentence: Sentence, _: sig.SentenceSignals) -> list[str]:
        m = _WHY.search(sentence.text)
        return [_short(sentence.text[m.start():])] if m else []

    what = WField(text=cited[0].text, sentence_ids=[cited[0].id]) if cited else None
    return FiveW(who=first(who, "who"), what=what, when=first(when, "when"),
                 where=first(where, "where"), why=first(why, "why"))


def lead_sentence(doc: Document) -> Sentence | None:
    """The first body sentence of some length: the news lead."""
    body = [s for s in doc.sentences if s.text != doc.title] or doc.sentences
    return next((s for s in body if len(s.text) > 60), body[0] if body else None)


def summary_from(doc: Document, reading: Reading, opts: Options,
                 signals: Sequence[sig.SentenceSignals] | None = None) -> Noted[Summary]:
    """The summary code builds from a reading (an empty `Reading()` gives the extractive one)."""
    signals = list(signals) if signals is not None else sig.analyze_sentences(doc)
    ids, notes = key_point_ids(doc, signals, reading, min(opts.analysis.max_points, 8))
    key_points = [_key_point(doc, doc.sentence(n).text, [n]) for n in ids]
    lead = lead_sentence(doc)
    headline = reading.headline
    if headline is None:
        headline = doc.title or (lead.text if lead else "")
        if reading.answered:
            notes.append("headline: the article's own " + ("title" if doc.title else "lead sentence"))
    tldr_ids = sorted(ids[:2])
    tldr = " ".join(doc.sentence(n).text for n in tldr_ids) or (lead.text if lead else "")
    return Noted(Summary(headline=headline, tldr=tldr,
                         tldr_sentence_ids=[f"S{n}" for n in tldr_ids] or ([lead.id] if lead else []),
                         key_points=key_points, five_w=five_w(doc, signals, ids)), notes)


def extractive_summary(doc: Document, opts: Options) -> Summary:
    """The summary code alone builds: the article's most important sentences."""
    return summary_from(doc, Reading(), opts).value


def summarize_step(doc: Document, opts: Options, count: TokenCounter) -> Step[Noted[Summary]]:
    signals = sig.analyze_sentences(doc)
    reading = yield from read_step(doc, opts, count, signals)
    summary = summary_from(doc, reading.value, opts, signals)
    return Noted(summary.value, reading.notes + summary.notes)


# --------------------------------------------------------------------------- claims


def _calibrated_reason(transparent: str, cal: calibration.CalibratedScore) -> str:
    moved = ", ".join(f"{e.feature} {e.log_odds:+.2f}" for e in cal.effects[:4])
    default = "; default profile" if cal.default_used else ""
    return (f"calibrated {cal.probability:.2f} (check-worthy from {cal.threshold:.2f}{default}): "
            f"{moved or 'average sentence'}; transparent: {transparent}")


MODEL_VOTE = 0.25  # the model's pick's weight beside the transparent score

_SAYS = re.compile(r"\b(?:said|says|say|claims?|claimed|told|tells|added|adds|stated|states|warned|"
                   r"warns|called|calls|argued|argues|insisted|insists|announced|announces|"
                   r"reported|reports|estimated|estimates)\b")
_SPEAKER_LABELS = ("PERSON", "ORG", "NAME")
_APPOSED = re.compile(r",\s*(?:[A-Z][a-z]{1,4}\.\s*)*$")  # "A ministry spokesman, Col. " + name
_APPOSITIVE = re.compile(r"^,\s+[a-z][^,]{0,60},\s*$")  # name + ", an independent watchdog, "


def described_speaker(doc: Document, sentence: Sentence, signals: Sequence[sig.SentenceSignals]) -> str | None:
    """A speaker the attribution parse leaves open, found by two narrow rules (it used to
    be the model's guess). Only for a sentence with a say-verb:

    - a named subject right before the verb ("Economists at Halden University said",
      "A ministry spokesman, Col. Arvid Nemeth, called", "The Westmarch Fiscal Council,
      an independent watchdog, estimated"): a person or organisation the sentence names,
      ending just before the verb, set off by commas after a role, or opening the
      sentence with an appositive;
    - a definite description ("the monitoring mission said", "The union claims"): the
      most recent organisation named earlier in the article whose name holds the
      description's head noun ("Soren Valley Monitoring Mission").

    None when neither applies: no speaker is carried over from a nearby sentence.
    """
    text = sentence.text
    by_id = {s.sentence_id: s for s in signals}
    for verb in _SAYS.finditer(text):
        at = sentence.start + verb.start()
        for e in by_id[sentence.id].entities:
            if e.label not in _SPEAKER_LABELS or e.end > at:
                continue
            gap, lead = doc.text[e.end:at], doc.text[sentence.start:e.start]
            if not gap.strip() and lead.strip() and len(lead.split()) <= 4 and "," not in lead:
                return (lead + e.text).strip()  # "Business owners in Eastbank": the whole subject
            if not gap.strip() or (gap.strip() == "," and _APPOSED.search(lead)) \
                    or (_APPOSITIVE.match(gap) and not lead.strip(" \"“")):
                return e.text
        m = re.search(r"\b[Tt]he ((?:[a-z]+ ){0,2}([a-z]+)) $", text[:verb.start()])
        if m and m.group(2) not in PERSON_ROLES:
            head = m.group(2)
            earlier = [e.text for s in signals if s.sentence_id != sentence.id
                       and doc.sentence(s.sentence_id).index < sentence.index
                       for e in s.entities if e.label in ("ORG", "NAME")
                       and head in e.text.lower().split()]
            if earlier:
                return earlier[-1]
    return None


def claims_from(doc: Document, reading: Reading, opts: Options, model: str | None = None,
                signals: Sequence[sig.SentenceSignals] | None = None) -> Noted[list[Claim]]:
    """Claims on the sentences the transparent score ranks highest.

    The candidates come from the transparent score; the model's pick is one vote
    (`MODEL_VOTE`) that lifts a sentence it lists: 0.75 x score + 0.25, else the score
    stands; the cut `min_check_worthiness` applies to that. The reported `check_worthiness` is the
    calibrated probability for `model` (profile lookup in `assistant.calibration`), when
    a profile applies. Claim text (`steps.atomic`), speaker, dates and quotes come from
    the sentence.
    """
    signals = list(signals) if signals is not None else sig.analyze_sentences(doc)
    calibrated = calibration.checkworthiness_scores(doc, signals, model=model, directory=opts.profiles_dir)
    candidates = sig.rank_claim_candidates(signals, k=opts.analysis.max_claims)
    picked = set(reading.check)
    claims: list[Claim] = []
    notes: list[str] = []
    context = atomic.claim_context(doc, signals=signals)
    for cand in candidates:
        sentence = doc.sentence(cand.sentence_id)
        vote = sentence.index in picked
        worth = cand.checkworthiness
        if vote:  # a lift, never a penalty: the model lists a few sentences, not every one
            worth = round((1 - MODEL_VOTE) * worth + MODEL_VOTE, 2)
        cal = calibrated.get(sentence.id)
        if worth < opts.analysis.min_check_worthiness and not (cal is not None and cal.decision):
            notes.append(f"claim for {sentence.id} left out: check-worthiness {worth:.2f}")
            continue
        reason = cand.checkworthiness_reason
        if cal is not None:
            worth, reason = cal.probability, _calibrated_reason(reason, cal)
        if reading.answered:
            reason += f"; model: {'check-worthy' if vote else 'not picked'}"
        quote = sentence_quote(doc, sentence.id)
        attribution = cand.attribution.model_copy()
        if not attribution.speaker and has_attribution_cue(sentence.text) and \
                (found := described_speaker(doc, sentence, signals)):
            attribution.speaker = found
            notes.append(f"speaker for {sentence.id}: {found!r}, by the subject or description")
        # The claim text is built by code from the sentence (steps.atomic): speaker named,
        # dates absolute, one fact.
        built = atomic.main_claim(atomic.atomic_claims(doc, sentence, context, attribution),
                                  attribution.speaker)
        if built.form != "atomic":
            notes.append(f"claim for {sentence.id}: {'; '.join(built.problems[:2])}; "
                         f"using the {'sentence' if built.form == 'sentence' else 'resolved sentence'}")
        claims.append(Claim(
            id=f"C{len(claims) + 1}", text=built.text, type=cand.claim_type,
            attribution=attribution, check_worthiness=worth,
            check_worthiness_calibrated=cal, check_worthiness_reason=reason,
            sentence_ids=[sentence.id], quote=quote, quotes=[quote],
            dates=resolve_relative_dates(doc, sentence),
            as_of=doc.published.isoformat() if doc.published else None))
    return Noted(claims, notes)


def claims_step(doc: Document, opts: Options, count: TokenCounter,
                model: str | None = None) -> Step[Noted[list[Claim]]]:
    signals = sig.analyze_sentences(doc)
    reading = yield from read_step(doc, opts, count, signals)
    claims = claims_from(doc, reading.value, opts, model=model, signals=signals)
    return Noted(claims.value, reading.notes + claims.notes)


# --------------------------------------------------------------------------- questions


def questions_for(claims: Sequence[Claim]) -> Noted[list[VerificationQuestion]]:
    """Code-built questions per claim (yes/no, wh, on-record; at most three), each
    passing `steps.questions.question_problems`."""
    out: list[VerificationQuestion] = []
    notes: list[str] = []
    for claim in claims:
        built = code_questions(claim)[:3]
        if not built:
            notes.append(f"no question for {claim.id} passes the checks")
        out += built
    return Noted(out, notes)


def questions_step(doc: Document, claims: list[Claim], opts: Options,
                   count: TokenCounter) -> Step[Noted[list[VerificationQuestion]]]:
    """`questions_for` as a step: it makes no model call."""
    yield from ()
    return questions_for(claims)


# --------------------------------------------------------------------------- composed


@dataclass(frozen=True)
class AnalysisParts:
    """What `analyze_step` returns: the three stages' results."""

    summary: Summary
    claims: list[Claim]
    questions: list[VerificationQuestion]


def verification_step(doc: Document, claims: Sequence[Claim] | None, opts: Options, count: TokenCounter,
                      model: str | None = None) -> Step[Noted[list[VerificationQuestion]]]:
    """Questions for `claims`, or for the claims `claims_step` finds when none are given."""
    found = Noted(list(claims), []) if claims is not None else (
        yield from claims_step(doc, opts, count, model=model))
    questions = questions_for(found.value)
    return Noted(questions.value, found.notes + questions.notes)


def analyze_step(doc: Document, opts: Options, count: TokenCounter,
                 model: str | None = None) -> Step[Noted[AnalysisParts]]:
    """One read call per chunk; summary, claims and questions built from it by code."""
    signals = sig.analyze_sentences(doc)
    reading = yield from read_step(doc, opts, count, signals)
    summary = summary_from(doc, reading.value, opts, signals)
    claims = claims_from(doc, reading.value, opts, model=model, signals=signals)
    questions = questions_for(claims.value)
    return Noted(AnalysisParts(summary.value, claims.value, questions.value),
                 reading.notes + summary.notes + claims.notes + questions.notes)
