"""Question quality against human fact-checkers' questions (AVeriTeC) and the fixtures.

`averitec` suite: each AVeriTeC claim is the input (claim text as the article, its
claim date as the publication date); our verification questions for it are matched to
the fact-checkers' questions one-to-one by a Hungarian assignment that maximises the
summed pair similarity, as AVeriTeC's question score does (Schlichtkrull et al. 2023:
METEOR pairs, `linear_sum_assignment`, the matched sum divided by the number of
reference questions; at most 10 of ours). The assignment solver is a pure-Python
Kuhn-Munkres (`assignment`).

Similarity (`meteor_like`): METEOR without WordNet synonyms, so that it installs
offline. Unigrams are matched exactly, then by Porter stem (nltk's stemmer, no data
files; without nltk a crude suffix strip); F-mean = 10PR / (R + 9P); a fragmentation
penalty 0.5 * (chunks / matches)^3. It keeps what makes METEOR fit short questions
(recall-weighted, inflection-tolerant, order-aware) and needs nothing downloaded. The
synonym stage is what is lost, so scores run somewhat below published METEOR figures.

`question_score` is AVeriTeC's normalisation (by the references: more questions never
lower it); `question_score_strict` divides by max(ours, theirs), so padding is not
free. `seconds_per_item` is the wall time to produce the questions.

Fixture question quality (`fixture_question_rates`): for every gold claim, questions are
built by the code path from its sentences and scored by `scorers.question_outcome`
("targets its claim", "self-contained") and by the dangling-reference check of
`assistant.steps.questions.question_problems`.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Sequence
from functools import cache

from assistant.errors import AssistantError
from assistant.evals.items import claim_date
from assistant.evals.results import ItemRecord, ItemScore, MetricResult, aggregate

QuestionsFor = Callable[[str, dt.date | None], list[str]]
MAX_QUESTIONS = 10


# --------------------------------------------------------------------------- assignment


def assignment(scores: Sequence[Sequence[float]]) -> list[tuple[int, int]]:
    """Row-column pairs of a one-to-one matching that maximises the summed score
    (Kuhn-Munkres with potentials, O(n^2 m)); rectangular matrices allowed."""
    if not scores or not scores[0]:
        return []
    transpose = len(scores) > len(scores[0])
    rows = [list(r) for r in (zip(*scores, strict=True) if transpose else scores)]
    n, m = len(rows), len(rows[0])
    top = max(max(r) for r in rows)
    cost = [[top - v for v in r] for r in rows]  # minimise
    inf = float("inf")
    u, v = [0.0] * (n + 1), [0.0] * (m + 1)
    p, way = [0] * (m + 1), [0] * (m + 1)
    for i in range(1, n + 1):
        p[0], j0 = i, 0
        minv, used = [inf] * (m + 1), [False] * (m + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = p[j0], inf, 0
            for j in range(1, m + 1):
                if not used[j]:
                    cur = cost[i0 - 1][j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(m + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    pairs = [(p[j] - 1, j - 1) for j in range(1, m + 1) if p[j]]
    return sorted((c, r) if transpose else (r, c) for r, c in pairs)


# --------------------------------------------------------------------------- similarity


@cache
def _stemmer() -> Callable[[str], str]:
    try:
        from nltk.stem.porter import PorterStemmer
    except ImportError:
        return lambda w: re.sub(r"(?:ing|ed|es|s|ly)$", "", w) if len(w) > 4 else w
    return PorterStemmer().stem  # type: ignore[no-any-return]


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("’", "'"))


def meteor_like(hypothesis: str, reference: str) -> float:
    """METEOR's exact + stem stages, F-mean (alpha 0.9) and fragmentation penalty."""
    hyp, ref = _tokens(hypothesis), _tokens(reference)
    if not hyp or not ref:
        return 0.0
    stem = _stemmer()
    align: dict[int, int] = {}
    used: set[int] = set()
    for stage in (lambda w: w, stem):
        for i, h in enumerate(hyp):
            if i in align:
                continue
            for j, r in enumerate(ref):
                if j not in used and stage(h) == stage(r):
                    align[i] = j
                    used.add(j)
                    break
    matches = len(align)
    if not matches:
        return 0.0
    precision, recall = matches / len(hyp), matches / len(ref)
    fmean = 10 * precision * recall / (recall + 9 * precision)
    chunks, last = 0, None
    for i in sorted(align):
        if last is None or i != last[0] + 1 or align[i] != last[1] + 1:
            chunks += 1
        last = (i, align[i])
    penalty = 0.5 * (chunks / matches) ** 3
    return fmean * (1 - penalty)


def matched_score(ours: Sequence[str], theirs: Sequence[str],
                  similarity: Callable[[str, str], float] = meteor_like) -> tuple[float, float]:
    """(AVeriTeC question score, strict score) of one claim's questions."""
    ours = list(ours)[:MAX_QUESTIONS]
    if not theirs:
        return 0.0, 0.0
    if not ours:
        return 0.0, 0.0
    matrix = [[similarity(o, t) for t in theirs] for o in ours]
    total = sum(matrix[i][j] for i, j in assignment(matrix))
    return total / len(theirs), total / max(len(ours), len(theirs))


# --------------------------------------------------------------------------- suite


def averitec_metrics(rows: Sequence[dict[str, object]], questions_for: QuestionsFor, *,
                     resamples: int, seed: int, label: str = "code path",
                     ) -> tuple[list[MetricResult], list[ItemRecord]]:
    scores, strict, counts, seconds = [], [], [], []
    records = []
    for row in rows:
        item_id, claim = str(row["id"]), str(row["claim"])
        refs = [str(q["question"]) for q in row["questions"]]  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        try:
            ours, error = questions_for(claim, claim_date(row.get("claim_date"))), ""
        except AssistantError as exc:
            ours, error = [], " ".join(str(exc).split())
        took = time.perf_counter() - t0
        score, score_strict = matched_score(ours, refs)
        detail = f"{len(ours)} ours vs {len(refs)} theirs" + (f"; error: {error}" if error else "")
        scores.append(ItemScore(item_id=item_id, value=score, detail=detail))
        strict.append(ItemScore(item_id=item_id, value=score_strict, detail=detail))
        counts.append(ItemScore(item_id=item_id, value=len(ours)))
        seconds.append(ItemScore(item_id=item_id, value=round(took, 4)))
        records.append(ItemRecord(id=item_id, title=claim[:80],
                                  output={"ours": ours, "theirs": refs, "score": round(score, 4)}))

    def add(name: str, description: str, s: list[ItemScore], **kw: object) -> MetricResult:
        return aggregate(name, description, s, resamples=resamples, seed=seed, **kw)  # type: ignore[arg-type]

    metrics = [
        add("question_score", f"AVeriTeC question score ({label}): Hungarian-matched METEOR-like "
            "similarity to the fact-checkers' questions, over their count", scores, unit="score"),
        add("question_score_strict", "the same matched sum over max(ours, theirs)", strict, unit="score"),
        add("questions_per_claim", "our questions per claim", counts, unit="count"),
        add("seconds_per_item", "wall time to produce one claim's questions", seconds, unit="seconds",
            higher_is_better=False),
    ]
    return metrics, records


# --------------------------------------------------------------------------- fixtures


def fixture_question_rates(items: Sequence[object], *, resamples: int, seed: int) -> list[MetricResult]:
    """Code-path questions for each gold claim of the fixtures: targets / standalone rates."""
    from assistant.evals.items import ArticleItem
    from assistant.evals.scorers import question_outcome
    from assistant.schemas import Claim
    from assistant.steps.questions import code_questions, question_problems
    from assistant.text import signals as sig
    from assistant.text.dates import resolve_relative_dates
    from assistant.text.grounding import sentence_quote

    targets, standalone, dangling_free, covered = [], [], [], []
    for item in items:
        assert isinstance(item, ArticleItem) and item.gold is not None
        doc = item.document()
        by = {s.sentence_id: s for s in sig.analyze_sentences(doc)}
        outs, n_claims, with_q = [], 0, 0
        for n, g in enumerate(item.gold.claims):
            sentences = [doc.sentence(i) for i in g.sentence_ids]
            first = by[sentences[0].id]
            attributed = next((by[s.id].attribution for s in sentences if by[s.id].attribution.speaker),
                              first.attribution)
            claim = Claim(id=f"G{n + 1}", text=" ".join(s.text for s in sentences), type=first.claim_type,
                          attribution=attributed, check_worthiness=first.checkworthiness,
                          check_worthiness_reason="", sentence_ids=[s.id for s in sentences],
                          quote=sentence_quote(doc, sentences[0].id),
                          dates=[d for s in sentences for d in resolve_relative_dates(doc, s)],
                          as_of=doc.published.isoformat() if doc.published else None)
            qs = code_questions(claim)[:3]
            n_claims += 1
            with_q += bool(qs)
            for q in qs:
                o = question_outcome(q, claim)
                dangling = any(p.startswith("dangling") or "refers to the article" in p
                               for p in question_problems(q.question, claim))
                outs.append((o.targets_claim, o.self_contained, not dangling))
        k = len(outs)
        targets.append(ItemScore(item_id=item.id, value=sum(o[0] for o in outs) / k if k else None))
        standalone.append(ItemScore(item_id=item.id, value=sum(o[1] for o in outs) / k if k else None))
        dangling_free.append(ItemScore(item_id=item.id, value=sum(o[2] for o in outs) / k if k else None))
        covered.append(ItemScore(item_id=item.id, value=with_q / n_claims if n_claims else None,
                                 detail=f"{with_q}/{n_claims} gold claims with a question"))
    return [aggregate("fixture_vq_targets_claim", "code-path questions on gold claims sharing content "
                      "terms with their claim", targets, resamples=resamples, seed=seed),
            aggregate("fixture_vq_self_contained", "... with no reference to the article", standalone,
                      resamples=resamples, seed=seed),
            aggregate("fixture_vq_no_dangling", "... with no dangling this/these/he/they outside quotes",
                      dangling_free, resamples=resamples, seed=seed),
            aggregate("fixture_vq_claims_covered", "gold claims with at least one question", covered,
                      resamples=resamples, seed=seed)]
