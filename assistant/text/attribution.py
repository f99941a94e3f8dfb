"""Who says what: attribution mentions from a spaCy parse or from regular expressions,
and their resolution to the names the article uses (surname -> full name, "he" or "the
spokeswoman" -> the most recent matching person).

Two stages. `spacy_mention` / `regex_mention` look at one sentence and return the raw
`Mention` (the words that name the speaker, the verb, a role written next to the name).
`SpeakerIndex` then sees the whole article and turns each mention into a speaker name.

Gender and role must agree: "the spokeswoman" is never a person the article calls a
spokesman, and a role noun prefers a person whose stated role is the same office
("spokeswoman" ~ "press secretary"). A person's gender is known from a gendered role noun
or honorific (strong), else from the pronouns of sentences naming only them, when those
all agree: translated articles get pronouns wrong ("Psaki ... for her part", later "his
appearance"), so mixed pronouns leave the gender unknown rather than deciding it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

MentionKind = Literal["name", "pronoun", "role", "group"]


def words(text: str) -> frozenset[str]:
    """A word list written as one string (keeps long lexicons readable)."""
    return frozenset(text.split())


# Lemmas of verbs that report speech or a stated position.
SAY_LEMMAS = words(
"say explain assure accuse warn acknowledge consider report announce recall tell state add "
    "claim insist argue confirm deny note stress believe allege emphasize emphasise declare "
    "admit estimate write tweet quote reiterate predict threaten promise maintain respond reply "
    "reveal denounce assert concede complain underline affirm specify point think"
)
# These take a clause ("considered that ..."); with only an object they are not attribution.
_NEEDS_CLAUSE = words("consider believe think report add point note recall explain state")
_SAY_FORMS = (
    "said|says|say|explained|explains|assured|assures|accused|accuses|warned|warns|acknowledged|"
    "acknowledges|considers|considered|reported|reports|announced|announces|recalled|recalls|"
    "pointed out|points out|told|tells|added|adds|stated|states|claimed|claims|insisted|insists|"
    "argued|argues|confirmed|confirms|denied|denies|noted|notes|stressed|stresses|believes|"
    "believed|alleged|alleges|emphasized|emphasised|declared|declares|admitted|admits|"
    "estimated|estimates|wrote|writes|tweeted|reiterated|predicted|threatened|promised|"
    "maintained|responded|replied|revealed|denounced|asserted|conceded|affirmed|thinks"
)
_MENTAL_FORMS = words("considers considered believes believed thinks estimated estimates")

# Nouns naming a person by office. Their 6-letter stems match a role recorded earlier.
PERSON_ROLES = words(
"spokesman spokeswoman spokesperson secretary minister president chancellor premier official "
    "diplomat ambassador representative envoy senator governor mayor chief head director leader "
    "commander general analyst expert adviser advisor prosecutor judge lawyer attorney economist "
    "researcher chairman chairwoman chair deputy negotiator aide king queen prime"
)
GROUP_NOUNS = words(
"officials sources government administration ministry department agency police authorities "
    "army military spokesmen experts analysts diplomats lawmakers prosecutors country kremlin "
    "office council commission committee company firm bank court report study survey poll "
    "statement"
)
_PRONOUNS = frozenset({"he", "she", "they"})
_NOT_NAMES = words("he she they we i it this that these those there who what which yet but and "
                   "several some many others both all most few")
_HONORIFICS = re.compile(r"^(?:Mr|Mrs|Ms|Dr|Prof|Sen|Gen|Rep|Gov)\.?\s+")
# Words that start capitalised name sequences but are not names of speakers.
TITLE_WORDS = words(
"President Prime Minister Secretary Chancellor Spokesman Spokeswoman General Senator Governor "
    "Mayor Ambassador Press Foreign Defense Defence Deputy Chief Head Director King Queen Pope "
    "Russian American Ukrainian European British French German Chinese US U.S. UK EU The A An "
    "According When For Parallel Despite Against Both Last This Former Acting North South East "
    "West Eastern Western Northern Southern Central Asian African Israeli Palestinian Iranian "
    "Mr Mrs Ms Dr"
)
ORG_WORDS = words(
"House Department Union Ministry Guard Cabinet Organization Organisation Affairs National "
    "States Alliance Office Council Government Administration Nations Court Bank Party Agency "
    "Forces Army Navy Committee Commission Parliament Senate Congress Kingdom Republic Federation "
    "Times News Post Ministers Security Cooperation Europe Media Group Company Inc Corp "
    "University Institute Service Police Press Agency Fund Reuters"
)
# Capitals and places spaCy sometimes tags PERSON; as speakers they stand for governments.
PLACES = words(
"Kiev Kyiv Moscow Washington Beijing London Paris Berlin Brussels Geneva Vienna Crimea Minsk "
    "Tehran Ankara Warsaw Rome Madrid Tokyo Kremlin Pentagon Brest Donbas Donbass"
)
NAME_RE = r"(?:[A-Z][\w\u2019'\-]+|[A-Z]\.)(?:\s+(?:[A-Z][\w\u2019'\-]+|[A-Z]\.|(?:de|van|von|al|bin)\b))*(?<![\s.])"


class Mention(BaseModel):
    """What one sentence says about its speaker, before article-wide resolution."""

    text: str = Field(description="Words naming the speaker as written (name, pronoun or role noun).")
    start: int = Field(description="Offset of those words in the sentence.")
    end: int = Field(description="Offset one past those words in the sentence.")
    kind: MentionKind = Field(description="name (person or organisation), pronoun, role or group.")
    verb: str = Field(description="Attribution verb or phrase as written.")
    role: str | None = Field(default=None, description="Role written next to the name, if any.")


def clean_name(text: str) -> str:
    text = re.sub(r"^(?:the|its|his|her|their|our)\s+", "", text.strip(" ,;:"), flags=re.I)
    text = re.sub(r"[\u2019']s$", "", text)
    return _HONORIFICS.sub("", text).strip()


def _strip_role(text: str | None) -> str | None:
    if not text:
        return None
    text = re.sub(r"^(?:the|its|his|her|their|our|a|an)\s+", "", text.strip(" ,;:()"), flags=re.I)
    return text or None


# --------------------------------------------------------------------------- spaCy path


def _ent_of(tok: Any) -> Any:
    for ent in tok.doc.ents:
        if ent.start <= tok.i < ent.end:
            return ent
    return None


def _name_span(tok: Any) -> tuple[int, int] | None:
    """Token range [i, j) of the name `tok` belongs to (an entity or a run of proper nouns)."""
    ent = _ent_of(tok)
    if ent is not None and ent.label_ in ("PERSON", "ORG", "GPE", "NORP", "FAC", "LOC"):
        i = ent.start + (1 if ent[0].lower_ == "the" else 0)
        return i, ent.end
    if tok.pos_ != "PROPN":
        return None
    i = j = tok.i
    while i > 0 and tok.doc[i - 1].pos_ == "PROPN" and tok.doc[i - 1].dep_ == "compound":
        i -= 1
    return i, j + 1


def _appositive_name(doc: Any, after: int) -> tuple[int, int] | None:
    """A name right after token `after` set off by commas: "..., Jen Psaki, ..." (parse-independent)."""
    if after + 2 >= len(doc) or doc[after + 1].text != ",":
        return None
    span = _name_span(doc[after + 2])
    if span is None or span[0] != after + 2:
        return None
    nxt = doc[span[1]] if span[1] < len(doc) else None
    return span if nxt is None or nxt.is_punct or nxt.pos_ in ("VERB", "AUX") else None


def _np_end(head: Any) -> int:
    """End (token index) of `head` plus its prepositional modifiers ("head of the office")."""
    end: int = head.i + 1
    for child in head.rights:
        if child.dep_ == "prep":
            end = max(end, child.right_edge.i + 1)
    return end


def _text(doc: Any, i: int, j: int) -> str:
    return str(doc[i:j].text) if j > i else ""


def _mention_from(head: Any, verb_text: str) -> Mention | None:
    doc = head.doc
    if head.tag_ in ("WP", "WDT") and head.head.dep_ == "relcl":  # "X, who ... said"
        head = head.head.head
    if head.pos_ == "PRON":
        if head.lower_ not in _PRONOUNS:
            return None
        return Mention(text=head.text, start=head.idx, end=head.idx + len(head.text),
                       kind="pronoun", verb=verb_text)
    left = min(t.i for t in head.subtree) if head.dep_ != "pobj" else head.left_edge.i
    while left < head.i and doc[left].dep_ in ("det", "poss", "punct", "case"):
        left += 1
    person_appos = any(c.dep_ == "appos" and c.ent_type_ == "PERSON" for c in head.children)
    name = None if person_appos and head.ent_type_ != "PERSON" else _name_span(head)
    role: str | None = None
    if name is not None:
        i, j = name
        if left < i:
            role = _text(doc, left, i)
        for child in head.children:  # "Andriy Yermak, head of the presidential office"
            if child.dep_ == "appos" and child.pos_ == "NOUN":
                role = _text(doc, child.left_edge.i, _np_end(child))
        kind: MentionKind = "name"
    else:
        end = _np_end(head)
        appos = next((c for c in head.children if c.dep_ == "appos" and _name_span(c)), None)
        found = _name_span(appos) if appos is not None else _appositive_name(doc, end - 1)
        if found is not None:  # "The White House Press Secretary, Jen Psaki, assured"
            i, j = found
            role, kind = _text(doc, left, end), "name"
        elif head.lower_ in PERSON_ROLES:
            i, j, kind = left, head.i + 1, "role"
        elif head.lower_ in GROUP_NOUNS or any(
            t.pos_ == "PROPN" or t.ent_type_ in ("NORP", "GPE", "ORG") for t in doc[left:head.i]
        ):
            i, j, kind = left, head.i + 1, "group"
        else:
            return None
    span = doc[i:j]
    return Mention(text=span.text, start=span.start_char, end=span.end_char, kind=kind,
                   verb=verb_text, role=_strip_role(role))


def _verb_text(verb: Any) -> str:
    doc = verb.doc
    if verb.lemma_ == "quote" and verb.i + 2 < len(doc) and doc[verb.i + 1].lower_ == "as":
        return f"{verb.text} as {doc[verb.i + 2].text}"
    prt = [c.text for c in verb.children if c.dep_ == "prt"]
    return " ".join([verb.text, *prt])


def _subject(verb: Any) -> Any:
    for child in verb.children:
        if child.dep_ == "nsubj" or (child.dep_ == "nsubjpass" and verb.lemma_ == "quote"):
            return child
    for child in verb.children:
        if child.dep_ == "agent":  # "as announced by Andriy Yermak"
            return next((c for c in child.children if c.dep_ == "pobj"), None)
    if verb.dep_ in ("conj", "xcomp") and verb.head.pos_ in ("VERB", "AUX"):
        return _subject(verb.head)
    return None


def _depth(tok: Any) -> int:
    depth = 0
    while tok.head.i != tok.i and depth < 50:
        tok, depth = tok.head, depth + 1
    return depth


def spacy_mention(sent: Any) -> Mention | None:
    """The attribution closest to the root of `sent` (a spaCy Doc of one sentence)."""
    candidates: list[tuple[int, int, Mention]] = []
    for tok in sent:
        if tok.lower_ == "according" and tok.i + 1 < len(sent) and sent[tok.i + 1].lower_ == "to":
            obj = next((c for c in sent[tok.i + 1].children if c.dep_ == "pobj"), None)
            if obj is not None and (m := _mention_from(obj, "according to")):
                candidates.append((_depth(tok), tok.i, m))
            continue
        if tok.pos_ not in ("VERB", "AUX") or tok.lemma_ not in SAY_LEMMAS:
            continue
        deps = {c.dep_ for c in tok.children}
        if tok.lemma_ == "point" and "prt" not in deps:
            continue
        if tok.lemma_ in _NEEDS_CLAUSE and "dobj" in deps and not deps & {"ccomp", "xcomp"}:
            continue
        subj = _subject(tok)
        if subj is not None and (m := _mention_from(subj, _verb_text(tok))):
            candidates.append((_depth(tok), tok.i, m))
    return min(candidates, key=lambda c: (c[0], c[1]))[2] if candidates else None


# --------------------------------------------------------------------------- regex path

_ROLE_TAIL = re.compile(
    r"((?:[A-Z][\w.]*\s+){0,4}(?:" + "|".join(sorted(PERSON_ROLES)) + r"))\s*,?\s*$", re.I
)
_NAME_THEN_VERB = re.compile(
    rf"(?<![\w\u2019'])(?P<name>{NAME_RE})(?:,\s(?P<role>[^,]{{2,80}}),)?\s+(?:(?:also|later|then|"
    rf"has|had|have|previously|publicly|repeatedly)\s+)*(?P<verb>{_SAY_FORMS})\b"
)
_VERB_THEN_NAME = re.compile(
    rf"\b(?P<verb>said|says|added|explained|wrote|told)\s+(?:(?:Dr|Mr|Mrs|Ms|Prof|Col|Gen|Sen|Gov)\.?\s+)?"
    rf"(?P<name>{NAME_RE})")
# "said Rovers chairman Victor Almqvist", "said board president Margaret Oyelaran",
# "said Palvaro's foreign minister, Lucia Andrade-Kessel": the name after the role.
_VERB_ROLE_NAME = re.compile(
    r"\b(?P<verb>said|says|added|explained|wrote|told)\s+(?P<role>(?:[\w\u2019'\-]+\s+){0,3}?(?:"
    + "|".join(sorted(PERSON_ROLES)) + rf")),?\s+(?:(?:Dr|Mr|Mrs|Ms|Prof|Col|Gen)\.?\s+)?(?P<name>{NAME_RE})")
_ACCORDING = re.compile(
    rf"\b[Aa]ccording to (?P<np>(?:the |its |his |her )?[^,.;:“”\"]+?)"
    rf"(?:,\s(?P<name>{NAME_RE})(?=[,.;]|$)|(?=[,.;:]|\s+[a-z]+(?:ed|s)\b|$))"
)
_BY_AGENT = re.compile(rf"\bas (?P<verb>announced|reported|stated|confirmed) by (?P<name>{NAME_RE})"
                       r"(?:,\s(?P<role>[^,.]+))?")
_GROUP_VERB = re.compile(
    r"(?P<who>(?:[Tt]he\s+)?(?:[A-Z][\w.]*\s+){1,3}(?:[a-z]+\s+)?(?:"
    + "|".join(sorted(GROUP_NOUNS)) + rf"))\s+(?:also\s+)?(?P<verb>{_SAY_FORMS})\b"
)
_QUOTED = re.compile(rf"(?P<name>{NAME_RE}) was (?P<verb>quoted as saying)")
_PRONOUN_VERB = re.compile(
    r"\b(?P<who>[Hh]e|[Ss]he|(?:[Tt]he\s+)?(?:[a-z]+\s+){0,2}(?:"
    + "|".join(sorted(PERSON_ROLES)) + rf"))\s+(?:also\s+)?(?P<verb>{_SAY_FORMS})\b"
)


def _lead_trim(name: str, start: int) -> tuple[str, int]:
    """Drop sentence-initial words that are not part of a name ("When Kirby" -> "Kirby")."""
    words = name.split()
    while len(words) > 1 and words[0] in TITLE_WORDS:
        start += name.index(words[1], len(words[0]))
        name = name[name.index(words[1], len(words[0])):]
        words = words[1:]
    return name, start


def regex_mention(text: str) -> Mention | None:
    """Best-effort attribution from surface patterns, when no parser is available."""
    found: list[tuple[int, int, Mention]] = []  # (verb class, -position, mention)
    for m in _NAME_THEN_VERB.finditer(text):
        name, start = _lead_trim(m["name"], m.start("name"))
        role = m["role"]
        if role and re.fullmatch(NAME_RE, role) and _ROLE_TAIL.search(name):  # "Secretary, Jen Psaki,"
            name, start, role = role, m.start("role"), name
        elif not role and (tail := _ROLE_TAIL.search(text[:start])):
            role = tail.group(1)
        if len(name.split()) == 1 and (name in TITLE_WORDS or name.lower() in _NOT_NAMES):
            continue
        rank = 2 if m["verb"] in _MENTAL_FORMS else 0
        found.append((rank, -m.start(), Mention(text=name, start=start, end=start + len(name),
                                                kind="name", verb=m["verb"], role=_strip_role(role))))
    with_role = {}
    for m in _VERB_ROLE_NAME.finditer(text):
        with_role[m.start()] = m
        found.append((0, -m.start(), Mention(text=m["name"], start=m.start("name"), end=m.end("name"),
                                             kind="name", verb=m["verb"], role=_strip_role(m["role"]))))
    for m in _VERB_THEN_NAME.finditer(text):
        if m["name"].lower() in _NOT_NAMES or m.start() in with_role:
            continue
        found.append((0, -m.start(), Mention(text=m["name"], start=m.start("name"), end=m.end("name"),
                                             kind="name", verb=m["verb"])))
    for m in _BY_AGENT.finditer(text):
        found.append((0, -m.start(), Mention(text=m["name"], start=m.start("name"), end=m.end("name"),
                                             kind="name", verb=m["verb"], role=_strip_role(m["role"]))))
    for m in _QUOTED.finditer(text):
        name, start = _lead_trim(m["name"], m.start("name"))
        found.append((0, -m.start(), Mention(text=name, start=start, end=start + len(name),
                                             kind="name", verb=m["verb"])))
    for m in _ACCORDING.finditer(text):
        np_text, np_start = m["np"].strip(), m.start("np")
        if m["name"]:
            mention = Mention(text=m["name"], start=m.start("name"), end=m.end("name"), kind="name",
                              verb="according to", role=_strip_role(np_text))
        else:
            kind: MentionKind = "name" if re.search(r"\b[A-Z]", np_text) else "group"
            cleaned = clean_name(np_text)
            offset = np_start + np_text.index(cleaned) if cleaned in np_text else np_start
            appos = re.match(r",\s+(?:a|an|the)\s+([^,.;]{2,80})", text[m.end("np"):])
            mention = Mention(text=cleaned, start=offset, end=offset + len(cleaned), kind=kind,
                              verb="according to",  # "according to Ines Duarte, a spokeswoman for"
                              role=_strip_role(appos.group(1)) if appos and kind == "name" else None)
        found.append((1, -m.start(), mention))
    for m in _GROUP_VERB.finditer(text):
        who = clean_name(m["who"])
        start = m.start("who") + m["who"].index(who)
        found.append((2 if m["verb"] in _MENTAL_FORMS else 1, -m.start(), Mention(
            text=who, start=start, end=start + len(who), kind="group", verb=m["verb"])))
    for m in _PRONOUN_VERB.finditer(text):
        who = m["who"]
        kind = "pronoun" if who.lower() in _PRONOUNS else "role"
        found.append((0 if kind == "role" else 1, -m.start(), Mention(
            text=who, start=m.start("who"), end=m.end("who"), kind=kind, verb=m["verb"])))
    return min(found, key=lambda f: (f[0], f[1]))[2] if found else None


_CUE = re.compile(rf"\b(?:{_SAY_FORMS}|according to|quoted|in a statement|sources?)\b|[“”\"«»]", re.I)


def has_attribution_cue(text: str) -> bool:
    """Does the sentence credit anyone (a say-verb, "according to") or quote anyone?

    A speaker offered for a sentence without a cue (a model carrying the previous
    sentence's speaker over) is not the sentence's: it states the fact in the article's
    voice. Quotation marks count, so a quote continued from the sentence before keeps its
    speaker.
    """
    return bool(_CUE.search(text))


# Capitalised, but dates rather than names: spaCy tags them DATE, so must the fallback.
_CALENDAR = frozenset({"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                       "Sunday", "January", "February", "March", "April", "May", "June", "July",
                       "August", "September", "October", "November", "December"})


# Capitalised only because they open a sentence or a question.
_FUNCTION_WORDS = words(
    "On In At By Of To From With After Before During Since Until If But And Or So It He She "
    "They We I You Its His Her Their Our This That These Those There Here What Who Why How "
    "Where Which When Did Does Do Is Are Was Were Will Would Has Have Had Can Could Should "
    "May Might Must Not No Yes")


def regex_names(text: str) -> list[tuple[int, int]]:
    """Spans of capitalised name sequences (regex stand-in for named entities)."""
    spans = []
    for m in re.finditer(rf"(?<![\w\u2019']){NAME_RE}", text):
        name, start = _lead_trim(m.group(0), m.start())
        words = name.split()
        while len(words) > 1 and words[0] in _FUNCTION_WORDS:  # "On Monday Kyiv" -> "Monday Kyiv"
            start += name.index(words[1], len(words[0]))
            name = name[name.index(words[1], len(words[0])):]
            words = words[1:]
        if len(words) == 1 and (words[0] in TITLE_WORDS or words[0] in _FUNCTION_WORDS):
            continue
        if all(w.rstrip("s") in _CALENDAR or w in _CALENDAR for w in words):
            continue
        spans.append((start, start + len(name)))
    return spans


# --------------------------------------------------------------------------- article-wide


class PersonMention(BaseModel):
    name: str = Field(description="Full name the mention resolves to.")
    sentence: int = Field(description="0-based sentence number.")
    start: int = Field(description="Offset of the mention in Document.text.")


Gender = Literal["f", "m"]
# Role nouns and honorifics that state a gender; "spokesperson", "chair" state none.
_GENDERED = {
    "f": words("spokeswoman chairwoman congresswoman businesswoman councilwoman "
               "policewoman queen mrs ms miss madam"),
    "m": words("spokesman chairman congressman businessman councilman policeman king mr sir"),
}
_PRONOUN_GENDER: dict[str, Gender] = {
    "she": "f", "her": "f", "hers": "f", "herself": "f",
    "he": "m", "him": "m", "his": "m", "himself": "m",
}
# Offices that are one job under several names: the noun's class and the recorded role's
# class must meet for a role noun to prefer that person.
_OFFICE_CLASSES = (
    ("spokes", "press secretary", "press officer", "communications director", "mouthpiece"),
    ("chair", "chairman", "chairwoman", "chairperson", "president of the board"),
    ("minister", "secretary of state"),
)


def gender_of_words(text: str) -> Gender | None:
    """The gender a role phrase or honorific states ("Defense Department spokesman": m)."""
    found = {g for g, nouns in _GENDERED.items()
             for w in re.findall(r"[a-z]+", text.lower()) if w in nouns}
    return found.pop() if len(found) == 1 else None  # type: ignore[return-value]


def pronoun_gender(word: str) -> Gender | None:
    return _PRONOUN_GENDER.get(word.lower())


def same_office(noun: str, role: str) -> bool:
    """Does the role noun ("spokeswoman") name the office of `role` ("White House Press
    Secretary")? Same 6-letter stem, or both in one class of synonymous offices."""
    noun, role = noun.lower(), role.lower()
    stem = noun[:6]
    if any(w.startswith(stem) for w in role.split()):
        return True
    for cls in _OFFICE_CLASSES:
        if any(noun.startswith(c) or c in noun for c in cls) and any(c in role for c in cls):
            return True
    return False


class SpeakerIndex:
    """People and speakers across the article: full names, roles, genders and mention
    positions."""

    def __init__(self, full_names: Iterable[str]) -> None:
        self.full: list[str] = []
        for raw in full_names:
            name = self.trim_titles(clean_name(raw))
            words = name.split()
            if 2 <= len(words) <= 4 and not set(words) & PLACES and name not in self.full:
                self.full.append(name)
        self.roles: dict[str, str] = {}
        self.speakers: set[str] = set()
        self.mentions: list[PersonMention] = []
        self.genders: dict[str, Gender] = {}  # from role nouns and honorifics
        self._votes: dict[str, set[Gender]] = {}  # from pronouns

    def gender(self, name: str, stated_only: bool = False) -> Gender | None:
        """Stated gender (role noun, honorific), else the pronouns' when they all agree
        (unless `stated_only`), else None."""
        if name in self.genders:
            return self.genders[name]
        if name in self.roles and (g := gender_of_words(self.roles[name])):
            return g
        votes = set() if stated_only else self._votes.get(name, set())
        return next(iter(votes)) if len(votes) == 1 else None

    @staticmethod
    def trim_titles(name: str) -> str:
        words = name.split()
        while len(words) > 1 and words[0] in TITLE_WORDS:
            words = words[1:]
        return " ".join(words)

    def expand(self, name: str) -> str:
        """'Kirby' -> 'John Kirby' when the article gives the full name anywhere."""
        name = self.trim_titles(clean_name(name))
        if " " in name:
            return name
        matches = [f for f in self.full if f.split()[-1] == name]
        return matches[0] if matches else name

    @staticmethod
    def looks_like_person(name: str) -> bool:
        """Regex-path guess: two or three capitalised words, none a title, place or org word."""
        words = name.split()
        return (2 <= len(words) <= 3 and not set(words) & (TITLE_WORDS | ORG_WORDS | PLACES)
                and not any(w.isupper() and len(w) > 1 for w in words))

    def is_person(self, name: str) -> bool:
        return name in self.full or any(f.split()[-1] == name for f in self.full)

    def scan(self, sentences: list[tuple[int, str]], persons: list[list[tuple[int, str]]]) -> None:
        """Record person mentions: known names found in each sentence plus `persons`
        (per sentence: offset and text of PERSON entities)."""
        keys = sorted({w for f in self.full for w in (f, f.split()[-1])}, key=len, reverse=True)
        pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, keys)) + r")\b") if keys else None
        for n, (offset, text) in enumerate(sentences):
            seen: dict[int, str] = {}
            if pattern is not None:
                for m in pattern.finditer(text):
                    if not any(s <= m.start() < s + len(v) for s, v in seen.items()):
                        seen[m.start()] = m.group(0)
            for start, name in persons[n]:
                if name.split()[-1] not in PLACES and start - offset not in seen:
                    seen[start - offset] = name
            for pos, name in sorted(seen.items()):
                full = self.expand(name)
                self.mentions.append(PersonMention(name=full, sentence=n, start=offset + pos))
                before = text[max(0, pos - 6):pos]
                if (hon := re.search(r"\b(Mrs|Ms|Miss|Mr|Sir)\.?\s*$", before)) and (
                        g := gender_of_words(hon.group(1))):
                    self.genders.setdefault(full, g)
            named = {self.expand(v) for v in seen.values()}
            if len(named) == 1:  # pronouns after the only person named: theirs
                first = min(seen)
                outside = re.sub(r"[“\"][^”\"]*[”\"]", " ", text[first:])
                for w in re.findall(r"[A-Za-z]+", outside):
                    if g := pronoun_gender(w):
                        self._votes.setdefault(next(iter(named)), set()).add(g)

    def antecedent(self, sentence: int, before: int, role_noun: str | None = None,
                   window: int = 6, gender: Gender | None = None) -> str | None:
        """Most recent person before offset `before` whose gender does not contradict
        `gender` (or the role noun's): one whose recorded role is `role_noun`'s office,
        else one who speaks elsewhere in the article, else anyone."""
        # A pronoun is held to stated genders only: the pronouns it would be compared
        # with are the ones translations get wrong.
        stated_only = not role_noun
        gender = gender or (gender_of_words(role_noun) if role_noun else None)
        pool = [m for m in reversed(self.mentions)
                if sentence - window <= m.sentence <= sentence and m.start < before
                and not (gender and (g := self.gender(m.name, stated_only)) and g != gender)]
        if pool and pool[0].sentence == sentence and not role_noun:  # "Psaki ..., where he warned"
            return pool[0].name
        if role_noun:
            for m in pool:
                if same_office(role_noun, self.roles.get(m.name, "")):
                    return m.name
        for m in pool:
            if m.name in self.speakers:
                return m.name
        # Otherwise the first person of the latest sentence naming one: usually its subject.
        latest = [m for m in pool if pool and m.sentence == pool[0].sentence]
        return latest[-1].name if latest else None


# --------------------------------------------------------------------------- organisations
#
# Parser-independent rules, applied after a sentence's mention is resolved (both paths):
# organisations as speakers ("The Westmarch Regional Assembly approved", "the union
# claims", "a survey by X found"), and a few constructions neither parse handles ("That
# warning came from NAME", "a ministry spokesman, Col. NAME, called ...").

# Last words of organisation names; a definite "the <head>" resolves to the latest one.
ORG_HEADS = words(
    "union university assembly council association agency board mission authority group "
    "federation chamber club unit commission committee ministry department court company "
    "capital agri foods holdings bank fund institute service office party alliance society "
    "foundation corporation inc corp ltd trust network institution observatory"
)
# Heads that name a company; "the company" / "the firm" also takes a one-word named speaker.
COMPANY_HEADS = words("capital agri foods holdings group inc corp ltd corporation company bank")
_NOT_COMPANY = ORG_HEADS - COMPANY_HEADS
_STATE_VERBS = (_SAY_FORMS + "|voted|votes|approved|approves|found|finds|fined|fines|expects|"
                "expected|alleges|alleged|plans|planned|ruled|rules|decided|decides|concluded|"
                "concludes|recommended|recommends|urged|urges")
_ORG_NAME = re.compile(
    r"(?<![\w\u2019'])[A-Z][\w\u2019'\-]*(?:\s+(?:(?:and|of|for|on)\s+)?[A-Z][\w\u2019'\-]*)+")
_TITLES_BEFORE_NAME = r"(?:(?:Col|Gen|Lt|Maj|Capt|Cpt|Sgt|Adm|Cmdr|Dr|Prof|Mr|Mrs|Ms|Rev|Sen|Rep|Gov)\.?\s+)?"
_APPOSITIVE_ROLE = re.compile(
    r"\b(?:" + "|".join(sorted(PERSON_ROLES)) + r"),\s+" + _TITLES_BEFORE_NAME
    + rf"(?P<name>{NAME_RE}),\s+(?:{_SAY_FORMS}|called|described|dismissed|rejected)\b")
# Nouns that name something said: "That was the verdict of NAME", "That warning came from NAME".
_SAID_NOUNS = ("verdict|view|warning|assessment|claim|criticism|comment|remark|message|accusation|"
               "charge|complaint|response|reaction|words|assurance|promise|plea|argument|prediction")
_CAME_FROM = re.compile(
    rf"^(?:That|This|Such)\s+(?:(?:{_SAID_NOUNS})\s+)?(?:was|is|came|comes)\s+(?:(?:the|a|an)\s+)?"
    rf"(?:(?:[a-z]+\s+)?(?:{_SAID_NOUNS})\s+)?(?:of|from)\s+{_TITLES_BEFORE_NAME}(?P<name>{NAME_RE})")
_STUDY_BY = re.compile(
    r"\b(?:study|survey|report|analysis|poll|review|audit|assessment)\s+(?:published\s+)?"
    r"(?:by|from)\s+(?:[a-z]+\s+(?:at|of|from)\s+)?(?:the\s+)?(?P<name>[A-Z][^,;:]*?)"
    r"(?:,[^,;]{2,80},)?\s+(?:found|finds|showed|shows|concluded|concludes|estimated|estimates|"
    r"suggests|suggested|says|said)\b")
_MEMBERS_OF = re.compile(
    r"(?:^|[,;:]\s+)(?P<np>[A-Z]?[a-z]+(?:\s+[a-z]+)?)\s+(?:at|of|from|in)\s+(?:the\s+)?"
    rf"(?P<name>{NAME_RE})\s+(?:also\s+)?(?:{_STATE_VERBS})\b")
_DEFINITE = re.compile(
    r"(?:^|[,;:]\s+)[Tt]he\s+(?P<mod>[a-z]+\s+)?(?P<head>" + "|".join(sorted(ORG_HEADS | {"firm"}))
    + rf")(?:,[^,]{{2,80}},)?\s+(?:also\s+|now\s+)?(?:{_STATE_VERBS})\b")
_DEFINITE_TAIL = re.compile(
    r",\s+the\s+(?P<mod>[a-z]+\s+)?(?P<head>" + "|".join(sorted(ORG_HEADS | {"firm"}))
    + r")\s+(?:said|says|added|reported|announced)\W*$")
# "according to satellite images reviewed by the mission": the organisation behind the source.
_ACCORDING_BY = re.compile(
    r"\baccording to [^,.;]*?\b(?:by|from|of)\s+the\s+(?P<mod>[a-z]+\s+)?(?P<head>"
    + "|".join(sorted(ORG_HEADS)) + r")\b(?![\u2019']s)")
# A lede naming its speaker by office ("The founder of Tervane Capital, ..., told a jury"),
# the next sentence opening with the name ("Julian Pressley, 58, is accused ...").
_OFFICE_OF = re.compile(
    r"^The\s+(?:[a-z]+\s+){0,2}(?:founder|owner|" + "|".join(sorted(PERSON_ROLES))
    + r")\s+of\s+(?P<org>[A-Z][^,]*?)(?:,[^,]{2,120},)?\s+(?:" + _SAY_FORMS + r")\b")
_OPENS_WITH_NAME = re.compile(rf"^(?P<name>{NAME_RE}),\s+(?:\d+,|a\s|an\s|the\s|who\s)")
_QUOTE_ONLY = re.compile(r"^\s*[“\"][^“”\"]+[”\"]\s*$")


def org_names(text: str) -> list[tuple[int, str]]:
    """Organisation names in `text` (offset, name): capitalised runs, "and"/"of" allowed
    inside, ending with an organisation head ("Varrow Dock and Harbour Workers' Union")."""
    out = []
    for m in _ORG_NAME.finditer(text):
        name, start = m.group(0), m.start()
        ws = name.split()
        while len(ws) > 1 and (ws[0] in TITLE_WORDS or ws[0] in ("The", "A", "An", "In", "At", "By")):
            start += name.index(ws[1], len(ws[0]))
            name, ws = name[name.index(ws[1], len(ws[0])):], ws[1:]
        if len(ws) >= 2 and ws[-1].lower() in ORG_HEADS:
            out.append((start, name))
    return out


class OrgIndex:
    """Organisations the article names, in order, and the speakers resolved so far: what a
    definite "the union" or a short "Tervane" stands for."""

    def __init__(self, sentences: list[str], people: SpeakerIndex) -> None:
        self.people = people
        self.orgs: list[tuple[int, str]] = [(n, name) for n, text in enumerate(sentences)
                                            for _, name in org_names(text)]
        self.speakers: list[tuple[int, str]] = []  # (sentence, speaker) as resolved

    def _full(self, name: str) -> str | None:
        """The article's organisation `name` stands for: itself, or the one it begins
        ("Tervane" -> "Tervane Capital") or whose words it all contains."""
        name = clean_name(name)
        names = [o for _, o in self.orgs]
        if name in names:
            return name
        starts = [o for o in names if o.startswith(name + " ")]
        if starts:
            return starts[0]
        mine = {w for w in name.split() if w[:1].isupper()}
        within = [o for o in names if mine and mine <= set(o.split())]
        return within[0] if len(set(within)) == 1 else None

    def definite(self, n: int, head: str, mod: str | None) -> str | None:
        """Latest organisation up to sentence `n` that "the [mod] head" refers to."""
        head = head.lower()
        if head in ("company", "firm"):
            pool = [o for s, o in self.orgs if s <= n and o.split()[-1].lower() not in _NOT_COMPANY]
            pool += [sp for s, sp in self.speakers if s < n and " " not in sp and sp[:1].isupper()
                     and not self.people.is_person(sp) and sp.lower() not in PLACES]
            ordered = sorted(((s, o) for s, o in self.orgs + self.speakers if o in pool),
                             key=lambda x: x[0])
            return ordered[-1][1] if ordered else None
        for s, o in reversed(self.orgs):
            ws = [w.lower() for w in o.split()]
            if s <= n and ws[-1] == head and (not mod or mod.strip().lower() in ws):
                return o
        return None

    def refine(self, n: int, text: str, speaker: str | None, after: str | None) -> str | None:
        """The speaker of sentence `n` after the organisation and construction rules;
        `after` is the next sentence's text."""
        # A speaker that is only a common noun ("company", "Health officials") may be named.
        generic = speaker is None or speaker.split()[-1][:1].islower()
        found = self._rules(n, text, speaker, generic)
        if (found is None and speaker is None and after and _QUOTE_ONLY.match(text)
                and (m := _CAME_FROM.match(after))):  # a quote, then "That warning came from NAME"
            found = self.people.expand(m["name"])
        if found is None and after and (m := _OFFICE_OF.match(text)) and (
                generic or clean_name(m["org"]) == speaker) and (
                nm := _OPENS_WITH_NAME.match(after)) and self.people.looks_like_person(nm["name"]):
            found = self.people.expand(nm["name"])
        result = found or speaker
        if result:
            self.speakers.append((n, result))
        return result

    def _rules(self, n: int, text: str, speaker: str | None, generic: bool) -> str | None:
        if m := _CAME_FROM.match(text):
            return self.people.expand(m["name"])
        if m := _APPOSITIVE_ROLE.search(text):
            return self.people.expand(m["name"])
        members = _MEMBERS_OF.search(text)
        if members and (generic or clean_name(members["name"]) == speaker):
            # "Economists at Halden University"; "Health officials in Kessford" -> the one
            # organisation named with both "Health" and "Kessford". The regex path reads
            # the place before the verb as the speaker: that is replaced too.
            for cand in (f"{members['np'].split()[0]} {members['name']}", members["name"]):
                if full := self._full(cand):
                    return full
        if not generic:
            return None
        if (m := _DEFINITE.search(text)) and m.start() < 40:
            return self.definite(n, m["head"], m["mod"])
        if m := _STUDY_BY.search(text):
            return self._full(m["name"]) or (m["name"] if len(m["name"].split()) <= 5 else None)
        for s, o in self.orgs:  # "The Westmarch Regional Assembly approved ..."
            if s == n and re.match(rf"(?:The\s+)?{re.escape(o)}(?:,[^,]{{2,80}},)?\s+(?:also\s+)?"
                                   rf"(?:{_STATE_VERBS})\b", text):
                return o
        first = re.match(r"(?:The\s+)?([A-Z][\w\u2019'\-]+)\b", text)
        earlier = {sp for s, sp in self.speakers if s < n and not self.people.is_person(sp)}
        if first and first.group(1) not in TITLE_WORDS | _NOT_NAMES and (
                full := self._full(first.group(1))
                or (first.group(1) if first.group(1) in earlier else None)) and re.search(
                r"\band\s+(?:[a-z]+\s+){0,3}(?:said|says)\b", text):  # "Tervane was ... and said"
            return full
        if m := _DEFINITE_TAIL.search(text):
            return self.definite(n, m["head"], m["mod"])
        if m := _ACCORDING_BY.search(text):
            return self.definite(n, m["head"], m["mod"])
        return None
