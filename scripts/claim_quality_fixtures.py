"""Claim atomicity and self-containedness on the eval fixtures, before and after
`steps.atomic`, without a model: the check-worthy sentence ids are the gold ones (the
claim-building after the model's ids is code).

"kept" is the one claim per sentence the claims step keeps (`main_claim`).
"before" is the claim text the claims step produced when the model's rewrite failed (the
issue: nearly always): the sentence verbatim. "after" is `atomic_claims`. The speaker is
the code's attribution for the sentence in both.

    python scripts/claim_quality_fixtures.py [--method auto|spacy|regex] [--show]
"""

from __future__ import annotations

import argparse

from assistant.evals.claim_quality import claim_quality, quality_scores
from assistant.evals.results import aggregate
from assistant.evals.suites import load_suite
from assistant.steps.atomic import atomic_claims, claim_context, main_claim


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", choices=("auto", "spacy", "regex"), default="auto")
    ap.add_argument("--show", action="store_true", help="print every claim and its problems")
    args = ap.parse_args()
    rows: dict[str, list] = {f"{k}_{m}": [] for k in ("before", "after", "kept") for m in ("atomic", "self")}
    n_before = n_after = 0
    for item in load_suite("fixtures").items:
        doc = item.document()
        ctx = claim_context(doc, method=args.method)
        assert item.gold is not None
        ids = list(dict.fromkeys(g.sentence_ids[0] for g in item.gold.claims if g.check_worthy))
        before, after, kept = [], [], []
        for sid in ids:
            sentence = doc.sentence(sid)
            speaker = ctx.signals[sid].attribution.speaker
            before.append((sentence.text, speaker))
            built = atomic_claims(doc, sentence, ctx)
            after += [(c.text, speaker) for c in built]
            kept.append((main_claim(built, speaker).text, speaker))
            if args.show:
                for c in atomic_claims(doc, sentence, ctx):
                    print(f"{item.id} {sid} [{c.form}] {c.text}  {claim_quality(c.text, speaker).problems}")
        n_before, n_after = n_before + len(before), n_after + len(after)
        for key, claims in (("before", before), ("after", after), ("kept", kept)):
            a, s = quality_scores(item.id, claims)
            rows[f"{key}_atomic"].append(a)
            rows[f"{key}_self"].append(s)
    print(f"method={args.method}; claims before {n_before}, after {n_after} (10 fixture articles, "
          "gold check-worthy sentences; mean of per-article shares, 95% bootstrap CI over articles)")
    for name, scores in rows.items():
        m = aggregate(name, name, scores, resamples=2000, seed=0)
        print(f"{name:14s} {m.mean:.3f}  [{m.ci_low:.3f}, {m.ci_high:.3f}]  n={m.n}")


if __name__ == "__main__":
    main()
