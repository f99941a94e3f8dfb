"""Scorers: small pure functions from one item's output (and gold) to its values, and the
metric sets each suite reports. The rules, as a reviewer needs them:

grounding          every quote's text equals the article at its offsets, inside the cited
                   sentence; every cited sentence id exists; every resolved date's
                   expression equals the article at its offsets. Must be 1.0.
schema validity    share of model responses that parse as JSON and validate against their
                   output schema as returned (before code-level checks and re-asks).
key-fact coverage  a gold key fact is covered when a key point or the TL;DR cites one of its
                   sentence ids, or when the summary's text (TL;DR + key points) supports
                   it: `assistant.text.grounding.support(fact, [summary]) >= 0.5`.
                   `key_fact_coverage_text` counts the text rule alone (citations by the
                   TL;DR are derived by code and generous).
claims P/R/F1      a predicted claim matches a gold claim when their sentence ids overlap;
                   one-to-one, greedy in predicted order, largest overlap first.
speaker accuracy   over matched pairs whose gold claim has a speaker: the predicted speaker
                   equals it after normalising case and punctuation, or one contains the
                   other as whole words, or the surnames (last words) agree.
check-worthiness   over gold claims: gold positive = check_worthy; predicted positive = some
                   extracted claim overlapping its sentences is check-worthy: the calibrated
                   decision (probability >= the profile's threshold) when the claim has
                   one, else check_worthiness >= 0.5.
dates              a predicted resolution matches a gold date when it is in the same sentence
                   and the spans overlap (the gold expression may be longer, "Wednesday
                   evening" vs "Wednesday"); correct when the values are equal or one is an
                   ISO week containing the other's date. The denominator is the gold dates in
                   sentences some extracted claim cites (dates are resolved per claim).
questions          targets its claim: shares >= 2 content terms with the claim text (all of
                   them when the claim has fewer); self-contained: no reference to "the
                   article", "this claim", "the report" and the like; method given: a method
                   other than "other" and someone who could answer.
traps              misattribution: an extracted claim on the sentence has the gold speaker;
                   opinion: no check-worthy claim on it (as above); boilerplate: no claim
                   or key point cites it. Traps whose sentence has no claim (misattribution)
                   are not applicable; self-contradiction is not scored.
ROUGE-L            rouge-score's F-measure with Porter stemming, max over the references.

An item whose analysis failed counts 0 where the metric measures what a reader receives
(coverage, recall, F1, ROUGE-L) and is left out where the denominator is the output itself
(precision, speaker accuracy, grounding, questions, dates); `completion_rate` counts it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from assistant.core.structured import parse_output
from assistant.errors import MissingDependencyError
from assistant.evals.claim_quality import quality_scores
from assistant.evals.items import ArticleItem, GoldClaim, GoldDate, KeyFact, PairItem, Trap
from assistant.evals.results import ItemScore, MetricResult, aggregate, unavailable
from assistant.schemas import (
    DRAFTS,
    Analysis,
    Claim,
    DateResolution,
    Document,
    Summary,
    VerificationMethod,
    VerificationQuestion,
)
from assistant.text.grounding import content_terms, support, verify_quote

CHECK_WORTHY = 0.5
SUPPORTED = 0.5

# --------------------------------------------------------------------------- per call


class CallStat(BaseModel):
    """One model exchange as the meter saw it."""

    prompt: str = Field(description="Templates behind the request.")
    schema_name: str = Field(description="Output schema name.")
    valid: bool = Field(description="The response parsed and validated against its schema.")
    prompt_tokens: int = Field(0, description="Prompt tokens.")
    completion_tokens: int = Field(0, description="Completion tokens.")
    latency_s: float = Field(0.0, description="Model time (recorded time when replayed).")
    finish_reason: str | None = Field(None, description="stop, length, ...")


def response_valid(schema_name: str, text: str) -> bool:
    """Does `text` parse and validate against the draft model named `schema_name`?

    A schema the analysis drafts do not know (a checker's) is held to valid JSON.
    """
    model = DRAFTS.get(schema_name)
    if model is None:
        try:
            json.loads(text)
        except json.JSONDecodeError:
            return False
        return True
    value, _ = parse_output(text, model)
    return value is not None


# --------------------------------------------------------------------------- grounding


@dataclass
class Tally:
    ok: int = 0
    total: int = 0
    failures: list[str] = field(default_factory=list)

    def check(self, passed: bool, what: str) -> None:
        self.total += 1
        self.ok += passed
        if not passed:
            self.failures.append(what)

    @property
    def rate(self) -> float | None:
        return self.ok / self.total if self.total else None


def grounding(doc: Document, analysis: Analysis) -> Tally:
    t = Tally()
    s = analysis.summary
    for i, kp in enumerate(s.key_points, 1):
        t.check(bool(kp.sentence_ids) and all(doc.has_sentence(x) for x in kp.sentence_ids),
                f"key point {i} cites {kp.sentence_ids}")
        for q in kp.quotes:
            t.check(verify_quote(doc, q) and q.sentence_id in kp.sentence_ids,
                    f"key point {i} quote {q.sentence_id}@{q.start}")
    t.check(all(doc.has_sentence(x) for x in s.tldr_sentence_ids),
            f"TL;DR cites {s.tldr_sentence_ids}")
    for name in ("who", "what", "when", "where", "why"):
        w = getattr(s.five_w, name)
        if w is not None:
            t.check(all(doc.has_sentence(x) for x in w.sentence_ids), f"5W {name} cites {w.sentence_ids}")
    for c in analysis.claims:
        t.check(verify_quote(doc, c.quote) and c.quote.sentence_id in c.sentence_ids,
                f"{c.id} quote {c.quote.sentence_id}@{c.quote.start}")
        for q in c.quotes:
            t.check(verify_quote(doc, q), f"{c.id} quote {q.sentence_id}@{q.start}")
        for d in c.dates:
            t.check(0 <= d.start < d.end <= len(doc.text) and doc.text[d.start:d.end] == d.expression
                    and doc.has_sentence(d.sentence_id)
                    and doc.sentence(d.sentence_id).start <= d.start < doc.sentence(d.sentence_id).end,
                    f"{c.id} date {d.expression!r}@{d.start}")
    return t


# --------------------------------------------------------------------------- key facts


def key_fact_coverage(summary: Summary, facts: Sequence[KeyFact],
                      threshold: float = SUPPORTED) -> list[str | None]:
    """For each fact: 'cited', 'text' (supported by the summary's words) or None."""
    cited = {x for kp in summary.key_points for x in kp.sentence_ids} | set(summary.tldr_sentence_ids)
    text = [summary.tldr, *(kp.text for kp in summary.key_points)]
    out: list[str | None] = []
    for f in facts:
        if cited & set(f.sentence_ids):
            out.append("cited")
        elif support(f.text, text) >= threshold:
            out.append("text")
        else:
            out.append(None)
    return out


def key_fact_text_coverage(summary: Summary, facts: Sequence[KeyFact],
                           threshold: float = SUPPORTED) -> list[bool]:
    text = [summary.tldr, *(kp.text for kp in summary.key_points)]
    return [support(f.text, text) >= threshold for f in facts]


# --------------------------------------------------------------------------- claims

_PUNCT = re.compile(r"[^\w\s]")


def _name(text: str) -> str:
    words = _PUNCT.sub(" ", text.replace("’", "'").replace("'s ", " ").lower()).split()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def speaker_matches(predicted: str | None, gold: str) -> bool:
    """Same speaker: equal after normalising, one contains the other as whole words, or the
    same surname ("Holm" / "Anders Holm" / "Mr. Holm")."""
    if not predicted:
        return False
    p, g = _name(predicted), _name(gold)
    if not p or not g:
        return False
    if p == g or f" {p} " in f" {g} " or f" {g} " in f" {p} ":
        return True
    return p.split()[-1] == g.split()[-1]


class ClaimMatch(BaseModel):
    pairs: list[tuple[int, int]] = Field(description="(predicted index, gold index) matches.")
    n_predicted: int = Field(description="Predicted claims.")
    n_gold: int = Field(description="Gold claims.")
    speaker_correct: int = Field(0, description="Matched pairs with the gold speaker.")
    speaker_total: int = Field(0, description="Matched pairs whose gold claim has a speaker.")

    @property
    def precision(self) -> float | None:
        return len(self.pairs) / self.n_predicted if self.n_predicted else None

    @property
    def recall(self) -> float | None:
        return len(self.pairs) / self.n_gold if self.n_gold else None

    @property
    def f1(self) -> float | None:
        if not self.n_gold:
            return None
        return 2 * len(self.pairs) / (self.n_predicted + self.n_gold)

    @property
    def speaker_accuracy(self) -> float | None:
        return self.speaker_correct / self.speaker_total if self.speaker_total else None


def match_claims(predicted: Sequence[Claim], gold: Sequence[GoldClaim]) -> ClaimMatch:
    taken: set[int] = set()
    pairs = []
    correct = total = 0
    for pi, p in enumerate(predicted):
        mine = set(p.sentence_ids)
        best, overlap = None, 0
        for gi, g in enumerate(gold):
            if gi not in taken and (n := len(mine & set(g.sentence_ids))) > overlap:
                best, overlap = gi, n
        if best is None:
            continue
        taken.add(best)
        pairs.append((pi, best))
        if (speaker := gold[best].speaker) is not None:
            total += 1
            correct += speaker_matches(p.attribution.speaker, speaker)
    return ClaimMatch(pairs=pairs, n_predicted=len(predicted), n_gold=len(gold),
                      speaker_correct=correct, speaker_total=total)


@dataclass
class Binary:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def f1(self) -> float | None:
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else None


def is_check_worthy(claim: Claim, threshold: float = CHECK_WORTHY) -> bool:
    cal = claim.check_worthiness_calibrated
    return cal.decision if cal is not None else claim.check_worthiness >= threshold


def check_worthiness(predicted: Sequence[Claim], gold: Sequence[GoldClaim],
                     threshold: float = CHECK_WORTHY) -> Binary:
    b = Binary()
    for g in gold:
        ids = set(g.sentence_ids)
        pred = any(is_check_worthy(c, threshold) and ids & set(c.sentence_ids) for c in predicted)
        if g.check_worthy:
            b.tp += pred
            b.fn += not pred
        else:
            b.fp += pred
            b.tn += not pred
    return b


# --------------------------------------------------------------------------- dates

_WEEK = re.compile(r"(\d{4})-W(\d{2})")


def same_period(a: str, b: str) -> bool:
    """Equal, or one an ISO week (YYYY-Www) that contains the other's date."""
    if a == b:
        return True
    for week, day in ((a, b), (b, a)):
        if (m := _WEEK.fullmatch(week)) and len(day) == 10:
            try:
                iso = dt.date.fromisoformat(day).isocalendar()
            except ValueError:
                return False
            return (iso.year, iso.week) == (int(m[1]), int(m[2]))
    return False


class DateOutcome(BaseModel):
    gold: GoldDate
    predicted: str | None = Field(None, description="Matched resolution, if any.")
    correct: bool = False


def date_outcomes(doc: Document, predicted: Sequence[DateResolution],
                  gold: Sequence[GoldDate]) -> list[DateOutcome]:
    out = []
    for g in gold:
        s = doc.sentence(g.sentence_id)
        at = s.text.find(g.expression)
        start = s.start + max(at, 0)
        end = start + len(g.expression)
        match = next((p for p in predicted if p.sentence_id == s.id
                      and p.start < end and start < p.end), None)
        out.append(DateOutcome(gold=g, predicted=match.resolved if match else None,
                               correct=bool(match and same_period(match.resolved, g.resolved))))
    return out


# --------------------------------------------------------------------------- questions

ARTICLE_REFERENCES = ("the article", "this article", "the report", "this report", "the text",
                      "the story", "this story", "the claim", "this claim", "the statement",
                      "this statement", "the sentence", "the author", "mentioned above",
                      "the above")


class QuestionOutcome(BaseModel):
    targets_claim: bool
    self_contained: bool
    method_given: bool

    @property
    def passed(self) -> bool:
        return self.targets_claim and self.self_contained and self.method_given


def question_outcome(q: VerificationQuestion, claim: Claim | None) -> QuestionOutcome:
    targets = False
    if claim is not None:
        terms = set(content_terms(claim.text))
        targets = len(terms & set(content_terms(q.question))) >= min(2, len(terms)) > 0
    lower = q.question.lower()
    return QuestionOutcome(
        targets_claim=targets,
        self_contained=not any(r in lower for r in ARTICLE_REFERENCES),
        method_given=q.method != VerificationMethod.other and bool(q.who_could_answer.strip()))


# --------------------------------------------------------------------------- traps


def trap_outcome(trap: Trap, analysis: Analysis, gold: Sequence[GoldClaim]) -> bool | None:
    ids = set(trap.sentence_ids)
    on = [c for c in analysis.claims if ids & set(c.sentence_ids)]
    if trap.kind == "misattribution":
        speakers = [g.speaker for g in gold if ids & set(g.sentence_ids) and g.speaker]
        if not on or not speakers:
            return None
        return all(speaker_matches(c.attribution.speaker, speakers[0]) for c in on)
    if trap.kind == "opinion":
        return not any(is_check_worthy(c) for c in on)
    if trap.kind == "boilerplate":
        cited = {x for kp in analysis.summary.key_points for x in kp.sentence_ids}
        return not on and not (ids & cited)
    return None


# --------------------------------------------------------------------------- ROUGE-L


def rouge_l(prediction: str, references: Sequence[str]) -> float:
    """Best ROUGE-L F-measure of `prediction` against any reference (stemmed)."""
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        raise MissingDependencyError("rouge-score", "eval") from None
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return max((scorer.score(ref, prediction)["rougeL"].fmeasure for ref in references), default=0.0)


def rouge_available() -> bool:
    try:
        import rouge_score  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------- suites


@dataclass
class ArticleRun:
    """One analysed article: inputs, output and what it cost."""

    item: ArticleItem
    document: Document
    analysis: Analysis | None
    calls: list[CallStat]
    wall_s: float
    error: str | None = None


@dataclass
class PairRun:
    """One checked pair: the checker's verdict (1/0, None = no answer) and its cost."""

    item: PairItem
    prediction: int | None
    calls: list[CallStat]
    wall_s: float
    error: str | None = None
    detail: str = ""


@dataclass
class Runs:
    """What a suite's items produced: analysed articles and checked pairs (a suite's
    scorer reads the list its task fills)."""

    articles: list[ArticleRun] = field(default_factory=list)
    pairs: list[PairRun] = field(default_factory=list)


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


class _Builder:
    def __init__(self, resamples: int, seed: int) -> None:
        self.resamples, self.seed = resamples, seed
        self.metrics: list[MetricResult] = []

    def add(self, name: str, description: str, scores: list[ItemScore], **kw: Any) -> None:
        self.metrics.append(aggregate(name, description, scores, resamples=self.resamples,
                                      seed=self.seed, **kw))


def _cost_metrics(b: _Builder, runs: Sequence[ArticleRun | PairRun]) -> None:
    def each(fn: Any) -> list[ItemScore]:
        return [ItemScore(item_id=r.item.id, value=fn(r)) for r in runs]

    b.add("cost_calls", "model requests per item (re-asks included)",
          each(lambda r: len(r.calls)), unit="count", higher_is_better=False)
    b.add("cost_prompt_tokens", "prompt tokens per item",
          each(lambda r: sum(c.prompt_tokens for c in r.calls)), unit="tokens", higher_is_better=False)
    b.add("cost_completion_tokens", "completion tokens per item",
          each(lambda r: sum(c.completion_tokens for c in r.calls)), unit="tokens",
          higher_is_better=False)
    b.add("cost_model_s", "model time per item in seconds (as recorded, when replayed)",
          each(lambda r: round(sum(c.latency_s for c in r.calls), 3)), unit="seconds",
          higher_is_better=False)
    b.add("wall_s", "wall time per item in this run (near 0 when replayed)",
          each(lambda r: round(r.wall_s, 3)), unit="seconds", higher_is_better=False)


def _common_metrics(b: _Builder, runs: Sequence[ArticleRun]) -> None:
    b.add("completion_rate", "items where analyze returned a result",
          [ItemScore(item_id=r.item.id, value=float(r.analysis is not None), detail=r.error or "")
           for r in runs])
    b.add("schema_validity", "share of model responses valid against their output schema",
          [ItemScore(item_id=r.item.id, value=_ratio(sum(c.valid for c in r.calls), len(r.calls)),
                     detail=f"{sum(c.valid for c in r.calls)}/{len(r.calls)} valid; invalid: "
                            + (", ".join(c.schema_name for c in r.calls if not c.valid) or "none"))
           for r in runs])
    scores = []
    for r in runs:
        if r.analysis is None:
            scores.append(ItemScore(item_id=r.item.id, value=None, detail="no analysis"))
            continue
        t = grounding(r.document, r.analysis)
        scores.append(ItemScore(item_id=r.item.id, value=t.rate,
                                detail=f"{t.ok}/{t.total} checks; failed: {'; '.join(t.failures) or 'none'}"))
    b.add("grounding_rate", "quotes, offsets, cited ids and date spans that match the article "
                            "(must be 1.0)", scores)


def fixture_metrics(runs: Sequence[ArticleRun], *, resamples: int, seed: int) -> list[MetricResult]:
    b = _Builder(resamples, seed)
    _common_metrics(b, runs)
    cover: list[ItemScore] = []
    cover_text: list[ItemScore] = []
    prec: list[ItemScore] = []
    rec: list[ItemScore] = []
    f1: list[ItemScore] = []
    spk: list[ItemScore] = []
    cw: list[ItemScore] = []
    dates: list[ItemScore] = []
    traps: list[ItemScore] = []
    vq: dict[str, list[ItemScore]] = {k: [] for k in ("targets", "self", "method", "pass", "agree")}
    rouge: list[ItemScore] = []
    for r in runs:
        item_id, gold, a = r.item.id, r.item.gold, r.analysis
        assert gold is not None, f"fixture {item_id} has no gold"
        if a is None:
            for lst in (cover, cover_text, rec, f1, cw, rouge):
                lst.append(ItemScore(item_id=item_id, value=0.0, detail="analysis failed"))
            for lst in (prec, spk, dates, traps, *vq.values()):
                lst.append(ItemScore(item_id=item_id, value=None, detail="analysis failed"))
            continue
        how = key_fact_coverage(a.summary, gold.key_facts)
        missing = [f.text for f, h in zip(gold.key_facts, how, strict=True) if h is None]
        cover.append(ItemScore(item_id=item_id, value=sum(h is not None for h in how) / len(how),
                               detail=f"cited {how.count('cited')}, text {how.count('text')}, "
                                      f"missing {len(missing)}: {' | '.join(missing)}"))
        text_ok = key_fact_text_coverage(a.summary, gold.key_facts)
        cover_text.append(ItemScore(item_id=item_id, value=sum(text_ok) / len(text_ok),
                                    detail=f"{sum(text_ok)}/{len(text_ok)} supported by the summary text"))
        m = match_claims(a.claims, gold.claims)
        matched = ", ".join(f"{a.claims[p].id}~{'+'.join(gold.claims[g].sentence_ids)}" for p, g in m.pairs)
        base = f"{len(m.pairs)} matched of {m.n_predicted} predicted / {m.n_gold} gold ({matched})"
        prec.append(ItemScore(item_id=item_id, value=m.precision, detail=base))
        rec.append(ItemScore(item_id=item_id, value=m.recall, detail=base))
        f1.append(ItemScore(item_id=item_id, value=m.f1, detail=base))
        wrong = [f"{a.claims[p].id}: {a.claims[p].attribution.speaker!r} vs {gold.claims[g].speaker!r}"
                 for p, g in m.pairs if gold.claims[g].speaker
                 and not speaker_matches(a.claims[p].attribution.speaker, gold.claims[g].speaker or "")]
        spk.append(ItemScore(item_id=item_id, value=m.speaker_accuracy,
                             detail=f"{m.speaker_correct}/{m.speaker_total}; wrong: {'; '.join(wrong) or 'none'}"))
        bw = check_worthiness(a.claims, gold.claims)
        cw.append(ItemScore(item_id=item_id, value=bw.f1,
                            detail=f"tp {bw.tp} fp {bw.fp} fn {bw.fn} tn {bw.tn}"))
        claimed = {x for c in a.claims for x in c.sentence_ids}
        outcomes = date_outcomes(r.document, [d for c in a.claims for d in c.dates],
                                 [g for g in gold.dates if g.sentence_id in claimed])
        dates.append(ItemScore(
            item_id=item_id, value=_ratio(sum(o.correct for o in outcomes), len(outcomes)),
            detail=f"{sum(o.correct for o in outcomes)}/{len(outcomes)} of gold dates in claimed "
                   f"sentences ({len(gold.dates) - len(outcomes)} not in any claim): "
                   + "; ".join(f"{o.gold.expression!r} {o.gold.resolved} vs {o.predicted}" for o in outcomes)))
        claims_by_id = {c.id: c for c in a.claims}
        gold_of = {a.claims[p].id: gold.claims[g] for p, g in m.pairs}
        qs = [question_outcome(q, claims_by_id.get(q.claim_id)) for q in a.questions]
        n = len(qs)
        vq["targets"].append(ItemScore(item_id=item_id, value=_ratio(sum(o.targets_claim for o in qs), n),
                                       detail=f"{sum(o.targets_claim for o in qs)}/{n}"))
        vq["self"].append(ItemScore(item_id=item_id, value=_ratio(sum(o.self_contained for o in qs), n),
                                    detail=f"{sum(o.self_contained for o in qs)}/{n}"))
        vq["method"].append(ItemScore(item_id=item_id, value=_ratio(sum(o.method_given for o in qs), n),
                                      detail=f"{sum(o.method_given for o in qs)}/{n}"))
        vq["pass"].append(ItemScore(item_id=item_id, value=_ratio(sum(o.passed for o in qs), n),
                                    detail=f"{sum(o.passed for o in qs)}/{n}"))
        agree = [q.method == gold_of[q.claim_id].verification for q in a.questions if q.claim_id in gold_of]
        vq["agree"].append(ItemScore(item_id=item_id, value=_ratio(sum(agree), len(agree)),
                                     detail=f"{sum(agree)}/{len(agree)} questions on matched claims"))
        results = [(t, trap_outcome(t, a, gold.claims)) for t in gold.traps]
        scored = [(t, ok) for t, ok in results if ok is not None]
        traps.append(ItemScore(item_id=item_id, value=_ratio(sum(bool(ok) for _, ok in scored), len(scored)),
                               detail="; ".join(f"{t.kind} {'+'.join(t.sentence_ids)}: "
                                                f"{'pass' if ok else 'FAIL'}" for t, ok in scored)))
        if rouge_available():
            rouge.append(ItemScore(item_id=item_id, value=rouge_l(a.summary.tldr, [gold.summary_reference])))
    b.add("key_fact_coverage", "gold key facts cited by a key point/TL;DR or supported by the "
                               "summary text", cover)
    b.add("key_fact_coverage_text", "gold key facts supported by the summary text alone", cover_text)
    b.add("claim_precision", "extracted claims matching a gold claim (sentence overlap)", prec)
    b.add("claim_recall", "gold claims matched by an extracted claim", rec)
    b.add("claim_f1", "F1 of claim matching per article", f1)
    b.add("speaker_accuracy", "matched claims with a gold speaker whose speaker agrees", spk)
    b.add("check_worthiness_f1", "F1 of check-worthy claims (calibrated decision, else >= 0.5) "
                                 "over gold claims", cw)
    b.add("date_accuracy", "gold dates in claimed sentences resolved correctly", dates)
    b.add("vq_targets_claim", "questions sharing content terms with their claim", vq["targets"])
    b.add("vq_self_contained", "questions answerable without the article", vq["self"])
    b.add("vq_method_given", "questions with a specific method and someone to ask", vq["method"])
    b.add("vq_pass", "questions passing all three checks", vq["pass"])
    b.add("vq_method_agreement", "questions on matched claims whose method equals gold", vq["agree"])
    b.add("trap_pass_rate", "misattribution, opinion and boilerplate traps handled", traps)
    quality = [quality_scores(r.item.id, [(c.text, c.attribution.speaker) for c in r.analysis.claims]
                              if r.analysis else []) for r in runs]
    b.add("claim_atomicity", "claims stating one fact (rules: evals.claim_quality)", [q[0] for q in quality])
    b.add("claim_self_contained", "claims readable without the article: no unresolved pronoun or "
                                  "deictic, absolute dates, speaker named (evals.claim_quality)",
          [q[1] for q in quality])
    if rouge_available():
        b.add("rougeL_reference", "ROUGE-L F of the TL;DR against the gold summary reference",
              rouge, unit="score")
    else:
        b.metrics.append(unavailable("rougeL_reference", "ROUGE-L vs the gold reference",
                                     "rouge-score is not installed (pip install rouge-score)",
                                     unit="score"))
    _cost_metrics(b, runs)
    return b.metrics


def seed_metrics(runs: Sequence[ArticleRun], *, resamples: int, seed: int) -> list[MetricResult]:
    b = _Builder(resamples, seed)
    _common_metrics(b, runs)
    counts, named, speakers = [], [], []
    for r in runs:
        a = r.analysis
        if a is None:
            counts.append(ItemScore(item_id=r.item.id, value=0.0, detail="analysis failed"))
            named.append(ItemScore(item_id=r.item.id, value=None))
            speakers.append(ItemScore(item_id=r.item.id, value=None))
            continue
        counts.append(ItemScore(item_id=r.item.id, value=len(a.claims),
                                detail=", ".join(f"{c.id} {'+'.join(c.sentence_ids)}" for c in a.claims)))
        attributed = [c for c in a.claims if c.type == "attributed_statement" or c.attribution.verb]
        with_name = [c for c in attributed if c.attribution.speaker]
        named.append(ItemScore(item_id=r.item.id, value=_ratio(len(with_name), len(attributed)),
                               detail="; ".join(f"{c.id}: {c.attribution.speaker}" for c in attributed)))
        expected = r.item.speakers
        judged = [(c, expected[c.sentence_ids[0]]) for c in a.claims if c.sentence_ids[0] in expected]
        ok = [speaker_matches(c.attribution.speaker, want) for c, want in judged]
        speakers.append(ItemScore(item_id=r.item.id, value=_ratio(sum(ok), len(ok)),
                                  detail="; ".join(f"{c.sentence_ids[0]} {c.attribution.speaker!r} "
                                                   f"(want {want}){'' if good else ' WRONG'}"
                                                   for (c, want), good in zip(judged, ok, strict=True))))
    b.add("claims_count", "claims extracted", counts, unit="count")
    b.add("attributed_with_speaker", "attributed claims that name a speaker", named)
    b.add("speaker_accuracy", "claims on annotated sentences with the expected speaker "
                              "(evals/gold/seed.toml)", speakers)
    _cost_metrics(b, runs)
    return b.metrics


def wikinews_metrics(runs: Sequence[ArticleRun], *, resamples: int, seed: int) -> list[MetricResult]:
    b = _Builder(resamples, seed)
    _common_metrics(b, runs)
    support_scores = []
    for r in runs:
        kps = r.analysis.summary.key_points if r.analysis else []
        support_scores.append(ItemScore(
            item_id=r.item.id, value=_ratio(sum(kp.support >= SUPPORTED for kp in kps), len(kps)),
            detail=", ".join(_f(kp.support) for kp in kps)))
    b.add("key_point_support", f"key points whose words the cited sentences support (>= {SUPPORTED})",
          support_scores)
    if rouge_available():
        for name, attr in (("rougeL_tldr", "tldr"), ("rougeL_headline", "headline")):
            scores = []
            for r in runs:
                text = getattr(r.analysis.summary, attr) if r.analysis else ""
                value = rouge_l(text, r.item.references) if r.analysis else 0.0
                scores.append(ItemScore(item_id=r.item.id, value=value,
                                        detail=f"max over {len(r.item.references)} reference(s)"))
            b.add(name, f"ROUGE-L F of the {attr} against the human summaries (max)", scores, unit="score")
    else:
        for name in ("rougeL_tldr", "rougeL_headline"):
            b.metrics.append(unavailable(name, "ROUGE-L against the human summaries",
                                         "rouge-score is not installed (pip install rouge-score)",
                                         unit="score"))
    _cost_metrics(b, runs)
    return b.metrics


def checker_metrics(runs: Sequence[PairRun], *, resamples: int, seed: int,
                    labels: tuple[str, str] = ("inconsistent", "consistent")) -> list[MetricResult]:
    b = _Builder(resamples, seed)

    def score(r: PairRun, answered_only: bool) -> ItemScore:
        said = "no verdict" if r.prediction is None else labels[r.prediction]
        value = float(r.prediction == r.item.label)
        return ItemScore(item_id=r.item.id, value=None if answered_only and r.prediction is None else value,
                         label=r.item.label, prediction=r.prediction, group=r.item.group,
                         detail=f"human {labels[r.item.label]}, checker {said}"
                                + (f" ({r.detail})" if r.detail else "") + (f"; error: {r.error}" if r.error else ""))

    grouped = "; bootstrap over documents" if any(r.item.group for r in runs) else ""
    b.add("balanced_accuracy", "mean recall of both human labels; no verdict counts as wrong"
                               + grouped, [score(r, False) for r in runs], statistic="balanced_accuracy")
    b.add("balanced_accuracy_answered", "balanced accuracy over items with a verdict" + grouped,
          [score(r, True) for r in runs], statistic="balanced_accuracy")
    b.add("answered_rate", "items the checker gave a verdict on (not 'not enough evidence')",
          [ItemScore(item_id=r.item.id, value=float(r.prediction is not None), group=r.item.group,
                     detail=r.error or r.detail) for r in runs])
    _cost_metrics(b, runs)
    return b.metrics


def summary_check_metrics(runs: Sequence[PairRun], *, resamples: int, seed: int) -> list[MetricResult]:
    """`checker_metrics` for summary consistency (SummEdits-style labels)."""
    return checker_metrics(runs, resamples=resamples, seed=seed, labels=("inconsistent", "consistent"))


def claim_check_metrics(runs: Sequence[PairRun], *, resamples: int, seed: int) -> list[MetricResult]:
    """`checker_metrics` for claim verification (FEVER-style labels)."""
    return checker_metrics(runs, resamples=resamples, seed=seed, labels=("REFUTES", "SUPPORTS"))
