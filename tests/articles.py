"""Short synthetic news articles for batch tests: distinct titles, numbers, attributed quotes.

Each article's title is unique and appears in every request about it ("Title: ..."), so
tests can tell from the server's request log which article a request was for.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

from assistant.core.prompts import load_prompt

_TOWNS = ["Riverton", "Lakemoor", "Port Alder", "Fairhaven", "Eastbrook", "Millbridge",
          "Stonebury", "Westfield"]
_PEOPLE = [("Maria Okafor", "transport commissioner"), ("Desmond Ruiz", "council member"),
           ("Hannah Lindqvist", "company spokeswoman"), ("Tomasz Wierzbicki", "shop owner"),
           ("Priya Natarajan", "health director"), ("Samuel Adeyemi", "school superintendent")]
_TOPICS = [("bridge repair", "the bridge"), ("school budget", "the schools"),
           ("water treatment plant", "the plant"), ("bus network", "the buses"),
           ("housing plan", "the new homes"), ("hospital wing", "the hospital")]
_TITLE = re.compile(r"^Title: (.*)$", re.MULTILINE)


def article(i: int, seed: int = 0) -> tuple[str, str]:
    """(title, text) of article number `i`."""
    rng = random.Random(seed * 10_007 + i)
    town = rng.choice(_TOWNS)
    topic, short = rng.choice(_TOPICS)
    (p1, r1), (p2, r2) = rng.sample(_PEOPLE, 2)
    money = rng.randint(2, 900)
    votes = rng.randint(5, 9)
    share = rng.randint(10, 60)
    year = rng.randint(2015, 2022)
    title = f"{town} approves {topic} number {i}"
    body = (
        f"The {town} city council approved a ${money} million {topic} on Monday night. "
        f"Council members voted {votes} to {12 - votes} after a debate that lasted four hours. "
        f'"We cannot keep delaying work on {short}," said {p1}, the city\'s {r1}. '
        f"A study commissioned by the city estimates that costs will rise by {share} percent "
        f"if the work waits another year. "
        f"{p2}, a {r2}, said the city had known about the problem since {year}. "
        f"Work is expected to start in June and to last eight months. "
        f"Residents will be able to comment on the plan at a public meeting next week."
    )
    return title, f"{title}\n\nTuesday, March 12, 2024\n\n{body}\n"


def write_dir(root: Path, n: int, seed: int = 0) -> list[str]:
    """`n` articles as files in `root`; returns their titles in file order."""
    root.mkdir(parents=True, exist_ok=True)
    titles = []
    for i in range(n):
        title, text = article(i, seed)
        (root / f"article-{i:04d}.txt").write_text(text, encoding="utf-8")
        titles.append(title)
    return titles


def write_jsonl(path: Path, items: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in items),
                    encoding="utf-8")


def title_of(body: Any) -> str | None:
    """The article title a chat-completion request body is about."""
    if not isinstance(body, dict) or not body.get("messages"):
        return None
    m = _TITLE.search("\n".join(str(x.get("content", "")) for x in body["messages"]))
    return m.group(1) if m else None


def split_turn(text: str) -> tuple[str, str]:
    """(article block, task) of a user turn that opens with the delimited article
    (prompts/article.prompt); ("", text) for a turn without one."""
    end = load_prompt("article").markers[-1]
    head, sep, tail = text.partition(f"\n{end}")
    return (head, tail.lstrip("\n")) if sep else ("", text)
