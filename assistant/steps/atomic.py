"""Atomic, self-contained claims built by code from one check-worthy sentence.

`atomic_claims(doc, sentence)` restates the sentence as 1-3 claims, each one checkable
fact that reads without the article:

- the attribution frame is lifted out ("Kirby said at a news conference that X", "X,
  according to Y", '"X," the spokeswoman said') and the speaker's full name goes inside
  the claim ("John Kirby said that ..."), the role noun or pronoun of the sentence
  resolved by `text.attribution`;
- conjoined facts are split ("A, and B" -> "A", "B"; "X acknowledged A and said B" ->
  "X acknowledged A", "X said B"); a quotation of several sentences gives a claim per
  sentence;
- relative dates become absolute ("this Friday" -> "on 14 January 2022") from
  `text.dates.resolve_relative_dates`;
- "he"/"she" outside quotation marks become the person they refer to (the most recent
  person of agreeing gender, `SpeakerIndex.antecedent`).

Splitting uses the spaCy parse (a finite verb on both sides of a coordination) when
spaCy is installed, a regex verb test otherwise; both give grammatical claims. Code then
checks each claim: every name, number and date in it must occur in the sentence or its
context (speaker, role, resolved dates, antecedents). A claim that fails falls back to a
safer form - the sentence with only its dates and speaker substituted, else the sentence
itself - never the unchecked text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from assistant.schemas import Attribution, DateResolution, Document, Sentence
from assistant.text import signals as sig
from assistant.text.attribution import (
    PERSON_ROLES,
    SpeakerIndex,
    clean_name,
    pronoun_gender,
    words,
)
from assistant.text.dates import resolve_relative_dates
from assistant.text.grounding import numbers_in

Method = Literal["auto", "spacy", "regex"]
MAX_CLAIMS = 3

_CALENDAR_WORDS = words("Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February "
                        "March April May June July August September October November December")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")
# Words that may open a claim capitalised only because they open it: lowercased when a
# clause is embedded after "that".
_LOWER_OK = words(
    "the a an this these those that it its there their they he she his her some many most all "
    "no several such both each every one two three four five six seven eight nine ten if when "
    "while after before since about around more less only in on at for from by with")
_FINITE = re.compile(
    r"\b(?:is|are|was|were|has|have|had|will|would|can|could|may|might|must|shall|should|"
    r"does|did|do|remains|said|says|made|took|gave|told|found|held|left|led|put|set|cut|hit|"
    r"paid|sold|won|lost|rose|fell|began|became|saw|knew|thought|brought|built|kept|met|ran|"
    r"sent|spent|stood|wrote|struck|fought|grew|went|came|[a-z]{3,}ed)\b")
# A translated article may close a quotation with an opening mark ('situation“Borrell said').
_QUOTE_SPAN = re.compile(r"[“\"«]([^”\"»“]+)[”\"»“]")
_PREP_BEFORE = re.compile(r"\b(?:on|by|since|until|till|before|after|from|of|for|as)\s*$", re.I)
_DAY_PART = re.compile(r"^\s+(morning|afternoon|evening|night)\b")


@dataclass
class AtomicClaim:
    """One claim restating one fact of a sentence, and how it was built."""

    text: str
    sentence_id: str
    form: Literal["atomic", "sentence_resolved", "sentence"] = "atomic"
    speaker: str | None = None
    dates: list[DateResolution] = field(default_factory=list)
    antecedents: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass
class ClaimContext:
    """What `atomic_claims` needs about the whole article, computed once per document."""

    signals: dict[str, sig.SentenceSignals]
    index: SpeakerIndex
    method: Literal["spacy", "regex"]


def claim_context(doc: Document, method: Method = "auto",
                  signals: Sequence[sig.SentenceSignals] | None = None) -> ClaimContext:
    """Signals and the article's person index. `signals` may be passed when already computed."""
    found = list(signals) if signals is not None else sig.analyze_sentences(doc, method=method)
    used: Literal["spacy", "regex"] = "spacy" if found and found[0].method == "spacy" else "regex"
    if method == "regex":
        used = "regex"
    names = [e.text for s in found for e in s.entities if e.label == "PERSON"]
    names += [e.text for s in found for e in s.entities
              if e.label == "NAME" and SpeakerIndex.looks_like_person(e.text)]
    names += [a.speaker for s in found if (a := s.attribution).speaker
              and SpeakerIndex.looks_like_person(a.speaker)]
    index = SpeakerIndex(names)
    persons = [[(e.start, e.text) for e in s.entities if e.label == "PERSON"] for s in found]
    index.scan([(s.start, s.text) for s in doc.sentences], persons)
    for s in found:
        a = s.attribution
        if a.speaker and a.role:
            index.roles.setdefault(a.speaker, a.role)
        if a.speaker and index.is_person(a.speaker):
            index.speakers.add(a.speaker)
    return ClaimContext({s.sentence_id: s for s in found}, index, used)


# --------------------------------------------------------------------------- dates


def date_phrase(resolved: str) -> str | None:
    """'2022-01-14' -> '14 January 2022', '2021-12' -> 'December 2021', '2014' -> '2014',
    '2022-W02' -> 'the week of 10 January 2022'; None for anything else."""
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", resolved):
            d = dt.date(int(m[1]), int(m[2]), int(m[3]))
            return f"{d.day} {_MONTH_NAMES[d.month - 1]} {d.year}"
        if m := re.fullmatch(r"(\d{4})-(\d{2})", resolved):
            return f"{_MONTH_NAMES[int(m[2]) - 1]} {m[1]}"
        if re.fullmatch(r"\d{4}", resolved):
            return resolved
        if m := re.fullmatch(r"(\d{4})-W(\d{2})", resolved):
            d = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return f"the week of {d.day} {_MONTH_NAMES[d.month - 1]} {d.year}"
    except (ValueError, IndexError):
        return None
    return None


def _date_replacement(expr: str, resolved: str, before: str) -> str | None:
    phrase = date_phrase(resolved)
    if phrase is None:
        return None
    low = expr.lower()
    if re.fullmatch(r"\d{4}", resolved):
        return expr if re.search(r"\d{4}", expr) else f"in {phrase}"
    if low.startswith(("in ", "on ", "since ", "by ", "until ")):
        return f"{low.split()[0]} {phrase}"
    if _PREP_BEFORE.search(before):
        return phrase
    if re.search(r"\b(?:early|late)\s*$", before, re.I):
        return f"on {phrase}"
    if "W" in resolved:
        return f"in {phrase}"
    return f"in {phrase}" if re.fullmatch(r"\d{4}-\d{2}", resolved) else f"on {phrase}"


def _resolve_dates(text: str, offset: int, dates: Sequence[DateResolution]) -> tuple[str, list[DateResolution]]:
    """`text` (starting at doc offset `offset`) with each date expression inside it replaced."""
    used = []
    for d in sorted(dates, key=lambda d: -d.start):
        a, b = d.start - offset, d.end - offset
        if a < 0 or b > len(text) or text[a:b] != d.expression:
            continue
        new = _date_replacement(d.expression, d.resolved, text[:a])
        if new is None:
            continue
        part = _DAY_PART.match(text[b:])
        if part and re.fullmatch(r"\d{4}-\d{2}-\d{2}", d.resolved):  # "Thursday morning"
            bare = _PREP_BEFORE.search(text[:a]) is not None
            new = f"{'' if bare else 'on '}the {part.group(1)} of {date_phrase(d.resolved)}"
            b += part.end()
        if a == 0 and d.expression[:1].isupper():
            new = new[:1].upper() + new[1:]
        text = text[:a] + new + text[b:]
        used.append(d)
    return text, used[::-1]


# --------------------------------------------------------------------------- frame


@dataclass
class _Piece:
    """A span of the sentence (sentence-relative offsets) holding the reported content."""

    start: int
    end: int
    direct: bool = False  # the content is a quotation, kept in quotation marks


@dataclass
class _Frame:
    verb: str
    content: list[_Piece]
    according: bool = False
    prefix: _Piece | None = None  # a clause in the article's own voice before the frame
    verb_span: tuple[int, int] | None = None  # "told jurors", "explained at a news conference"


def _after_verb_that(text: str, vpos: int) -> int | None:
    """Offset of the clause after 'that' following the verb at `vpos` (within 90 chars)."""
    m = re.compile(r"\bthat\s+").search(text, vpos, min(len(text), vpos + 90))
    if m is None:
        return None
    between = text[vpos:m.start()]
    if re.search(r"[“\"”]", between):
        return None
    return m.end()


def _frame(s: Sentence, signal: sig.SentenceSignals) -> _Frame | None:
    a = signal.attribution
    if not a.verb or not a.speaker or signal.mention_start is None or signal.mention_end is None:
        return None
    text = s.text
    ms, me = signal.mention_start - s.start, signal.mention_end - s.start
    verb = a.verb
    quotes = [m for m in _QUOTE_SPAN.finditer(text) if len(m.group(1).split()) >= 3]
    outside = [q for q in quotes if not q.start() <= ms < q.end()]
    if verb == "according to":
        acc = text.lower().rfind("according to", 0, ms + 1)
        if acc < 0:
            return None
        if acc == 0 or text[:acc].strip() == "":  # "According to X, CONTENT"
            comma = text.find(",", me)
            if comma < 0:
                return None
            return _Frame("according to", [_Piece(comma + 1, len(text))], according=True)
        before = text[:acc].rstrip()
        if before.endswith(",") and re.fullmatch(r"[^,]*[.;]?\s*", text[me:]):  # "CONTENT, according to X."
            return _Frame("according to", [_Piece(0, len(before) - 1)], according=True)
        return None
    vpos = text.find(verb, me) if text.find(verb, me) >= 0 else text.rfind(verb, 0, ms)
    if vpos < 0:
        return None
    vend = vpos + len(verb)
    first = min(ms, vpos)
    before_q = [q for q in outside if q.end() <= first]
    if before_q and len(text[before_q[-1].end():first].split()) <= 3:
        # '"QUOTE," said Kirby' / '"QUOTE," the spokeswoman said': the quotes just before
        run = [before_q[-1]]
        for q in reversed(before_q[:-1]):
            if len(text[q.end():run[0].start()].split()) > 1:
                break
            run.insert(0, q)
        return _Frame(verb, [_Piece(q.start(1), q.end(1), direct=True) for q in run],
                      prefix=_prefix(text, run[0].start()))
    that = _after_verb_that(text, vend) if vpos > ms else None
    if that is not None and not any(q.start() < vpos < q.end() for q in quotes):
        lead = re.search(r"(?:,\s*|\s+)(?:and|but|while)\s+(?:the\s+)?$", text[:ms])
        that_at = text.rfind("that", vend, that)
        between = text[vend:that_at]
        span = (vpos, that_at) if len(between.split()) <= 6 and not re.search(r"[,;“\"]", between) else None
        return _Frame(verb, [_Piece(that, len(text))],
                      prefix=_prefix(text, lead.start()) if lead else None, verb_span=span)
    if vpos > ms and re.match(r"\s*[:,]?\s*[“\"]", text[vend:]) and outside:
        after = [q for q in outside if q.start() >= vend]
        if after:
            return _Frame(verb, [_Piece(after[0].start(1), after[0].end(1), direct=True)])
    tail = re.search(r",\s*(?:the\s+)?$", text[:ms])
    if tail and vpos > ms and re.fullmatch(r"[^,]*[.;]?\s*", text[vend:]):  # "CONTENT, X said."
        return _Frame(verb, [_Piece(0, tail.start())])
    return None


def _prefix(text: str, end: int) -> _Piece | None:
    """The clause before a frame, when it states a fact of its own (>= 4 words, a verb)."""
    head = text[:end].rstrip(" ,:;–-")
    if len(head.split()) >= 4 and _FINITE.search(_mask_quotes(head)):
        return _Piece(0, len(head))
    return None


# --------------------------------------------------------------------------- splitting


def _has_finite_verb(text: str, method: Literal["spacy", "regex"]) -> bool:
    if method == "spacy" and (nlp := sig.spacy_pipeline()) is not None:
        return any(t.pos_ in ("VERB", "AUX") and t.tag_ in ("VBD", "VBZ", "VBP", "MD")
                   for t in nlp(text))
    return bool(_FINITE.search(text))


_NOUN_THEN_AUX = re.compile(r"[a-z]+\s+(?:[a-z]+\s+)?(?:is|are|was|were|has|have|had|will|would|can|"
                            r"could|may|might|must|should)\b")


def _starts_with_subject(text: str) -> bool:
    first = text.split(maxsplit=1)[0] if text.split() else ""
    return bool(first) and (first[:1].isupper() or first.lower() in _LOWER_OK
                            or bool(_NOUN_THEN_AUX.match(text)))


def _mask_quotes(text: str) -> str:
    return _QUOTE_SPAN.sub(lambda m: m.group(0)[0] + "x" * (len(m.group(0)) - 2) + m.group(0)[-1], text)


_SPLIT = re.compile(r";\s+|,\s+(?:and|but|while|whereas)\s+|\s+(?:while|whereas)\s+|"
                    r"\s+and\s+(?=[a-z]+ed\b|said\b|there\b|it\b|they\b|he\b|she\b|[A-Z]\w+\s+[a-z]+(?:ed|s)\b)")
# Discourse openers that point back into the article ("Against this background,").
_BACK_REFERENCE = re.compile(
    r"^(?:Against this background|For (?:his|her|its|their) part|Despite (?:this|these|that|those)"
    r"(?: \w+)?|Parallel to this[^,]*|In this context|Meanwhile|However|In addition|Also),\s*"
    r"|,\s*for (?:his|her|its|their) part,")


def drop_back_references(text: str) -> str:
    """Remove openers like "Against this background," and ", for its part," that only
    link the sentence to the one before."""
    out = _BACK_REFERENCE.sub("", text)
    return out[:1].upper() + out[1:] if out else out


def split_facts(text: str, method: Literal["spacy", "regex"] = "regex",
                subject: str | None = None) -> list[str]:
    """Split a clause into conjoined facts: a split needs a finite verb on both sides,
    and the right side its own subject or the shared `subject` ("... and said B")."""
    masked = _mask_quotes(text)
    parts: list[str] = []
    rest, rest_m = text, masked
    while len(parts) < MAX_CLAIMS - 1:
        found = None
        for m in _SPLIT.finditer(rest_m):
            left, right = rest[:m.start()].strip(), rest[m.end():].strip()
            if len(left.split()) < 4 or len(right.split()) < 4:
                continue
            if not (_has_finite_verb(left, method) and _has_finite_verb(right, method)):
                continue
            shared = bool(re.match(r"[a-z]+ed\b|said\b", right))
            if shared and not subject:
                continue
            if not shared and not _starts_with_subject(right):
                continue
            found = (left, f"{subject} {right}" if shared else right, m)
            break
        if found is None:
            break
        left, right, m = found
        parts.append(left)
        rest, rest_m = right, (f"{subject} " if right != rest[m.end():].strip() else "") + rest_m[m.end():].strip()
    parts.append(rest.strip())
    return [p for p in (x.strip(" ,;") for x in parts) if p]


def _quote_sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z“\"])", text.strip())
    return [p.strip() for p in parts if len(p.split()) >= 3]


# --------------------------------------------------------------------------- pronouns


def _resolve_pronouns(text: str, n: int, doc_offset: int, index: SpeakerIndex,
                      speaker: str | None, named: str | None = None) -> tuple[str, dict[str, str]]:
    """Outside quotation marks, subject 'he'/'she' -> the person meant. Possessives stay:
    "his American colleague" resolves less reliably than a subject does."""
    found: dict[str, str] = {}
    out, last = [], 0
    masked = _mask_quotes(text)
    for m in re.finditer(r"\b(he|she|He|She)\b", masked):
        word = m.group(1)
        gender = pronoun_gender(word)
        who = None
        if speaker and index.is_person(speaker) and (
                (g := index.gender(speaker, stated_only=True)) is None or g == gender):
            who = speaker  # "Psaki ..., where he warned ..., although he did not ..."
        else:
            who = index.antecedent(n, doc_offset + m.start(), gender=gender)
        if who is None or set(who.split()) & _CALENDAR_WORDS:
            continue
        if who == named or (who.split()[-1] in text[:m.start()] and word[0].islower()):
            continue  # already named before the pronoun in this claim: "X said that he ..."
        found[word] = who
        out.append(text[last:m.start()])
        out.append(who)
        last = m.end()
    out.append(text[last:])
    return "".join(out), found


# --------------------------------------------------------------------------- checks


def _cap_words(text: str) -> set[str]:
    return {w for w in re.findall(r"\b[A-Z][\w\u2019'\-]+", text)}


def claim_problems(claim: str, sources: Sequence[str]) -> list[str]:
    """Names and numbers in `claim` found in none of `sources` (the sentence, speaker,
    role, rendered dates, antecedents). Sentence-opening words are not names."""
    pool = " ".join(sources)
    caps, nums = _cap_words(pool), numbers_in(pool)
    lowered = {w.lower() for w in re.findall(r"[\w\u2019'\-]+", pool)}
    problems = []
    for w in sorted(_cap_words(claim) - caps):
        if w.lower() in lowered or w in _MONTH_NAMES or w.lower() in _LOWER_OK or w == "According":
            continue
        problems.append(f"name {w!r} not in the sentence or its context")
    problems += [f"number {x!r} not in the sentence or its context" for x in sorted(numbers_in(claim) - nums)]
    if re.search(r"\bthat that\b", claim, re.I):
        problems.append("'that that'")
    return problems


def _common_word(word: str, article: str, clause: str = "",
                 method: Literal["spacy", "regex"] = "regex") -> bool:
    """Is a sentence-opening capitalised word a common word, not a name? A function word;
    with spaCy, a first token that is neither a proper noun nor in an entity; else one the
    article writes in lower case and never capitalised mid-sentence."""
    if word.lower() in _LOWER_OK:
        return True
    if method == "spacy" and clause and (nlp := sig.spacy_pipeline()) is not None:
        tok = nlp(clause)[0]
        return bool(tok.pos_ != "PROPN" and not tok.ent_type_)
    if not re.search(rf"(?<![.!?“\"]\s)(?<!^)\b{re.escape(word.lower())}\b", article):
        return False
    return not re.search(rf"[\w,;]\s+{re.escape(word)}\b", article)


def _embed(clause: str, article: str = "", method: Literal["spacy", "regex"] = "regex") -> str:
    """A clause placed after 'that': sentence-opening capital lowered only for a common
    word (never a name), closing punctuation dropped, a leading 'that' not doubled."""
    clause = clause.strip().strip(",;:").strip()
    clause = re.sub(r"^that\s+", "", clause, flags=re.I)
    first = clause.split(maxsplit=1)[0] if clause else ""
    if first and first[:1].isupper() and first != "I" and _common_word(first, article, clause, method):
        clause = first.lower() + clause[len(first):]
    return clause.rstrip(" .;:")


def _finish(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.;:])", r"\1", text)
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    return text if re.search(r"[.!?][”\"’)]?$", text) else text.rstrip(" ,;:") + "."


# --------------------------------------------------------------------------- API


def atomic_claims(doc: Document, sentence: Sentence, context: ClaimContext | None = None,
                  attribution: Attribution | None = None, method: Method = "auto",
                  max_claims: int = MAX_CLAIMS) -> list[AtomicClaim]:
    """1-3 atomic, self-contained claims for one sentence (see the module docstring).

    `context` (from `claim_context`) should be passed when several sentences of one
    document are processed; `attribution` overrides the sentence's own (a speaker that
    the claims step accepted).
    """
    ctx = context or claim_context(doc, method=method)
    signal = ctx.signals.get(sentence.id)
    n = sentence.index - 1
    dates = resolve_relative_dates(doc, sentence)
    attr = attribution or (signal.attribution if signal else Attribution())
    speaker = attr.speaker
    base_sources = [sentence.text, *(x for x in (speaker, attr.role) if x)]
    base_sources += [p for d in dates if (p := date_phrase(d.resolved))]
    # A speaker the sentence names by a common noun ("a study published on Wednesday in
    # ...") is better left in the sentence's words than lifted into a frame.
    framable = bool(speaker and signal and signal.speaker_mention
                    and re.search(r"[A-Z]", signal.speaker_mention + (speaker or "")[:1])
                    and (ctx.index.is_person(speaker) or any(c.isupper() for c in signal.speaker_mention)))
    fr = _frame(sentence, signal) if signal is not None and framable else None

    claims: list[AtomicClaim] = []
    if fr is not None and speaker and fr.prefix is not None:
        raw = sentence.text[:fr.prefix.end]
        text, _ = _resolve_dates(raw, sentence.start, dates)
        text = drop_back_references(text)
        for fact in split_facts(text, ctx.method, subject=_subject_of(text))[:max_claims - 1]:
            fact, ante = _resolve_pronouns(fact, n, sentence.start, ctx.index, None)
            claims.append(AtomicClaim(_finish(fact), sentence.id, dates=list(dates), antecedents=ante))
    if fr is not None and speaker:
        who = _speaker_phrase(sentence, signal, speaker, ctx.index) if signal else speaker
        who = who[:1].upper() + who[1:]
        facts: list[tuple[str, bool, int]] = []
        verb = fr.verb
        for piece in fr.content:
            raw = sentence.text[piece.start:piece.end]
            text, _ = _resolve_dates(raw, sentence.start + piece.start, dates)
            if piece.direct:
                facts += [(q, True, piece.start) for q in _quote_sentences(text) or [text.strip()]]
            else:
                facts += [(f, False, piece.start) for f in split_facts(text, ctx.method, subject=who)]
        spans = [(p.start, p.end) for p in [*fr.content, *filter(None, [fr.prefix])]]
        if fr.verb_span:
            spans.append(fr.verb_span)
            verb, _ = _resolve_dates(sentence.text[fr.verb_span[0]:fr.verb_span[1]].rstrip(),
                                     sentence.start + fr.verb_span[0], dates)
        frame_dates = [d for d in dates if not any(a <= d.start - sentence.start < b for a, b in spans)]
        when = ""
        if frame_dates and (p := date_phrase(frame_dates[0].resolved)) and "W" not in frame_dates[0].resolved:
            when = f" on {p}" if re.fullmatch(r"\d{4}-\d{2}-\d{2}", frame_dates[0].resolved) else f" in {p}"
        for fact, direct, start in facts[:max(1, max_claims - len(claims))]:
            own = not direct and fact.startswith(f"{who} ") and not sentence.text[start:].startswith(who)
            named = who if ctx.index.is_person(speaker) else None
            fact, ante = _resolve_pronouns(fact, n, sentence.start + start, ctx.index, speaker, named)
            if own:
                text = fact  # "... and said B" -> "Moscow said B": its own attribution
            elif fr.according:
                who_in = who[0].lower() + who[1:] if who.startswith("The ") else who
                text = f"According to {who_in}{when}, {_embed(fact, doc.text, ctx.method)}"
            elif direct:
                q = fact.strip().rstrip(",")
                text = f"{who} {verb}{when}: “{q[:1].upper() + q[1:]}”"
            else:
                text = f"{who} {verb}{when} that {_embed(fact, doc.text, ctx.method)}"
            claims.append(AtomicClaim(_finish(text), sentence.id, speaker=speaker,
                                      dates=list(dates), antecedents=ante))
    else:
        text, _ = _resolve_dates(sentence.text, sentence.start, dates)
        text = drop_back_references(_name_speaker(text, sentence, signal, speaker, dates))
        subject = _subject_of(text)
        for fact in split_facts(text, ctx.method, subject=subject)[:max_claims]:
            fact, ante = _resolve_pronouns(fact, n, sentence.start, ctx.index, speaker)
            claims.append(AtomicClaim(_finish(fact), sentence.id, speaker=speaker,
                                      dates=list(dates), antecedents=ante))

    checked = []
    for c in claims:
        sources = [*base_sources, *c.antecedents.values()]
        c.problems = claim_problems(c.text, sources)
        if not c.problems:
            checked.append(c)
    if checked:
        return checked
    return [_safe_form(doc, sentence, signal, speaker, dates, base_sources,
                       [p for c in claims for p in c.problems])]


def _speaker_phrase(sentence: Sentence, signal: sig.SentenceSignals, speaker: str,
                    index: SpeakerIndex) -> str:
    """A person by full name; a group as the sentence words it ("the Pentagon")."""
    if re.search(rf"\b[Tt]he {re.escape(speaker)}\b", sentence.text):
        return f"the {speaker}"
    if index.is_person(speaker) or signal.mention_start is None:
        return speaker
    before = sentence.text[:signal.mention_start - sentence.start]
    mention = signal.speaker_mention or ""
    if mention.lower() == f"the {speaker}".lower():
        return mention[0].lower() + mention[1:]
    if re.search(r"\bthe\s+$", before, re.I) and speaker == mention:
        return f"the {speaker}"
    if re.search(rf"\b[Tt]he {re.escape(speaker)}\b", sentence.text):
        return f"the {speaker}"
    return speaker


def _subject_of(text: str) -> str | None:
    """A leading proper-name subject ("Moscow acknowledged ... and said ..." -> "Moscow")."""
    m = re.match(r"((?:[A-Z][\w\u2019'\-]+\s+){0,3}[A-Z][\w\u2019'\-]+)\s+(?:[a-z]+ly\s+)?[a-z]+ed\b", text)
    if m and m.group(1).split()[0].lower() not in _LOWER_OK:
        return m.group(1)
    return None


def _name_speaker(text: str, sentence: Sentence, signal: sig.SentenceSignals | None,
                  speaker: str | None, dates: Sequence[DateResolution]) -> str:
    """Replace the sentence's speaker mention ("the spokeswoman", "he", "Kirby") by the
    full name. Done on the date-resolved text, so the mention is searched, not offset."""
    if not (speaker and signal and signal.speaker_mention and signal.mention_start is not None):
        return text
    mention = signal.speaker_mention
    if mention == speaker or clean_name(mention) == speaker:
        return text
    words = mention.lower().split()
    if not (words[-1] in PERSON_ROLES or words[-1] in ("he", "she") or speaker.endswith(mention)):
        return text
    pat = re.compile(rf"(?:\b[Tt]he\s+)?{re.escape(mention)}\b" if not mention.lower().startswith("the ")
                     else re.escape(mention))
    m = pat.search(text)
    if m is None:
        return text
    return text[:m.start()] + speaker + text[m.end():]


def _safe_form(doc: Document, sentence: Sentence, signal: sig.SentenceSignals | None,
               speaker: str | None, dates: Sequence[DateResolution], sources: list[str],
               problems: list[str]) -> AtomicClaim:
    text, _ = _resolve_dates(sentence.text, sentence.start, dates)
    text = _name_speaker(text, sentence, signal, speaker, dates)
    if not claim_problems(text, sources):
        return AtomicClaim(_finish(text), sentence.id, form="sentence_resolved", speaker=speaker,
                           dates=list(dates), problems=problems)
    return AtomicClaim(sentence.text.strip(), sentence.id, form="sentence", speaker=speaker,
                       dates=list(dates), problems=problems)


def main_claim(claims: Sequence[AtomicClaim], speaker: str | None = None) -> AtomicClaim:
    """One claim per sentence, where a caller keeps one: among those naming the speaker
    (all, when there is none), the one with the most figures, then the longest ("The US
    offers assistance to Kiev" < "There are some 200 Florida National Guard personnel")."""
    pool = list(claims)
    if speaker:
        key = speaker.split()[-1].lower()
        pool = [c for c in claims if key in c.text.lower()] or pool
    return max(pool, key=lambda c: (len(numbers_in(c.text)), len(c.text)))
