"""Markdown for fact-check results. Article words and evidence words are shown apart:
article quotes cite S ids; evidence quotes cite their document (E1 ...) and its S ids;
model knowledge (CoVe) sits under its own "unverified" label, never as evidence."""

from __future__ import annotations

from assistant.render.analysis import md_text, provenance_md
from assistant.schemas import (
    ClaimVerdict,
    FactCheckReport,
    FaithfulnessReport,
    FaithLabel,
    Mismatch,
    SentenceJudgement,
)

# Article, evidence and model text alike: inert, HTML escaped (see `render.md_text`).
_md_quote = md_text


_VERDICT = {"supported": "SUPPORTED", "refuted": "REFUTED",
            "not_enough_evidence": "NOT ENOUGH EVIDENCE", "conflicting": "CONFLICTING"}


def _mismatch_md(m: Mismatch, where: str) -> str:
    src = m.source_span
    other = (f" — {src.document or where} {src.sentence_id}: “{_md_quote(src.text)}”"
             if src else "")
    return f"  - **{m.kind.value}** “{_md_quote(m.claim_span.text)}”: {md_text(m.message)}{other}"


def _judgement_md(j: SentenceJudgement) -> list[str]:
    mark = "✅" if j.label == FaithLabel.supported else "❌"
    kind = "" if j.label == FaithLabel.supported else f" · {j.error_type.value.replace('_', ' ')}"
    decided: str = j.decided_by
    if j.calibrated is not None and j.decided_by == "calibrated":
        c = j.calibrated
        decided += (f" (profile {c.profile}{', the default' if c.default_used else ''}: "
                    f"P {c.probability:.2f} vs threshold {c.threshold:.2f})")
    lines = [f"{j.index}. {mark} {_md_quote(j.text)}",
             f"   *{j.label.value.replace('_', ' ')}{kind} · decided by {md_text(decided)} · "
             f"support {j.support:.2f}*"]
    for q in j.quotes:
        lines.append(f"   > {q.sentence_id}: {_md_quote(q.text)}")
    lines += ["  " + _mismatch_md(m, "article") for m in j.mismatches]
    return lines


def faithfulness_md(r: FaithfulnessReport) -> str:
    title = md_text(r.document.title) or "the article"
    lines = [f"# Faithfulness of a summary to {title}", "",
             f"**{r.label.value.replace('_', ' ').upper()}** · {r.score:.0%} of sentences "
             f"supported · mode: {r.mode}", ""]
    for j in r.sentences:
        lines += [*_judgement_md(j), ""]
    if r.provenance and r.mode == "combined":
        lines += provenance_md(r.provenance)
    return "\n".join(lines).rstrip() + "\n"


def _verdict_md(v: ClaimVerdict) -> list[str]:
    lines = [f"### {v.claim_id} · {_VERDICT[v.verdict.value]} · confidence {v.confidence.value}",
             "", md_text(v.claim_text), ""]
    if v.as_of:
        dates = "; ".join(f"“{md_text(d.expression)}” = {d.resolved}" for d in v.dates)
        lines.append(f"*As of {v.as_of}*" + (f" · {dates}" if dates else ""))
    if v.article_quote:
        lines.append(f"*From the article, {v.article_quote.sentence_id}:* "
                     f"“{_md_quote(v.article_quote.text)}”")
    lines += ["", f"**Why**: {md_text(v.rationale)}", ""]
    if v.supported_part is not None and v.supported_text:
        q = v.supported_part
        lines += [f"**Stated by the evidence**: “{md_text(v.supported_text)}” — {q.document} "
                  f"{q.sentence_id}: “{_md_quote(q.text)}”", ""]
    if v.evidence:
        lines.append("**Evidence**")
        for q in v.evidence:
            src = f" ({md_text(q.source)})" if q.source else ""
            lines.append(f"> {q.document}{src}, {q.sentence_id}, {q.stance.value}: "
                         f"“{_md_quote(q.text)}”")
        lines.append("")
    if v.mismatches:
        lines += ["**Differences found by the checks**",
                  *[_mismatch_md(m, "evidence") for m in v.mismatches], ""]
    if v.cove:
        lines.append(f"**Model knowledge, unverified** (not evidence; {v.cove.agreement})")
        lines += [f"- Q: {md_text(a.question)} — A: {md_text(a.answer)} ({a.agreement})"
                  for a in v.cove.answers]
        lines.append("")
    return lines


def factcheck_md(r: FactCheckReport) -> str:
    lines = ["# Fact-check", ""]
    if r.article:
        lines.append("Claims from the article: "
                     f"{md_text(r.article.title or r.article.source or r.article.doc_id)}")
    lines.append("Evidence documents: " + "; ".join(
        f"{d.id} {md_text(d.source or d.title or d.doc_id)} ({d.sentences} sentences)"
        for d in r.evidence_documents))
    lines.append("")
    counts: dict[str, int] = {}
    for v in r.verdicts:
        counts[v.verdict.value] = counts.get(v.verdict.value, 0) + 1
    if r.verdicts:
        lines += [" · ".join(f"{_VERDICT[k].lower()}: {n}" for k, n in counts.items()), ""]
    for v in r.verdicts:
        lines += _verdict_md(v)
    if r.notes:
        lines += ["## Notes", "", *[f"- {md_text(n)}" for n in r.notes], ""]
    if r.provenance:
        lines += provenance_md(r.provenance)
    return "\n".join(lines).rstrip() + "\n"
