"""Matching statements across articles: the same fact, and whether its figures agree.

A *unit* is one statement of one source: a key point, a claim, or a sentence stating a
figure. Units of different sources are matched when their source sentences share enough
content words (numbers left out, so that "61,000 vehicles" and "64,000 vehicles" still
match) and each is the other's best match. Matched units form a cluster; a cluster is
*conflicting* when two of its units give different values for the same kind of figure
(same unit word: "vehicles", "%", money).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.schemas import Claim, Document, KeyPoint
from assistant.text.grounding import content_terms
from assistant.text.numbers import find_numbers

# Dice overlap of content words needed to call two sentences the same fact, and the least
# number of shared words (short sentences share a few words by chance).
MATCH_DICE = 0.45
MATCH_SHARED = 3
# One source restating a fact with another figure must be closer still.
WITHIN_DICE = 0.6
WITHIN_SHARED = 4

_NEXT_WORD = re.compile(r"\s*([^\W\d_][\w'’-]*)")
FigureKey = tuple[str, str]


@dataclass
class Unit:
    source: int
    doc: Document
    sids: list[str]
    text: str
    kind: str  # key_point | claim | sentence
    speaker: str | None = None
    role: str | None = None
    verb: str | None = None
    hedges: list[str] = field(default_factory=list)
    check_worthiness: float = 0.0
    quoted: bool = False  # the sentence is (or opens with) a direct quotation
    factual: bool = False  # a sentence unit stating an event or figure (not opinion)
    claim: Claim | None = None
    key_point: KeyPoint | None = None
    terms: frozenset[str] = frozenset()
    figures: dict[FigureKey, dict[float, str]] = field(default_factory=dict)

    @property
    def order(self) -> tuple[int, int]:
        return self.source, self.doc.sentence(self.sids[0]).index

    @property
    def source_text(self) -> str:
        return " ".join(self.doc.sentence(s).text for s in self.sids)

    def prepare(self) -> Unit:
        text = self.source_text
        self.terms = frozenset(t for t in content_terms(text) if not t[:1].isdigit())
        self.figures = figures(text)
        return self


def figures(text: str) -> dict[FigureKey, dict[float, str]]:
    """Central figures of `text` by (kind, unit word): value -> the figure as written,
    with its unit word ("61,000 vehicles", "40 percent", "$214 million")."""
    out: dict[FigureKey, dict[float, str]] = {}
    for n in find_numbers(text):
        if not n.central or n.value is None:
            continue
        phrase_end = n.end
        unit: str = n.kind
        if n.kind == "cardinal":
            unit = ""
            following = [t for t in content_terms(text[n.end:n.end + 40]) if not t[:1].isdigit()]
            if following:
                unit = following[0]
                if m := _NEXT_WORD.match(text, n.end):
                    phrase_end = m.end()
        out.setdefault((n.kind, unit), {})[round(n.value, 6)] = text[n.start:phrase_end]
    return out


def dice(a: Unit, b: Unit) -> tuple[float, int]:
    shared = len(a.terms & b.terms)
    total = len(a.terms) + len(b.terms)
    return (2 * shared / total if total else 0.0), shared


def conflicts(a: Unit, b: Unit) -> list[tuple[str, str]]:
    """Figure phrases (a's, b's) that differ for the same kind of figure."""
    out = []
    for key in sorted(a.figures.keys() & b.figures.keys()):
        if key[1] == "":
            continue  # a bare number with no unit word: too ambiguous to compare
        mine, theirs = a.figures[key], b.figures[key]
        only_a = [v for v in mine if not _close(v, theirs)]
        only_b = [v for v in theirs if not _close(v, mine)]
        if only_a and only_b:
            out.append((", ".join(mine[v] for v in only_a), ", ".join(theirs[v] for v in only_b)))
    return out


def _close(value: float, others: dict[float, str]) -> bool:
    return any(abs(value - o) <= 1e-9 * max(1.0, abs(value)) for o in others)


@dataclass
class Cluster:
    units: list[Unit]
    conflicting: list[tuple[Unit, Unit, list[tuple[str, str]]]] = field(default_factory=list)

    @property
    def sources(self) -> list[int]:
        return sorted({u.source for u in self.units})


def cluster(units: list[Unit]) -> list[Cluster]:
    """Group units of different sources that state the same fact (mutual best matches)."""
    parent = list(range(len(units)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    best: dict[tuple[int, int], tuple[float, int]] = {}  # (unit, other source) -> (score, unit)
    for i, a in enumerate(units):
        for j, b in enumerate(units):
            if a.source == b.source:
                continue
            score, shared = dice(a, b)
            if score >= MATCH_DICE and shared >= MATCH_SHARED and \
                    score > best.get((i, b.source), (0.0, -1))[0]:
                best[(i, b.source)] = (score, j)
    edges = []
    for (i, _), (_, j) in best.items():
        if best.get((j, units[i].source), (0.0, -1))[1] == i and i < j:
            edges.append((i, j))
            parent[find(j)] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(units)):
        groups.setdefault(find(i), []).append(i)
    out = []
    for members in groups.values():
        c = Cluster(units=sorted((units[i] for i in members), key=lambda u: u.order))
        for i, j in edges:
            if find(i) == find(members[0]) and (found := conflicts(units[i], units[j])):
                c.conflicting.append((units[i], units[j], found))
        out.append(c)
    return sorted(out, key=lambda c: c.units[0].order)


def within_conflicts(units: list[Unit]) -> list[tuple[Unit, Unit, list[tuple[str, str]]]]:
    """Pairs of one source's units that restate a fact with another figure."""
    out = []
    for i, a in enumerate(units):
        for b in units[i + 1:]:
            if a.source != b.source or set(a.sids) & set(b.sids):
                continue
            score, shared = dice(a, b)
            if score >= WITHIN_DICE and shared >= WITHIN_SHARED and (found := conflicts(a, b)):
                out.append((a, b, found))
    return out
