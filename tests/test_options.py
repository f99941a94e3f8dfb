"""`assistant.Options`: one validated object, sections per operation, the flat names of
earlier versions routed to their sections."""

from __future__ import annotations

from typing import Any

import pytest

from assistant import (
    AnalysisOptions,
    Assistant,
    FaithfulnessOptions,
    FakeBackend,
    MismatchKind,
    Options,
    UserError,
)


@pytest.mark.parametrize(("given", "section", "name", "value"), [
    ({"max_points": 4}, "analysis", "max_points", 4),
    ({"max_claims": 7}, "analysis", "max_claims", 7),
    ({"min_check_worthiness": 0.5}, "analysis", "min_check_worthiness", 0.5),
    ({"support_threshold": 0.6}, "analysis", "support_threshold", 0.6),
    ({"faithfulness_judge": True}, "faithfulness", "judge", True),
    ({"faithfulness_probe": False}, "faithfulness", "probe", False),
    ({"faithfulness": {"model_decides": True}}, "faithfulness", "model_decides", True),
    ({"fact_check": {"top_k": 5}}, "fact_check", "top_k", 5),
])
def test_names_reach_their_section(given: dict[str, Any], section: str, name: str, value: Any) -> None:
    for options in (Options(**given), Options().replace(**given)):
        assert getattr(getattr(options, section), name) == value
    # the rest of the section keeps its defaults
    assert Options(**given).fact_check.max_claims == 50
    assert Options(**given).analysis.max_claims == (7 if given == {"max_claims": 7} else 10)


def test_replace_merges_a_section_and_keeps_the_rest() -> None:
    base = Options(chunk_tokens=200, analysis=AnalysisOptions(max_points=4))
    changed = base.replace(analysis={"max_claims": 3}, max_attempts=2)
    assert changed.analysis == AnalysisOptions(max_points=4, max_claims=3)
    assert (changed.chunk_tokens, changed.max_attempts) == (200, 2)
    assert base.analysis.max_claims == 10  # frozen: the original is untouched
    assert base.replace() is base


@pytest.mark.parametrize(("changes", "message"), [
    ({"max_attempts": 0}, "max_attempts"),
    ({"bogus": 1}, "bogus"),
    ({"analysis": {"min_check_worthiness": 1.5}}, "analysis.min_check_worthiness"),
    ({"fact_check": {"top_k": 0}}, "fact_check.top_k"),
])
def test_a_bad_option_is_a_user_error(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError, match=message):
        Options().replace(**changes)
    with pytest.raises(UserError, match=message):
        Assistant(FakeBackend(), **changes)


def test_flat_record_names_every_value_once() -> None:
    flat = Options(max_claims=4).flat()
    assert flat["analysis.max_claims"] == 4 and flat["fact_check.max_claims"] == 50
    assert flat["faithfulness.blocking"] == sorted(k.value for k in MismatchKind)
    assert "max_claims" not in flat and flat["max_attempts"] == 3


def test_the_assistant_hands_its_options_to_every_step() -> None:
    a = Assistant(FakeBackend(), chunk_tokens=200, faithfulness_judge=True)
    assert a.options.faithfulness == FaithfulnessOptions(judge=True)
    assert a.options.chunk_tokens == 200
