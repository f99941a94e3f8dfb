"""Reports of a run: a terminal table, `results.json`, and a self-contained HTML page.

The HTML has no scripts, fonts or links to fetch: inline CSS and `<details>` elements for
the per-item drill-down. Every piece of text in it is escaped, since article text, model
output and error messages all end up on the page.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable
from pathlib import Path

from assistant.evals.items import Gold
from assistant.evals.results import MetricResult, RunResult
from assistant.schemas import Analysis

# --------------------------------------------------------------------------- numbers


def fmt_value(value: float | None, unit: str = "rate") -> str:
    if value is None:
        return "n/a"
    if unit in ("count", "tokens"):
        return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"
    if unit == "seconds":
        if 0 < value < 0.1:  # per-sentence costs of model-free suites
            return f"{value * 1000:.2g}ms"
        return f"{value:,.1f}s" if value < 1000 else f"{value:,.0f}s"
    return f"{value:.3f}"


def fmt_ci(m: MetricResult) -> str:
    if m.ci_low is None or m.ci_high is None:
        return ""
    return f"[{fmt_value(m.ci_low, m.unit)}, {fmt_value(m.ci_high, m.unit)}]"


def text_table(rows: list[list[str]], right: Iterable[int] = ()) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    align = set(right)
    lines = []
    for j, row in enumerate(rows):
        cells = [c.rjust(w) if i in align else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_table(run: RunResult) -> str:
    """The metrics as a plain-text table, with a header naming what was run."""
    p = run.provenance
    mode = p.cassette.mode + (f" ({p.cassette.hits} replayed, {p.cassette.recorded} recorded)"
                              if p.cassette.path else "")
    failed = sum(1 for i in run.items if i.error)
    head = [f"suite {run.suite}: {len(run.items)} of {run.items_total or len(run.items)} items, {failed} failed · "
            f"{p.backend} ({p.model}) · {mode} · {p.duration_s:.1f}s",
            f"commit {(p.git_commit or 'unknown')[:12]}{' (dirty)' if p.git_dirty else ''} · prompts "
            + (", ".join(f"{r.name}@{r.hash}" for r in p.prompts) or "none")]
    if run.note:
        head.append(f"note: {run.note}")
    rows = [["metric", "mean", "95% CI", "n", ""]]
    for m in run.metrics:
        if not m.available:
            rows.append([m.name, "n/a", "", "", m.note])
            continue
        rows.append([m.name, fmt_value(m.mean, m.unit), fmt_ci(m), str(m.n),
                     "" if m.higher_is_better else "(lower is better)"])
    return "\n".join(head) + "\n\n" + text_table(rows, right=(1, 3)) + "\n"


def write_run(run: RunResult, out_dir: str | Path) -> dict[str, Path]:
    """Write results.json, report.html and report.txt into `out_dir`; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": out / "results.json", "html": out / "report.html", "text": out / "report.txt"}
    texts = {"json": run.model_dump_json(indent=1) + "\n", "html": render_html(run),
             "text": format_table(run)}
    for kind, path in files.items():
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(texts[kind], encoding="utf-8")
        os.replace(tmp, path)
    return files


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.bar{position:relative;height:10px;background:#eee;min-width:120px}
.bar span{position:absolute;top:0;height:10px;background:#9cc3e6}
.bar i{position:absolute;top:-2px;width:2px;height:14px;background:#1f5f99}
.meta{color:#555}.bad{color:#b00020;font-weight:600}.muted{color:#888}
details{border:1px solid #ddd;border-radius:4px;margin:6px 0;padding:4px 8px}
summary{cursor:pointer;font-weight:600}code,pre{font:12px ui-monospace,monospace}
pre{white-space:pre-wrap;background:#f7f7f7;padding:6px}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _bar(m: MetricResult) -> str:
    if m.unit not in ("rate", "score") or m.mean is None:
        return ""
    lo, hi = m.ci_low if m.ci_low is not None else m.mean, m.ci_high if m.ci_high is not None else m.mean
    return (f'<div class="bar"><span style="left:{lo * 100:.1f}%;width:{max(hi - lo, 0) * 100:.1f}%">'
            f'</span><i style="left:{m.mean * 100:.1f}%"></i></div>')


def _analysis_html(a: Analysis) -> str:
    s = a.summary
    parts = [f"<p><b>{_e(s.headline)}</b></p><p>{_e(s.tldr)} "
             f"<span class=muted>[{_e(', '.join(s.tldr_sentence_ids))}]</span></p><ol>"]
    parts += [f"<li>{_e(kp.text)} <span class=muted>[{_e(', '.join(kp.sentence_ids))}; support "
              f"{kp.support:.2f}]</span></li>" for kp in s.key_points]
    parts.append("</ol><table><tr><th>claim</th><th>sentences</th><th>type</th><th>speaker</th>"
                 "<th>check-worthiness</th><th>dates</th></tr>")
    for c in a.claims:
        dates = "; ".join(f"{d.expression} = {d.resolved}" for d in c.dates)
        parts.append(f"<tr><td>{_e(c.id)}: {_e(c.text)}</td><td>{_e(', '.join(c.sentence_ids))}</td>"
                     f"<td>{_e(c.type.value)}</td><td>{_e(c.attribution.speaker or '')}</td>"
                     f"<td class=num>{c.check_worthiness:.2f}</td><td>{_e(dates)}</td></tr>")
    parts.append("</table><ul>")
    parts += [f"<li>{_e(q.claim_id)} · {_e(q.method.value)} · {_e(q.who_could_answer)}: {_e(q.question)}</li>"
              for q in a.questions]
    parts.append("</ul>")
    if a.provenance.notes:
        parts.append("<p class=muted>notes: " + _e(" | ".join(a.provenance.notes)) + "</p>")
    return "".join(parts)


def _gold_html(g: Gold) -> str:
    parts = ["<p><b>Gold</b></p><ul>"]
    parts += [f"<li>key fact [{_e(', '.join(f.sentence_ids))}]: {_e(f.text)}</li>" for f in g.key_facts]
    parts += [f"<li>claim [{_e(', '.join(c.sentence_ids))}] {_e(c.type.value)}, speaker "
              f"{_e(c.speaker or '-')}, {'check-worthy' if c.check_worthy else 'not check-worthy'}, "
              f"{_e(c.verification.value)}</li>" for c in g.claims]
    parts += [f"<li>date [{_e(d.sentence_id)}] {_e(d.expression)} = {_e(d.resolved)}</li>" for d in g.dates]
    parts += [f"<li>trap {_e(t.kind)} [{_e(', '.join(t.sentence_ids))}]: {_e(t.note)}</li>" for t in g.traps]
    parts.append(f"</ul><p class=muted>reference summary: {_e(g.summary_reference)}</p>")
    return "".join(parts)


def render_html(run: RunResult) -> str:
    p = run.provenance
    out = ["<!doctype html><html lang=en><head><meta charset=utf-8>",
           f"<title>eval {_e(run.suite)}</title><style>{_CSS}</style></head><body>",
           f"<h1>Eval: {_e(run.suite)} <span class=meta>({_e(run.task)})</span></h1>",
           f"<p class=meta>{len(run.items)} of {run.items_total or len(run.items)} items from {_e(run.source)}<br>"
           f"{_e(p.backend)} · {_e(p.model)}{' · ' + _e(p.base_url) if p.base_url else ''} · "
           f"mode {_e(p.cassette.mode)}{' · cassette ' + _e(p.cassette.path) if p.cassette.path else ''}"
           f" · {p.duration_s:.1f}s<br>commit {_e(p.git_commit or 'unknown')}"
           f"{' (dirty)' if p.git_dirty else ''} · started {_e(p.started_at)} · "
           f"bootstrap {p.resamples} resamples, seed {p.seed}<br>prompts: "
           + _e(", ".join(f"{r.name} v{r.version} @{r.hash}" for r in p.prompts) or "none") + "</p>"]
    if run.note:
        out.append(f"<p class=bad>{_e(run.note)}</p>")
    out.append("<h2>Metrics</h2><table><tr><th>metric</th><th>mean</th><th>95% CI</th><th>n</th>"
               "<th></th><th>what</th></tr>")
    for m in run.metrics:
        if not m.available:
            out.append(f"<tr><td>{_e(m.name)}</td><td colspan=4 class=muted>not available</td>"
                       f"<td>{_e(m.note)}</td></tr>")
            continue
        out.append(f"<tr><td><a href='#m-{_e(m.name)}'>{_e(m.name)}</a></td>"
                   f"<td class=num>{_e(fmt_value(m.mean, m.unit))}</td><td class=num>{_e(fmt_ci(m))}</td>"
                   f"<td class=num>{m.n}</td><td>{_bar(m)}</td><td>{_e(m.description)}"
                   f"{'' if m.higher_is_better else ' (lower is better)'}</td></tr>")
    out.append("</table>")

    shown = [m for m in run.metrics if m.available and m.per_item]
    out.append("<h2>Items</h2><table><tr><th>item</th>"
               + "".join(f"<th title='{_e(m.description)}'>{_e(m.name)}</th>" for m in shown[:12]) + "</tr>")
    values = {m.name: {s.item_id: s for s in m.per_item} for m in shown}
    for item in run.items:
        cells = []
        for m in shown[:12]:
            s = values[m.name].get(item.id)
            cells.append(f"<td class=num>{_e(fmt_value(s.value if s else None, m.unit))}</td>")
        err = " <span class=bad>failed</span>" if item.error else ""
        out.append(f"<tr><td><a href='#i-{_e(item.id)}'>{_e(item.id)}</a>{err}</td>{''.join(cells)}</tr>")
    out.append("</table>")

    out.append("<h2>Drill-down</h2>")
    for item in run.items:
        out.append(f"<details id='i-{_e(item.id)}'><summary>{_e(item.id)} — {_e(item.title or '')}"
                   f"{' · ' + _e(f'{item.wall_s:.1f}s') if item.wall_s else ''}</summary>")
        if item.error:
            out.append(f"<p class=bad>{_e(item.error)}</p>")
        out.append("<table><tr><th>metric</th><th>value</th><th>detail</th></tr>")
        for m in shown:
            if (s := values[m.name].get(item.id)) is not None:
                out.append(f"<tr><td>{_e(m.name)}</td><td class=num>{_e(fmt_value(s.value, m.unit))}</td>"
                           f"<td>{_e(s.detail)}</td></tr>")
        out.append("</table>")
        if item.analysis is not None:
            out.append(_analysis_html(item.analysis))
        if item.gold is not None:
            out.append(_gold_html(item.gold))
        if item.references:
            out.append("<p><b>Human summaries</b></p><ul>"
                       + "".join(f"<li>{_e(r)}</li>" for r in item.references) + "</ul>")
        elif item.output is not None:
            out.append(f"<pre>{_e(json.dumps(item.output, indent=1, ensure_ascii=False))}</pre>")
        out.append("</details>")

    out.append("<h2>Metric details</h2>")
    for m in shown:
        out.append(f"<details id='m-{_e(m.name)}'><summary>{_e(m.name)}: {_e(fmt_value(m.mean, m.unit))} "
                   f"{_e(fmt_ci(m))}</summary><p>{_e(m.description)}</p><table>")
        out += [f"<tr><td>{_e(s.item_id)}</td><td class=num>{_e(fmt_value(s.value, m.unit))}</td>"
                f"<td>{_e(s.detail)}</td></tr>" for s in m.per_item]
        out.append("</table></details>")
    out.append("</body></html>\n")
    return "".join(out)
