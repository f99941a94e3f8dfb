"""The sections of a `Briefing` built from claims: units, matching, classification, bottom
line (rules in `assistant.briefing.notes`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.briefing.match import Cluster, Unit, cluster, within_conflicts
from assistant.briefing.model import (
    MIN_SUPPORT,
    Agreement,
    BlufLine,
    BottomLine,
    Briefing,
    CheckItem,
    Citation,
    ClaimedItem,
    Confidence,
    Dispute,
    KnownItem,
    Likelihood,
    Side,
    SourceRef,
    Unknown,
    VerdictNote,
)
from assistant.errors import UserError
from assistant.schemas import Analysis, ClaimType, Document, Provenance, Quote
from assistant.text import signals as sig
from assistant.text.grounding import normalize, support, verify_quote

if TYPE_CHECKING:
    from assistant.schemas import ClaimVerdict, FactCheckReport
from assistant.briefing import sections
from assistant.briefing.sections import STRONG_HEDGES, Ctx, generic_speaker, unit_cites

# The signals' check-worthiness an event sentence needs to be listed as known on its own.
MIN_FACT_WORTH = 0.3
_OPEN_QUOTES = "\"“‘«'"




# --------------------------------------------------------------------------- units


def _units(ctx: Ctx) -> list[Unit]:
    out: list[Unit] = []
    for si, (doc, an) in enumerate(ctx.analyses, 1):
        signals = ctx.signals[si]
        mine: list[Unit] = []
        for n, kp in enumerate(an.summary.key_points, 1):
            sids = [s for s in kp.sentence_ids if doc.has_sentence(s)]
            if sids and all(signals[s].is_boilerplate for s in sids):
                continue  # a headline or dateline states no fact of its own
            score = support(kp.text, [doc.sentence(s).text for s in sids]) if sids else 0.0
            if score < MIN_SUPPORT:
                ctx.notes.append(f"source {si}: key point {n} left out (support {score:.2f} "
                                 f"below {MIN_SUPPORT}): {kp.text!r}")
                continue
            mine.append(_settle(_signal_unit(Unit(si, doc, sids, kp.text, "key_point", key_point=kp),
                                             signals), signals))
        for c in an.claims:
            sid = c.sentence_ids[0]
            host = next((u for u in mine if sid in u.sids and u.claim is None), None)
            if host is None:
                host = Unit(si, doc, [sid], c.text, "claim")
                mine.append(host)
            host.claim = c
            a = c.attribution
            host.speaker, host.role, host.verb = a.speaker, a.role, a.verb
            host.hedges = list(a.hedges)
            host.check_worthiness = c.check_worthiness
            if host.kind == "key_point" and host.speaker:
                host.text = c.text  # the claim's wording keeps who says it, from its sentence
                host.sids = list(c.sentence_ids)
            if _garbled(host.text, doc.text) or \
                    normalize(host.text).rstrip(" .") in normalize(doc.sentence(sid).text):
                host.text = doc.sentence(sid).text  # garbled, or a cut-off copy: the sentence
            _settle(host, signals)
        covered = {s for u in mine for s in u.sids}
        for s in doc.sentences:
            signal = signals[s.id]
            # Figures, to find contradictions; attributed words, so every claim has its
            # claimant; events and figures the outlet states, for what we know.
            factual = signal.claim_type in (ClaimType.event, ClaimType.statistic) and \
                not signal.is_opinion and not signal.features.is_question and \
                not signal.features.is_heading and signal.checkworthiness >= MIN_FACT_WORTH
            if s.id not in covered and not signal.is_boilerplate and (
                    factual or any(n.central for n in signal.numbers) or signal.attribution.speaker):
                u = _settle(_signal_unit(Unit(si, doc, [s.id], s.text, "sentence"), signals), signals)
                u.factual = factual
                mine.append(u)
        out += [u.prepare() for u in _distinct(mine)]
    return out


def _distinct(units: list[Unit]) -> list[Unit]:
    """One unit per set of sentences: two key points on the same words are one statement."""
    kept: dict[frozenset[str], Unit] = {}
    for u in units:
        key = frozenset(u.sids)
        if key not in kept or (kept[key].claim is None and u.claim is not None):
            kept[key] = u
    return [u for u in units if kept[frozenset(u.sids)] is u]


def _settle(u: Unit, signals: dict[str, sig.SentenceSignals]) -> Unit:
    """Who speaks in a unit, and, when someone does and no claim rewrote it, their words."""
    _fallback_speaker(u)
    _quote_speaker(u, signals)
    if u.speaker and u.claim is None:
        # A paraphrase of someone's words can swap who accuses whom: show theirs, from the
        # sentences that speaker says.
        u.sids = [x for x in u.sids if x == u.sids[0] or signals[x].attribution.speaker == u.speaker]
        u.text = u.source_text
    return u


def _garbled(text: str, source: str) -> bool:
    """Letters the source never uses (a small model drifting into another script)."""
    return "\ufffd" in text or bool({c for c in text if c.isalpha()} - set(source))


def _signal_unit(u: Unit, signals: dict[str, sig.SentenceSignals]) -> Unit:
    s = signals[u.sids[0]]
    a = s.attribution
    u.speaker, u.role, u.verb, u.hedges = a.speaker, a.role, a.verb, list(a.hedges)
    u.check_worthiness = s.checkworthiness
    return u


def _fallback_speaker(u: Unit) -> None:
    if u.speaker is None and (who := generic_speaker(u.source_text)):
        u.speaker = who


def _quote_speaker(u: Unit, signals: dict[str, sig.SentenceSignals]) -> None:
    """A quotation with no speaker of its own continues the previous speaker's quote
    ("…," said Okafor. "Closing it is painful…"); it is never the outlet's voice."""
    first = u.doc.sentence(u.sids[0])
    u.quoted = first.text.lstrip()[:1] in _OPEN_QUOTES or signals[first.id].has_direct_quote
    if u.speaker or not u.quoted:
        return
    for s in reversed(u.doc.sentences[: first.index - 1]):
        if s.paragraph != first.paragraph:
            break
        if (a := signals[s.id].attribution).speaker:
            u.speaker, u.role, u.verb = a.speaker, a.role, a.verb
            return


def _hedges(units: Iterable[Unit]) -> list[str]:
    return list(dict.fromkeys(h for u in units for h in u.hedges if h in STRONG_HEDGES))


def _outlet_voice(units: list[Unit]) -> bool:
    return any(u.speaker is None and not u.quoted for u in units) and not _hedges(units)


# --------------------------------------------------------------------------- verdicts


def _verdicts(ctx: Ctx, reports: list[FactCheckReport], evidence: list[Document]) -> None:
    by_doc = {d.doc_id: i for i, (d, _) in enumerate(ctx.analyses, 1)}
    first_ev = len(ctx.analyses) + 1
    ev_index = {d.doc_id: first_ev + k for k, d in enumerate(evidence)}
    for pos, report in enumerate(reports, 1):
        article = getattr(report, "article", None)
        si = by_doc.get(article.doc_id) if article is not None else pos
        if si is None or si > len(ctx.analyses):
            ctx.notes.append(f"fact-check report {pos} matches no article; left out")
            continue
        ids = {e.id: ev_index.get(e.doc_id) for e in report.evidence_documents}
        for src in ctx.sources[first_ev - 1:]:
            label = next((k for k, v in ids.items() if v == src.index), None)
            if label:
                src.label = label
        for v in report.verdicts:
            ctx.verdicts[(si, v.claim_id)] = _verdict_note(ctx, v, ids)


def _verdict_note(ctx: Ctx, v: ClaimVerdict, ids: dict[str, int | None]) -> VerdictNote:
    cites = []
    for e in v.evidence:
        src = ids.get(e.document)
        if src is not None and verify_quote(ctx.doc(src), Quote(sentence_id=e.sentence_id, text=e.text,
                                                               start=e.start, end=e.end)):
            cites.append(Citation(source=src, sentence_id=e.sentence_id, text=e.text,
                                  start=e.start, end=e.end))
        else:
            ctx.notes.append(f"evidence quote {e.document} {e.sentence_id} for {v.claim_id} left "
                             "out: the evidence document was not given or does not match")
    return VerdictNote(verdict=str(v.verdict), confidence=v.confidence,
                       rationale=v.rationale, evidence=cites)


def _from_verdict(v: VerdictNote) -> tuple[Confidence, Likelihood | None, str]:
    conf = v.confidence
    strong = conf == Confidence.high
    likelihood = {
        "supported": Likelihood.very_likely if strong else Likelihood.likely,
        "refuted": Likelihood.very_unlikely if strong else Likelihood.unlikely,
        "conflicting": Likelihood.roughly_even_chance,
    }.get(v.verdict)
    return conf, likelihood, f"evidence: {v.verdict.replace('_', ' ')} ({v.confidence} confidence)"


def _cluster_verdict(ctx: Ctx, units: list[Unit]) -> VerdictNote | None:
    found = [ctx.verdicts[(u.source, u.claim.id)] for u in units
             if u.claim is not None and (u.source, u.claim.id) in ctx.verdicts]
    for wanted in ("refuted", "conflicting", "supported", "not_enough_evidence"):
        if v := next((v for v in found if v.verdict == wanted), None):
            return v
    return None


def _refs(units: Iterable[Unit]) -> list[str]:
    return [f"{u.source}:{u.claim.id}" for u in units if u.claim is not None]


# --------------------------------------------------------------------------- sections


@dataclass
class _Sections:
    known: list[KnownItem] = field(default_factory=list)
    claimed: list[ClaimedItem] = field(default_factory=list)
    disputed: list[Dispute] = field(default_factory=list)
    agreements: list[Agreement] = field(default_factory=list)
    unknowns: list[Unknown] = field(default_factory=list)


def _side(ctx: Ctx, u: Unit, figures: list[str] | None = None) -> Side:
    return Side(source=u.source, text=u.claim.text if u.claim else u.text, figures=figures or [],
                claimant=u.speaker, citations=unit_cites(ctx, [u]))


def _source_name(ctx: Ctx, u: Unit, kind: str) -> str:
    if kind == "within_source":
        return f"{u.sids[0]}"
    d = ctx.doc(u.source)
    return f"source {u.source}" + (f", {d.outlet}" if d.outlet else "")


def _dispute(ctx: Ctx, kind: str, pairs: list[tuple[Unit, Unit, list[tuple[str, str]]]]) -> Dispute:
    sides: dict[int, Side] = {}
    parts = []
    for a, b, found in pairs:
        for u, figs in ((a, [f[0] for f in found]), (b, [f[1] for f in found])):
            side = sides.setdefault(id(u), _side(ctx, u))
            side.figures = list(dict.fromkeys(side.figures + figs))
        for fa, fb in found:
            parts.append(f"“{fa}” ({_source_name(ctx, a, kind)}) vs “{fb}” ({_source_name(ctx, b, kind)})")
    lead = "The sources give different figures" if kind == "across_sources" else \
        "The source gives different figures for the same fact"
    all_sides = sorted(sides.values(), key=lambda s: (s.source, ctx.doc(s.source).sentence(
        s.citations[0].sentence_id).index))
    srcs = sorted({s.source for s in all_sides})
    return Dispute(kind=kind, text=f"{lead}: " + "; ".join(dict.fromkeys(parts)) + ".",
                   sides=all_sides, citations=[c for s in all_sides for c in s.citations],
                   first_reported_by=ctx.first_reported(srcs))


def _classify(ctx: Ctx, clusters: list[Cluster], within: set[int]) -> _Sections:
    out = _Sections()
    known_order: list[tuple[int, int, int]] = []
    for c in clusters:
        units = c.units
        srcs = c.sources
        if c.conflicting:
            out.disputed.append(_dispute(ctx, "across_sources", c.conflicting))
            continue
        if any(id(u) in within for u in units):
            continue  # listed under disputed with the source's other figure
        if all(u.kind == "sentence" and not u.factual for u in units) and len(srcs) < 2 \
                and _outlet_voice(units):
            continue  # a figure in passing: used only to spot contradictions
        if len(srcs) >= 2:
            first = ctx.first_reported(srcs)
            out.agreements.append(Agreement(
                text=_text(units), sides=[_side(ctx, u) for u in units],
                citations=unit_cites(ctx, units), first_reported_by=first,
                first_reported_on=ctx.published(first[0]) if first else None))
        verdict = _cluster_verdict(ctx, units)
        if verdict and verdict.verdict in ("refuted", "conflicting"):
            conf, likely, _ = _from_verdict(verdict)
            evidence_sides = [Side(source=e.source, text=e.text, citations=[e]) for e in verdict.evidence]
            out.disputed.append(Dispute(
                kind="evidence", text=f"Evidence {'contradicts' if verdict.verdict == 'refuted' else 'conflicts on'}: "
                f"{_text(units)}", sides=[_side(ctx, units[0]), *evidence_sides],
                citations=unit_cites(ctx, units) + verdict.evidence, verdict=verdict,
                confidence=conf, likelihood=likely, first_reported_by=ctx.first_reported(srcs)))
            continue
        if verdict and verdict.verdict == "not_enough_evidence":
            out.unknowns.append(Unknown(kind="not_settled", text=f"The evidence does not settle: {_text(units)}",
                                        citations=unit_cites(ctx, units)))
        n = ctx.independent(srcs)
        if _outlet_voice(units) or (verdict and verdict.verdict == "supported"):
            if verdict and verdict.verdict == "supported":
                conf, likely, basis = _from_verdict(verdict)
            elif n >= 2:
                conf, likely, basis = Confidence.high, Likelihood.very_likely, \
                    f"{n} independent sources state it in their own voice"
            else:
                conf, likely, basis = Confidence.moderate, Likelihood.likely, \
                    "one source states it in its own voice; not corroborated"
            known_order.append((-len(srcs), 0 if any(u.key_point for u in units) else 1, len(known_order)))
            out.known.append(KnownItem(
                text=_text(units), citations=unit_cites(ctx, units), sources=srcs, confidence=conf,
                likelihood=likely, basis=basis, claim_refs=_refs(units), verdict=verdict,
                first_reported_by=ctx.first_reported(srcs)))
        else:
            out.claimed.append(_claimed(ctx, units, srcs, n, verdict))
    # Corroborated first, then what the summaries chose as key points, in article order.
    out.known = [k for _, k in sorted(zip(known_order, out.known, strict=True), key=lambda x: x[0])]
    out.claimed.sort(key=lambda c: -c.check_worthiness)
    return out


def _text(units: list[Unit]) -> str:
    primary = next((u for u in units if u.kind != "sentence"), units[0])
    return primary.text


def _claimed(ctx: Ctx, units: list[Unit], srcs: list[int], n: int,
             verdict: VerdictNote | None) -> ClaimedItem:
    speaker = next((u for u in units if u.speaker), None)
    hedges = _hedges(units)
    claim = next((u.claim for u in units if u.claim), None)
    role = speaker.role if speaker and speaker.role and \
        normalize(speaker.role) in normalize(speaker.doc.text) else None
    who = speaker.speaker if speaker else None
    if verdict:
        conf, likely, basis = _from_verdict(verdict)
    else:
        conf = Confidence.moderate if n >= 2 else Confidence.low
        likely = None
        said = f"attributed to {who}" if who else "the outlet's own words"
        hedge = f", hedged (“{'”, “'.join(hedges)}”)" if hedges else ""
        count = f"reported by {n} independent sources" if n >= 2 else "one source"
        basis = f"{said}{hedge}; {count}; not independently verified"
    return ClaimedItem(
        text=_text(units), claimant=who, role=role, verb=speaker.verb if speaker else None,
        hedges=hedges,
        claim_type=claim.type if claim else None,
        check_worthiness=max(u.check_worthiness for u in units),
        citations=unit_cites(ctx, units), sources=srcs, confidence=conf, likelihood=likely,
        basis=basis, claim_refs=_refs(units), verdict=verdict,
        first_reported_by=ctx.first_reported(srcs))


# --------------------------------------------------------------------------- bottom line


def _bottom_line(ctx: Ctx, sec: _Sections, checks: list[CheckItem]) -> BottomLine:
    doc, _ = ctx.analyses[0]
    lines = []
    # The lead in the outlet's own words: a model summary line at the top of the page is
    # where a swapped subject would do most harm.
    lead = [x for x in doc.sentences if not ctx.signals[1][x.id].is_boilerplate
            and not ctx.signals[1][x.id].features.is_heading][:2]
    if len(lead) == 2 and len(lead[0].text.split()) >= 12:
        lead = lead[:1]
    if lead:
        disputed = {(c.source, c.sentence_id) for d in sec.disputed for c in d.citations}
        label = "Lead" if len(ctx.analyses) == 1 else "Lead of source 1"
        if any((1, x.id) in disputed for x in lead):
            label += " (disputed)"
        lines.append(BlufLine(label=label, text=" ".join(x.text for x in lead),
                              citations=ctx.cites((1, x.id) for x in lead)))
    if sec.known:
        k = sec.known[0]
        lines.append(BlufLine(label="Known", text=k.text, citations=k.citations[:3]))
    if sec.disputed:
        d = sec.disputed[0]
        lines.append(BlufLine(label="Disputed", text=d.text, citations=d.citations[:4]))
    if sec.claimed:
        c = max(sec.claimed, key=lambda c: (bool(c.claimant and c.claimant[:1].isupper()),
                                            c.check_worthiness))
        who = f"Claimed by {c.claimant}" if c.claimant else "Claimed, unattributed"
        lines.append(BlufLine(label="Claimed", text=f"{who}: {c.text}", citations=c.citations[:3]))
    if checks:
        lines.append(BlufLine(label="Check first", text=checks[0].question, citations=checks[0].citations[:2]))
    n = ctx.independent(list(range(1, len(ctx.analyses) + 1)))
    if sec.disputed:
        n_disputed = len(sec.disputed)
        conf, basis = Confidence.low, f"{n_disputed} disputed point{'s' if n_disputed > 1 else ''} in the sources"
    elif any(k.confidence == Confidence.high for k in sec.known):
        conf, basis = Confidence.high, f"{n} independent sources agree on the main facts; nothing disputed"
    elif sec.known:
        conf, basis = Confidence.moderate, ("a single source" if n == 1 else "sources do not overlap") + \
            "; nothing disputed; claims unverified"
    else:
        conf, basis = Confidence.low, "nothing is stated in the sources' own voice; all is claimed"
    return BottomLine(lines=lines, confidence=conf, basis=basis)


# --------------------------------------------------------------------------- assemble


def _provenance(analyses: list[tuple[Document, Analysis]]) -> Provenance:
    total = analyses[0][1].provenance.model_copy(deep=True)
    for _, an in analyses[1:]:
        total.merge(an.provenance.model_copy(deep=True))
        total.latency_s += an.provenance.latency_s
    return total


def assemble(analyses: list[tuple[Document, Analysis]], reports: list[FactCheckReport],
             evidence: list[Document]) -> Briefing:
    if not analyses:
        raise UserError("a briefing needs at least one analysed article")
    for doc, an in analyses:
        if doc.doc_id != an.document.doc_id:
            raise UserError(f"the analysis of {an.document.title or an.document.doc_id!r} is not of "
                            f"the document paired with it ({doc.title or doc.doc_id!r})")
    sources = [SourceRef(index=i, role="article", label="article", document=d)
               for i, (d, _) in enumerate(analyses, 1)]
    sources += [SourceRef(index=len(sources) + k, role="evidence", label=f"E{k}", document=d)
                for k, d in enumerate(evidence, 1)]
    ctx = Ctx(analyses=analyses, sources=sources,
               signals={i: {s.sentence_id: s for s in sig.analyze_sentences(d)}
                        for i, (d, _) in enumerate(analyses, 1)})
    if reports:
        _verdicts(ctx, reports, evidence)
    else:
        ctx.notes.append("No evidence was given: no claim has been checked against independent "
                         "sources. Likelihood is assessed only for what the outlets state in their own voice.")
    units = _units(ctx)
    within = within_conflicts(units)
    within_ids = {id(u) for a, b, _ in within for u in (a, b)}
    clusters = cluster(units)
    sec = _classify(ctx, clusters, within_ids)
    sec.disputed += [_dispute(ctx, "within_source", [w]) for w in within]
    disputed_ids = within_ids | {id(u) for c in clusters if c.conflicting for u in c.units}
    cluster_of = {(u.source, s): n for n, c in enumerate(clusters) for u in c.units for s in u.sids}
    timeline = sections.timeline(ctx, cluster_of)
    actors = sections.actors(ctx)
    stated = {"when"} if timeline else set()
    stated |= {"who"} if any(a.speaks and a.kind == "person" for a in actors) else set()
    sec.unknowns = sections.unknowns(ctx, units, disputed_ids, stated) + sec.unknowns
    checks = sections.checks(ctx)
    published = [d.published for d, _ in analyses if d.published]
    return Briefing(
        title=analyses[0][0].title or analyses[0][1].summary.headline, as_of=max(published) if published else None,
        bottom_line=_bottom_line(ctx, sec, checks), known=sec.known, claimed=sec.claimed,
        disputed=sec.disputed, agreements=sec.agreements, unknowns=sec.unknowns, checks=checks,
        actors=actors, timeline=timeline, sources=ctx.sources,
        notes=ctx.notes, provenance=_provenance(analyses))
