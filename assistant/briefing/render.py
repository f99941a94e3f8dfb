"""A `Briefing` as Markdown (citations as footnotes), self-contained HTML, or JSON.

The HTML loads nothing: inline CSS only, no script, a Content-Security-Policy that
forbids everything else, and every string from a source passed through `html.escape`.
Citations link to `#src{n}-S{k}`, the cited sentence in the appendix holding each
source's full text; CSS `:target` highlights it, so no script is needed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources

from assistant.briefing.model import (
    Actor,
    Briefing,
    Citation,
    ClaimedItem,
    Confidence,
    Dispute,
    KnownItem,
    Likelihood,
    SourceRef,
    Unknown,
    VerdictNote,
)
from assistant.render.analysis import md_text
from assistant.text.grounding import normalize

__all__ = ["CSP", "to_html", "to_json", "to_markdown"]

CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
FORMATS = ("md", "html", "json")
_UNKNOWN_LABELS = {"missing_5w": "not stated", "hedged": "hedged", "unnamed_source": "unnamed source",
                   "no_response": "no answer", "not_settled": "not settled"}
_SECTIONS = [("bluf", "Bottom line"), ("known", "Known"), ("claimed", "Claimed"),
             ("disputed", "Disputed"), ("unknown", "Unknown"), ("next", "Check next"),
             ("people", "People & orgs"), ("timeline", "Timeline"), ("sources", "Sources"),
             ("scales", "Scales"), ("appendix", "Source texts")]


def to_json(b: Briefing) -> str:
    return b.model_dump_json(indent=2) + "\n"


def _likely(x: Likelihood | None) -> str:
    return x.value if x else "not assessed"


def _source_line(s: SourceRef) -> list[str]:
    d = s.document
    bits = [d.outlet, d.published.isoformat() if d.published else "date unknown", d.url]
    if s.role == "evidence":
        bits.insert(0, f"evidence {s.label}")
    return [b for b in bits if b]


# --------------------------------------------------------------------------- Markdown



def _md(text: str) -> str:
    """Source or model text as inert Markdown: no markup, links, HTML or table breaks."""
    return md_text(text)


def _fn(c: Citation) -> str:
    return f"[^{c.source}-{c.sentence_id}]"


def _fns(cites: Iterable[Citation]) -> str:
    return "".join(dict.fromkeys(_fn(c) for c in cites))


def _md_verdict(v: VerdictNote | None) -> str:
    if v is None:
        return ""
    return f" · **evidence: {v.verdict.replace('_', ' ')}** ({v.confidence}) {_fns(v.evidence)}"


def _extra_quotes(item_text: str, cites: list[Citation]) -> list[Citation]:
    """The cited words an item's text does not already show, at most two."""
    shown = normalize(item_text)
    return [c for c in cites if normalize(c.text) not in shown][:2]


def _md_quote(item_text: str, cites: list[Citation]) -> list[str]:
    quotes = _extra_quotes(item_text, cites)
    return [f"   > {_md(c.text)} {_fn(c)}" for c in quotes]


def _md_known(n: int, k: KnownItem) -> list[str]:
    first = f" · first reported by source {', '.join(map(str, k.first_reported_by))}" if k.first_reported_by else ""
    return [f"{n}. {_md(k.text)} {_fns(k.citations)}",
            f"   *Confidence: **{k.confidence.value}** · likelihood: **{_likely(k.likelihood)}** — "
            f"{_md(k.basis)}{first}*{_md_verdict(k.verdict)}",
            *_md_quote(k.text, k.citations)]


def _who(c: ClaimedItem) -> str:
    who = f"**{_md(c.claimant)}**" if c.claimant else "**Unattributed**"
    if c.role:
        who += f", {_md(c.role)}"
    if c.verb:
        who += f" (*{_md(c.verb)}*)"
    return who


def _md_claimed(n: int, c: ClaimedItem) -> list[str]:
    hedges = f" · hedged: {', '.join('“' + _md(h) + '”' for h in c.hedges)}" if c.hedges else ""
    first = f" · first reported by source {', '.join(map(str, c.first_reported_by))}" if c.first_reported_by else ""
    return [f"{n}. {_who(c)}: {_md(c.text)} {_fns(c.citations)}",
            f"   *Confidence: **{c.confidence.value}** · likelihood: **{_likely(c.likelihood)}** · "
            f"check-worthiness {c.check_worthiness:.2f}{hedges}{first}*{_md_verdict(c.verdict)}",
            *_md_quote(c.text, c.citations)]


def _md_dispute(n: int, d: Dispute, b: Briefing) -> list[str]:
    lines = [f"{n}. **{_md(d.text)}** {_fns(d.citations)}",
             f"   *Confidence: **{d.confidence.value}** · likelihood: **{_likely(d.likelihood)}**"
             + (f" · first reported by source {', '.join(map(str, d.first_reported_by))}" if d.first_reported_by else "")
             + "*"]
    for s in d.sides:
        src = b.sources[s.source - 1]
        where = f"Source {s.source}" + (f" ({_md(src.document.outlet)})" if src.document.outlet else "")
        who = f", {_md(s.claimant)}" if s.claimant else ""
        for c in s.citations:
            lines.append(f"   - {where}{who}: “{_md(c.text)}” {_fn(c)}")
    return lines


def to_markdown(b: Briefing) -> str:
    n_art = sum(1 for s in b.sources if s.role == "article")
    n_ev = len(b.sources) - n_art
    bl = b.bottom_line
    lines = [f"# Briefing: {_md(b.title)}", "",
             f"*As of {b.as_of.isoformat() if b.as_of else 'an unknown date'} · {n_art} article(s)"
             + (f", {n_ev} evidence document(s)" if n_ev else "") + " · every statement is footnoted "
             "to the exact source sentence.*", "",
             "> **Bottom line up front**", ">"]
    lines += [f"> - **{_md(x.label)}.** {_md(x.text)} {_fns(x.citations)}" for x in bl.lines]
    lines += [">", f"> *Overall confidence: **{bl.confidence.value}** — {_md(bl.basis)}. Confidence "
                   "(how well sourced) and likelihood (how probable, ICD 203 terms) are separate; "
                   "see “How to read this briefing”.*", ""]

    lines += [f"## What we know ({len(b.known)})", ""]
    for n, k in enumerate(b.known, 1):
        lines += _md_known(n, k)
    lines += ["" if b.known else "Nothing is stated in the sources' own voice.", ""]

    lines += [f"## Claimed but not verified ({len(b.claimed)})", ""]
    for n, c in enumerate(b.claimed, 1):
        lines += _md_claimed(n, c)
    lines += ["" if b.claimed else "No attributed claims.", ""]

    lines += [f"## Disputed ({len(b.disputed)})", ""]
    for n, d in enumerate(b.disputed, 1):
        lines += _md_dispute(n, d, b)
    lines += ["" if b.disputed else "No contradictions found between or within the sources.", ""]

    if b.agreements:
        lines += [f"### Reported alike by several sources ({len(b.agreements)})", ""]
        for a in b.agreements:
            first = (f" First reported by source {', '.join(map(str, a.first_reported_by))}"
                     f" ({a.first_reported_on.isoformat()})." if a.first_reported_on else "")
            lines.append(f"- {_md(a.text)} {_fns(a.citations)}{first}")
            lines += [f"  - Source {s.source}: “{_md(c.text)}” {_fn(c)}" for s in a.sides for c in s.citations]
        lines.append("")

    lines += [f"## What we don't know ({len(b.unknowns)})", ""]
    lines += [f"- *{_UNKNOWN_LABELS[u.kind]}* — {_md(u.text)} {_fns(u.citations)}" for u in b.unknowns]
    lines += ["" if b.unknowns else "No gaps detected.", ""]

    lines += [f"## What to check next ({len(b.checks)})", "",
              "*Ranked by the claim's check-worthiness (0–1).*", ""]
    for chk in b.checks:
        lines.append(f"{chk.rank}. **{_md(chk.question)}** — method: {_md(chk.method)} · ask: "
                     f"{_md(chk.who_could_answer)} · claim {chk.claim_ref} ({chk.check_worthiness:.2f}) "
                     f"{_fns(chk.citations)}")
    lines += ["" if b.checks else "No verification questions.", ""]

    lines += [f"## People and organisations ({len(b.actors)})", ""]
    if b.actors:
        lines += ["| Name | Kind | Role as the sources state it | Statements | Mentions |",
                  "|---|---|---|---|---|"]
        for actor in b.actors:
            roles = "; ".join(f"{_md(r.role)} {_fns(r.citations)}" for r in actor.roles) or "—"
            lines.append(f"| {_md(actor.name)} | {actor.kind} | {roles} | {actor.statements or '—'} | "
                         f"{_fns(actor.citations)} |")
    lines.append("")

    lines += [f"## Timeline ({len(b.timeline)})", ""]
    if b.timeline:
        lines += ["| Date | What the source says | |", "|---|---|---|"]
        for t in b.timeline:
            at = t.text.find(t.expression)
            marked = (t.text[:at] + "\x00" + t.expression + "\x00" + t.text[at + len(t.expression):]
                      if at >= 0 else t.text)
            said = _md(marked).replace("\x00", "**")
            rel = " (resolved)" if t.relative else ""
            lines.append(f"| {t.label}{rel} | {said.strip()} | {_fns(t.citations)} |")
    lines.append("")

    lines += ["## Sources", ""]
    for src in b.sources:
        doc = src.document
        lines.append(f"{src.index}. **{_md(doc.title or '(untitled)')}** — {_md(' · '.join(_source_line(src)))}"
                     + (f" · file {_md(doc.source)}" if doc.source and doc.source != doc.url else ""))
    lines.append("")

    lines += ["## How to read this briefing", "",
              "**Confidence** — how well sourced a statement is:", ""]
    lines += [f"- **{s.term}**: {s.range} — {s.meaning}" for s in b.confidence_scale]
    lines += ["", f"**Likelihood** — how probable a statement is, on the {b.likelihood_scale_name} scale:", "",
              "| Term | Probability | Also called |", "|---|---|---|"]
    lines += [f"| {s.term} | {s.range} | {s.meaning} |" for s in b.likelihood_scale]
    lines += ["", "“Not assessed”: the sources show only that the statement was made.", ""]
    if b.notes or b.provenance:
        lines += ["## Notes", ""]
        lines += [f"- {_md(n)}" for n in b.notes]
        if p := b.provenance:
            lines.append(f"- Produced with {_md(p.backend)} · {_md(p.model)} · {p.usage.calls} model calls · "
                         f"{p.latency_s:.1f} s of model time.")
        lines.append("")
    used = dict.fromkeys((c.source, c.sentence_id) for c in _all_citations(b))
    for source, sid in used:
        sent = b.sources[source - 1].document.sentence(sid)
        lines.append(f"[^{source}-{sid}]: Source {source}, {sid}: “{_md(sent.text)}”")
    return "\n".join(lines).rstrip() + "\n"


def _all_citations(b: Briefing) -> list[Citation]:
    from assistant.briefing.model import iter_citations

    return list(iter_citations(b))


# --------------------------------------------------------------------------- HTML

_e = html.escape


@cache
def _css() -> str:
    return resources.files("assistant.briefing").joinpath("brief.css").read_text(encoding="utf-8")


def _chips(cites: Iterable[Citation]) -> str:
    seen = dict.fromkeys((c.source, c.sentence_id, c.anchor) for c in cites)
    return "".join(f'<a class="cite" href="#{_e(a)}" title="Source {s}, sentence {_e(i)}">{s}·{_e(i)}</a>'
                   for s, i, a in seen)


def _badge(kind: str, value: str, label: str | None = None) -> str:
    cls = re.sub(r"[^a-z]+", "-", value.lower()).strip("-")
    return f'<span class="badge {kind} {kind}-{cls}">{_e(label or value)}</span>'


def _assess(conf: Confidence, likely: Likelihood | None) -> str:
    return (_badge("conf", conf.value, f"confidence: {conf.value}")
            + _badge("lik", likely.value if likely else "none", f"likelihood: {_likely(likely)}"))


def _html_verdict(v: VerdictNote | None) -> str:
    if v is None:
        return ""
    return (f'<div class="verdict">{_badge("verdict", v.verdict, "evidence: " + v.verdict.replace("_", " "))}'
            f' <span class="muted">({_e(v.confidence)} confidence) {_e(v.rationale)}</span> {_chips(v.evidence)}</div>')


def _quote_block(item_text: str, cites: list[Citation]) -> str:
    return "".join(f'<blockquote class="q">{_e(c.text)} {_chips([c])}</blockquote>'
                   for c in _extra_quotes(item_text, cites))


def _first(srcs: list[int]) -> str:
    return f'<span class="muted"> · first reported by source {", ".join(map(str, srcs))}</span>' if srcs else ""


def _h_known(k: KnownItem) -> str:
    return (f'<li class="item"><p class="stmt">{_e(k.text)} {_chips(k.citations)}</p>'
            f'<p class="meta">{_assess(k.confidence, k.likelihood)} <span class="muted">{_e(k.basis)}</span>'
            f'{_first(k.first_reported_by)}</p>{_html_verdict(k.verdict)}{_quote_block(k.text, k.citations)}</li>')


def _h_claimed(c: ClaimedItem) -> str:
    who = f'<span class="who">{_e(c.claimant) if c.claimant else "Unattributed"}</span>'
    if c.role:
        who += f'<span class="role">, {_e(c.role)}</span>'
    if c.verb:
        who += f' <span class="muted">({_e(c.verb)})</span>'
    hedges = "".join(_badge("hedge", "hedge", h) for h in c.hedges)
    return (f'<li class="item"><p class="claimant">{who} {hedges}</p>'
            f'<p class="stmt">{_e(c.text)} {_chips(c.citations)}</p>'
            f'<p class="meta">{_assess(c.confidence, c.likelihood)}'
            f'<span class="cw" title="check-worthiness">check-worthiness <meter min="0" max="1" '
            f'value="{c.check_worthiness:.2f}"></meter> {c.check_worthiness:.2f}</span>'
            f'{_first(c.first_reported_by)}</p>{_html_verdict(c.verdict)}{_quote_block(c.text, c.citations)}</li>')


def _h_dispute(d: Dispute, b: Briefing) -> str:
    sides = []
    for s in d.sides:
        src = b.sources[s.source - 1]
        name = f"Source {s.source}" + (f" · {src.document.outlet}" if src.document.outlet else "")
        if src.document.published:
            name += f" · {src.document.published.isoformat()}"
        figs = "".join(_badge("fig", "fig", f) for f in s.figures)
        who = f'<p class="muted">per {_e(s.claimant)}</p>' if s.claimant else ""
        quotes = "".join(f'<blockquote class="q">{_e(c.text)} {_chips([c])}</blockquote>' for c in s.citations)
        sides.append(f'<div class="side"><p class="side-src">{_e(name)} {figs}</p>{who}{quotes}</div>')
    return (f'<li class="item"><p class="stmt">{_e(d.text)}</p><p class="meta">'
            f'{_badge("kind", d.kind, d.kind.replace("_", " "))}{_assess(d.confidence, d.likelihood)}'
            f'{_first(d.first_reported_by)}</p>{_html_verdict(d.verdict)}<div class="versus">{"".join(sides)}</div></li>')


def _h_unknown(u: Unknown) -> str:
    return (f'<li class="item">{_badge("gap", u.kind, _UNKNOWN_LABELS[u.kind])} {_e(u.text)} '
            f'{_chips(u.citations)}</li>')


def _h_actor(a: Actor) -> str:
    roles = "; ".join(f"{_e(r.role)} {_chips(r.citations)}" for r in a.roles) or '<span class="muted">—</span>'
    return (f'<tr><td data-label="Name"><strong>{_e(a.name)}</strong></td>'
            f'<td data-label="Kind">{_e(a.kind)}</td><td data-label="Role as stated">{roles}</td>'
            f'<td data-label="Statements">{a.statements or "—"}</td>'
            f'<td data-label="Mentions">{_chips(a.citations)}</td></tr>')


def _safe_url(url: str | None) -> str | None:
    # Only web addresses become links: a "javascript:" or "data:" URL stays text.
    return url if url and re.match(r"https?://[^\s\"'<>]+$", url, re.I) else None


def _h_source(s: SourceRef) -> str:
    d = s.document
    meta = [_e(x) for x in (d.outlet, d.published.isoformat() if d.published else "date unknown") if x]
    if s.role == "evidence":
        meta.insert(0, _badge("kind", "evidence", f"evidence {s.label}"))
    if d.url:
        href = _safe_url(d.url)
        meta.append(f'<a href="{_e(href)}" rel="noopener noreferrer">{_e(d.url)}</a>' if href
                    else f'<span class="url">{_e(d.url)}</span>')
    if d.source and d.source != d.url:
        meta.append(f'<span class="muted">file {_e(d.source)}</span>')
    return (f'<li id="source-{s.index}"><strong>{_e(d.title or "(untitled)")}</strong><br>'
            f'<span class="muted">{" · ".join(meta)}</span> · <a href="#text-{s.index}">full text</a></li>')


def _h_appendix(s: SourceRef, cited: set[str]) -> str:
    d = s.document
    paragraphs: dict[int, list[str]] = {}
    for sent in d.sentences:
        anchor = f"src{s.index}-{sent.id}"
        cls = "s cited" if anchor in cited else "s"
        paragraphs.setdefault(sent.paragraph, []).append(
            f'<span class="{cls}" id="{anchor}"><a class="sid" href="#{anchor}">{sent.id}</a>{_e(sent.text)}</span>')
    body = "".join(f"<p>{' '.join(p)}</p>" for p in paragraphs.values())
    return (f'<article class="srctext" id="text-{s.index}"><h3>Source {s.index}: {_e(d.title or "(untitled)")}</h3>'
            f'<p class="muted">{_e(" · ".join(_source_line(s)))}</p>{body}</article>')


def _section(sid: str, title: str, count: int | None, body: str, empty: str) -> str:
    n = f' <span class="count">{count}</span>' if count is not None else ""
    content = body if count else f'<p class="empty">{_e(empty)}</p>'
    return f'<section id="{sid}" class="sec sec-{sid}"><h2>{_e(title)}{n}</h2>{content}</section>'


def to_html(b: Briefing) -> str:
    bl = b.bottom_line
    n_art = sum(1 for s in b.sources if s.role == "article")
    as_of = b.as_of.isoformat() if b.as_of else "unknown date"
    cited = {c.anchor for c in _all_citations(b)}
    bluf = "".join(f'<li><span class="lbl">{_e(x.label)}</span> {_e(x.text)} {_chips(x.citations)}</li>'
                   for x in bl.lines)
    nav = "".join(f'<a href="#{sid}">{_e(label)}</a>' for sid, label in _SECTIONS)
    parts = [
        f'<header class="doc"><p class="kicker">Briefing note · as of {_e(as_of)} · {n_art} article'
        f'{"s" if n_art != 1 else ""}</p><h1>{_e(b.title)}</h1></header>',
        f'<section id="bluf" class="bluf"><h2>Bottom line up front {_badge("conf", bl.confidence.value, "overall confidence: " + bl.confidence.value)}</h2>'
        f'<ul>{bluf}</ul><p class="basis">Why {_e(bl.confidence.value)}: {_e(bl.basis)}. Confidence (how well sourced) and likelihood '
        f'(how probable) are separate judgements: see <a href="#scales">the scales</a>.</p></section>',
        f'<nav class="toc" aria-label="Sections">{nav}</nav>',
        _section("known", "What we know", len(b.known),
                 f'<ol class="items">{"".join(_h_known(k) for k in b.known)}</ol>',
                 "Nothing is stated in the sources' own voice."),
        _section("claimed", "Claimed but not verified", len(b.claimed),
                 f'<ol class="items">{"".join(_h_claimed(c) for c in b.claimed)}</ol>', "No attributed claims."),
        _section("disputed", "Disputed", len(b.disputed),
                 f'<ol class="items">{"".join(_h_dispute(d, b) for d in b.disputed)}</ol>',
                 "No contradictions found between or within the sources."),
    ]
    if b.agreements:
        rows = "".join(
            f'<li class="item"><p class="stmt">{_e(a.text)} {_chips(a.citations)}</p>'
            f'<p class="meta muted">Reported by sources {", ".join(str(s.source) for s in a.sides)}'
            + (f' · first by source {", ".join(map(str, a.first_reported_by))} ({a.first_reported_on.isoformat()})'
               if a.first_reported_on else "") + "</p>"
            + "".join(f'<blockquote class="q">{_e(c.text)} {_chips([c])}</blockquote>'
                      for s in a.sides for c in s.citations) + "</li>" for a in b.agreements)
        parts.append(_section("agreements", "Reported alike by several sources", len(b.agreements),
                              f'<ol class="items">{rows}</ol>', ""))
    checks = "".join(
        f'<li class="item"><p class="stmt"><span class="rank">{c.rank}</span> {_e(c.question)}</p>'
        f'<p class="meta">{_badge("method", c.method)} <span class="muted">ask:</span> {_e(c.who_could_answer)}'
        f' <span class="muted">· claim {_e(c.claim_ref)} · check-worthiness {c.check_worthiness:.2f}</span> '
        f'{_chips(c.citations)}</p></li>' for c in b.checks)
    actors = (f'<table class="stack"><thead><tr><th>Name</th><th>Kind</th><th>Role as the sources state it</th>'
              f'<th>Statements</th><th>Mentions</th></tr></thead><tbody>{"".join(_h_actor(a) for a in b.actors)}'
              f'</tbody></table>')
    resolved = ' <span class="muted">(resolved)</span>'
    timeline = "".join(
        f'<li><time datetime="{_e(t.date)}">{_e(t.label)}</time><div>{_mark(t.text, t.expression)} '
        f'{_chips(t.citations)}{resolved if t.relative else ""}</div></li>' for t in b.timeline)
    scale_rows = "".join(f"<tr><td><strong>{_e(s.term)}</strong></td><td>{_e(s.range)}</td><td>{_e(s.meaning)}</td></tr>"
                         for s in b.likelihood_scale)
    conf_rows = "".join(f"<tr><td>{_badge('conf', s.term, s.term)}</td><td>{_e(s.range)}</td><td>{_e(s.meaning)}</td></tr>"
                        for s in b.confidence_scale)
    notes = "".join(f"<li>{_e(n)}</li>" for n in b.notes)
    if p := b.provenance:
        notes += (f"<li>Produced with {_e(p.backend)} · {_e(p.model)} · {p.usage.calls} model calls · "
                  f"{p.latency_s:.1f} s of model time.</li>")
    notes = f'<h3>Notes</h3><ul class="notes">{notes}</ul>' if notes else ""
    parts += [
        _section("unknown", "What we don't know", len(b.unknowns),
                 f'<ul class="items">{"".join(_h_unknown(u) for u in b.unknowns)}</ul>', "No gaps detected."),
        _section("next", "What to check next", len(b.checks),
                 f'<p class="muted small">Ranked by the claim’s check-worthiness (0–1).</p><ol class="items plain">{checks}</ol>',
                 "No verification questions."),
        _section("people", "People and organisations", len(b.actors), actors, "No names found."),
        _section("timeline", "Timeline", len(b.timeline), f'<ol class="timeline">{timeline}</ol>',
                 "No dates found."),
        _section("sources", "Sources", len(b.sources),
                 f'<ol class="sources">{"".join(_h_source(s) for s in b.sources)}</ol>', ""),
        f'<section id="scales" class="sec"><h2>How to read this briefing</h2>'
        f'<p><strong>Confidence</strong> says how well sourced a statement is; <strong>likelihood</strong> '
        f'says how probable it is. They are judged separately.</p>'
        f'<table class="scale"><thead><tr><th>Confidence</th><th>When</th><th>Means</th></tr></thead>'
        f'<tbody>{conf_rows}</tbody></table>'
        f'<p>Likelihood uses the <strong>{_e(b.likelihood_scale_name)}</strong> scale:</p>'
        f'<table class="scale"><thead><tr><th>Term</th><th>Probability</th><th>Also called</th></tr></thead>'
        f'<tbody>{scale_rows}</tbody></table><p class="muted">“Not assessed”: the sources show only '
        f'that the statement was made.</p>{notes}</section>',
        f'<section id="appendix" class="sec appendix"><h2>Source texts</h2><p class="muted small">'
        f'Cited sentences are underlined; the one you followed a link to is highlighted.</p>'
        f'{"".join(_h_appendix(s, cited) for s in b.sources)}</section>',
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>Briefing: {_e(b.title)}</title><style>{_css()}</style></head>"
        f'<body id="top"><main>{"".join(parts)}<footer><a href="#top">Back to top</a></footer>'
        "</main></body></html>\n"
    )


def _mark(text: str, expression: str) -> str:
    at = text.find(expression)
    if at < 0:
        return _e(text)
    return f"{_e(text[:at])}<mark>{_e(expression)}</mark>{_e(text[at + len(expression):])}"
