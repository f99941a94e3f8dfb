"""Calibrated fact-check verdicts (fake backend): two probabilities per claim over its
retrieved sentences, the checks, and the verdict profile for the model."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest

from assistant import Assistant, FakeBackend
from assistant.backends.base import ChatRequest, ChatResponse, TokenLogprob
from assistant.calibration import DEFAULT_MODEL, Profile, save_profile
from assistant.cli import main
from assistant.core.structured import Probability
from assistant.evals.suites import EvidenceItem, SuiteUnavailable, load_suite
from assistant.evals.wice import complete_set_found, evidence_document, retrieval_metrics
from assistant.schemas import Usage, Verdict
from assistant.steps.evidence import load_evidence
from assistant.steps.factcheck import (
    REFUTE_FEATURES,
    VERDICT_FEATURES,
    ClaimInput,
    EvidenceIndex,
    calibrated_verdict,
    claim_parts,
    fixed_refutation,
    name_coverage,
    premise_mismatches,
    retrieval_query,
    term_share,
    verdict_features,
    verify_evidence_quote,
)
from assistant.steps.options import Options
from assistant.text.grounding import content_terms

EVIDENCE = ("Harbor bridge to close\n\nThe city council voted 7-2 on Tuesday to close the Harbor "
            "Bridge for six weeks. Repairs will cost $4.2 million, according to city engineer Dana "
            "Whitfield. The mayor said buses would be rerouted. Schools stay open during the works.")


def _answer(p_yes: float) -> ChatResponse:
    top = {"Yes": math.log(max(p_yes, 1e-6)), "No": math.log(max(1 - p_yes, 1e-6))}
    token = "Yes" if p_yes >= 0.5 else "No"
    return ChatResponse(text=token, finish_reason="length", prompt_tokens=60, completion_tokens=1,
                        logprobs=[TokenLogprob(token=token, logprob=top[token], top=top)])


def prober(p_sup: float, p_con: float, *, logprobs: bool = True):  # type: ignore[no-untyped-def]
    """A fake endpoint answering the two probes with fixed probabilities."""

    def answer(request: ChatRequest) -> ChatResponse | str:
        p = p_sup if request.prompt.startswith("entail@") else p_con
        assert request.prompt.startswith(("entail@", "contradict@")), request.prompt
        return _answer(p) if logprobs else ("Yes" if p >= 0.5 else "No")

    return answer


def verdict_profile(model: str, *, task: str = "verdict", intercept: float = 0.0, **weights: float) -> Profile:
    """A verdict (or refutation) profile with the given weights, threshold 0.5."""
    w = {f: weights.get(f, 0.0) for f in (VERDICT_FEATURES if task == "verdict" else REFUTE_FEATURES)}
    interval = {"value": 0.8, "ci_low": 0.7, "ci_high": 0.9}
    return Profile.model_validate({
        "task": task, "model": model, "extractor": "precomputed", "weights": w, "intercept": intercept,
        "means": dict.fromkeys(w, 0.0), "scales": dict.fromkeys(w, 1.0), "threshold": 0.5, "l2": 0.1,
        "class_weight": "balanced",
        "fitted_on": {"data": "rows.jsonl", "sha256": "0" * 16, "rows": 10, "positives": 5, "groups": 10,
                      "group_by": "group"},
        "dev": {"scheme": "grouped 5-fold by group", "folds": 5, "rows": 10, "positives": 5, "groups": 10,
                "balanced_accuracy": interval, "average_precision": interval},
        "created": dt.date(2026, 1, 1).isoformat()})


def refutation_profile(model: str = "fake-model") -> Profile:
    """Refuted when one sentence holds most of the claim's words (best_coverage about 0.6 or more) and
    the model gives it little support: logit 8 * best_coverage - logit_sup - 6."""
    return verdict_profile(model, task="refutation", intercept=-6.0, best_coverage=8.0, logit_sup=-1.0)


@pytest.fixture
def profiles(tmp_path: Path) -> Path:
    save_profile(verdict_profile("fake-model", logit_sup=1.0), tmp_path / "verdict.fake.json")
    save_profile(refutation_profile(), tmp_path / "refutation.fake.json")
    return tmp_path


def check(fake: FakeBackend, claim: str, profiles: Path) -> tuple[object, object]:
    opts = Options(fact_check={"verdict": "calibrated"}, profiles_dir=profiles)
    report = Assistant(fake, options=opts).fact_check([claim], evidence=[EVIDENCE])
    return report, report.verdicts[0]


def test_calibrated_probabilities_decide_and_are_reported(profiles: Path) -> None:
    fake = FakeBackend(default=prober(0.9, 0.05))
    _, v = check(fake, "The council voted to close the Harbor Bridge for six weeks.", profiles)
    assert v.verdict == Verdict.supported and v.decided_by == "calibrated"
    assert v.p_supported == pytest.approx(0.9, abs=1e-3) and v.p_contradicted == pytest.approx(0.05, abs=1e-3)
    assert v.probability_method == "logprobs"
    assert v.calibrated is not None and v.calibrated.profile == "verdict/fake-model/precomputed"
    assert not v.calibrated.default_used and v.calibrated.effects[0].feature == "logit_sup"
    assert v.calibrated.probability == pytest.approx(0.9, abs=1e-3)  # sigmoid(logit(0.9))
    # two one-token probes per claim, both over the retrieved sentences
    assert [r.prompt.split("@")[0] for r in fake.requests] == ["entail", "contradict"]
    assert all(r.max_tokens == 1 and "six weeks" in r.messages[-1].content for r in fake.requests)
    evidence = load_evidence([EVIDENCE])
    assert v.evidence and all(verify_evidence_quote(evidence, q) for q in v.evidence)
    assert v.rationale.startswith("Calibrated P(supported) 0.90 (threshold 0.50")


def test_without_logprobs_the_label_stands_in_and_provenance_says_so(profiles: Path) -> None:
    report, v = check(FakeBackend(default=prober(0.9, 0.1, logprobs=False)),
                      "The council voted to close the Harbor Bridge.", profiles)
    assert v.probability_method == "label" and v.p_supported == 1.0 and v.p_contradicted == 0.0
    assert v.verdict == Verdict.supported
    assert any("no log-probabilities" in n for n in report.provenance.notes)
    assert any("no log-probabilities" in n for n in report.notes)


def test_partly_supported_claim_is_not_enough_evidence_naming_the_stated_part(profiles: Path) -> None:
    claim = "The council voted to close the Harbor Bridge, and the mayor resigned over the closure."
    # not supported (P 0.4), and not refuted: the model is unsure, not confident it is false
    _, v = check(FakeBackend(default=prober(0.4, 0.1)), claim, profiles)
    assert v.verdict == Verdict.not_enough_evidence
    assert v.supported_text == "The council voted to close the Harbor Bridge"
    assert v.supported_part is not None and "voted 7-2" in v.supported_part.text
    assert verify_evidence_quote(load_evidence([EVIDENCE]), v.supported_part)
    assert "states part of the claim" in v.rationale


def test_an_unstated_detail_is_not_a_refutation(profiles: Path) -> None:
    _, v = check(FakeBackend(default=prober(0.3, 0.2)), "The mayor resigned on Tuesday.", profiles)
    assert v.verdict == Verdict.not_enough_evidence and v.supported_text is None
    assert "not a refutation" in v.rationale


def test_the_refutation_profile_decides_refuted_or_not_enough_evidence(profiles: Path) -> None:
    # one sentence holds most of the claim's words and the model gives it little support
    _, about = check(FakeBackend(default=prober(0.05, 0.2)),
                     "The council voted to keep the Harbor Bridge open.", profiles)
    assert about.verdict == Verdict.refuted and about.evidence[0].stance == "refutes"
    assert about.calibrated_refuted is not None and about.calibrated_refuted.decision
    assert about.calibrated_refuted.profile == "refutation/fake-model/precomputed"
    assert about.calibrated_refuted.effects[0].feature in ("best_coverage", "logit_sup")
    assert "Calibrated P(refuted)" in about.rationale
    # the same low support over evidence that is not about the claim: not enough evidence
    _, unstated = check(FakeBackend(default=prober(0.05, 0.2)), "The mayor resigned on Tuesday.", profiles)
    assert unstated.verdict == Verdict.not_enough_evidence and not unstated.evidence
    assert unstated.calibrated_refuted is not None and not unstated.calibrated_refuted.decision
    assert "not a refutation" in unstated.rationale
    # a supported claim never reaches the second decision
    _, supported = check(FakeBackend(default=prober(0.9, 0.1)), "The council voted to close the bridge.",
                         profiles)
    assert supported.verdict == Verdict.supported and supported.calibrated_refuted is None


def test_a_differing_figure_is_a_feature_of_the_refutation_profile(profiles: Path) -> None:
    # "$9 million" against "$4.2 million": the sentence is about the claim (its words are
    # there, the figure differs) and the check notes the differing figure
    _, v = check(FakeBackend(default=prober(0.05, 0.1)), "Repairs to the Harbor Bridge will cost $9 million.",
                 profiles)
    assert v.verdict == Verdict.refuted and v.mismatches and v.mismatches[0].source_span is not None
    assert "4.2" in v.rationale


def test_without_a_refutation_profile_the_fixed_rule_decides() -> None:
    evidence = load_evidence([EVIDENCE])

    def prob(p: float) -> Probability:
        return Probability(p=p, method="logprobs", answer="", usage=Usage(), attempts=1, prompts=[],
                           latency_s=0.0)

    def verdict(text: str, p_sup: float) -> object:
        claim = ClaimInput(id="C1", text=text)
        hits = EvidenceIndex(evidence).search([claim.text], 3)
        return calibrated_verdict(claim, hits, premise_mismatches(claim.text, hits, evidence), prob(p_sup),
                                  prob(0.1), evidence, None)

    by_check = verdict("Repairs will cost $9 million.", 0.3)
    assert by_check.verdict == Verdict.refuted and by_check.calibrated_refuted is None  # type: ignore[attr-defined]
    assert verdict("The council voted to keep the Harbor Bridge open.", 0.05).verdict == Verdict.refuted  # type: ignore[attr-defined]
    assert verdict("The council voted to keep the Harbor Bridge open.", 0.3).verdict \
        == Verdict.not_enough_evidence  # type: ignore[attr-defined]
    assert fixed_refutation({"chk_contradicting": 1.0, "coverage": 0.0}, 0.9)
    assert not fixed_refutation({"chk_contradicting": 0.0, "coverage": 0.4}, 0.05)


def test_refutation_features_say_whether_the_evidence_is_about_the_claim() -> None:
    assert term_share("Repairs cost $9 million", "Repairs cost $4.2 million") == pytest.approx(3 / 4)
    assert name_coverage("Dana Whitfield met Mayor Ruiz", ["Dana Whitfield spoke."]) == pytest.approx(2 / 4)
    assert name_coverage("the bridge closed", ["nothing"]) == 1.0
    evidence = load_evidence([EVIDENCE])
    hits = EvidenceIndex(evidence).search(["The council voted to keep the Harbor Bridge open."], 3)
    f = verdict_features("The council voted to keep the Harbor Bridge open.", hits, [], 0.1, 0.2,
                         judge=[0.1, 0.6, 0.3])
    assert f["best_coverage"] >= 0.5 and f["coverage"] >= f["best_coverage"]
    assert set(REFUTE_FEATURES) <= set(f)
    assert f["judge_false"] == pytest.approx(math.log(2), abs=1e-3)
    assert f["judge_true"] == pytest.approx(math.log(0.1 / 0.9), abs=1e-3)


def test_profile_lookup_finds_the_refutation_profile_or_the_default_and_says_so(tmp_path: Path) -> None:
    save_profile(verdict_profile("fake-model", logit_sup=1.0), tmp_path / "verdict.fake.json")
    save_profile(refutation_profile(DEFAULT_MODEL), tmp_path / "refutation.default.json")
    report, v = check(FakeBackend(default=prober(0.05, 0.2)), "The council voted to keep the Harbor Bridge open.",
                      tmp_path)
    assert v.calibrated_refuted is not None and v.calibrated_refuted.default_used
    assert v.calibrated_refuted.profile == f"refutation/{DEFAULT_MODEL}/precomputed"
    assert any("no refutation profile for model 'fake-model'" in n for n in report.notes)


def test_profile_lookup_falls_back_to_the_documented_default_and_says_so(tmp_path: Path) -> None:
    save_profile(verdict_profile(DEFAULT_MODEL, logit_sup=1.0), tmp_path / "verdict.default.json")
    report, v = check(FakeBackend(default=prober(0.8, 0.1), model="some-endpoint-model"),
                      "The council voted to close the Harbor Bridge.", tmp_path)
    assert v.calibrated is not None and v.calibrated.default_used
    assert v.calibrated.profile == f"verdict/{DEFAULT_MODEL}/precomputed"
    assert any("no verdict profile for model 'some-endpoint-model'" in n for n in report.notes)


def test_without_any_profile_a_fixed_rule_decides() -> None:
    evidence = load_evidence([EVIDENCE])
    claim = ClaimInput(id="C1", text="The council voted to close the Harbor Bridge.")
    hits = EvidenceIndex(evidence).search([claim.text], 3)

    def prob(p: float) -> Probability:
        return Probability(p=p, method="logprobs", answer="", usage=Usage(), attempts=1, prompts=[],
                           latency_s=0.0)

    v = calibrated_verdict(claim, hits, premise_mismatches(claim.text, hits, evidence), prob(0.7), prob(0.1),
                           evidence, None)
    assert v.verdict == Verdict.supported and v.decided_by == "probability" and v.calibrated is None


def test_nothing_retrieved_asks_the_model_nothing(profiles: Path) -> None:
    fake = FakeBackend()
    _, v = check(fake, "Zebras migrate across Kenya.", profiles)
    assert v.verdict == Verdict.not_enough_evidence and v.decided_by == "retrieval" and not fake.requests


def test_short_evidence_sharing_no_word_is_read_whole(profiles: Path) -> None:
    opts = Options(fact_check={"verdict": "calibrated"}, profiles_dir=profiles)
    fake = FakeBackend(default=prober(0.9, 0.05))
    report = Assistant(fake, options=opts).fact_check(
        ["Sophia Bush acted in movies."], evidence=["She is known for her film roles in The Hitcher."])
    v = report.verdicts[0]
    assert [r.prompt.split("@")[0] for r in fake.requests] == ["entail", "contradict"]
    assert "She is known for her film roles" in fake.requests[0].messages[-1].content
    assert v.verdict == Verdict.supported and "all of it was read" in v.rationale
    # the stance path keeps plain retrieval: nothing shared, nothing asked
    stance = FakeBackend()
    r2 = Assistant(stance, options=Options(fact_check={"verdict": "stance"})).fact_check(
        ["Sophia Bush acted in movies."], evidence=["She is known for her film roles in The Hitcher."])
    assert r2.verdicts[0].verdict == Verdict.not_enough_evidence and not stance.requests


@pytest.mark.parametrize(("task", "features"), [("verdict", VERDICT_FEATURES), ("refutation", REFUTE_FEATURES)])
def test_shipped_verdict_and_refutation_profiles_load_for_the_embedded_model(
        task: str, features: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.calibration import PACKAGE_DIR, find_profile

    monkeypatch.setenv("ASSISTANT_PROFILE_DIR", str(tmp_path))  # no user profiles in the way
    choice = find_profile(task, DEFAULT_MODEL, "precomputed")  # type: ignore[arg-type]
    assert choice is not None and not choice.default_used and choice.path.startswith(str(PACKAGE_DIR))
    assert set(choice.profile.features) == set(features) and choice.profile.task == task
    assert (choice.profile.dev.balanced_accuracy.value or 0) > 0.7 and choice.profile.fitted_on.rows >= 190


def test_claim_parts_split_clauses_with_content() -> None:
    assert claim_parts("He founded the firm in 1990, and sold it in 2004.") == [
        "He founded the firm in 1990", "sold it in 2004"]
    assert claim_parts("The bridge closed.") == []


def test_retrieval_prefers_sentences_that_cover_the_rest_of_the_claim() -> None:
    text = ("Ana Lopez founded Brightwave in Lisbon. Ana Lopez said Brightwave, which Ana Lopez "
            "founded, grew fast. Ana Lopez leads Brightwave today. Years later, after a long and "
            "difficult period of negotiations with several rival buyers and regulators across Europe, "
            "the company was finally sold to Orion.")
    evidence = load_evidence([text])
    claim = ["Ana Lopez founded Brightwave, which was sold to Orion."]
    top2 = [h.sentence.id for h in EvidenceIndex(evidence).search(claim, 2)]
    assert "S4" in top2  # the sale: plain BM25 ranks the founding sentences first
    assert "S4" not in [h.sentence.id for h in EvidenceIndex(evidence).search(claim, 2, method="bm25")]


def test_retrieval_matches_dates_written_differently(monkeypatch: pytest.MonkeyPatch) -> None:
    # The claim's gold set is the reopening and the dateline ("Nov. 14, 2018" written as
    # "November 14th, 2018"); only the normalised terms put both in the top 2.
    text = ("The Harbor Bridge reopened to traffic on Wednesday after two years of repairs.\n\n"
            "Posted November 14th, 2018\n\n"
            "The Harbor Bridge first opened in 1931 and was closed in 2018 for repairs.\n\n"
            "Drivers had used the ferry across the harbor while the bridge was closed.")
    evidence = load_evidence([text])
    claim = ["The Harbor Bridge reopened on Nov. 14, 2018."]
    assert {h.sentence.id for h in EvidenceIndex(evidence).search(claim, 2)} == {"S1", "S2"}
    monkeypatch.setattr("assistant.steps.factcheck.match_terms", content_terms)
    assert "S2" not in {h.sentence.id for h in EvidenceIndex(evidence).search(claim, 2)}


def test_retrieval_query_is_the_claim_and_its_questions() -> None:
    claim = ClaimInput(id="C1", text="The bridge reopened in 2018.", questions=["When did the bridge reopen?"])
    assert retrieval_query(claim) == ["The bridge reopened in 2018.", "When did the bridge reopen?"]
    assert retrieval_query(ClaimInput(id="C2", text="The bridge closed.")) == ["The bridge closed."]


def test_wice_recall_needs_a_complete_gold_set() -> None:
    item = EvidenceItem(id="w1", claim="Ana Lopez founded Brightwave, which was sold to Orion in 2019.",
                        evidence=["Ana Lopez founded Brightwave in Lisbon.", "It rained.",
                                  "The company was sold to Orion in 2019."],
                        gold_sets=[[0, 2]], label="supported")
    _, cover = evidence_document(item)
    assert cover == [{0}, {1}, {2}]
    assert complete_set_found(item, cover, [0, 2]) and not complete_set_found(item, cover, [0, 1])
    metrics, records = retrieval_metrics([item], resamples=0, seed=0)
    by_name = {m.name: m for m in metrics}
    assert by_name["recall_at_5"].mean == 1.0 and by_name["recall_at_5"].n == 1
    assert records[0].output["hit"] == 1.0


def test_wice_suite_skips_cleanly_without_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_EVAL_DATA", str(tmp_path))
    with pytest.raises(SuiteUnavailable, match=r"wice_dev\.jsonl is absent"):
        load_suite("wice")


def test_check_command_takes_the_verdict_method(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    evidence = tmp_path / "ev.txt"
    evidence.write_text(EVIDENCE, encoding="utf-8")
    fake = FakeBackend(default=prober(0.9, 0.05))
    monkeypatch.setattr("assistant.api.get_backend", lambda *a, **k: fake)
    monkeypatch.setenv("ASSISTANT_PROFILE_DIR", str(tmp_path))
    save_profile(verdict_profile("fake-model", logit_sup=1.0), tmp_path / "verdict.json")
    assert main(["check", "--claim", "The council voted to close the Harbor Bridge.", "--evidence",
                 str(evidence), "--verdict", "calibrated", "--format", "json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdicts"][0]["decided_by"] == "calibrated" and out["verdicts"][0]["verdict"] == "supported"
    assert [r.prompt.split("@")[0] for r in fake.requests] == ["entail", "contradict"]


def test_evidence_sharing_no_word_with_the_claim_is_never_a_refutation(tmp_path: Path) -> None:
    # a refutation profile that calls everything refuted, and a short evidence text (read
    # whole: no sentence shares a content word with the claim)
    save_profile(verdict_profile("fake-model", logit_sup=1.0), tmp_path / "verdict.fake.json")
    save_profile(verdict_profile("fake-model", task="refutation", intercept=9.0), tmp_path / "refutation.fake.json")
    opts = Options(fact_check={"verdict": "calibrated"}, profiles_dir=tmp_path)
    short = "Port Alder council minutes, 11 March 2024.\n\nThe meeting opened at seven."
    claim = "Hannah Lindqvist said the company would finish the repair on budget."
    v = Assistant(FakeBackend(default=prober(0.05, 0.2)), options=opts).fact_check([claim], evidence=[short]).verdicts[0]
    assert v.calibrated_refuted is not None and v.calibrated_refuted.decision  # the profile said refuted
    assert v.verdict == Verdict.not_enough_evidence and not v.evidence
    assert "not read as a refutation" in v.rationale
    # the same profile over evidence that is about the claim does refute it
    about = "Hannah Lindqvist said the company would not finish the repair on budget."
    v = Assistant(FakeBackend(default=prober(0.05, 0.2)), options=opts).fact_check([claim], evidence=[about]).verdicts[0]
    assert v.verdict == Verdict.refuted
