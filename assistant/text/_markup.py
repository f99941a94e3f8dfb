"""HTML and Markdown to plain article text, with the metadata the markup carries."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from assistant.errors import InputError


@dataclass
class Extracted:
    """Plain text pulled out of markup, and what the markup says about the article."""

    text: str
    title: str | None = None
    outlet: str | None = None
    url: str | None = None
    published: dt.date | None = None


# --------------------------------------------------------------------------- sniffing

_HTML_START = re.compile(
    r"\A\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b",
    re.IGNORECASE | re.DOTALL,
)
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?>")

_MD_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_MD_SIGNS = [
    re.compile(r"^ {0,3}#{1,6}[ \t]+\S", re.MULTILINE),
    re.compile(r"!?\[[^\]\n]+\]\([^)\s]+(?:\s+\"[^\"\n]*\")?\)"),
    re.compile(r"(\*\*|__)(?=\S)[^\n]+?(?<=\S)\1"),
    re.compile(r"^ {0,3}(?:```|~~~)", re.MULTILINE),
    re.compile(r"^ {0,3}\[[^\]\n]+\]:[ \t]+\S+", re.MULTILINE),
]


def looks_html(text: str) -> bool:
    """A page (doctype, <html>) or a fragment dense with tags."""
    if _HTML_START.match(text[:4096]):
        return True
    sample = text[:100_000]
    tags = _TAG.findall(sample)
    # A plain article may mention a tag or two; markup-built text is full of them.
    return len(tags) >= 5 and sum(map(len, tags)) >= 0.03 * len(sample)


def looks_markdown(text: str) -> bool:
    """A leading `# heading`, or at least two kinds of Markdown syntax."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if _MD_HEADING.match(first) and first.lstrip().startswith("# "):
        return True
    return sum(1 for sign in _MD_SIGNS if sign.search(text)) >= 2


# --------------------------------------------------------------------------- markdown

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_TITLE = re.compile(r"^title:[ \t]*[\"']?(.*?)[\"']?[ \t]*$", re.MULTILINE | re.IGNORECASE)
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_REF_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]+\S+")
_QUOTE_MARK = re.compile(r"^[ \t]*(?:>[ \t]?)+")
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+")

_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>~|])")
# Escaped characters hide in a private-use plane while emphasis is stripped, then return.
_PRIVATE = 0xF0000
_INLINE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]"), ""),  # images
    (re.compile(r"\[([^\]]+)\]\((?:[^()\s]|\([^)]*\))*(?:\s+\"[^\"]*\")?\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference links
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),  # autolinks
    (re.compile(r"`([^`\n]+)`"), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
    # Single markers only at word edges: snake_case and 2*3 are not emphasis.
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"), r"\1"),
]


def _inline(line: str) -> str:
    line = _ESCAPE.sub(lambda m: chr(_PRIVATE + ord(m.group(1))), line)
    for pattern, repl in _INLINE:
        line = pattern.sub(repl, line)
    return re.sub("[\U000f0000-\U000f007f]", lambda m: chr(ord(m.group()) - _PRIVATE), line)


def markdown_to_text(markdown: str) -> Extracted:
    """Plain text: link text kept, URLs, images, heading/emphasis/list marks and fences dropped.

    Headings become their own paragraphs so they never run into the next sentence; the
    first level-1 heading (or a front-matter `title:`) is reported as the title.
    """
    title: str | None = None
    front = _FRONT_MATTER.match(markdown)
    if front:
        found = _FRONT_TITLE.search(front.group(1))
        title = (found.group(1).strip() or None) if found else None
        markdown = markdown[front.end():]
    out: list[str] = []
    in_fence = False
    for line in markdown.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
            out.append("")
            continue
        if in_fence:
            out.append(line)
            continue
        prev = out[-1] if out else ""
        if prev.strip() and _SETEXT.match(line) and not _BULLET.match(line):
            if line.strip().startswith("=") and title is None:
                title = prev.strip()
            out.append("")
            continue
        if _RULE.match(line) or _REF_DEF.match(line):
            out.append("")
            continue
        heading = _MD_HEADING.match(line)
        if heading:
            text = _inline(heading.group(2))
            if len(heading.group(1)) == 1 and title is None and text:
                title = text
            out += ["", text, ""]
            continue
        line = _BULLET.sub(r"\1", _QUOTE_MARK.sub("", line))
        out.append(_inline(line))
    return Extracted(text="\n".join(out), title=title)


# --------------------------------------------------------------------------- html


def _field(result: Any, name: str) -> Any:
    # trafilatura 2 returns a Document object, 1.x a dict.
    return result.get(name) if isinstance(result, dict) else getattr(result, name, None)


def _iso_date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def html_to_text(html: str) -> Extracted:
    """The page's main text (paragraphs separated by blank lines) and its metadata."""
    try:
        import trafilatura

        result = trafilatura.bare_extraction(
            html, with_metadata=True, include_comments=False, include_tables=True
        )
    except Exception as err:  # lxml and trafilatura raise many types on broken pages
        detail = " ".join(str(err).split())[:120]
        raise InputError(f"could not parse the HTML page ({type(err).__name__}: {detail})") from err
    body = _field(result, "text") if result is not None else None
    if not body or not str(body).strip():
        raise InputError("no article text found in the HTML page")
    # trafilatura puts one block (paragraph, heading, list item) per line; blank lines
    # make each a paragraph for the segmenter, so a heading never joins a sentence.
    text = "\n\n".join(line for line in str(body).split("\n") if line.strip())

    def meta(name: str) -> str | None:
        value = _field(result, name)
        return (" ".join(str(value).split()) or None) if value else None

    return Extracted(
        text=text, title=meta("title"), outlet=meta("sitename"), url=meta("url"),
        published=_iso_date(_field(result, "date")),
    )
