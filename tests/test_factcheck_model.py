"""check_summary and fact_check on the real embedded model. Slow: run with -m slow.

The 1.5B model's judgements are weak (see evals/run_factcheck_dev.py for measured
accuracy), so these tests assert what code guarantees on real output: valid labels,
verified quotes, deterministic overrides, the CoVe label, and the shared article prefix.
"""

from __future__ import annotations

import pytest

from assistant import Assistant
from assistant.schemas import FaithLabel, Verdict
from assistant.steps.evidence import load_evidence
from assistant.steps.factcheck import verify_evidence_quote
from assistant.text.grounding import verify_quote
from assistant.text.intake import document_from_text

pytestmark = pytest.mark.slow
pytest.importorskip("xllamacpp")

ARTICLE = """Harbor Bridge to close for repairs

The city council voted 7-2 on Tuesday to close the Harbor Bridge for 18 months.
Mayor Jane Smith said the repairs will cost $45 million.
Engineers found cracks in two support beams last December.
"""
EVIDENCE = "The Harbor Bridge, which opened in 1962, will close for 18 months of repairs costing $45 million."


@pytest.fixture(scope="module")
def assistant() -> Assistant:
    return Assistant("embedded")


def test_check_summary_on_the_embedded_model(assistant: Assistant) -> None:
    doc = document_from_text(ARTICLE, published="2024-01-10")
    summary = ("The council voted to close the Harbor Bridge for 18 months. "
               "Mayor Jane Smith said repairs will cost $90 million.")
    report = assistant.check_summary(doc, summary)
    first, second = report.sentences
    # The calibrated profile decides from the checks' number mismatch and the model's
    # probability, both read from the real model (log-probabilities, not a label).
    assert second.label == FaithLabel.not_supported and second.decided_by == "calibrated"
    assert [m.kind.value for m in second.mismatches] == ["number"]
    for j in report.sentences:
        assert j.probability_method == "logprobs" and 0.0 <= (j.probability or -1) <= 1.0
        assert j.calibrated is not None and not j.calibrated.default_used
    print(f"\nP(supported): {first.probability} / {second.probability}; "
          f"calibrated {first.calibrated.probability} / {second.calibrated.probability}")  # type: ignore[union-attr]
    for j in report.sentences:
        assert all(verify_quote(doc, q) for q in j.quotes)
    assert report.label == FaithLabel.not_supported
    assert report.provenance is not None and report.provenance.usage.calls >= 2


def test_fact_check_on_the_embedded_model(assistant: Assistant) -> None:
    claims = ["The Harbor Bridge will close for 18 months.", "Repairs will cost $90 million."]
    report = assistant.fact_check(claims, [EVIDENCE], cove=True)
    evidence = load_evidence([EVIDENCE])
    closing, cost = report.verdicts
    assert cost.verdict != Verdict.supported, "a $45 million sentence cannot support $90 million"
    for v in report.verdicts:
        assert v.verdict in Verdict
        assert all(verify_evidence_quote(evidence, q) for q in v.evidence)
        assert v.cove is not None and v.cove.label == "model knowledge, unverified"
        assert all(a.answer for a in v.cove.answers)
    assert closing.rationale
