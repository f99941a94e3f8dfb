"""Entailment probabilities from the language model, over short focused premises.

Small models judge poorly against a whole article but carry signal when asked one narrow
question over a few sentences and read as a probability (SummaC, MiniCheck): here the
premise is the article sentences that share most words with the claim, in article
order, and the probability is P(Yes) for "Is the claim fully supported by the passage?"
read from the answer token's log-probabilities (`structured.ProbeSpec`).

`contradiction_probe` asks the companion question ("Does the passage state something
that shows the claim is false?"): fact-checking needs both, since a passage that does
not support a claim need not refute it.

`judge_probe` asks both at once as one multiple-choice question (A: the passage states
the claim, B: it states something that makes it false, C: it does not say), read as the
probabilities of A, B and C: one call where the pair takes two.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from assistant.core.driver import Step
from assistant.core.structured import Probability, ProbeSpec
from assistant.text.checks import Reference

PREMISE_SENTENCES = 3
# Long sentences make slow premises; a cut never splits below this many characters.
MAX_PREMISE_CHARS = 1500


def premise(ref: Reference, claim: str, k: int = PREMISE_SENTENCES) -> str:
    """The `k` reference sentences closest to `claim`, in their order, as one passage."""
    best = sorted(ref.related(claim, k=k), key=lambda s: s.index)
    text = " ".join(s.text for s in best)
    return text if len(text) <= MAX_PREMISE_CHARS else text[:MAX_PREMISE_CHARS].rsplit(" ", 1)[0]


def probe(premise_text: str, claim: str, *, prompts_dir: Path | None = None) -> ProbeSpec:
    return ProbeSpec("entail", {"premise": premise_text, "claim": claim}, prompts_dir=prompts_dir)


def contradiction_probe(premise_text: str, claim: str, *, prompts_dir: Path | None = None) -> ProbeSpec:
    """P(Yes) for "does the passage show the claim is false?" over the same premise."""
    return ProbeSpec("contradict", {"premise": premise_text, "claim": claim}, prompts_dir=prompts_dir)


JUDGE_ANSWERS = ("A", "B", "C")


def judge_probe(premise_text: str, claim: str, *, prompts_dir: Path | None = None) -> ProbeSpec:
    """P(A states it), P(B makes it false), P(C does not say) over one premise, in one call."""
    return ProbeSpec("judge", {"premise": premise_text, "claim": claim}, answers=JUDGE_ANSWERS,
                     prompts_dir=prompts_dir)


def entail_step(ref: Reference, claims: Sequence[str], *, k: int = PREMISE_SENTENCES,
                prompts_dir: Path | None = None) -> Step[list[Probability]]:
    """P(supported) for each claim against its focused premise from `ref` (one call each,
    all independent, so a driver may run them as parallel sequences)."""
    if not claims:
        return []
    results: list[Probability] = yield [probe(premise(ref, c, k), c, prompts_dir=prompts_dir)
                                        for c in claims]
    return results
