"""The `wice` suite: evidence retrieval for real Wikipedia claims, without a model.

Each WiCE dev claim comes with the sentences of the web article it cites and alternative
sets of gold evidence sentences, each of which together supports (part of) the claim.
The article is loaded as one evidence document (its sentences joined by blank lines and
segmented by our own segmenter, so a retrieved sentence covers the WiCE sentences it
overlaps) and `fact_check`'s retrieval ranks it for the claim, with the query `fact_check`
builds for a claim given as text (`retrieval_query`). An item is a hit when some gold set
is entirely inside the top 5. Claims without a gold set are not scored.

The retrieval constants and the term normalisation (`text.grounding.match_terms`) were
chosen on half A of the claims (a hash of the id) and are reported on half B
(`*_heldout`); the figure over all claims is shown beside it. Plain BM25 order over the
same terms, the earlier retrieval, is scored on the same claims. Measured (bootstrap 95%
CIs): half B 0.683 [0.610, 0.756] (164 claims), all 0.680 [0.630, 0.734] (319); plain
BM25 0.628 [0.549, 0.701] and 0.596 [0.542, 0.649]; half A 0.677 (155). Before the
normalisation: half B 0.689, all 0.674, half A 0.658. Code-built verification questions
added to the query (as an article's claims have them) left half A at 0.677: they restate
the claim's words.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence

from assistant.evals.direct import DirectRun, Scored
from assistant.evals.items import EvidenceItem
from assistant.evals.results import ItemRecord, ItemScore, MetricResult, aggregate
from assistant.schemas import Document
from assistant.steps.evidence import load_evidence
from assistant.steps.factcheck import EvidenceIndex, claim_inputs, retrieval_query
from assistant.text.intake import document_from_text

TOP_K = 5


def half_of(item_id: str) -> str:
    """'A' (where the retrieval constants were chosen) or 'B' (held out)."""
    return "AB"[int(hashlib.sha256(item_id.encode()).hexdigest(), 16) % 2]


def evidence_document(item: EvidenceItem) -> tuple[Document, list[set[int]]]:
    """The cited article as a Document, and for each of its sentences the WiCE sentence
    indices it overlaps (a WiCE sentence is found by its text, in order)."""
    doc = document_from_text("\n\n".join(item.evidence), fmt="text", name=item.id)
    spans: list[tuple[int, int] | None] = []
    pos = 0
    for sentence in item.evidence:
        text = " ".join(sentence.split())
        found = -1
        for probe, start in ((text, pos), (text[:25], pos), (text[:25], 0), (text[-25:], pos)):
            if probe and (found := doc.text.find(probe, start)) >= 0:
                break
        if not text or found < 0:
            spans.append(None)
            continue
        spans.append((found, found + len(text)))
        pos = found + 1
    cover = [{j for j, sp in enumerate(spans) if sp and sp[0] < s.end and s.start < sp[1]}
             for s in doc.sentences]
    return doc, cover


def complete_set_found(item: EvidenceItem, cover: Sequence[set[int]], chosen: Sequence[int]) -> bool:
    got: set[int] = set().union(*(cover[i] for i in chosen)) if chosen else set()
    return any(set(s) <= got for s in item.gold_sets if s)


def retrieval_metrics(items: Sequence[EvidenceItem], *, resamples: int, seed: int,
                      k: int = TOP_K) -> tuple[list[MetricResult], list[ItemRecord]]:
    scored = [it for it in items if any(item_set for item_set in it.gold_sets)]
    per: dict[str, list[ItemScore]] = {"coverage": [], "bm25": []}
    seconds: list[ItemScore] = []
    records = []
    for it in scored:
        doc, cover = evidence_document(it)
        t0 = time.perf_counter()
        evidence = load_evidence([doc])
        index = EvidenceIndex(evidence)
        position = {s.id: n for n, s in enumerate(doc.sentences)}
        query = retrieval_query(claim_inputs([it.claim])[0])  # as `fact_check` ranks a claim given as text
        found = {m: [position[h.sentence.id] for h in index.search(query, k, method=m)] for m in per}
        seconds.append(ItemScore(item_id=it.id, value=round(time.perf_counter() - t0, 4)))
        for m, chosen in found.items():
            per[m].append(ItemScore(item_id=it.id, value=float(complete_set_found(it, cover, chosen)),
                                    group=half_of(it.id)))
        records.append(ItemRecord(id=it.id, title=it.claim[:80], output={
            "half": half_of(it.id), "label": it.label, "gold_sets": it.gold_sets,
            "retrieved": [sorted(cover[i]) for i in found["coverage"]],
            "hit": per["coverage"][-1].value, "bm25_hit": per["bm25"][-1].value}))

    def add(name: str, description: str, s: list[ItemScore]) -> MetricResult:
        return aggregate(name, description, [x.model_copy(update={"group": None}) for x in s],
                         resamples=resamples, seed=seed)

    def held(s: list[ItemScore]) -> list[ItemScore]:
        return [x for x in s if x.group == "B"]

    metrics = [
        add(f"recall_at_{k}_heldout", f"a complete gold evidence set in the top {k} sentences, half B "
            "(the retrieval constants were chosen on half A)", held(per["coverage"])),
        add(f"recall_at_{k}", f"a complete gold evidence set in the top {k} sentences, all claims "
            "with a gold set", per["coverage"]),
        add(f"bm25_recall_at_{k}_heldout", f"plain BM25 order, top {k}, half B", held(per["bm25"])),
        add(f"bm25_recall_at_{k}", f"plain BM25 order, top {k}, all claims", per["bm25"]),
        aggregate("seconds_per_item", "loading, segmenting, indexing and ranking one claim's "
                  "evidence article", seconds, unit="seconds", higher_is_better=False,
                  resamples=resamples, seed=seed),
    ]
    return metrics, records


def retrieval_suite(run: DirectRun) -> Scored:
    """The `wice` suite's evaluator: retrieval recall, no model call."""
    return retrieval_metrics([i for i in run.items if isinstance(i, EvidenceItem)],
                             resamples=run.resamples, seed=run.seed)
