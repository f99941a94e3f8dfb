"""Markdown rendering of results. Quotes are shown verbatim with their sentence ids.

Every string that comes from the article or the model passes through `md_text`: Markdown
is shown by viewers that render raw HTML (and run its scripts or load its images), so HTML
is escaped as entities and Markdown syntax is backslash-escaped, leaving inert text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel

from assistant.schemas import (
    Analysis,
    Claim,
    ClaimList,
    Provenance,
    QuestionList,
    Summary,
    VerificationQuestion,
)

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_SYNTAX = re.compile(r"([\\`*_\[\]|#!~])")


def md_text(text: str | None) -> str:
    """Untrusted text as inert inline Markdown: one line, no HTML, links, emphasis or table
    breaks. The text still reads the same when rendered."""
    flat = " ".join(str(text or "").split())
    flat = _MD_SYNTAX.sub(r"\\\1", flat)
    return "".join(_HTML.get(ch, ch) for ch in flat)


def _ids(ids: Iterable[str]) -> str:
    return ", ".join(ids)


_md_quote = md_text


def summary_md(s: Summary) -> list[str]:
    # A summary always renders a heading; an empty citation line says nothing.
    lines = [f"## {md_text(s.headline) or '(no headline)'}", "", md_text(s.tldr)]
    if s.tldr_sentence_ids:
        lines.append(f"*Draws on {_ids(s.tldr_sentence_ids)}.*")
    lines += ["", "### Key points", ""]
    lines += [f"{i}. {md_text(kp.text)} [{_ids(kp.sentence_ids)}]" for i, kp in enumerate(s.key_points, 1)]
    ws = [(name, getattr(s.five_w, name)) for name in ("who", "what", "when", "where", "why")]
    if any(w for _, w in ws):
        lines += ["", "### Who / what / when / where / why", ""]
        lines += [f"- **{name}**: {md_text(w.text)} [{_ids(w.sentence_ids)}]" for name, w in ws if w]
    return lines


def claim_md(c: Claim, questions: list[VerificationQuestion]) -> list[str]:
    a = c.attribution
    who = ", ".join(md_text(x) for x in (a.speaker, a.role) if x) or "unattributed"
    lines = [f"### {c.id} · {c.type.value.replace('_', ' ')} · check-worthiness {c.check_worthiness:.2f}",
             "", md_text(c.text), "",
             f"> {_md_quote(c.quote.text)}",
             f"> — {c.quote.sentence_id}, chars {c.quote.start}–{c.quote.end}", "",
             f"- **Source**: {who}" + (f" ({md_text(a.verb)})" if a.verb else "")]
    if a.hedges:
        lines.append(f"- **Hedging**: {', '.join(md_text(h) for h in a.hedges)}")
    if c.dates:
        lines.append("- **Dates**: " + "; ".join(f"“{md_text(d.expression)}” = {d.resolved}"
                                                 for d in c.dates))
    lines.append(f"- **Why check**: {md_text(c.check_worthiness_reason)}")
    for q in questions:
        lines.append(f"- **Verify** ({q.method.value.replace('_', ' ')}; ask "
                     f"{md_text(q.who_could_answer)}): {md_text(q.question)}")
    return [*lines, ""]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def provenance_md(p: Provenance) -> list[str]:
    prompts = ", ".join(f"{r.name} v{r.version} ({r.hash})" for r in p.prompts)
    return ["---", f"*{p.backend} · {p.model} · {_count(p.usage.calls, 'call')} · {p.usage.prompt_tokens} "
                   f"prompt + {p.usage.completion_tokens} completion tokens · {p.latency_s:.1f} s · "
                   f"{_count(p.attempts, 'attempt')} · prompts: {prompts}*"]


def to_markdown(result: BaseModel) -> str:
    lines: list[str] = []
    if isinstance(result, Analysis):
        d = result.document
        meta = " · ".join(md_text(x) for x in (d.outlet, d.published.isoformat()
                                               if d.published else None, d.url or d.source) if x)
        lines += [f"# {md_text(d.title) or 'Article analysis'}", f"*{meta}*" if meta else "", ""]
        lines += summary_md(result.summary)
        lines += ["", f"## Claims ({len(result.claims)})", ""]
        for c in result.claims:
            lines += claim_md(c, [q for q in result.questions if q.claim_id == c.id])
        lines += provenance_md(result.provenance)
    elif isinstance(result, Summary):
        lines += summary_md(result)
        if result.provenance:
            lines += ["", *provenance_md(result.provenance)]
    elif isinstance(result, ClaimList):
        for c in result.claims:
            lines += claim_md(c, [])
        if result.provenance:
            lines += provenance_md(result.provenance)
    elif isinstance(result, QuestionList):
        lines += [f"- **{q.claim_id}** ({q.method.value.replace('_', ' ')}; ask "
                  f"{md_text(q.who_could_answer)}): {md_text(q.question)}" for q in result.questions]
        if result.provenance:
            lines += ["", *provenance_md(result.provenance)]
    else:
        raise TypeError(f"cannot render {type(result).__name__} as Markdown")
    return "\n".join(lines).rstrip() + "\n"
