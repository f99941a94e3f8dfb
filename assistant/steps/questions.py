"""Verification questions that target the claim's fact: built from the parse, and checked.

A fact-checker needs, per claim, a yes/no question restating its checkable core ("Did a
cyberattack hit about 70 Ukrainian government web pages on 14 January 2022?"), a
wh-question for the number, date or identity at stake ("How many ...?", "When ...?",
"Who ...?"), and, when the claim is attributed, the on-record question ("Did Jen Psaki say
on 14 January 2022 that ...?", or "What did Kirron Kher say about rape?"). A claim that
embeds another ("Charlie Kirk claimed ... Joe Biden said he wants to ban fracking") is
asked about the embedded fact ("Does Biden want to ban fracking in the US?") as well as
on record. Every question, the model's or code's, is held to `question_problems`:

    carries      the claim's names (at least one; for a question about reported content,
                 that content's own names, none for a general statement such as "Is 5G
                 technology not safe?"); for yes/no and on-record questions its central
                 figures and its date; no figure the claim does not have
    standalone   no "the article"/"this claim", no "this"/"these"/"such", no he/she/they
                 outside quotation marks (a pronoun inside a name, "My Lai", is no
                 reference), never "who said it"
    grammatical  opens like a question (auxiliary or wh-word), ends in one "?",
                 4-45 words, no "is according to", no doubled word ("that that"),
                 do-support with a base verb and no modal ("Does Biden wants", "Did the
                 talks would" are rejected)

`code_questions` builds them from a spaCy dependency parse of the claim (subject, verb,
object; auxiliary inversion or do-support, coordinated verbs in their base form), with
relative dates written out from `assistant.text.dates` and figures from
`assistant.text.numbers`. A headline-cased claim is lower-cased where it is a function word
or an -ed/-ing verb before parsing ("... Is Destroying Our Country"); a consequence clause
is asked with its cause ("Would scores of people lose their jobs because Indian Railways
has been completely privatized?"); a claim no clause of which inverts still gets "Is it
true that ...?". A candidate that fails the checks is left out and the next form is tried.
Each text is parsed once (`_parse`, cached): the checks re-read the same claim. Without
spaCy a reporting frame and a leading auxiliary are read by regex ("Has Indian Railways
been completely privatized?"), else "Is it true that ...?". Who could answer is the body
that holds the record (the speaker's office for on-record questions, an organisation the
claim names for the others), not the article's speaker by default.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal

from assistant.schemas import Claim, ClaimType, VerificationMethod, VerificationQuestion
from assistant.text import signals as sig
from assistant.text.attribution import (
    GROUP_NOUNS,
    ORG_WORDS,
    PERSON_ROLES,
    SAY_LEMMAS,
    TITLE_WORDS,
    regex_names,
    words,
)
from assistant.text.dates import find_dates
from assistant.text.grounding import numbers_in
from assistant.text.numbers import direct_quotes, find_numbers

__all__ = ["QuestionKind", "code_questions", "format_date", "question_kind", "question_problems",
           "reported_content", "sentence_case", "who_could_answer"]

QuestionKind = Literal["yes_no", "wh", "on_record"]

_AUX_START = ["is", "are", "was", "were", "do", "does", "did", "has", "have", "had", "will", "would", "can", "could", "should", "shall", "may", "might", "must"]
_WH_START = ["how", "what", "when", "where", "who", "whom", "which", "why", "whose"]
_PREP_START = ["in", "on", "at", "by", "for", "from", "to", "under", "since", "during", "with", "of"]
ARTICLE_WORDS = ("the article", "this article", "the report", "this report", "the text",
                 "the story", "this story", "the claim", "this claim", "the statement",
                 "this statement", "the sentence", "the author", "mentioned above", "the above",
                 "according to this", "according to it")
_DANGLING = re.compile(r"\b(?:[Tt]his|[Tt]hese|[Tt]hose|[Ss]uch|[Hh]e|[Ss]he|[Hh]im|[Hh]is|[Hh]ers|"
                       r"[Tt]hey|[Tt]hem|[Tt]heir|[Tt]heirs|[Ii]ts|[Ww]e|[Uu]s|[Oo]ur|I|[Mm]y)\b")
_QUOTED = re.compile(r"[“\"«][^”\"»]*[”\"»]")
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
_WHO_SAID = re.compile(r"^\s*who\s+(?:said|claimed|made|stated|says)\b", re.I)


def question_kind(text: str) -> QuestionKind:
    first = text.strip().split()[0].lower() if text.strip() else ""
    if re.match(r"^\s*(?:did|does|has|have)\s+.{2,60}?\s+(?:say|said|state|stated|claim|claimed|"
                r"tell|told|announce|announced|write|wrote)\b", text, re.I):
        return "on_record"
    if first in _WH_START or (first in _PREP_START and re.search(r"\b(?:how|what|which)\b",
                                                                 text.lower()[:40])):
        return "wh"
    return "yes_no"


# --------------------------------------------------------------------------- facts


def format_date(resolved: str) -> str:
    """'2022-01-14' -> 'on 14 January 2022'; '2021-12' -> 'in December 2021'; '2014' -> 'in
    2014'; '2022-W02' -> 'in the week of 10 January 2022'."""
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", resolved):
        return f"on {int(m[3])} {_MONTHS[int(m[2]) - 1]} {m[1]}"
    if m := re.fullmatch(r"(\d{4})-(\d{2})", resolved):
        return f"in {_MONTHS[int(m[2]) - 1]} {m[1]}"
    if m := re.fullmatch(r"(\d{4})-W(\d{2})", resolved):
        monday = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
        return f"in the week of {monday.day} {_MONTHS[monday.month - 1]} {monday.year}"
    return f"in {resolved}"


def with_dates(claim: Claim) -> str:
    """The claim's text with each relative date expression written out ("This Friday" ->
    "On 14 January 2022"); a preposition before the expression is absorbed."""
    text = claim.text
    for d in sorted(claim.dates, key=lambda d: -len(d.expression)):
        phrase = format_date(d.resolved)
        pattern = re.compile(r"(?:\b(?:on|in|during|by)\s+)?" + re.escape(d.expression) + r"(?![-–]\w)", re.I)
        m = pattern.search(text)
        if m is None:
            continue
        if re.search(r"\b(?:since|until|till|before|after|from|by|as late as|as early as)\s*$",
                     text[:m.start()], re.I):
            phrase = re.sub(r"^(?:on|in) ", "", phrase)  # "since Monday" -> "since 26 August 2023"
        elif m.group(0)[:1].isupper() and (m.start() == 0 or re.search(r"[.!?“\"]\s*$", text[:m.start()])):
            phrase = phrase[:1].upper() + phrase[1:]  # only where a sentence starts
        text = text[:m.start()] + phrase + text[m.end():]
    return text


def _parse(text: str) -> Any:
    """The spaCy parse of `text`, once: the checks re-read the same claim and question
    texts many times (a parse is ~10-40 ms on a loaded CPU). None without spaCy."""
    nlp = sig._nlp()
    return _parse_with(nlp, text) if nlp is not None else None


@lru_cache(maxsize=256)
def _parse_with(nlp: Any, text: str) -> Any:
    # Keyed on the pipeline too: a "no spaCy" None is never cached and then served to a
    # process (or test) that has the parser.
    return nlp(text)


_FUNCTION_WORDS = words("a an the is are was were be been being am has have had do does did will would "
                        "can could should shall may might must of in on at to for from by with as and or "
                        "but not no it its our their his her my your we they he she you this that these "
                        "those over under into onto about after before against than then so if cannot")


def sentence_case(text: str) -> str:
    """A headline-cased claim ("Billie Eilish Is Destroying Our Country") with its function
    words and -ed/-ing verbs lower-cased, so that the parse finds the verb; other text as is."""
    tokens = re.findall(r"[A-Za-z][\w’'-]*", text)
    rest = [t for t in tokens[1:] if len(t) > 1]
    if len(tokens) < 4 or sum(t[:1].isupper() for t in rest) < 0.6 * len(rest):
        return text

    def lower(m: re.Match[str]) -> str:
        w = m.group(0)
        if m.start() == 0 or w.isupper() or not w[:1].isupper():
            return w
        if w.lower() in _FUNCTION_WORDS or re.search(r"(?:ed|ing)$", w):
            return w.lower()
        return w

    return re.sub(r"[A-Za-z][\w’'-]*", lower, text)


def _terms(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[\w’'-]+", text)}


def claim_names(claim: Claim, text: str | None = None) -> list[str]:
    """Names the claim turns on: spaCy entities (PERSON ORG GPE NORP EVENT LAW FAC LOC) or,
    without spaCy, capitalised name sequences; the speaker first."""
    text = text if text is not None else claim.text
    names: list[str] = []
    parsed = _parse(text)
    if parsed is not None:
        names = [e.text for e in parsed.ents
                 if e.label_ in ("PERSON", "ORG", "GPE", "NORP", "EVENT", "LAW", "FAC", "LOC")]
    else:
        names = [text[a:b] for a, b in regex_names(text)]
    if claim.attribution.speaker and claim.attribution.speaker[:1].isupper():
        names.insert(0, claim.attribution.speaker)
    names = [re.sub(r"^(?:the|The)\s+", "", n) for n in names]
    return list(dict.fromkeys(n for n in names if n))


def _name_present(name: str, question: str) -> bool:
    words = [w for w in _terms(name) if len(w) > 2 and w.capitalize() not in TITLE_WORDS]
    q = _terms(question)
    return (bool(words) and any(w in q or w.rstrip("s") in q for w in words)) or name.lower() in question.lower()


def _date_present(claim: Claim, question: str) -> bool:
    q = question.lower()
    for d in claim.dates:
        if d.expression.lower() in q:
            return True
        year = d.resolved[:4]
        if year in q:
            return True
    return bool(find_dates(question)) or bool(re.search(r"\b(?:1[6-9]|20)\d\d\b", question))


def _claim_has_date(claim: Claim) -> bool:
    return bool(claim.dates) or bool(find_dates(claim.text))


def _central_numbers(text: str) -> set[str]:
    ages = set(re.findall(r"[A-Z][\w’'-]+,\s(\d{1,3}),", text))  # "Edith Marwood, 74, ..."
    return {n.replace(",", "") for x in find_numbers(text) if x.central
            for n in numbers_in(x.text)} - ages


# --------------------------------------------------------------------------- checks


def question_problems(question: str, claim: Claim, kind: QuestionKind | None = None,
                      fact: str | None = None) -> list[str]:
    """Why `question` is not a usable verification question for `claim` (empty: usable).

    `fact`: the part of the claim the question asks about (the reported content of "the
    magazine warned that 5G technology is not safe"); the question must then carry that
    part's names, not the speaker's."""
    problems = []
    q = question.strip()
    kind = kind or question_kind(q)
    lower = q.lower()
    words = q.split()
    outside = _QUOTED.sub(" ", q)
    if kind == "on_record" and " that " in outside:  # the reported words must stand alone too
        outside = "Is " + outside.split(" that ", 1)[1]
    first = words[0].lower().strip("“\"") if words else ""
    # grammatical
    if not q.endswith("?") or q.count("?") > 1:
        problems.append("must be one question ending in '?'")
    if not 4 <= len(words) <= 45:
        problems.append(f"{len(words)} words (4-45 expected)")
    if first not in _AUX_START + _WH_START + _PREP_START:
        problems.append(f"does not open like a question ({words[0] if words else ''!r})")
    if re.search(r"\b(?:is|are|was|were|be)\s+according\b", lower):
        problems.append("'is according to' is not English")
    if re.match(r"(?i)(?:did|does|do)\s+(?:[\w’'.-]+\s+){1,6}?(?:would|will|can|could|should|must|shall|might)\b",
                q) and kind != "on_record":
        problems.append("do-support before a modal ('Did the talks would ...')")
    elif kind != "on_record" and first in ("did", "does", "do") and (parsed := _parse(q)) is not None:
        root = next((t for t in parsed if t.dep_ == "ROOT"), None)
        if root is not None and root.tag_ in ("VBD", "VBN", "VBZ") and root.lower_ != root.lemma_.lower() \
                and any(c.i == 0 and c.dep_ == "aux" for c in root.children):
            problems.append(f"do-support takes the base form, not {root.text!r}")
    if (twice := re.search(r"\b(\w+)\s+\1\b", lower)) and twice.group(0) not in claim.text.lower():
        problems.append("a doubled word")  # "that that"; one the claim itself has is its own
    # standalone
    if any(w in lower and w not in claim.text.lower() for w in ARTICLE_WORDS):
        problems.append("refers to the article instead of naming who, what and when")
    if _WHO_SAID.search(q):
        problems.append("asks who said it, not whether it is true")
    in_names = [(m.start(), m.end()) for n in claim_names(claim) if len(n.split()) > 1
                for m in re.finditer(re.escape(n), outside)]  # "the My Lai Massacre"
    for m in _DANGLING.finditer(outside):
        word = m.group(0).lower()
        if any(a <= m.start() < b for a, b in in_names):
            continue
        head = outside[:m.start()]
        named_before = re.search(r"\b[A-Z][\w’'-]+", head.split(" ", 1)[1] if " " in head else "")
        if word in ("he", "she", "him", "his", "her", "hers") and named_before:
            continue  # refers back to a name the question gives
        if word in ("its", "they", "them", "their") and len(head.split()) >= 3:
            continue  # after a noun phrase of the question's own ("a city's ... its club")
        problems.append(f"dangling reference {m.group(0)!r}")
        break
    bare = re.sub(r"\b[Ii]s it (?:true|the case|accurate)\b", "", outside)
    if (it := re.search(r"\bit\b", bare, re.I)) and not re.search(
            r"\b(?:the|a|an)\s+\w+|\s[A-Z][\w’'-]+", bare[:it.start()]):
        problems.append("dangling reference 'it'")
    # carries the claim's facts
    names = claim_names(claim, with_dates(claim))
    if fact is None and kind == "yes_no":
        fact = reported_content(claim)
    if fact is not None and kind != "on_record":
        own = [n for n in claim_names(claim, fact) if n.lower() in fact.lower()] + [
            fact[a:b] for a, b in regex_names(fact) if a > 0]  # names the small parser misses
        # The reported content need not name its speaker: by its own names, or none when it
        # is a general statement ("Is 5G technology not safe?"); "Had the city known ...?"
        # and "Had an internal memo warned ...?" still need the claim's names.
        if own or not re.search(r"\b(?:the|a|an)\b", outside, re.I):
            names = own
    if names and not any(_name_present(n, q) for n in names):
        problems.append(f"names none of {', '.join(names[:4])}")
    claim_numbers = numbers_in(with_dates(claim)) | numbers_in(claim.text) | {
        n for d in claim.dates for n in numbers_in(format_date(d.resolved))}
    if claim.as_of:
        claim_numbers |= numbers_in(format_date(claim.as_of))
    if extra := numbers_in(q) - claim_numbers - {str(int(x)) for x in claim_numbers if x.isdigit()}:
        problems.append(f"figure(s) {', '.join(sorted(extra))} not in the claim")
    if kind == "yes_no":
        central = _central_numbers(claim.text)
        if central and not central & numbers_in(q):
            problems.append(f"leaves out the figure {', '.join(sorted(central))}")
        if _claim_has_date(claim) and not _date_present(claim, q):
            problems.append("leaves out the date")
    return problems


# --------------------------------------------------------------------------- who, method


def _role_body(role: str) -> str | None:
    """'Defense Department spokesman' -> 'Defense Department'; 'White House Press Secretary'
    -> 'White House'; None when the role names no body."""
    words = role.replace(",", " ").split()
    while words and words[0] in ("The", "the"):
        words.pop(0)
    lead = []
    for w in words:  # the capitalised run before the office: "Defense Department"
        if not w[:1].isupper():
            break
        lead.append(w)
    while lead and (lead[-1] in TITLE_WORDS or lead[-1].lower() in PERSON_ROLES | {"press"}):
        lead.pop()
    if not lead or (len(lead) == 1 and lead[0] not in _ORG_TAIL):
        return None  # "Premier", "Local": an office or an adjective, not a body
    return " ".join(lead)


def _bodies(text: str, skip: str | None) -> list[str]:
    parsed = _parse(text)
    if parsed is None:
        return []
    out = []
    for e in parsed.ents:
        if e.label_ in ("ORG", "GPE") and (not skip or e.text not in skip):
            name = re.sub(r"^the ", "", e.text)
            if e.label_ == "ORG":
                out.append(name)
            else:
                out.append(f"the {name} government" if name.isupper() else f"the government of {name}")
    return out


def who_could_answer(claim: Claim, method: VerificationMethod, core: str | None = None) -> str:
    """The body that holds the record for `method`, not the article's speaker by default."""
    speaker, role = claim.attribution.speaker, claim.attribution.role
    if method == VerificationMethod.on_record_confirmation and speaker:
        body = _role_body(role) if role else None
        return f"{body} (transcripts and published statements)" if body \
            else f"published statements and transcripts of {speaker}"
    bodies = _bodies(core or claim.text, speaker)
    if bodies:
        lead = bodies[0]
        return {VerificationMethod.dataset: f"{lead} (published figures)",
                VerificationMethod.official_record: f"{lead} (official records)",
                VerificationMethod.primary_document: f"{lead} (the document itself)"}.get(method, lead)
    return {VerificationMethod.dataset: "the agency that publishes the figures",
            VerificationMethod.official_record: "the public body that keeps the record",
            VerificationMethod.primary_document: "the body that issued the document",
            VerificationMethod.expert: "independent specialists in the field",
            }.get(method, "independent news reports")


def method_for(claim: Claim, kind: QuestionKind, question: str = "") -> VerificationMethod:
    if kind == "on_record" or re.match(r"(?i)what did .{2,80}? say\b", question):
        return VerificationMethod.on_record_confirmation
    return {
        ClaimType.statistic: VerificationMethod.official_record,  # counts are kept by a body
        ClaimType.event: VerificationMethod.official_record,
        ClaimType.position_policy: VerificationMethod.primary_document,
        ClaimType.causal: VerificationMethod.expert,
        ClaimType.prediction: VerificationMethod.expert,
        ClaimType.attributed_statement: VerificationMethod.primary_document,
    }.get(claim.type, VerificationMethod.other_outlets)


# --------------------------------------------------------------------------- building

_ORG_TAIL = ORG_WORDS | words("Board Authority Association Club Federation Unit Mission Institute "
                               "Society Foundation Centre Center Tribunal Assembly Chamber Commission")
_BODY_NOUNS = words("government administration ministry department police military army "
                    "authorities council commission agency office")
_DROP_DEPS = {"advcl", "prep", "advmod", "npadvmod", "intj", "mark", "cc", "punct", "dep",
              "parataxis", "meta", "prt"}
_DEMONSTRATIVE = {"this": "the", "these": "the", "that": "the", "those": "the", "such": "the"}
_MAX_WORDS = 30
_SINGLE_QUOTED = re.compile(r"(?:^|(?<=[\s:]))['‘]([^'‘’\n]{8,}?)['’](?=[\s.,;:!?]|$)")
_REGEX_FRAME = re.compile(  # without a parse: "<Name ...> said/claimed (on <date>) (that|:) <content>"
    r"^(?P<who>[A-Z][^,:;“\"]{1,60}?)\s+(?:said|says|claimed|claims|stated|states|warned|reported|"
    r"announced|tweeted|wrote|declared)(?:\s+(?:on|in)\s+[^:,]{2,25}?)?(?:\s+that|:|,)?\s+(?P<what>.+)$")
_REGEX_LEANS = re.compile(r"^(he|she|they|it|we|i|this|these)\s+", re.IGNORECASE)
_REGEX_SAYS = re.compile(r"\b(?:said|says|told|claimed|claims|stated|warned|added)\b")
_REGEX_AUX = re.compile(r"^(?P<subj>(?:[\w’'%$.&()-]+\s){1,8}?)(?P<aux>is|are|was|were|has|have|had|will|"
                        r"would|can|could|should)\s+(?P<rest>\S.*)$")


def _lower_first(text: str) -> str:
    """'The FBI ...' -> 'the FBI ...', 'Wearing masks' -> 'wearing masks'; a name stays."""
    first = text.split(" ", 1)[0]
    if first.lower() in _FUNCTION_WORDS or (first.endswith("ing") and first[1:].islower()):
        return text[:1].lower() + text[1:]
    return text


def _regex_inverted(text: str) -> str | None:
    """'Indian Railways has been completely privatized' -> 'Has Indian Railways been
    completely privatized?' without a parse: the first auxiliary after a short subject with
    no clause of its own (no comma, no who/that/which)."""
    first = re.split(r",\s+(?:and|but|while|as)\b|;", text, maxsplit=1)[0].rstrip(" .")
    m = _REGEX_AUX.match(first)
    if m is None or re.search(r"(?i)\b(?:who|that|which|whose|where|when|if|because)\b|,", m["subj"]) \
            or _REGEX_SAYS.search(m["subj"]):  # "X said the company had ..." has no such subject
        return None
    subj = _lower_first(m["subj"].strip())
    return f"{m['aux'].capitalize()} {subj} {m['rest']}?"


_RESULT = re.compile(r"\b(?:as a (?:result|consequence)|therefore|consequently|hence)\b", re.I)


def _clause_head(sent: Any, claim: Claim) -> tuple[Any, bool]:
    """The verb of the reported content when the claim is attributed, else the root; and
    whether it is reported content."""
    root = next((t for t in sent if t.dep_ == "ROOT"), sent[0])
    # A reporting frame at the root, attributed or not ("the union claims ...").
    for tok in sent:
        if tok.lemma_ in SAY_LEMMAS and tok.pos_ in ("VERB", "AUX") and (
                tok.dep_ in ("ROOT", "parataxis") or (tok.dep_ == "conj" and tok.head.dep_ == "ROOT")
                or tok.text == claim.attribution.verb):  # "..., where he warned that ..."
            content = next((c for c in tok.children if c.dep_ in ("ccomp", "xcomp")
                            and c.pos_ in ("VERB", "AUX")), None)
            if content is None and tok.dep_ in ("ccomp", "parataxis") and tok.head.pos_ in ("VERB", "AUX"):
                content = tok.head  # "“...,” Kirby said": the quote is the root
            if content is not None and content.i != tok.i:
                # "Kirk claimed that Biden said he wants ...": the fact is Biden's position
                while content.lemma_ in SAY_LEMMAS and (deeper := next(
                        (c for c in content.children if c.dep_ == "ccomp" and c.pos_ in ("VERB", "AUX")),
                        None)) is not None:
                    content = deeper
                return content, True
    return root, False


def reported_content(claim: Claim) -> str | None:
    """The reported content of a claim with a reporting frame ("Scientific American warned
    that 5G technology is not safe" -> "5G technology is not safe"); None when it has none
    or without spaCy."""
    sent = _parse(sentence_case(with_dates(claim)))
    if sent is None or not len(sent):
        return None
    head, reported = _clause_head(sent, claim)
    if not reported or _subject(head) is None:
        return None
    return _Clause(head, claim.attribution.speaker).declarative() or None


def _say_date(content: Any) -> str | None:
    """The date the claim gives its saying ("Jen Psaki said on 14 January 2022 that ..."):
    'on 14 January 2022', from a date phrase with a year on the reporting verb."""
    for verb in content.ancestors:
        if verb.lemma_ not in SAY_LEMMAS:
            continue
        for child in verb.children:
            span = sorted(_skip_subtree(child))
            text = " ".join(verb.doc[i].text for i in span)
            if child.dep_ in ("prep", "npadvmod") and len(span) <= 6 and \
                    any(verb.doc[i].ent_type_ == "DATE" for i in span) and re.search(r"\b(?:1[6-9]|20)\d\d\b", text):
                return text if child.dep_ == "prep" else f"on {text}"
    return None


def _purpose(verb: Any) -> bool:
    """A to-infinitive with no subject of its own: "... positioned operatives to carry out ..."."""
    return verb.tag_ == "VB" and _subject(verb) is None and any(
        c.dep_ == "aux" and c.lower_ == "to" for c in verb.children)


def _subject(verb: Any) -> Any:
    return next((c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass", "expl", "csubj")), None)


def _skip_subtree(tok: Any) -> set[int]:
    return {t.i for t in tok.subtree}


def _render(tokens: Sequence[Any], replace: dict[int, str] | None = None) -> str:
    replace = replace or {}
    out = ""
    prev = None
    for t in tokens:
        word = replace.get(t.i, t.text)
        if not word:
            continue
        if prev is not None and prev != t.i - 1 and out and not out.endswith(" "):
            out += " "  # a token was left out between these two
        out += word + (t.whitespace_ if t.i not in replace or t.whitespace_ else " ")
        prev = t.i
    out = re.sub(r"(?i),?\s*\bfor (?:his|her|its|their|our|my) part\b,?", "", out)
    text = re.sub(r"\s+([,.;:!?”)])", r"\1", out)
    text = re.sub(r"([“(])\s+", r"\1", text)
    text = re.sub(r"\s*,\s*(?=[,?]|$)", "", text.strip())
    text = re.sub(r"\s+", " ", text).strip(" ,;:–-")
    if text.count("“") > text.count("”"):
        text = text.replace("“", "")
    if text.count("”") > text.count("“"):
        text = text.replace("”", "")
    return text


class _Clause:
    """One clause of a parsed claim: its verb, subject and the tokens kept."""

    def __init__(self, verb: Any, speaker: str | None) -> None:
        self.verb = verb
        self.subj = _subject(verb)
        self.keep: set[int] = set()
        drop: set[int] = set()
        subj_start = min(t.i for t in self.subj.subtree) if self.subj is not None else verb.i
        self.dates: list[str] = []
        for child in verb.children:
            if self.subj is not None and child.i == self.subj.i:
                continue
            span = _skip_subtree(child)
            text = " ".join(verb.doc[i].text for i in sorted(span))
            is_date = any(verb.doc[i].ent_type_ == "DATE" for i in span) and len(span) <= 8
            if child.i < subj_start and child.dep_ in _DROP_DEPS | {"ccomp", "nsubj"}:
                drop |= span  # "Against this background, ...", "Parallel to this ...,"
                if is_date:
                    self.dates.append(text)
            elif child.dep_ == "conj" and child.pos_ in ("VERB", "AUX") and _subject(child) is not None:
                drop |= span  # a second clause with its own subject: not this claim
            elif (child.dep_ == "cc" and any(c.dep_ == "conj" and _subject(c) is not None
                                            for c in verb.children)) or (
                    child.dep_ in ("advcl", "parataxis") and child.i > verb.i and not _purpose(child)):
                drop |= span  # a purpose ("... operatives to carry out a false flag operation") stays
        for t in verb.subtree:  # "scores of people including those from ...": no antecedent
            if t.lower_ in ("those", "these", "this", "that") and t.pos_ == "PRON" and t.dep_ == "pobj" \
                    and t.head.dep_ == "prep" and t.head.head.i != verb.i:
                drop |= _skip_subtree(t.head)
        self.keep = {t.i for t in verb.subtree} - drop
        self.replace: dict[int, str] = {}
        for t in verb.subtree:
            if t.lower_ in ("our", "my") and t.dep_ == "poss" and t.ent_type_ == "" and t.i in self.keep:
                self.replace[t.i] = "the"  # reported speech: "is destroying our country"
            if t.lower_ in _DEMONSTRATIVE and t.dep_ in ("det", "predet") and t.i in self.keep:
                self.replace[t.i] = _DEMONSTRATIVE[t.lower_]
            if t.lower_ in ("he", "she", "him", "her", "his") and speaker and t.i in self.keep:
                before = [e for e in verb.doc.ents if e.label_ == "PERSON" and e.end <= t.i]
                last = (before[-1].text if before else speaker).split()[-1]
                self.replace[t.i] = last + ("’s" if t.lower_ in ("his",) or (t.lower_ == "her" and t.dep_ == "poss") else "")
        if self.subj is not None and self.subj.i == min(self.keep, default=-1) \
                and self.subj.pos_ != "PROPN" and self.subj.ent_type_ == "" and self.subj.i in self.replace:
            pass

    def tokens(self, without: set[int] = frozenset()) -> list[Any]:  # type: ignore[assignment]
        return [t for t in self.verb.doc if t.i in self.keep and t.i not in without]

    def shorten(self) -> None:
        """Drop relative clauses, appositions and late modifiers until short enough."""
        for deps in (("relcl", "appos"), ("prep", "advmod", "npadvmod", "dative"), ("advcl", "acl")):
            while len(self.tokens()) > _MAX_WORDS:
                cands = [t for t in self.verb.subtree if t.i in self.keep and t.dep_ in deps
                         and t.i > self.verb.i]
                if not cands:
                    break
                last = max(cands, key=lambda t: t.i)
                self.keep -= _skip_subtree(last)

    def declarative(self) -> str:
        text = _render(self.tokens(), self.replace)
        first = self.tokens()[0] if self.tokens() else None
        if first is not None and first.pos_ not in ("PROPN",) and first.ent_type_ == "" \
                and first.i not in self.replace and text[:1].isupper() and first.text != "I":
            text = text[:1].lower() + text[1:]
        return text

    def inverted(self, without: set[int] = frozenset()) -> str | None:  # type: ignore[assignment]
        """Yes/no word order: auxiliary first, or do-support ("Did Russia position ...")."""
        verb, subj = self.verb, self.subj
        if subj is None or subj.i > verb.i or (subj.i in without):
            return None
        aux = next((c for c in verb.children if c.dep_ in ("aux", "auxpass") and c.i < verb.i
                    and c.i in self.keep), None)
        toks = self.tokens(without)
        subj_ids = _skip_subtree(subj) & self.keep
        replace = dict(self.replace)
        if aux is not None and aux.lower_ not in ("to",):
            head_word, moved = aux.text, aux.i
        elif verb.lemma_ == "be" and verb.tag_ in ("VBZ", "VBP", "VBD"):
            head_word, moved = verb.text, verb.i
        elif verb.tag_ in ("VBD", "VBZ", "VBP"):
            head_word = {"VBD": "did", "VBZ": "does", "VBP": "do"}[verb.tag_]
            moved = None
            replace[verb.i] = _base_form(verb)
            for c in verb.children:  # "did Marcos and Rizal establish and found ..."
                if c.dep_ == "conj" and c.tag_ == verb.tag_ and _subject(c) is None:
                    replace[c.i] = _base_form(c)
        else:
            return None
        subject = [t for t in toks if t.i in subj_ids]
        rest = [t for t in toks if t.i not in subj_ids and t.i != moved]
        pre = [t for t in rest if t.i < min(subj_ids, default=verb.i)]
        post = [t for t in rest if t.i >= min(subj_ids, default=verb.i)]
        subj_text = _render(subject, replace)
        first = subject[0] if subject else None
        if first is not None and first.i not in replace and (
                (first.pos_ != "PROPN" and first.ent_type_ in ("", "DATE", "CARDINAL", "QUANTITY", "MONEY",
                                                               "PERCENT")) or first.lower_ in ("the", "a", "an")) \
                and subj_text[:1].isupper() and subj_text.split()[0] != "I":
            subj_text = subj_text[:1].lower() + subj_text[1:]
        body = " ".join(x for x in (_render(pre, replace), subj_text, _render(post, replace)) if x)
        head = head_word.lower()
        head = {"ca": "can", "wo": "will", "sha": "shall"}.get(head, head)
        return f"{head.capitalize()} {body}"


def _base_form(verb: Any) -> str:
    """The verb's lemma, repaired where the small model strips an e ("staged" -> "stag")."""
    lemma, text = str(verb.lemma_), str(verb.lower_)
    if text in (lemma + "ed", lemma + "es") and len(lemma) <= 4 and re.fullmatch(r"[^aeiou]*[aeiou][^aeiouwxy]", lemma):
        return lemma + "e"
    return lemma


def _finish(text: str, dates: Sequence[str]) -> str:
    text = re.sub(r"\s+", " ", text).strip(" ,;:.–-")
    for d in dates:
        d = d[:1].lower() + d[1:] if re.match(r"(?:On|In|During)\b", d) else d
        if d.lower() not in text.lower():
            text += " " + (d if re.match(r"(?i)^(?:on|in|during|as of)\b", d) else f"on {d}")
    text = re.sub(r"[.,;:]+([”\"])$", r"\1", text)
    return text[:1].upper() + text[1:] + "?"


def _number_target(clause: _Clause, claim: Claim) -> tuple[Any, str] | None:
    """The noun a central figure counts ("200 ... personnel") and 'How many' / 'How much'."""
    central = _central_numbers(claim.text)
    for t in clause.tokens():
        if not (t.like_num or t.ent_type_ in ("MONEY", "PERCENT", "CARDINAL", "QUANTITY")):
            continue
        if not t.whitespace_ and t.i + 1 < len(t.doc) and t.doc[t.i + 1].is_alpha and t.doc[t.i + 1].is_upper:
            continue  # "5G", "4K": a name, not a count ("1kg" is one)
        if not any(n in t.text.replace(",", "") for n in central) and t.text.replace(",", "") not in central:
            continue
        money = t.ent_type_ == "MONEY" or any(c.text in "$€£" for c in t.head.children) \
            or t.head.lower_ in ("million", "billion", "dollars", "euros")
        noun = t.head if t.dep_ in ("nummod", "quantmod", "compound") else t
        while noun.dep_ in ("nummod", "quantmod", "compound") and noun.head.i != noun.i:
            noun = noun.head
        if noun.lower_ in ("%", "percent", "per cent") or noun.ent_type_ == "PERCENT":
            return noun, "What percentage"  # "52% of Nigeria's population lives ..."
        if noun.pos_ not in ("NOUN", "PROPN", "NUM"):
            return None
        return noun, "How much" if money else "How many"
    return None


def _wh_number(clause: _Clause, claim: Claim) -> str | None:
    found = _number_target(clause, claim)
    if found is None:
        return None
    noun, wh = found
    np_ids = _skip_subtree(noun) & clause.keep
    aside = {t.i for a in noun.subtree if a.dep_ in ("appos", "relcl", "acl") and a.i in np_ids
             for t in a.subtree}
    opened = [t.i for t in noun.subtree if t.text == "("]
    closed = [t.i for t in noun.subtree if t.text == ")"]
    if opened and closed:  # "Florida National Guard (USA) personnel"
        aside |= set(range(opened[0], closed[-1] + 1))
    aside |= {t.i for c in noun.subtree if c.like_num or c.ent_type_ in ("CARDINAL", "MONEY")
              for t in c.subtree}
    counted = [t for t in noun.subtree if t.i in clause.keep and t.i not in aside
               and t.dep_ not in ("nummod", "quantmod", "det")
               and not t.like_num and t.text not in "$€£" and t.dep_ != "relcl"
               and not any(a.dep_ == "relcl" for a in t.ancestors if a.i in np_ids and a.i != noun.i)]
    phrase = "" if wh == "How much" else _render(counted, clause.replace)
    if wh == "What percentage":  # keep only "of <whole>"
        of = next((c for c in noun.children if c.dep_ == "prep" and c.lower_ == "of"), None)
        phrase = _render([t for t in of.subtree if t.i in clause.keep], clause.replace) if of is not None else ""
    elif noun.lower_ in ("million", "billion", "thousand"):
        phrase = ""
    subj_ids = _skip_subtree(clause.subj) if clause.subj is not None else set()
    if noun.i in subj_ids and noun.i == (clause.subj.i if clause.subj is not None else -1):
        rest = [t for t in clause.tokens() if t.i not in np_ids]
        return f"{wh} {phrase} {_render(rest, clause.replace)}".replace("  ", " ")
    prep = noun.head if noun.dep_ == "pobj" else None
    if prep is not None and prep.head.i == clause.verb.i and prep.i not in subj_ids:
        body = clause.inverted(without=_skip_subtree(prep) | np_ids)
        return f"{prep.text.capitalize()} {wh.lower()} {phrase} {body[0].lower()}{body[1:]}" if body else None
    if noun.dep_ in ("dobj", "attr", "npadvmod", "oprd") and noun.i not in subj_ids:
        body = clause.inverted(without=np_ids)
        return f"{wh} {phrase} {body[0].lower()}{body[1:]}" if body else None
    return None


def _wh_identity(clause: _Clause) -> str | None:
    """'Who endorsed Donald Trump's bid for re-election?' when the subject is a named
    person or body: the identity at stake, asked with the rest of the clause."""
    subj, verb = clause.subj, clause.verb
    if subj is None or subj.dep_ != "nsubj" or subj.i > verb.i or verb.tag_ not in ("VBD", "VBZ", "VBP"):
        return None
    label = subj.ent_type_
    if label not in ("PERSON", "ORG", "NORP") or verb.lemma_ in ("be", "have"):
        return None  # a place as the subject is too often a misread name ("Ernest Medina")
    subj_ids = _skip_subtree(subj)
    rest = [t for t in clause.tokens() if t.i not in subj_ids and t.i >= verb.i]
    if len(rest) < 2:
        return None
    return f"Who {_render(rest, clause.replace)}"


def _wh_date(clause: _Clause, dates: Sequence[str]) -> str | None:
    verb = clause.verb
    date_ids: set[int] = set()
    for child in verb.children:
        span = _skip_subtree(child)
        if child.dep_ in ("prep", "npadvmod", "pobj") and len(span) <= 6 and \
                all(verb.doc[i].ent_type_ == "DATE" or verb.doc[i].dep_ == "prep" for i in span):
            date_ids |= span
    if not date_ids and not dates:
        return None
    body = clause.inverted(without=date_ids)
    return f"When {body[0].lower()}{body[1:]}" if body else None


def _question(claim: Claim, text: str, kind: QuestionKind, core: str | None = None) -> VerificationQuestion:
    method = method_for(claim, kind, text)
    return VerificationQuestion(claim_id=claim.id, question=text, method=method,
                                who_could_answer=who_could_answer(claim, method, core))


def _say_when(claim: Claim) -> str:
    if claim.as_of:
        return " " + format_date(claim.as_of)
    return ""


def code_questions(claim: Claim) -> list[VerificationQuestion]:
    """Yes/no, wh and on-record questions built from the claim's parse, each passing
    `question_problems` (those that do not are left out)."""
    text = with_dates(claim)
    lead_date = None
    if m := re.match(r"^(?:On|In) [^,]*?\d{4},?\s+(?=[A-Z])", text):  # "On 14 January 2022 Ukraine ..."
        lead_date, text = m.group(0).strip(" ,"), text[m.end():]
        lead_date = lead_date[:1].lower() + lead_date[1:]
    speaker = claim.attribution.speaker
    # A named person or body: "the North American country" is a description, not a source.
    named_speaker = bool(speaker and speaker[:1].isupper() and (
        speaker.split()[-1][:1].isupper() or speaker.split()[-1].lower() in _BODY_NOUNS))
    if speaker and named_speaker and (set(speaker.split()) & _ORG_TAIL or
                                      {w.lower() for w in speaker.split()} & GROUP_NOUNS):
        speaker = f"the {speaker}"  # "Did the White House say ..."
    out: list[VerificationQuestion] = []
    nlp = sig._nlp()

    def add(q: str | None, kind: QuestionKind, core: str | None = None, fact: str | None = None) -> None:
        if q and not question_problems(q, claim, kind, fact) and all(q != o.question for o in out):
            out.append(_question(claim, q, kind, core))

    if nlp is None:
        core = re.sub(r"^(?:According to [^,]+,\s*)", "", text).rstrip(" .")
        frame = _REGEX_FRAME.match(core)
        content = frame.group("what").strip(" “”\"'") if frame else None
        said = content  # what the on-record question quotes, pronouns and all
        if frame and content and (lean := _REGEX_LEANS.match(content)):
            # "X said they feared ...": the pronoun is X ("X feared ..."); "it", "we" ...
            # point elsewhere, so the claim as a whole is asked instead.
            content = f"{frame.group('who')} {content[lean.end():]}" \
                if lean.group(1).lower() in ("he", "she", "they") else None
        fact = content if content and len(content.split()) >= 3 else core
        who = frame.group("who") if frame else speaker if named_speaker else None
        # The reported content first; where it leans on the frame ("... said he would"),
        # the claim as a whole, which names who.
        for part, own in ((fact, fact if content else None), (core, None)):
            if any(question_kind(q.question) == "yes_no" for q in out):
                break
            add(_regex_inverted(part), "yes_no", part, own)
            if not any(question_kind(q.question) == "yes_no" for q in out):
                add(f"Is it true that {_lower_first(part)}?", "yes_no", part, own)
        if who and (content or (claim.type == ClaimType.attributed_statement
                                and not _REGEX_SAYS.search(core))):  # no "say that X said"
            said_fact = said if said and len(said.split()) >= 3 else fact
            add(f"Did {who} say{_say_when(claim)} that {_lower_first(said_fact)}?", "on_record", said_fact)
        return out
    text = sentence_case(text)
    sent = _parse(text)
    head, reported = _clause_head(sent, claim)
    central = _central_numbers(claim.text)
    root = next((t for t in sent if t.dep_ == "ROOT"), sent[0])
    heads = [root] + [c for c in root.children if c.dep_ == "conj" and c.pos_ in ("VERB", "AUX")
                      and _subject(c) is not None]
    heads = [h for h in heads if h.i == head.i or not (h.lemma_ in SAY_LEMMAS and any(
        c.dep_ in ("ccomp", "xcomp") for c in h.children))]  # not the reporting frame itself
    if reported and head.i not in {h.i for h in heads}:
        heads.insert(0, head)

    def own_numbers(h: Any) -> bool:
        inner = {t.i for c in h.children if c.dep_ == "conj" and _subject(c) is not None for t in c.subtree}
        return any(n in t.text.replace(",", "") for t in h.subtree if t.i not in inner for n in central)

    heads.sort(key=lambda h: (not own_numbers(h), h.i != head.i))
    say_date = _say_date(head) if reported else None
    clauses = []
    for h in heads[:2]:
        c = _Clause(h, speaker)
        c.shorten()
        clauses.append(c)
    for n, clause in enumerate(clauses):
        core = clause.declarative()
        # A date belongs to the clause it was written in: the sentence-initial one to the
        # main clause, others to the clause whose words contain them.
        full = " ".join(t.text for t in clause.verb.subtree).lower()
        lead = [lead_date] if lead_date and clause.verb.dep_ == "ROOT" else []
        dates = lead + clause.dates or [
            phrase for d in claim.dates if (phrase := format_date(d.resolved)).lower() not in core.lower()
            and phrase.split(" ", 1)[1].lower() in full][:1]
        if not dates and reported and clause.verb.i == head.i and (say_date or claim.dates or lead_date):
            # Reported content without a date of its own held when it was reported.
            when = say_date or lead_date or format_date(claim.dates[0].resolved)
            dates = ["as of " + when.split(" ", 1)[1]]
        yes_no = clause.inverted()
        fact = core if reported and clause.verb.i == head.i else None  # about the content only
        if yes_no is not None:
            add(_finish(yes_no, dates), "yes_no", core, fact)
            if n > 0 and clauses[0].subj is not None and _RESULT.search(text):
                # "... privatized, and as a result, people would lose their jobs": the
                # consequence asked with its cause, which names who
                add(_finish(f"{yes_no.rstrip(' .,;:')} because {clauses[0].declarative()}", dates), "yes_no", core)
        elif core and n == 0 and clause.subj is not None:
            add(_finish(f"Is it true that {core}", dates), "yes_no", core, fact)
        if n == 0:
            wh = _wh_number(clause, claim)
            if wh:
                add(_finish(wh, dates), "wh", core)
            elif _claim_has_date(claim) and claim.type in (ClaimType.event, ClaimType.statistic):
                add(_finish(w, []) if (w := _wh_date(clause, dates)) else None, "wh", core)
            if not any(question_kind(q.question) == "wh" for q in out) and not reported:
                add(_finish(w, dates) if (w := _wh_identity(clause)) else None, "wh", core)
    if named_speaker and (reported or claim.type == ClaimType.attributed_statement
                          or claim.attribution.verb):
        # "Last December, EL ESPAÑOL reported ...": the report's own date, else publication
        say = head.head if reported else None
        when = f" {say_date}" if say_date else \
            f" {lead_date}" if lead_date and say is not None and say.dep_ == "ROOT" else _say_when(claim)
        quotes = [claim.text[a:b].strip("“”\"«» ") for a, b in direct_quotes(claim.text)] + [
            m.group(1) for m in _SINGLE_QUOTED.finditer(claim.text) if len(m.group(1).split()) >= 3]
        quote = max(quotes, key=len) if quotes else None
        content = _Clause(head, speaker).declarative() if reported and _subject(head) is not None else None
        if content and not question_problems(f"Did {speaker} say{when} that {content}?",
                                             claim, "on_record"):
            add(f"Did {speaker} say{when} that {content}?", "on_record", content)
        elif quote:
            words = quote.split()
            quote = " ".join(words[:28]) + ("…" if len(words) > 28 else "")
            add(f"Did {speaker} say{when}: “{quote.rstrip(' ,.;')}”?", "on_record", quote)
        elif content:
            core0 = clauses[0].declarative() if clauses else ""
            add(f"Did {speaker} say{when} that {core0}?", "on_record", core0)
        say = head.head if reported else None
        inside = {t.i for t in head.subtree} - ({t.i for c in say.children if c.dep_ == "nsubj"
                                                 for t in c.subtree} if say is not None else set())
        topic = next((t for t in sent if t.i in inside and t.dep_ in ("nsubj", "nsubjpass")
                      and t.pos_ in ("NOUN", "PROPN")), None) if reported else None
        # A topic the record can be searched for: a name or a modified noun phrase ("the
        # rental levy"), not "samples", "the deal", "that figure" or the speaker.
        specific = topic is not None and (topic.ent_type_ not in ("", "GPE") or sum(
            1 for t in topic.subtree if t.i != topic.i and t.pos_ in ("ADJ", "NOUN", "PROPN", "NUM")) >= 1
            or (topic.tag_ == "NN" and not list(topic.children)))  # a bare mass noun: "about rape"
        if topic is not None and specific and not any(
                t.lower_ in ("no", "any", "every", "each", "all", "some", "that", "this", "these", "those")
                for t in topic.subtree) and not (speaker and topic.text in speaker):
            # "What did Scientific American say about 5G technology?": the record's wording
            about = _render([t for t in topic.subtree if t.dep_ not in ("relcl", "appos", "acl")])
            about = re.sub(r"^The\b", "the", about)  # "about The Administration"
            if topic.pos_ == "NOUN" and topic.ent_type_ == "" and topic.i == min(t.i for t in topic.subtree):
                about = about[:1].lower() + about[1:]  # "'Rape is ...'" -> "about rape"
            if 1 <= len(about.split()) <= 6:
                add(f"What did {speaker} say{when} about {about}?", "wh", content)
    if not any(question_kind(q.question) in ("yes_no", "on_record") for q in out):
        # No clause the parse can invert (headlines: "COVID-19 pandemic pre-planned with the
        # help from Bill Gates"): the claim as a whole, still a question that names its fact.
        whole = re.sub(r"^(?:According to [^,]+,\s*)", "", text).strip().rstrip(" .!")
        first = sent[0] if len(sent) else None
        if first is not None and first.pos_ != "PROPN" and first.ent_type_ == "" and not (
                len(first.text) > 1 and first.text.isupper()):  # "A crowdfunding ..." -> "a crowdfunding ..."
            whole = whole[:1].lower() + whole[1:]
        add(f"Is it true that {whole}?", "yes_no", whole)
    return out
