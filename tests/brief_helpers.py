"""Shared by the briefing tests: a scripted model and articles written for the tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from test_api_fake import responder as _base

from assistant import Assistant, FakeBackend
from assistant.backends.base import ChatRequest
from assistant.briefing import Briefing
from assistant.schemas import Document
from assistant.text.intake import document_from_text, load_document

EXAMPLE = Path(__file__).resolve().parents[1] / "assistant" / "examples" / "harbor-bridge-closure.txt"


def responder(request: ChatRequest) -> dict[str, Any]:
    """`test_api_fake.responder`, with a headline taken from the article's own title so it
    passes the grounding check on any article."""
    out = _base(request)
    if "headline" in out:
        m = re.search(r"^Title: (.*)$", request.messages[1].content, re.MULTILINE)
        title = m.group(1) if m else "Untitled"
        out["headline"] = " ".join(title.split()[:12])
        out["tldr"] = title
    return out


def fake_assistant() -> Assistant:
    return Assistant(FakeBackend(default=responder))


# Two reports of one event that disagree on one figure (340 vs 430 residents) and agree
# on another (5.2 metres).
FLOOD_A = """Ashford River floods Millbank district as hundreds evacuated

Monday, April 8, 2024

Emergency crews evacuated 340 residents from the low-lying Millbank district on Sunday after the Ashford River burst its banks, the county emergency office said. The river peaked at 5.2 metres at the Ashford gauge late on Sunday, the highest level since 1998.

"We moved everyone out before the water reached the houses," said Priya Nandakumar, the county's emergency manager. Two temporary shelters opened at Millbank Primary School and the Riverside sports hall.

The Millbank road bridge will stay closed until engineers inspect it, the council said. The water company declined to comment on whether its reservoir release had worsened the flooding.
"""
FLOOD_B = """Hundreds leave homes as Ashford River floods Millbank

Tuesday, April 9, 2024

Emergency crews evacuated 430 residents from the low-lying Millbank district on Sunday after the Ashford River burst its banks, according to the fire service. The river peaked at 5.2 metres at the Ashford gauge on Sunday night, the highest level since 1998.

Volunteers from the Red Cross handed out blankets and hot meals at two shelters. Residents said they had received flood warnings less than an hour before the water arrived.

The county will assess the damage to homes this week, officials said.
"""

HOSTILE = """Town hall meeting <script>alert(1)</script> ends in uproar

Tuesday, March 12, 2024

Mayor Jane Doe said the council approved 12 new bus routes <img src=x onerror=alert(2)> on Monday night. Critics shared a link <a href="javascript:alert(3)">see the real plan</a> that the council called misleading. The routes will cost $3 million a year, according to the city treasurer.
"""


def flood_documents() -> list[Document]:
    return [document_from_text(FLOOD_A, outlet="Riverton Courier", url="https://courier.example/floods"),
            document_from_text(FLOOD_B, outlet="Ashford Herald")]


def hostile_document() -> Document:
    # fmt="text": the markup stays in the article as characters, as a pasted article's would.
    return document_from_text(HOSTILE, fmt="text", outlet="<b>Evil Outlet</b>", url="javascript:alert(4)")


def example_briefing() -> Briefing:
    return fake_assistant().brief(load_document(EXAMPLE))
