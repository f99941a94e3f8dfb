"""Faithfulness: does a summary (ours or anyone's) say only what its article supports?

Per summary sentence, code finds candidate support sentences (BM25 over the article plus
the content-word `support` score) and runs the deterministic checks (`assistant.text.checks`);
the model judges the sentence against the article with a tiny answer (the words it
thinks changed, label, error type, sentence numbers). The combination rule was chosen on
SummEdits news (evals/run_factcheck_dev.py, tuned on half the documents, reported on the
other half): a deterministic mismatch makes a sentence not supported; otherwise it is
supported when its content-word support reaches a low floor. The embedded model's label
lowered accuracy there, so by default it is reported beside the decision (with its error
type and changed words, verified by code) and decides only with `model_decides=True`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistant.calibration import LogisticFit, ProfileChoice, choice_note, find_profile, score_row
from assistant.core.driver import Noted, Step
from assistant.core.structured import CallSpec, Findings, Probability, ProbeSpec
from assistant.errors import InputError, ValidationIssue
from assistant.schemas import (
    Document,
    DocumentInfo,
    ErrorType,
    FaithDraft,
    FaithfulnessReport,
    FaithLabel,
    Mismatch,
    MismatchKind,
    Sentence,
    SentenceJudgement,
)
from assistant.steps import entailment
from assistant.steps.analysis import TokenCounter, chunk_sentences, numbered, prefix_values
from assistant.steps.options import Options
from assistant.text.checks import Reference, check_text
from assistant.text.grounding import anchor, content_terms, sentence_quote, support
from assistant.text.segment import split_sentences

_ERROR_OF_KIND = {
    MismatchKind.number: ErrorType.entity, MismatchKind.unit: ErrorType.entity,
    MismatchKind.entity: ErrorType.entity, MismatchKind.date: ErrorType.circumstance,
    MismatchKind.quote: ErrorType.predicate, MismatchKind.negation: ErrorType.predicate,
}


_NOTHING = frozenset({"", "none", "nothing", "n/a", "null", "no"})


# The named features of a calibrated faithfulness decision (profiles fitted on them by
# evals/faithfulness_features.py + `assistant calibrate --task faithfulness`). Summary
# level: aggregated over its sentences (the weakest one counts); sentence level: one.
CHECK_FEATURES = (*(f"chk_{k.value}" for k in MismatchKind), "chk_any", "support_min")
MODEL_FEATURES = ("p_min", "p_mean", "logit_min")
FEATURES = CHECK_FEATURES + MODEL_FEATURES


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def faith_features(findings: Sequence[tuple[Sequence[Mismatch], float, float | None]]) -> dict[str, float]:
    """Features of one summary (or sentence) from its sentences' (mismatches, support,
    P(supported) or None). Model features are absent when no probability was read."""
    kinds = {m.kind for mismatches, _, _ in findings for m in mismatches}
    feats = {f"chk_{k.value}": float(k in kinds) for k in MismatchKind}
    feats["chk_any"] = float(bool(kinds))
    feats["support_min"] = min(score for _, score, _ in findings)
    ps = [p for _, _, p in findings if p is not None]
    if ps:
        feats.update(p_min=min(ps), p_mean=sum(ps) / len(ps), logit_min=_logit(min(ps)))
    return feats


def summary_sentences(summary_text: str, limit: int) -> list[Sentence]:
    sentences = split_sentences(summary_text)
    if not sentences:
        raise InputError("the summary is empty")
    if len(sentences) > limit:
        raise InputError(f"the summary has {len(sentences)} sentences; at most {limit} are checked "
                         "(is it the article instead?)")
    return sentences


def _draft_check(n_sentences: int) -> Callable[[Any], Findings]:
    def check(draft: FaithDraft) -> Findings:
        bad = [i for i in draft.ids if not 1 <= i <= n_sentences]
        return Findings([ValidationIssue("ids", f"no such sentence(s): {bad}; the article has "
                                                f"sentences 1 to {n_sentences}")] if bad else [])

    return check


def _candidates(ref: Reference, text: str, k: int) -> list[Sentence]:
    return sorted(ref.related(text, k=k), key=lambda s: s.index)


def changed_unsupported(changed: str, sources: list[str], sentence: str) -> list[str]:
    """Words the model names as changed that are words of the summary `sentence` and that
    none of the article `sources` contains (anything else it names is discarded: small
    models echo instructions or name words the article does have)."""
    if changed.strip().strip(".\"'").lower() in _NOTHING:
        return []
    pool = set(content_terms(" ".join(sources)))
    own = set(content_terms(sentence))
    out = []
    for word in changed.split():
        terms = set(content_terms(word))
        if terms and terms <= own and not terms <= pool:
            out.append(word.strip(".,;:\"'()"))
    return out


def judge(s: Sentence, mismatches: list[Mismatch], ids: list[str], score: float,
          draft: FaithDraft | None, doc: Document, opts: Options,
          candidates: list[Sentence], prob: Probability | None = None,
          choice: ProfileChoice | None = None, fit: LogisticFit | None = None) -> SentenceJudgement:
    """Combine the deterministic findings with the model's probability and draft (if any).

    With a probability and a profile, the profile decides: a small logistic model over
    the checks' findings, the lexical support and the model's P(supported), fitted on
    human-labelled summaries. Otherwise: a deterministic mismatch decides; then the
    model's judge if `model_decides`; else the lexical support floor.
    """
    blocking = [m for m in mismatches if m.kind in opts.faithfulness.blocking]
    calibrated = None
    if prob is not None and choice is not None:
        calibrated = score_row(choice.profile, faith_features([(mismatches, score, prob.p)]),
                               default_used=choice.default_used, fit=fit)
    unsupported: list[str] = []
    if draft is not None:
        cited = [f"S{i}" for i in draft.ids if doc.has_sentence(i)]
        if cited and support(s.text, [doc.sentence(c).text for c in cited]) >= 0.3:
            ids = cited
        seen = [c.text for c in candidates] + [doc.sentence(c).text for c in cited]
        unsupported = changed_unsupported(draft.changed, seen, s.text)
    if calibrated is not None:
        supported = calibrated.decision
        label = FaithLabel.supported if supported else FaithLabel.not_supported
        decided = "calibrated"
        error = ErrorType.none if supported else (
            _ERROR_OF_KIND[blocking[0].kind] if blocking else
            draft.error if draft is not None and draft.error != ErrorType.none else
            ErrorType.not_in_article)
    elif blocking:
        label, error, decided = FaithLabel.not_supported, _ERROR_OF_KIND[blocking[0].kind], "checks"
        if draft is not None and draft.error not in (ErrorType.none, ErrorType.not_in_article) \
                and draft.label == FaithLabel.not_supported:
            error = draft.error  # the model's finer type where it agrees something is wrong
    elif draft is not None and opts.faithfulness.model_decides:
        # The model's flag stands when code finds a word it names missing from the
        # article sentences it was shown; a flag naming only words that are there is noise.
        flagged = draft.label == FaithLabel.not_supported and (
            bool(unsupported) or not opts.faithfulness.verify_flags)
        label, decided = (FaithLabel.not_supported if flagged else FaithLabel.supported), "model"
        error = ErrorType.none if not flagged else (
            draft.error if draft.error != ErrorType.none else ErrorType.not_in_article)
    else:
        decided = "support"
        supported = score >= opts.faithfulness.support_threshold
        label = FaithLabel.supported if supported else FaithLabel.not_supported
        error = ErrorType.none if supported else ErrorType.not_in_article
    return SentenceJudgement(
        index=s.index, text=s.text, start=s.start, end=s.end, label=label, error_type=error,
        sentence_ids=ids, quotes=[sentence_quote(doc, i) for i in ids], support=round(score, 3),
        mismatches=mismatches, model_label=draft.label if draft else None,
        model_error=draft.error if draft else None,
        model_changed=draft.changed if draft else None, changed_unsupported=unsupported,
        probability=round(prob.p, 4) if prob is not None else None,
        probability_method=prob.method if prob is not None else None,
        calibrated=calibrated, decided_by=decided)


def _report(doc: Document, summary_text: str, judged: list[SentenceJudgement],
            mode: str) -> FaithfulnessReport:
    ok = sum(j.label == FaithLabel.supported for j in judged)
    return FaithfulnessReport(
        document=DocumentInfo.of(doc), summary=summary_text,
        label=FaithLabel.supported if ok == len(judged) else FaithLabel.not_supported,
        score=round(ok / len(judged), 3), sentences=judged, mode=mode)


def faithfulness_step(doc: Document, summary_text: str, opts: Options, count: TokenCounter,
                      *, use_model: bool = True, reference: Reference | None = None,
                      model: str | None = None) -> Step[Noted[FaithfulnessReport]]:
    """Judge every sentence of `summary_text` against `doc` (see the module docstring)."""
    notes: list[str] = []
    sentences = summary_sentences(summary_text, opts.faithfulness.max_summary_sentences)
    ref = reference or Reference(doc)
    found = []
    for s in sentences:
        mismatches = [m.model_copy(update={"claim_span": m.claim_span.model_copy(update={
            "start": m.claim_span.start + s.start, "end": m.claim_span.end + s.start})})
            for m in check_text(s.text, ref)]
        ids, score = anchor(s.text, doc, [], index=ref.index, threshold=0.0)
        found.append((s, mismatches, ids, score, _candidates(ref, s.text, opts.faithfulness.candidates)))
    drafts: list[FaithDraft | None] = [None] * len(sentences)
    probs: list[Probability | None] = [None] * len(sentences)
    choice = None
    if use_model and (opts.faithfulness.judge or opts.faithfulness.probe):
        specs: list[CallSpec | ProbeSpec] = []
        if opts.faithfulness.judge:
            chunks = chunk_sentences(doc, opts.chunk_tokens, count)
            for s, _, _, _, cands in found:
                chunk = next((c for c in chunks if cands and cands[0] in c), chunks[0])
                specs.append(CallSpec(
                    "faithfulness", {**prefix_values(doc, chunk), "summary_sentence": s.text,
                                     "candidates": numbered(cands) or "(none)"},
                    FaithDraft, _draft_check(len(doc.sentences)), opts.max_attempts,
                    prompts_dir=opts.prompts_dir))
            if len(chunks) > 1:
                notes.append(f"long article: each sentence judged against one of {len(chunks)} parts")
        if opts.faithfulness.probe:
            specs += [entailment.probe(entailment.premise(ref, s.text), s.text,
                                       prompts_dir=opts.prompts_dir) for s, *_ in found]
            choice = find_profile("faithfulness", model, "precomputed", directory=opts.profiles_dir)
            if note := choice_note("faithfulness", choice, model,
                                   "the model's probability is reported, the deterministic rule decides"):
                notes.append(note)
        results: list[Any] = yield specs
        n = len(sentences) if opts.faithfulness.judge else 0
        drafts = [r.value for r in results[:n]] if opts.faithfulness.judge else drafts
        if opts.faithfulness.probe:
            probs = list(results[n:])
            if any(p.method == "label" for p in probs if p is not None):
                notes.append("the endpoint returned no log-probabilities: the model's greedy "
                             "Yes/No stands in for its probability")
    fit = choice.profile.fit() if choice is not None else None
    judged = [judge(s, mm, ids, score, d, doc, opts, cands, p, choice, fit)
              for (s, mm, ids, score, cands), d, p in zip(found, drafts, probs, strict=True)]
    return Noted(_report(doc, summary_text, judged, "combined" if use_model else "checks"), notes)


def check_summary_offline(doc: Document, summary_text: str, opts: Options | None = None,
                          *, reference: Reference | None = None) -> FaithfulnessReport:
    """Deterministic-only faithfulness (no model): checks plus lexical support."""
    step = faithfulness_step(doc, summary_text, opts or Options(), len, use_model=False,
                             reference=reference)
    try:
        next(step)
    except StopIteration as stop:
        return stop.value.value  # type: ignore[no-any-return]
    raise AssertionError("deterministic mode made a model call")  # pragma: no cover


def summary_features_step(doc: Document, summary_text: str, *, use_model: bool = True,
                          reference: Reference | None = None, max_sentences: int = 40,
                          prompts_dir: Path | None = None) -> Step[Noted[dict[str, float]]]:
    """The named features (`FEATURES`) of one summary, as `assistant calibrate --task
    faithfulness` fits them: per sentence, the same checks, lexical support and focused
    P(supported) probe that `faithfulness_step` feeds its profile, aggregated by
    `faith_features` (the weakest sentence counts). Without `use_model`, the check
    features only. A note says when the endpoint gave labels, not log-probabilities."""
    sentences = summary_sentences(summary_text, max_sentences)
    ref = reference or Reference(doc)
    found = [(check_text(s.text, ref), anchor(s.text, doc, [], index=ref.index, threshold=0.0)[1])
             for s in sentences]
    ps: list[float | None] = [None] * len(sentences)
    notes: list[str] = []
    if use_model:
        probs: list[Probability] = yield [
            entailment.probe(entailment.premise(ref, s.text), s.text, prompts_dir=prompts_dir)
            for s in sentences]
        ps = [p.p for p in probs]
        if any(p.method == "label" for p in probs):
            notes.append("the endpoint returned no log-probabilities: the model's greedy Yes/No "
                         "stands in for its probability")
    return Noted(faith_features([(m, score, p) for (m, score), p in zip(found, ps, strict=True)]), notes)
