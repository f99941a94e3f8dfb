"""Compare two runs: "did my prompt change help?".

For each metric both runs have: the two values, the delta (B - A) and a paired bootstrap
interval of the delta over the items both runs scored (the same items resampled in both),
and the items whose value changed, largest change first. The header says what differs
between the runs: templates (by hash), backend, model, options, commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from assistant.evals.bootstrap import RESAMPLES, bootstrap_ci
from assistant.evals.report import fmt_value, text_table
from assistant.evals.results import ItemScore, MetricResult, RunResult, statistic_of

SHOWN_CHANGES = 5


class ItemChange(BaseModel):
    item_id: str = Field(description="Item.")
    a: float | None = Field(description="Value in run A.")
    b: float | None = Field(description="Value in run B.")

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


class MetricDelta(BaseModel):
    name: str = Field(description="Metric.")
    unit: str = Field("rate", description="Unit.")
    higher_is_better: bool = Field(True, description="Direction of improvement.")
    a: float | None = Field(description="Run A's value.")
    b: float | None = Field(description="Run B's value.")
    delta: float | None = Field(description="B - A over all items of each run.")
    ci_low: float | None = Field(None, description="Paired bootstrap interval of the delta, low.")
    ci_high: float | None = Field(None, description="Paired bootstrap interval of the delta, high.")
    n_paired: int = Field(0, description="Items scored in both runs.")
    changed: list[ItemChange] = Field(default_factory=list, description="Items whose value changed.")

    @property
    def verdict(self) -> str:
        """better / worse when the interval excludes 0, else 'no clear change'."""
        if self.delta is None:
            return "n/a"
        if self.ci_low is None or self.ci_high is None or self.ci_low <= 0 <= self.ci_high:
            flat = abs(self.delta) < 1e-9 and abs(self.ci_low or 0) < 1e-12 and abs(self.ci_high or 0) < 1e-12
            return "same" if flat else "no clear change"
        up = self.ci_low > 0
        return "better" if up == self.higher_is_better else "worse"


class Comparison(BaseModel):
    a: str = Field(description="Label of run A.")
    b: str = Field(description="Label of run B.")
    suite: str = Field(description="Suite (both runs).")
    differences: list[str] = Field(description="What differs between the runs' set-ups.")
    metrics: list[MetricDelta] = Field(description="Per-metric deltas.")
    only_a: list[str] = Field(default_factory=list, description="Metrics only run A has.")
    only_b: list[str] = Field(default_factory=list, description="Metrics only run B has.")


def _setup_differences(a: RunResult, b: RunResult) -> list[str]:
    out = []
    pa, pb = a.provenance, b.provenance
    if a.suite != b.suite:
        out.append(f"suite {a.suite} -> {b.suite} (metrics compared by name)")
    for field in ("backend", "model", "base_url"):
        if getattr(pa, field) != getattr(pb, field):
            out.append(f"{field} {getattr(pa, field)} -> {getattr(pb, field)}")
    ta = {r.name: r for r in pa.prompts}
    tb = {r.name: r for r in pb.prompts}
    for name in sorted(set(ta) | set(tb)):
        ra, rb = ta.get(name), tb.get(name)
        if ra is None or rb is None:
            out.append(f"template {name}: {'added' if ra is None else 'removed'}")
        elif ra.hash != rb.hash:
            out.append(f"template {name}: v{ra.version}@{ra.hash} -> v{rb.version}@{rb.hash}")
    for key in sorted(set(pa.options) | set(pb.options)):
        if pa.options.get(key) != pb.options.get(key):
            out.append(f"option {key}: {pa.options.get(key)} -> {pb.options.get(key)}")
    if pa.prompt_parameters != pb.prompt_parameters:
        out.append("template parameters changed")
    if pa.git_commit != pb.git_commit:
        out.append(f"commit {(pa.git_commit or '?')[:12]} -> {(pb.git_commit or '?')[:12]}")
    ia, ib = {i.id for i in a.items}, {i.id for i in b.items}
    if ia != ib:
        out.append(f"items: {len(ia & ib)} shared, {len(ia - ib)} only in A, {len(ib - ia)} only in B")
    return out


def _paired(ma: MetricResult, mb: MetricResult, resamples: int, seed: int
            ) -> tuple[tuple[float, float] | None, int, list[ItemChange]]:
    sa = {s.item_id: s for s in ma.per_item}
    sb = {s.item_id: s for s in mb.per_item}
    common = [i for i in sa if i in sb]
    pairs = [(sa[i], sb[i]) for i in common if sa[i].value is not None and sb[i].value is not None]

    def stat(sample: Sequence[tuple[ItemScore, ItemScore]]) -> float | None:
        x = statistic_of(ma.statistic, [p[0] for p in sample])
        y = statistic_of(mb.statistic, [p[1] for p in sample])
        return None if x is None or y is None else y - x

    groups = [p[0].group for p in pairs] if any(p[0].group for p in pairs) else None
    ci = bootstrap_ci(pairs, stat, groups=groups, resamples=resamples, seed=seed)
    changed = [ItemChange(item_id=i, a=sa[i].value, b=sb[i].value) for i in common
               if sa[i].value != sb[i].value]
    changed.sort(key=lambda c: (-(abs(c.delta) if c.delta is not None else float("inf")), c.item_id))
    return ci, len(pairs), changed


def compare_runs(a: RunResult, b: RunResult, *, label_a: str = "A", label_b: str = "B",
                 resamples: int = RESAMPLES, seed: int = 0) -> Comparison:
    mb = {m.name: m for m in b.metrics}
    ma = {m.name: m for m in a.metrics}
    deltas = []
    for m in a.metrics:
        other = mb.get(m.name)
        if other is None:
            continue
        delta = None if m.mean is None or other.mean is None else other.mean - m.mean
        ci, n, changed = _paired(m, other, resamples, seed)
        deltas.append(MetricDelta(name=m.name, unit=m.unit, higher_is_better=m.higher_is_better,
                                  a=m.mean, b=other.mean, delta=delta,
                                  ci_low=ci[0] if ci else None, ci_high=ci[1] if ci else None,
                                  n_paired=n, changed=changed))
    return Comparison(a=label_a, b=label_b, suite=b.suite, differences=_setup_differences(a, b),
                      metrics=deltas, only_a=[n for n in ma if n not in mb],
                      only_b=[n for n in mb if n not in ma])


def _signed(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    text = fmt_value(abs(value), unit)
    if text.strip("0.,s") == "":  # rounds to zero: no sign
        return "±" + text
    return ("+" if value > 0 else "-") + text


def format_comparison(c: Comparison, *, shown: int = SHOWN_CHANGES) -> str:
    lines = [f"compare {c.suite}: A = {c.a}", f"{' ' * (len(c.suite) + 9)}B = {c.b}", ""]
    lines += ["what changed:", *(f"  {d}" for d in c.differences or ["nothing in the set-up"]), ""]
    rows = [["metric", "A", "B", "delta", "95% CI of delta", "n", "verdict"]]
    for d in c.metrics:
        ci = "" if d.ci_low is None or d.ci_high is None else \
            f"[{_signed(d.ci_low, d.unit)}, {_signed(d.ci_high, d.unit)}]"
        rows.append([d.name, fmt_value(d.a, d.unit), fmt_value(d.b, d.unit), _signed(d.delta, d.unit),
                     ci, str(d.n_paired), d.verdict])
    lines.append(text_table(rows, right=(1, 2, 3, 5)))
    lines.append("delta: B - A over each run's items; interval: paired bootstrap over the n items "
                 "both runs scored; verdict from the interval")
    moved = [d for d in c.metrics if d.changed]
    if moved:
        lines += ["", "items that changed (B - A, largest first):"]
        for d in moved:
            parts = [f"{ch.item_id} {fmt_value(ch.a, d.unit)}->{fmt_value(ch.b, d.unit)}"
                     for ch in d.changed[:shown]]
            more = f" (+{len(d.changed) - shown} more)" if len(d.changed) > shown else ""
            lines.append(f"  {d.name}: {', '.join(parts)}{more}")
    if c.only_a or c.only_b:
        lines += ["", f"only in A: {', '.join(c.only_a) or '-'}; only in B: {', '.join(c.only_b) or '-'}"]
    return "\n".join(lines) + "\n"
