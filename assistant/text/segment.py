"""Sentence segmentation with exact character offsets: the grounding grid S1..Sn."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

from assistant.schemas import Sentence

_PARAGRAPH = re.compile(r"\n[ \t]*\n+")

# pysbd's run time grows with the square of its input, so long paragraphs are fed to it
# in pieces cut at unmistakable sentence ends (a lowercase word of 3+ letters, a stop,
# space, a capital), which abbreviations like "Mr." or "U.S." never are.
_MAX_PIECE = 3000
_SAFE_END = re.compile("[a-z]{3}[.!?][\"\u201d\u2019)]?\\s+(?=[\"\u201c\u2018(]?[A-Z])")

# A stop with no space after it ("ended.The next") that still ends a sentence, unless the
# word before it is one of these abbreviations.
_GLUED = re.compile(r"[.!?](?=[^\W\d_][^\W\d_])")
_ABBREVIATIONS = frozenset((
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "gen", "col", "lt", "sgt",
    "capt", "cmdr", "adm", "gov", "sen", "rep", "rev", "hon", "pres", "no", "nos", "vol", "fig",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "inc",
    "ltd", "co", "corp", "vs", "etc", "approx", "dept", "est", "univ", "ave", "blvd", "rd",
))


# pysbd ends a sentence at every line break. A break before a lowercase word or after a
# comma is a hard wrap inside a sentence, so pysbd sees a space there (same length, so
# offsets still match the original text).
_LINE_BREAK = re.compile(r"\n(?=[ \t]*(\w))")


def _unwrap(text: str) -> str:
    def soften(m: re.Match[str]) -> str:
        before = text[max(0, m.start() - 20) : m.start()].rstrip(" \t")[-1:]
        return " " if m.group(1).islower() or before == "," else "\n"

    return _LINE_BREAK.sub(soften, text)


_local = threading.local()


def _segmenter() -> Any:
    # pysbd keeps per-call state on the Segmenter, so threads sharing one lose sentences:
    # one segmenter per thread.
    seg = getattr(_local, "segmenter", None)
    if seg is None:
        import pysbd

        seg = _local.segmenter = pysbd.Segmenter(language="en", clean=False, char_span=False)
    return seg


def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for m in _PARAGRAPH.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _windows(para: str) -> Iterator[tuple[int, str]]:
    """(offset, text) pieces of a paragraph short enough for pysbd."""
    pos = 0
    while len(para) - pos > _MAX_PIECE:
        cut = None
        for m in _SAFE_END.finditer(para, pos + 1, pos + _MAX_PIECE):
            cut = m.end()
        if cut is None:  # no clear sentence end: cut at a space rather than mid-word
            space = para.rfind(" ", pos + 1, pos + _MAX_PIECE)
            cut = space + 1 if space > pos else pos + _MAX_PIECE
        yield pos, para[pos:cut]
        pos = cut
    yield pos, para[pos:]


def _split_glued(piece: str) -> list[tuple[int, int]]:
    """Spans of `piece` after splitting at stops missing their space ("ended.The next")."""
    spans, start = [], 0
    for m in _GLUED.finditer(piece):
        i = m.start()
        before, after = piece[i - 1] if i else "", piece[i + 1 : i + 3]
        if not (before.islower() or before.isdigit()) or not (after[0].isupper() and after[1].islower()):
            continue
        word = piece[:i].rsplit(None, 1)[-1] if piece[:i].strip() else ""
        # "U.S.The", "e.g.Smith", "Dr.Who", a domain or e-mail: not a sentence end.
        if "." in word or "/" in word or "@" in word or word.lower() in _ABBREVIATIONS or len(word) < 2:
            continue
        spans.append((start, i + 1))
        start = i + 1
    spans.append((start, len(piece)))
    return spans


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of `text` in order; `text[s.start:s.end] == s.text` for every one.

    Paragraph breaks always end a sentence. Within a paragraph pysbd decides; its pieces
    are located in the original text by a forward search, so offsets are exact even where
    the segmenter normalises whitespace.
    """
    out: list[Sentence] = []
    for para_no, (p_start, p_end) in enumerate(_paragraph_spans(text)):
        for w_offset, window in _windows(text[p_start:p_end]):
            base = p_start + w_offset
            cursor = 0
            window = _unwrap(window)  # offsets into `window` still index `text` from `base`
            for piece in _segmenter().segment(window):
                piece = piece.strip()
                if not piece:
                    continue
                found = window.find(piece, cursor)
                if found < 0:  # segmenter altered the text: fall back to the rest of the window
                    rest = window[cursor:]
                    found = cursor + (len(rest) - len(rest.lstrip()))
                    piece = window[found:].rstrip()
                    if not piece:
                        continue
                cursor = found + len(piece)
                for s, e in _split_glued(piece):
                    start, end = base + found + s, base + found + e
                    out.append(Sentence(
                        id=f"S{len(out) + 1}", index=len(out) + 1, start=start, end=end,
                        text=text[start:end], paragraph=para_no,
                    ))
    return out
