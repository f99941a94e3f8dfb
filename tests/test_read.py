"""`analyze` is one short read call per article chunk; code builds the rest from its ids.

With the scripted fake backend: the request's shape (fixed instructions in the system
turn, the delimited article in the user turn, a small completion budget), what code does
with the answer (ids checked, headline grounded or replaced, key points topped up to
three, 5W citing their sentences, claims and questions built by code), the fallback when
the answer never validates, and the sync driver running independent calls concurrently
on a backend with parallel slots.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from assistant import Assistant
from assistant.backends.base import ChatRequest, ChatResponse
from assistant.backends.fake import FakeBackend
from assistant.core.driver import new_provenance, parallel_slots, run
from assistant.core.structured import CallSpec
from assistant.schemas import ReadDraft
from assistant.steps.analysis import Options, prefix_values
from assistant.text.intake import load_document

EXAMPLE = Path(__file__).resolve().parents[1] / "assistant" / "examples" / "harbor-bridge-closure.txt"


@pytest.fixture(scope="module")
def doc() -> Any:
    return load_document(EXAMPLE)


def read(**kw: Any) -> dict[str, Any]:
    return {"headline": "Council approves $214 million Harbor Bridge repair", "main": [3, 5, 6],
            "check": [3, 5, 9], **kw}


def test_analyze_is_one_read_call(doc: Any) -> None:
    fake = FakeBackend([read()])
    a = Assistant(fake).analyze(doc)
    assert len(fake.requests) == 1
    request = fake.requests[0]
    assert request.prompt.startswith("read@") and request.schema_name == "ReadDraft"
    assert request.max_tokens <= 160
    system, user = request.messages
    assert system.role == "system" and "Harbor" not in system.content, "no article text in the system turn"
    assert '"main"' in system.content, "the task comes before the article"
    assert user.content.startswith("BEGIN UNTRUSTED ARTICLE") and "[3] The Harbor Bridge" in user.content
    assert a.summary.headline == "Council approves $214 million Harbor Bridge repair"
    assert [kp.sentence_ids for kp in a.summary.key_points][:3] == [["S3"], ["S5"], ["S6"]]
    assert len(a.summary.key_points) == 5
    for kp in a.summary.key_points:
        assert kp.quotes[0].text == doc.sentence(kp.sentence_ids[0]).text and kp.support == 1.0
    assert a.provenance is not None and a.provenance.usage.calls == 1


def test_the_headline_must_be_grounded_else_the_title(doc: Any) -> None:
    fake = FakeBackend([read(headline="Mayor resigns over bridge scandal")])
    a = Assistant(fake).analyze(doc)
    assert a.summary.headline == doc.title
    assert any("headline 'Mayor resigns over bridge scandal' not used" in n for n in a.provenance.notes)
    too_long = "Council approves repair of the Harbor Bridge which will close for eight months from June"
    assert Assistant(FakeBackend([read(headline=too_long)])).analyze(doc).summary.headline == doc.title


def test_unknown_ids_are_dropped_and_key_points_topped_up(doc: Any) -> None:
    fake = FakeBackend([read(main=[5, 99, 5], check=[42])])
    a = Assistant(fake).analyze(doc)
    ids = [kp.sentence_ids[0] for kp in a.summary.key_points]
    assert ids[0] == "S5" and len(ids) == 5 and len(set(ids)) == 5
    notes = " | ".join(a.provenance.notes)
    assert "[99] outside" in notes and "[42] outside" in notes and "added by importance" in notes
    assert len(fake.requests) == 1, "a fixable answer is not re-asked"


def test_five_w_cite_sentences_that_state_them(doc: Any) -> None:
    a = Assistant(FakeBackend([read()])).analyze(doc)
    w = a.summary.five_w
    assert w.what is not None and w.what.sentence_ids == ["S3"]
    assert w.who is not None and w.when is not None
    assert w.when.text == "in June (June 2024)", "a relative date with its calendar date"
    for field in (w.who, w.when, w.where, w.why):
        if field is None:  # only where the key sentences state it
            continue
        stated = doc.sentence(field.sentence_ids[0]).text
        assert field.text.split(" (")[0] in stated, field


def test_claims_and_questions_by_code(doc: Any) -> None:
    a = Assistant(FakeBackend([read()])).analyze(doc)
    assert a.claims and a.questions
    for c in a.claims:
        assert c.quotes[0].text == doc.sentence(c.sentence_ids[0]).text and c.quote is not None
        assert "model: " in c.check_worthiness_reason
    assert {q.claim_id for q in a.questions} <= {c.id for c in a.claims}
    picked = {f"S{n}" for n in read()["check"]}
    votes = {c.sentence_ids[0]: "model: check-worthy" in c.check_worthiness_reason for c in a.claims}
    assert all(v == (s in picked) for s, v in votes.items())


def test_an_answer_that_never_validates_falls_back_to_code(doc: Any) -> None:
    fake = FakeBackend(["not json", "{", "[]"])
    a = Assistant(fake).analyze(doc)
    assert len(fake.requests) == 3
    assert len(a.summary.key_points) >= 3 and a.summary.headline == doc.title
    assert a.claims and all("model:" not in c.check_worthiness_reason for c in a.claims)
    assert any("built by code alone" in n for n in a.provenance.notes)


def test_every_operation_reads_once(doc: Any) -> None:
    for op in ("summarize", "extract_claims", "verification_questions"):
        fake = FakeBackend([read()])
        getattr(Assistant(fake), op)(doc)
        assert len(fake.requests) == 1, op
    fake = FakeBackend([])
    claims = Assistant(FakeBackend([read()])).extract_claims(doc)
    assert Assistant(fake).verification_questions(doc, claims).questions
    assert fake.requests == [], "questions for given claims are built by code"


def test_a_long_article_is_read_in_chunks(doc: Any) -> None:
    fake = FakeBackend(default=lambda r: read(main=[], check=[]))
    a = Assistant(fake, options=Options(chunk_tokens=120)).analyze(doc)
    assert len(fake.requests) > 1 and a.summary.key_points


class SlowParallel(FakeBackend):
    """A fake with parallel slots whose answers take a while: concurrent calls overlap."""

    n_parallel = 4

    def __init__(self) -> None:
        super().__init__(default=self._echo)
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    def _echo(self, request: ChatRequest) -> ChatResponse:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.2)
        with self._lock:
            self.active -= 1
        n = int(request.messages[1].content.split("[", 2)[1].split("]")[0])
        return ChatResponse(text=f'{{"headline": "x", "main": [{n}], "check": []}}', finish_reason="stop")


def test_the_sync_driver_runs_independent_calls_in_parallel(doc: Any) -> None:
    backend = SlowParallel()
    assert parallel_slots(backend) == 4 and parallel_slots(FakeBackend()) == 1
    specs = [CallSpec("read", prefix_values(doc, [s]), ReadDraft, max_attempts=1) for s in doc.sentences[:6]]

    def step() -> Any:
        results = yield specs
        return [r.value.main[0] for r in results]

    started = time.perf_counter()
    got = run(step(), backend, new_provenance(backend))
    elapsed = time.perf_counter() - started
    assert got == [s.index for s in doc.sentences[:6]], "results keep the specs' order"
    assert backend.peak == 4, "four calls in flight at once"
    assert elapsed < 6 * 0.2, elapsed


SPEAKERS = ("Officials of the Soren Valley Monitoring Mission arrived on Monday. "
            "More than 18,000 people have fled the valley, the monitoring mission said. "
            "Economists at Halden University said that figure was overstated. "
            "A ministry spokesman, Col. Arvid Nemeth, called the report \"fiction.\" "
            "Police arrested John Smith on Tuesday, officials said. "
            "The bridge will close in June.")


@pytest.mark.parametrize(("n", "speaker"), [
    (2, "the Soren Valley Monitoring Mission"),  # a description names an earlier organisation
    (3, "Economists at Halden University"),      # the named subject before the verb
    (4, "Arvid Nemeth"),                         # set off by commas after a role
    (5, None),                                   # the arrested man is not the speaker
    (6, None),                                   # no say-verb: nobody is carried over
])
def test_code_names_a_speaker_the_parse_left_open(n: int, speaker: str | None) -> None:
    from assistant.steps.analysis import described_speaker
    from assistant.text import signals as sig
    from assistant.text.intake import document_from_text

    doc = document_from_text(SPEAKERS)
    signals = sig.analyze_sentences(doc)
    if not sig.spacy_available():
        pytest.skip("the rules read spaCy's entities")
    assert described_speaker(doc, doc.sentences[n - 1], signals) == speaker
