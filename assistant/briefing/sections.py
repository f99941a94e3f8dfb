"""Briefing sections about the sources rather than their claims: gaps, checks to make,
people and organisations, the timeline; and the context every section builder shares."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from assistant.briefing.match import Unit
from assistant.briefing.model import (
    Actor,
    CheckItem,
    Citation,
    RoleMention,
    SourceRef,
    TimelineEntry,
    Unknown,
    VerdictNote,
)
from assistant.schemas import Analysis, Document
from assistant.text import signals as sig
from assistant.text.attribution import ORG_WORDS, PLACES, SpeakerIndex
from assistant.text.dates import find_dates, resolve_relative_dates
from assistant.text.grounding import normalize, sentence_quote

# Words that leave a statement unestablished ("according to" only names a source).
STRONG_HEDGES = frozenset([
    "alleged", "allegedly", "reportedly", "purportedly", "apparently", "supposedly", "unconfirmed",
    "unverified", "suspected", "considers", "considered", "believes", "believed", "believe",
    "claims", "claimed"])
_NO_RESPONSE = re.compile(
    r"\b(?:(?:did|does|do|has|have|had|would|could)(?: not|n['’]t)(?: immediately)? "
    r"(?:respond|reply|return|comment|answer|want to (?:clarify|comment|say|confirm)|release[sd]?|"
    r"disclose[sd]?|confirm(?:ed)?|specify|clarify|say)|declined to (?:comment|respond|answer|say|"
    r"clarify|confirm|elaborate)|refused to (?:comment|say|answer|clarify|confirm)|"
    r"could not be reached|no immediate comment|unavailable for comment)\b", re.I)
_FIVE_W = {"who": "who is involved", "when": "when it happened", "where": "where it happened",
           "why": "why it happened"}
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_SETTLED = {"supported", "refuted"}
_GENERIC_NOUNS = (r"residents|officials?|people|witness(?:es)?|experts?|analysts?|sources?|diplomats?|"
                  r"insiders?|observers?|critics?|aides?|locals|neighbou?rs|campaigners|activists|"
                  r"workers|employees|staff|officers|spokes(?:man|woman|person)|contractors?|"
                  r"someone|(?:an?|one) \w+")
_GENERIC = re.compile(rf"^(?:\w+\s+){{0,2}}?(?:{_GENERIC_NOUNS})\b", re.I)
_GENERIC_SAYS = re.compile(
    rf"(?:^|[,;] )((?:[\w-]+\s+){{0,2}}?(?:{_GENERIC_NOUNS})(?:\s+(?:familiar with|close to|in|at|from|"
    rf"of)\s+[^,.;\"“]{{1,40}}?)?)\s+(?:said|say|says|told|claimed|claim|warned|described)\b", re.I)


@dataclass
class Ctx:
    analyses: list[tuple[Document, Analysis]]
    sources: list[SourceRef]
    signals: dict[int, dict[str, sig.SentenceSignals]]
    verdicts: dict[tuple[int, str], VerdictNote] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def doc(self, source: int) -> Document:
        return self.sources[source - 1].document

    def cite(self, source: int, sid: str) -> Citation:
        q = sentence_quote(self.doc(source), sid)
        return Citation(source=source, sentence_id=q.sentence_id, text=q.text, start=q.start, end=q.end)

    def cites(self, pairs: Iterable[tuple[int, str]]) -> list[Citation]:
        return [self.cite(s, i) for s, i in dict.fromkeys(pairs)]

    def published(self, source: int) -> dt.date | None:
        return self.doc(source).published

    def first_reported(self, sources: list[int]) -> list[int]:
        if len(sources) < 2:
            return []
        dated = [(d, s) for s in sources if (d := self.published(s))]
        if not dated:
            return []
        first = min(d for d, _ in dated)
        return sorted(s for d, s in dated if d == first)

    def independent(self, sources: list[int]) -> int:
        return len({self.doc(s).outlet or self.doc(s).doc_id for s in sources})


def unit_cites(ctx: Ctx, units: Iterable[Unit]) -> list[Citation]:
    return ctx.cites((u.source, s) for u in units for s in u.sids)
# --------------------------------------------------------------------------- unknowns


def unknowns(ctx: Ctx, units: list[Unit], disputed_ids: set[int], known: set[str]) -> list[Unknown]:
    out: list[Unknown] = []
    first_doc, first = ctx.analyses[0]
    what = first.summary.five_w.what
    what_ids = [s for s in (what.sentence_ids if what else []) if first_doc.has_sentence(s)]
    what_ids = what_ids or [s.id for s in first_doc.sentences if not ctx.signals[1][s.id].is_boilerplate][:1]
    if any(e.label in ("GPE", "LOC", "FAC") for sid in what_ids for e in ctx.signals[1][sid].entities):
        known = known | {"where"}  # the lead names a place
    for name, phrase in _FIVE_W.items():
        if name in known:
            continue  # the timeline has dates, named people speak, the lead names a place
        if all(getattr(an.summary.five_w, name) is None for _, an in ctx.analyses) and what_ids:
            out.append(Unknown(kind="missing_5w", text=f"No source says {phrase}.",
                               citations=ctx.cites((1, s) for s in what_ids)))
    unit_at = {(u.source, s): u for u in units for s in u.sids if id(u) not in disputed_ids}
    for si, (doc, _) in enumerate(ctx.analyses, 1):
        for s in doc.sentences:
            signal = ctx.signals[si][s.id]
            if signal.is_boilerplate:
                continue
            u = unit_at.get((si, s.id))
            text = u.text if u and len(u.sids) == 1 else s.text
            hedges = [h for h in signal.attribution.hedges if h in STRONG_HEDGES]
            speaker = signal.attribution.speaker
            if _NO_RESPONSE.search(s.text):
                out.append(Unknown(kind="no_response", text=f"No answer on the record: {s.text}",
                                   citations=[ctx.cite(si, s.id)]))
            elif hedges:
                out.append(Unknown(kind="hedged", text=f"Not established (“{'”, “'.join(hedges)}”): {text}",
                                   citations=[ctx.cite(si, s.id)]))
            elif (speaker := speaker or generic_speaker(s.text)) and unnamed(speaker):
                out.append(Unknown(kind="unnamed_source",
                                   text=f"The source is not named (“{speaker}”): {text}",
                                   citations=[ctx.cite(si, s.id)]))
    return out


def unnamed(speaker: str) -> bool:
    """'officials', 'people familiar with the talks', 'a spokeswoman': nobody one could call."""
    words = speaker.split()
    if any(w[:1].isupper() for w in words[1:]):
        return False  # "North American country", "White House": identified, if loosely
    return bool(_GENERIC.search(speaker))


def generic_speaker(text: str) -> str | None:
    """'Residents said ...': a group speaker the signals pass does not resolve."""
    m = _GENERIC_SAYS.search(text)
    return m.group(1) if m else None


# --------------------------------------------------------------------------- checks


def checks(ctx: Ctx) -> list[CheckItem]:
    rows: list[tuple[tuple[float, int, int, int], CheckItem]] = []
    seen: set[str] = set()
    for si, (_doc, an) in enumerate(ctx.analyses, 1):
        claims = {c.id: (n, c) for n, c in enumerate(an.claims)}
        for qn, q in enumerate(an.questions):
            if q.claim_id not in claims:
                continue
            n, claim = claims[q.claim_id]
            v = ctx.verdicts.get((si, claim.id))
            if v and v.verdict in _SETTLED and v.confidence == "high":
                continue
            key = normalize(q.question)
            if key in seen:
                continue
            seen.add(key)
            rows.append(((-claim.check_worthiness, si, n, qn), CheckItem(
                rank=0, question=q.question, method=q.method.value.replace("_", " "),
                who_could_answer=q.who_could_answer, claim_ref=f"{si}:{claim.id}",
                claim_text=claim.text, check_worthiness=claim.check_worthiness,
                citations=ctx.cites((si, s) for s in claim.sentence_ids))))
    rows.sort(key=lambda r: r[0])
    return [item.model_copy(update={"rank": i}) for i, (_, item) in enumerate(rows, 1)]


# --------------------------------------------------------------------------- actors

_INSTITUTIONS = frozenset(["Pentagon", "Kremlin", "White House", "Downing Street", "Elysee"])
_MORE_ORG_WORDS = frozenset(
    ["Works", "Mobility", "Association", "Ltd", "LLC", "Co", "Corporation", "Authority", "Partners",
     "Holdings", "Systems", "Services", "Foundation", "Trust", "Society", "Network", "Airlines",
     "Motors", "Labs", "Industries", "Energy", "Health", "Hospital", "School", "Board", "Bureau",
     "Department", "Commissioner", "Merchants", "Union", "Federation"])
_PLACE_WORDS = frozenset(["Street", "Road", "Avenue", "Bridge", "Tunnel", "River", "Square",
                          "District", "County", "City", "Province", "Region", "Island"])


@dataclass
class _ActorAcc:
    name: str
    labels: list[str] = field(default_factory=list)
    roles: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    statements: int = 0
    mentions: list[tuple[int, str]] = field(default_factory=list)
    first: tuple[int, int] = (0, 0)


def _clean(name: str) -> str:
    name = re.sub(r"^(?:the|The)\s+", "", name.strip())
    return re.sub(r"['’]s$", "", name).strip(" ,.;:")


def actors(ctx: Ctx) -> list[Actor]:
    acc: dict[str, _ActorAcc] = {}
    found: list[tuple[str, str | None, tuple[int, int], str | None, bool]] = []
    for si, (doc, _) in enumerate(ctx.analyses, 1):
        for s in doc.sentences:
            signal = ctx.signals[si][s.id]
            if signal.is_boilerplate:
                continue
            said = signal.attribution
            if said.speaker and signal.features.speaker_kind == "named":
                found.append((_clean(said.speaker), None, (si, s.index), said.role, True))
            for e in signal.entities:
                if e.label in ("PERSON", "ORG", "NAME") and e.text[:1].isupper():
                    found.append((_clean(e.text), e.label, (si, s.index), None, False))
    fulls = {n for n, *_ in found if " " in n}
    by_first: dict[str, list[str]] = {}
    for n in sorted(fulls):
        by_first.setdefault(n.split()[0], []).append(n)
    firsts = {k: v[0] for k, v in by_first.items() if len(v) == 1}
    for name, label, (si, index), role, speaks in found:
        if not name:
            continue
        if " " not in name:  # "Kirby" -> "John Kirby" when exactly one full name ends so
            longer = [f for f in fulls if f.split()[-1] == name]
            name = longer[0] if len(longer) == 1 else firsts.get(name, name)
        key = normalize(name)
        a = acc.setdefault(key, _ActorAcc(name=name, first=(si, index)))
        sid = f"S{index}"
        if label:
            a.labels.append(label)
        if (si, sid) not in a.mentions:
            a.mentions.append((si, sid))
        if speaks:
            a.statements += 1
            if role and normalize(role) in normalize(ctx.doc(si).text):
                a.roles.setdefault(role, []).append((si, sid))
    all_roles = [normalize(r) for a in acc.values() for r in a.roles]
    out = []
    for a in acc.values():
        if not a.statements and (len(a.name) < 3 or (
                len(a.mentions) == 1 and any(normalize(a.name) in r for r in all_roles))):
            continue  # "Foreign Affairs" of "high representative for Foreign Affairs"
        kind = _actor_kind(a)
        if kind == "place" and not a.statements:
            continue  # places matter here only when they stand for a government that speaks
        roles = [RoleMention(role=r, citations=[_role_cite(ctx, si, sid, r) for si, sid in dict.fromkeys(w)][:2])
                 for r, w in a.roles.items()]
        out.append((a, Actor(name=a.name, kind=kind, roles=roles, speaks=a.statements > 0,
                             statements=a.statements, citations=ctx.cites(a.mentions[:3]))))
    out.sort(key=lambda x: (not x[1].speaks, -x[1].statements, x[0].first))
    return [actor for _, actor in out[:30]]


def _actor_kind(a: _ActorAcc) -> str:
    # spaCy's small model mislabels often ("Kestrel Civil Works" PERSON, "Eastbank" ORG):
    # a label counts only when the name's own words agree with it.
    words = set(a.name.split())
    if a.name in _INSTITUTIONS or words & (ORG_WORDS | _MORE_ORG_WORDS):
        return "organisation"
    if words & PLACES or a.name.split()[-1] in _PLACE_WORDS or "GPE" in a.labels:
        return "place"
    if SpeakerIndex.looks_like_person(a.name) and ("PERSON" in a.labels or a.roles):
        return "person"
    if "ORG" in a.labels and (a.statements or a.name.isupper()):
        return "organisation"  # a speaker, or an acronym (NATO, OSCE)
    return "other"


def _role_cite(ctx: Ctx, si: int, sid: str, role: str) -> Citation:
    from assistant.text.grounding import locate_quote

    doc = ctx.doc(si)
    q = locate_quote(doc, role, [sid] + [s.id for s in doc.sentences])
    if q is None:
        return ctx.cite(si, sid)
    return Citation(source=si, sentence_id=q.sentence_id, text=q.text, start=q.start, end=q.end)


# --------------------------------------------------------------------------- timeline


def period(resolved: str) -> tuple[dt.date, str, str] | None:
    """(first day, precision, display label) of an ISO date or period."""
    try:
        if m := re.fullmatch(r"(\d{4})-W(\d\d)", resolved):
            day = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return day, "week", f"week of {day.day} {_MONTHS[day.month - 1]} {day.year}"
        if re.fullmatch(r"\d{4}-\d\d-\d\d", resolved):
            day = dt.date.fromisoformat(resolved)
            return day, "day", f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"
        if m := re.fullmatch(r"(\d{4})-(\d\d)", resolved):
            return dt.date(int(m[1]), int(m[2]), 1), "month", f"{_MONTHS[int(m[2]) - 1]} {m[1]}"
        if re.fullmatch(r"\d{4}", resolved):
            return dt.date(int(resolved), 1, 1), "year", resolved
    except ValueError:
        return None
    return None


def timeline(ctx: Ctx, cluster_of: dict[tuple[int, str], int]) -> list[TimelineEntry]:
    entries: dict[tuple[str, Any], tuple[tuple[Any, ...], TimelineEntry]] = {}
    rank = {"year": 0, "month": 1, "week": 2, "day": 3}
    for si, (doc, _) in enumerate(ctx.analyses, 1):
        for s in doc.sentences:
            signal = ctx.signals[si][s.id]
            if signal.is_boilerplate or signal.features.is_heading:
                continue
            found = [(a, b, d.isoformat(), s.text[a:b], False) for a, b, d in find_dates(s.text)]
            for r in resolve_relative_dates(doc, s):
                a, b = r.start - s.start, r.end - s.start
                if not any(x < b and a < y for x, y, *_ in found):
                    # "in 2021" names its year: only "last December" needed the publication date
                    found.append((a, b, r.resolved, r.expression, r.resolved not in r.expression))
            for a, b, resolved, expression, relative in found:
                span = period(resolved)
                if span is None or (b - a) >= 0.8 * len(s.text):
                    continue  # a dateline is not an event
                key = (resolved, cluster_of.get((si, s.id), (si, s.id)))
                if key in entries:
                    old = entries[key][1]
                    if all(c.anchor != f"src{si}-{s.id}" for c in old.citations):
                        old.citations.append(ctx.cite(si, s.id))
                    continue
                entry = TimelineEntry(date=resolved, precision=span[1], label=span[2],
                                      expression=expression, relative=relative, text=s.text,
                                      citations=[ctx.cite(si, s.id)])
                entries[key] = ((span[0], rank[span[1]], si, s.index, a), entry)
    return [e for _, e in sorted(entries.values(), key=lambda x: x[0])]
