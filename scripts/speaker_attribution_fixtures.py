"""Speaker accuracy of the code's attribution on the eval fixtures, without a model.

For each gold claim, the speaker is the one `claims_step` now takes: the attribution of
the claim's first sentence (`signals.analyze_sentences`, resolved by `SpeakerIndex`). It
is compared with the gold speaker by `speaker_matches`, the fixture eval's scorer.
Precision is reported too: gold claims without a speaker that are given one.

    python scripts/speaker_attribution_fixtures.py [--method auto|spacy|regex] [--show]
"""

from __future__ import annotations

import argparse

from assistant.evals.items import ArticleItem
from assistant.evals.scorers import speaker_matches
from assistant.evals.suites import load_suite
from assistant.text.signals import analyze_sentences


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", choices=("auto", "spacy", "regex"), default="auto")
    ap.add_argument("--show", action="store_true", help="print every gold claim, not only misses")
    args = ap.parse_args()
    correct = total = none_total = none_given = 0
    per_article: list[float] = []
    for item in load_suite("fixtures").items:
        if not isinstance(item, ArticleItem) or item.gold is None:
            continue
        doc = item.document()
        by_id = {s.sentence_id: s for s in analyze_sentences(doc, method=args.method)}
        ok = n = 0
        for g in item.gold.claims:
            sid = g.sentence_ids[0]
            ours = by_id[sid].attribution.speaker
            if g.speaker:
                hit = speaker_matches(ours, g.speaker)
                ok, n = ok + hit, n + 1
                if args.show or not hit:
                    print(f"{'ok  ' if hit else 'MISS'} {item.id} {sid}: gold {g.speaker!r}; ours {ours!r}"
                          f"  | {doc.sentence(sid).text[:90]}")
            else:
                none_total += 1
                if ours:
                    none_given += 1
                    print(f"XTRA {item.id} {sid}: gold None; ours {ours!r}  | {doc.sentence(sid).text[:90]}")
        correct, total = correct + ok, total + n
        if n:
            per_article.append(ok / n)
    print(f"method={args.method}: speaker accuracy {correct}/{total} = {correct / total:.3f} "
          f"(mean of per-article {sum(per_article) / len(per_article):.3f}); "
          f"gold-None claims given a speaker {none_given}/{none_total}")


if __name__ == "__main__":
    main()
