"""The three analysis steps over one article: summary, claims, verification questions.

Each step is a generator (see `pipeline`): it yields model calls and turns the model's
compact drafts into grounded public models. The model cites sentence numbers; code
re-anchors weak citations, derives every quote and offset, and falls back to the
article's own words where a model rewrite adds what the article does not say.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from assistant import calibration
from assistant.core.driver import Noted, Step
from assistant.core.structured import CallSpec, Findings, Structured
from assistant.errors import OutputValidationError, ValidationIssue
from assistant.schemas import (
    Claim,
    ClaimDraft,
    ClaimsDraft,
    ClaimType,
    Document,
    FiveW,
    KeyPoint,
    QuestionDraft,
    QuestionsDraft,
    ReduceDraft,
    Sentence,
    Summary,
    SummaryDraft,
    VerificationMethod,
    VerificationQuestion,
    WField,
)
from assistant.steps import atomic
from assistant.steps.options import Options as Options  # the public name `analysis.Options` stays
from assistant.steps.questions import (
    code_questions,
    question_kind,
    question_problems,
    who_could_answer,
)
from assistant.text import signals as sig
from assistant.text.attribution import has_attribution_cue
from assistant.text.dates import resolve_relative_dates
from assistant.text.grounding import (
    SentenceIndex,
    anchor,
    locate_quote,
    normalize,
    sentence_quote,
    support,
    unsupported_terms,
)

TokenCounter = Callable[[str], int]


# --------------------------------------------------------------------------- chunks


def numbered(sentences: Sequence[Sentence]) -> str:
    return "\n".join(f"[{s.index}] {s.text}" for s in sentences)


def chunk_sentences(doc: Document, budget: int, count: TokenCounter) -> list[list[Sentence]]:
    """Split on sentence boundaries so each chunk's numbered text fits `budget` tokens.

    Sentence numbers stay global. One sentence longer than the budget becomes a chunk of
    its own (the backend then reports a context overflow rather than us truncating it).
    """
    chunks: list[list[Sentence]] = [[]]
    used = 0
    for s in doc.sentences:
        cost = count(f"[{s.index}] {s.text}\n")
        if chunks[-1] and used + cost > budget:
            chunks.append([])
            used = 0
        chunks[-1].append(s)
        used += cost
    return chunks


def prefix_values(doc: Document, sentences: Sequence[Sentence]) -> dict[str, Any]:
    return {
        "title": doc.title or "(none)",
        "published": doc.published.isoformat() if doc.published else "unknown",
        "sentences": numbered(sentences),
    }


def _ids_out_of_range(ids: Sequence[int], allowed: set[int]) -> list[int]:
    return [i for i in ids if i not in allowed]


# --------------------------------------------------------------------------- summary


# Governments are often named by their capitals or seats: a key point saying "the US"
# for a sentence whose speaker is "Washington" names the same speaker.
_METONYMS = [
    {"us", "u.s.", "united", "states", "america", "american", "washington", "white", "house",
     "pentagon", "biden", "administration"},
    {"russia", "russian", "moscow", "kremlin", "putin"},
    {"ukraine", "ukrainian", "kiev", "kyiv", "zelensky"},
    {"uk", "britain", "british", "london", "downing"},
    {"china", "chinese", "beijing"},
    {"eu", "european", "union", "brussels"},
]
_REPORTING = re.compile(r"\b(?:accus|said|says|say\b|claim|warn|blam|den(?:y|ie)|alleg|threat|"
                        r"insist|argu|assur|acknowledg|announc|propos|call(?:s|ed)? for)", re.I)


def _name_tokens(name: str) -> set[str]:
    tokens = {t for t in re.findall(r"[\w.]+", name.lower()) if len(t) > 1} - {"the", "of", "for"}
    for group in _METONYMS:
        if tokens & group:
            tokens |= group
    return tokens


def speaker_conflict(text: str, cited: Sequence[str], speakers: dict[str, str]) -> str | None:
    """The cited sentence's speaker when `text` reports speech but names none of them.

    Catches the classic small-model error of swapping who accuses whom: "US accuses
    Ukraine of ..." citing a sentence in which Putin accuses Zelensky.
    """
    if not _REPORTING.search(text):
        return None
    named = [speakers[s] for s in cited if s in speakers]
    if not named:
        return None
    words = set(re.findall(r"[\w.]+", text.lower()))
    if any(words & _name_tokens(n) for n in named):
        return None
    return named[0]


_WHEN = re.compile(r"\d|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|"
                   r"fri|sat|sun|today|yesterday|tomorrow|week|month|year|morning|evening|night|"
                   r"spring|summer|autumn|fall|winter)", re.I)


def five_w_answer_ok(name: str, text: str, cited: Sequence[Sentence]) -> bool:
    """A 5W answer must be short and stated by its sentences: `when` names a time, `who`
    and `where` a name that occurs in the cited sentences."""
    source = " ".join(s.text for s in cited)
    if not cited or len(text.split()) > 10 or support(text, [source]) < 0.5:
        return False
    if name == "when":
        return bool(_WHEN.search(text))
    if name in ("who", "where"):
        names = re.findall(r"\b[A-Z][\w.’'-]+", text)
        return any(n.lower() in source.lower() for n in names)
    return True


def _summary_check(doc: Document, chunk: Sequence[Sentence], opts: Options,
                   speakers: dict[str, str]) -> Callable[[Any], Findings]:
    allowed = {s.index for s in chunk}
    index = SentenceIndex(chunk)

    def check(draft: SummaryDraft) -> Findings:
        issues: list[ValidationIssue] = []
        notes: list[str] = []
        for field in ("headline", "tldr"):
            if bad := unsupported_terms(getattr(draft, field), doc):
                issues.append(ValidationIssue(field, f"mentions {', '.join(map(repr, bad))}, "
                                                     "which the article does not contain"))
        kept = []
        for i, kp in enumerate(draft.key_points):
            cited = [f"S{n}" for n in kp.ids if n in allowed]
            ids, score = anchor(kp.text, doc, cited, index=index, threshold=opts.analysis.support_threshold)
            if ids and (who := speaker_conflict(kp.text, ids, speakers)):
                notes.append(f"key point {i + 1} dropped: cites {', '.join(ids)}, whose speaker "
                             f"is {who}, but attributes it otherwise: {kp.text!r}")
            elif ids and not unsupported_terms(kp.text, doc):
                if ids != cited:
                    notes.append(f"key point {i + 1}: re-anchored {kp.ids} -> {ids}")
                kept.append(kp.model_copy(update={"ids": [int(x[1:]) for x in ids]}))
            else:
                notes.append(f"key point {i + 1} dropped: not supported by the article "
                             f"(best support {score:.2f}): {kp.text!r}")
        if len(kept) < min(3, len(chunk)):
            issues.append(ValidationIssue("key_points", f"only {len(kept)} key point(s) are "
                          "supported by the sentences they cite; give at least 3, each citing "
                          "the sentence numbers that state it"))
        fixed: dict[str, Any] = {"key_points": kept}
        for name in ("who", "when", "where", "why"):
            w = getattr(draft, name)
            if w is not None and not five_w_answer_ok(name, w.text, [doc.sentence(n) for n in w.ids if n in allowed]):
                notes.append(f"{name} dropped: not stated by its sentences: {w.text!r}")
                fixed[name] = None
        return Findings(issues, notes, draft.model_copy(update=fixed))

    return check


def _key_point(doc: Document, text: str, ids: Sequence[int]) -> KeyPoint:
    sids = [f"S{n}" for n in ids]
    quotes = [sentence_quote(doc, s) for s in sids]
    return KeyPoint(text=text, sentence_ids=sids, quotes=quotes,
                    support=round(support(text, [q.text for q in quotes]), 3))


def _five_w(draft: SummaryDraft, what: str, what_ids: list[str]) -> FiveW:
    def w(d: Any) -> WField | None:
        return WField(text=d.text, sentence_ids=[f"S{n}" for n in d.ids]) if d else None

    return FiveW(who=w(draft.who), what=WField(text=what, sentence_ids=what_ids) if what else None,
                 when=w(draft.when), where=w(draft.where), why=w(draft.why))


def summarize_step(doc: Document, opts: Options, count: TokenCounter) -> Step[Noted[Summary]]:
    notes: list[str] = []
    chunks = chunk_sentences(doc, opts.chunk_tokens, count)
    speakers = {s.sentence_id: s.attribution.speaker for s in sig.analyze_sentences(doc)
                if s.attribution.speaker}
    specs = [CallSpec("summarize", {**prefix_values(doc, c), "max_points": opts.analysis.max_points},
                      SummaryDraft, _summary_check(doc, c, opts, speakers), opts.max_attempts,
                      prompts_dir=opts.prompts_dir) for c in chunks]
    try:
        results: list[Structured[SummaryDraft]] = yield specs
    except OutputValidationError as exc:
        if not opts.fallback:
            raise
        notes += [*exc.notes, f"summary: {exc}; fell back to an extractive summary"]
        return Noted(extractive_summary(doc, opts), notes)
    notes += [n for r in results for n in r.notes]
    drafts = [r.value for r in results]
    points = [kp for d in drafts for kp in d.key_points]
    headline, tldr = drafts[0].headline, drafts[0].tldr
    if len(drafts) > 1:
        notes.append(f"map-reduce over {len(drafts)} chunks")
        listing = "\n".join(f"{i + 1}. {kp.text}" for i, kp in enumerate(points))

        def check_reduce(d: ReduceDraft) -> Findings:
            issues = [ValidationIssue(f, f"mentions {', '.join(map(repr, bad))}, which the "
                                         "article does not contain")
                      for f in ("headline", "tldr") if (bad := unsupported_terms(getattr(d, f), doc))]
            if bad_ids := _ids_out_of_range(d.keep, set(range(1, len(points) + 1))):
                issues.append(ValidationIssue("keep", f"no such point(s): {bad_ids}"))
            return Findings(issues)

        try:
            reduced: Structured[ReduceDraft] = yield CallSpec(
                "summary_reduce", {"title": doc.title or "(none)", "points": listing,
                                   "max_points": opts.analysis.max_points},
                ReduceDraft, check_reduce, opts.max_attempts, prompts_dir=opts.prompts_dir)
        except OutputValidationError as exc:
            if not opts.fallback:
                raise
            notes += [*exc.notes, f"summary reduce: {exc}; kept the first chunk's headline"]
        else:
            headline, tldr = reduced.value.headline, reduced.value.tldr
            order = list(dict.fromkeys(reduced.value.keep))
            points = [points[i - 1] for i in order] + [p for i, p in enumerate(points, 1) if i not in order]
    seen: set[str] = set()
    unique = []
    for p in points:
        if (key := normalize(p.text)) not in seen:
            seen.add(key)
            unique.append(p)
    points = unique
    points = points[: opts.analysis.max_points]
    tldr_ids, _ = anchor(tldr, doc, [], threshold=0.0)
    key_points = [_key_point(doc, kp.text, kp.ids) for kp in points]
    what = key_points[0] if key_points else None
    return Noted(Summary(headline=headline, tldr=tldr,
                   tldr_sentence_ids=sorted({s for kp in key_points[:3] for s in kp.sentence_ids}
                                            | set(tldr_ids), key=lambda s: int(s[1:])),
                   key_points=key_points,
                   five_w=_five_w(drafts[0], what.text if what else "",
                                  what.sentence_ids if what else [])), notes)


def extractive_summary(doc: Document, opts: Options) -> Summary:
    """The article's own most informative sentences, when the model's summary fails."""
    picks = sig.rank_claim_candidates(sig.analyze_sentences(doc), k=opts.analysis.max_points)
    points = [_key_point(doc, doc.sentence(p.sentence_id).text, [doc.sentence(p.sentence_id).index])
              for p in picks]
    body = [s for s in doc.sentences if s.text != doc.title] or doc.sentences
    lead = next((s for s in body if len(s.text) > 60), body[0] if body else None)
    return Summary(headline=doc.title or (lead.text[:100] if lead else ""),
                   tldr=lead.text if lead else "", tldr_sentence_ids=[lead.id] if lead else [],
                   key_points=points)


# --------------------------------------------------------------------------- claims


def _candidate_line(doc: Document, s: sig.SentenceSignals) -> str:
    sentence = doc.sentence(s.sentence_id)
    extras = [f"{d.expression} = {d.resolved}" for d in resolve_relative_dates(doc, sentence)]
    if s.attribution.speaker:
        extras.append(f"speaker: {s.attribution.speaker}")
    hint = f" ({'; '.join(extras)})" if extras else ""
    return f"[{sentence.index}] {sentence.text}{hint}"


def claims_check(doc: Document, allowed: set[int]) -> Callable[[Any], Findings]:
    def check(draft: ClaimsDraft) -> Findings:
        issues = []
        for i, c in enumerate(draft.claims):
            if c.id not in allowed:
                issues.append(ValidationIssue(f"claims.{i}.id", f"sentence {c.id} is not one of the "
                                              f"listed sentences ({', '.join(map(str, sorted(allowed)))})"))
            elif c.quote and locate_quote(doc, c.quote, [c.id]) is None:
                issues.append(ValidationIssue(f"claims.{i}.quote", f"{c.quote!r} is not in sentence {c.id}"))
        return Findings(issues)

    return check


_NEEDS = {
    ClaimType.statistic: lambda f: bool(f.numbers),
    ClaimType.attributed_statement: lambda f: bool(f.attribution.speaker or f.attribution.verb),
}


def _merge_type(model_type: ClaimType, s: sig.SentenceSignals) -> ClaimType:
    # The small model labels whole articles with one type ("statistic", "causal"), so the
    # sentence's own features decide; the model's label only fills in where they find
    # nothing specific, and only if the features allow it.
    if s.claim_type != ClaimType.other:
        return s.claim_type
    need = _NEEDS.get(model_type)
    return s.claim_type if need is not None and not need(s) else model_type


def _claim_text(doc: Document, text: str, sentence: Sentence, extra: list[str],
                threshold: float) -> str | None:
    limit = ClaimDraft.model_fields["claim"].metadata[0].max_length
    if len(text) >= limit - 5 or unsupported_terms(text, doc, extra):
        return None  # at the length cap the model was cut off mid-sentence
    if {ch for ch in text if ord(ch) > 0x24F} - set(doc.text):
        return None  # characters of a script the article does not use
    return text if support(text, [sentence.text, *extra]) >= threshold else None


def _calibrated_reason(transparent: str, cal: calibration.CalibratedScore) -> str:
    moved = ", ".join(f"{e.feature} {e.log_odds:+.2f}" for e in cal.effects[:4])
    default = "; default profile" if cal.default_used else ""
    return (f"calibrated {cal.probability:.2f} (check-worthy from {cal.threshold:.2f}{default}): "
            f"{moved or 'average sentence'}; transparent: {transparent}")


def _all_checkworthy(ids: list[int]) -> Callable[[], ClaimsDraft]:
    """Planning's answer: every candidate voted check-worthy, the most claims (and so
    questions and verdict calls) a run can keep."""
    return lambda: ClaimsDraft.model_construct(claims=[ClaimDraft.model_construct(
        id=i, claim="", type=ClaimType.other, speaker=None, checkworthy=True, quote=None)
        for i in ids])


def claims_step(doc: Document, opts: Options, count: TokenCounter,
                model: str | None = None) -> Step[Noted[list[Claim]]]:
    """Claims on the sentences the transparent score ranks highest.

    The candidates and the check-worthiness cut (`min_check_worthiness`) still come from
    the transparent score and the model's vote: they decide what the prompts contain. The
    reported `check_worthiness` is the calibrated probability for `model` (profile
    lookup in `assistant.calibration`), when a profile applies.
    """
    signals = sig.analyze_sentences(doc)
    calibrated = calibration.checkworthiness_scores(doc, signals, model=model, directory=opts.profiles_dir)
    by_id = {s.sentence_id: s for s in signals}
    candidates = sig.rank_claim_candidates(signals, k=opts.analysis.max_claims)
    if not candidates:
        return Noted([], [])
    notes: list[str] = []
    specs = []
    for chunk in chunk_sentences(doc, opts.chunk_tokens, count):
        ids = {s.id for s in chunk}
        mine = [c for c in candidates if c.sentence_id in ids]
        if mine:
            allowed = {doc.sentence(c.sentence_id).index for c in mine}
            specs.append(CallSpec(
                "claims", {**prefix_values(doc, chunk),
                           "candidates": "\n".join(_candidate_line(doc, c) for c in mine)},
                ClaimsDraft, claims_check(doc, allowed), opts.max_attempts,
                prompts_dir=opts.prompts_dir, stand_in=_all_checkworthy(sorted(allowed))))
    try:
        results: list[Structured[ClaimsDraft]] = yield specs
        draft_lists = [r.value.claims for r in results]
        notes += [n for r in results for n in r.notes]
    except OutputValidationError as exc:
        if not opts.fallback:
            raise
        notes += [*exc.notes, f"claims: {exc}; claims taken from the article's sentences"]
        draft_lists = []
    drafts: dict[Any, Any] = {}
    for claims_ in draft_lists:
        for c in claims_:
            drafts.setdefault(f"S{c.id}", c)
    claims: list[Claim] = []
    context = atomic.claim_context(doc, signals=signals)
    for cand in candidates:
        sentence = doc.sentence(cand.sentence_id)
        draft = drafts.get(sentence.id)
        dates = resolve_relative_dates(doc, sentence)
        attribution = cand.attribution.model_copy()
        if draft and draft.speaker and not attribution.speaker and has_attribution_cue(sentence.text):
            found = locate_quote(doc, draft.speaker, [s.id for s in doc.sentences])
            if found is not None and draft.speaker.lower() not in {"null", "none", "unknown"}:
                attribution.speaker = found.text
        extra = [x for x in (attribution.speaker, attribution.role) if x]
        extra += [d.resolved for d in dates]
        # The claim text is built by code from the sentence (steps.atomic): speaker named,
        # dates absolute, one fact; the model's rewrite is no longer used for it.
        built = atomic.main_claim(atomic.atomic_claims(doc, sentence, context, attribution),
                                  attribution.speaker)
        text = built.text
        if built.form != "atomic":
            notes.append(f"claim for {sentence.id}: {'; '.join(built.problems[:2])}; "
                         f"using the {'sentence' if built.form == 'sentence' else 'resolved sentence'}")
        llm_vote = 1.0 if (draft and draft.checkworthy) else 0.0
        worth = round(0.75 * cand.checkworthiness + 0.25 * llm_vote, 2) if draft else cand.checkworthiness
        if worth < opts.analysis.min_check_worthiness:
            continue
        reason = cand.checkworthiness_reason
        if cal := calibrated.get(sentence.id):
            worth, reason = cal.probability, _calibrated_reason(reason, cal)
        quote = sentence_quote(doc, sentence.id)
        if draft and draft.quote and (q := locate_quote(doc, draft.quote, [sentence.id])):
            quote = q
        claims.append(Claim(
            id=f"C{len(claims) + 1}", text=text,
            type=_merge_type(draft.type, by_id[sentence.id]) if draft else cand.claim_type,
            attribution=attribution, check_worthiness=worth, check_worthiness_calibrated=cal,
            check_worthiness_reason=reason
            + ("" if draft is None else f"; model: {'check-worthy' if draft.checkworthy else 'not check-worthy'}"),
            sentence_ids=[sentence.id], quote=quote, quotes=[sentence_quote(doc, sentence.id)],
            dates=dates, as_of=doc.published.isoformat() if doc.published else None))
    return Noted(claims, notes)


# --------------------------------------------------------------------------- questions

_ARTICLE_WORDS = ("the article", "this article", "the report", "the text", "this claim",
                  "the claim", "the statement", "the sentence")


def _questions_check(n_claims: int) -> Callable[[Any], Findings]:
    """Drop questions that cite no listed claim or lean on the article; re-ask only when
    no usable question is left."""

    def check(draft: QuestionsDraft) -> Findings:
        issues, kept = [], []
        for i, q in enumerate(draft.questions):
            if not 1 <= q.claim <= n_claims:
                issues.append(ValidationIssue(f"questions.{i}.claim", f"there is no claim {q.claim}"))
            elif any(w in q.question.lower() for w in _ARTICLE_WORDS):
                issues.append(ValidationIssue(f"questions.{i}.question",
                              "must be answerable without the article: name who, what and when "
                              "instead of referring to 'the article' or 'the claim'"))
            else:
                kept.append(q)
        if kept or not issues:
            return Findings(notes=[f"question dropped: {i}" for i in issues],
                            value=draft.model_copy(update={"questions": kept}))
        return Findings(issues)

    return check


def _final_questions(claim: Claim, model: list[VerificationQuestion],
                     ) -> tuple[list[VerificationQuestion], list[str]]:
    """The model's questions that pass the code checks, then code-built ones for the kinds
    (yes/no, wh, on-record) the model did not cover; at most three. With notes on what
    was replaced."""
    notes: list[str] = []
    kept: list[VerificationQuestion] = []
    for q in model:
        if problems := question_problems(q.question, claim):
            notes.append(f"question for {claim.id} replaced by code: {'; '.join(problems)}: {q.question!r}")
            continue
        if claim.attribution.speaker and q.method != VerificationMethod.on_record_confirmation \
                and claim.attribution.speaker.lower() in q.who_could_answer.lower():
            q = q.model_copy(update={"who_could_answer": who_could_answer(claim, q.method)})
        kept.append(q)
    have = {question_kind(q.question) for q in kept}
    built = [q for q in code_questions(claim) if question_kind(q.question) not in have]
    out = (kept + built)[:3]
    if not out:
        notes.append(f"no question for {claim.id} passes the checks")
    return out, notes


def questions_step(doc: Document, claims: list[Claim], opts: Options,
                   count: TokenCounter) -> Step[Noted[list[VerificationQuestion]]]:
    if not claims:
        return Noted([], [])
    notes: list[str] = []
    chunks = chunk_sentences(doc, opts.chunk_tokens, count)
    where = {s.id: i for i, c in enumerate(chunks) for s in c}
    groups: dict[int, list[Claim]] = {}
    for c in claims:
        groups.setdefault(where[c.sentence_ids[0]], []).append(c)
    specs, orders = [], []
    for ci, group in groups.items():
        listing = "\n".join(f"{n}. {c.text}" for n, c in enumerate(group, 1))
        specs.append(CallSpec("questions", {**prefix_values(doc, chunks[ci]), "claims": listing},
                              QuestionsDraft, _questions_check(len(group)), opts.max_attempts,
                              prompts_dir=opts.prompts_dir))
        orders.append(group)
    try:
        results: list[Structured[QuestionsDraft]] = yield specs
        drafts = [r.value for r in results]
        notes += [n for r in results for n in r.notes]
    except OutputValidationError as exc:
        if not opts.fallback:
            raise
        notes += [*exc.notes, f"questions: {exc}; questions built by code from the claims"]
        drafts = [QuestionsDraft(questions=[]) for _ in specs]
    out: list[VerificationQuestion] = []
    for group, draft in zip(orders, drafts, strict=True):
        asked: dict[str, list[VerificationQuestion]] = {}
        limit = QuestionDraft.model_fields["question"].metadata[0].max_length
        for q in draft.questions:
            claim = group[q.claim - 1]
            if len(q.question) >= limit - 5:
                notes.append(f"question for {claim.id} dropped: cut off at the length limit")
                continue
            if not q.question.rstrip().endswith("?"):
                q.question = q.question.rstrip().rstrip(".") + "?"
            if len(asked.setdefault(claim.id, [])) < 2:
                asked[claim.id].append(VerificationQuestion(
                    claim_id=claim.id, question=q.question, method=q.method,
                    who_could_answer=q.who))
        for claim in group:
            mine = asked.get(claim.id, [])
            if not mine:
                notes.append(f"no model question for {claim.id}")
            final, replaced = _final_questions(claim, mine)
            out += final
            notes += replaced
    return Noted(out, notes)


# --------------------------------------------------------------------------- composed


@dataclass(frozen=True)
class AnalysisParts:
    """What `analyze_step` returns: the three stages' results, in the order they ran."""

    summary: Summary
    claims: list[Claim]
    questions: list[VerificationQuestion]


def verification_step(doc: Document, claims: Sequence[Claim] | None, opts: Options, count: TokenCounter,
                      model: str | None = None) -> Step[Noted[list[VerificationQuestion]]]:
    """Questions for `claims`, or for the claims `claims_step` finds when none are given."""
    found = Noted(list(claims), []) if claims is not None else (
        yield from claims_step(doc, opts, count, model=model))
    questions = yield from questions_step(doc, found.value, opts, count)
    return Noted(questions.value, found.notes + questions.notes)


def analyze_step(doc: Document, opts: Options, count: TokenCounter,
                 model: str | None = None) -> Step[Noted[AnalysisParts]]:
    """Summary, claims, then questions on those claims: the calls share the article prefix."""
    summary = yield from summarize_step(doc, opts, count)
    claims = yield from claims_step(doc, opts, count, model=model)
    questions = yield from questions_step(doc, claims.value, opts, count)
    return Noted(AnalysisParts(summary.value, claims.value, questions.value),
                 summary.notes + claims.notes + questions.notes)
