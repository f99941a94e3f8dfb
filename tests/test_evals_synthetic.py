"""Code-made faithfulness pairs: one named edit each, faithful ones verbatim, deterministic."""

from __future__ import annotations

import difflib
import json

from assistant.cli import main
from assistant.evals.suites import load_suite
from assistant.evals.synthetic import KINDS, article_pairs
from assistant.text.intake import document_from_text

ARTICLE = (
    "The Riverton council approved a $40 million bridge repair on Monday, officials said. "
    "Mayor Clara Jensen said the work would begin in March 2024 and last 18 months. "
    "\"We are not raising taxes to pay for it,\" said Jensen, who was elected in 2019. "
    "Opposition leader Tom Baker, of the Riverton Civic Party, said the plan was rushed. "
    "The Harbour Trust will pay three quarters of the cost, according to Baker. "
    "The bridge carries about 12,000 cars a day across the Alder River. "
    "Engineers from Halden University found cracks in two of its four piers last year. "
    "The council has not said how long the bridge will be closed to traffic."
)


def _pairs(seed: int = 0):
    return article_pairs(document_from_text(ARTICLE, name="t"), "t", per_kind=3, seed=seed)


def test_each_unfaithful_summary_is_its_sentence_with_one_named_edit():
    doc = document_from_text(ARTICLE, name="t")
    pairs = _pairs()
    edited = [p for p in pairs if p.label == 0]
    assert len({p.kind for p in edited}) >= 3
    for p in edited:
        original = doc.sentence(p.sentence_id).text
        assert p.summary != original and p.kind in KINDS
        old, new = p.changed.split(" -> ")
        assert old in original and new in p.summary
        # exactly one contiguous change
        ops = [op for op in difflib.SequenceMatcher(a=original, b=p.summary, autojunk=False).get_opcodes()
               if op[0] != "equal"]
        assert ops, p
        first, last = ops[0], ops[-1]
        assert p.summary[first[3]:last[4]].strip(), p


def test_faithful_summaries_are_article_words_and_swaps_use_the_articles_names():
    doc = document_from_text(ARTICLE, name="t")
    for p in _pairs():
        if p.label == 1:
            assert p.summary.rstrip(".") in doc.text or doc.sentence(p.sentence_id).text.startswith(
                p.summary.rstrip("."))
        if p.kind in ("entity", "speaker"):
            new = p.changed.split(" -> ")[1]
            assert new in doc.text.replace(doc.sentence(p.sentence_id).text, "")


def test_pairs_are_deterministic_for_a_seed_and_balanced():
    a, b = _pairs(1), _pairs(1)
    assert a == b
    assert sum(p.label for p in a) == sum(1 - p.label for p in a)
    assert len({p.id for p in a}) == len(a)


def test_negation_is_flipped_both_ways():
    doc = document_from_text(ARTICLE, name="t")
    negations = [p for seed in range(8) for p in article_pairs(doc, "t", per_kind=5, seed=seed)
                 if p.kind == "negation"]
    assert any(" not" in p.changed.split(" -> ")[1] for p in negations)
    assert any("not" in p.changed.split(" -> ")[0] for p in negations)


def test_synthetic_suite_scores_per_kind_with_checks_only(tmp_path, capsys):
    suite = load_suite("synthetic")
    assert suite.task == "check_summary" and suite.items
    out = tmp_path / "run"
    code = main(["eval", "run", "--suite", "synthetic", "--checks-only", "--items", "*", "--limit", "30",
                 "--quiet", "--resamples", "50", "--out", str(out)])
    assert code == 0
    metrics = {m["name"]: m for m in json.loads((out / "results.json").read_text())["metrics"]}
    assert "balanced_accuracy" in metrics and "correct_faithful" in metrics
    assert metrics["cost_calls"]["mean"] == 0
