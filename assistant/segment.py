"""Sentence segmentation with exact character offsets: the grounding grid S1..Sn."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from .schemas import Sentence

_PARAGRAPH = re.compile(r"\n[ \t]*\n+")


@cache
def _segmenter() -> Any:
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=False)


def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for m in _PARAGRAPH.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of `text` in order; `text[s.start:s.end] == s.text` for every one.

    Paragraph breaks always end a sentence. Within a paragraph pysbd decides; its pieces
    are located in the original text by a forward search, so offsets are exact even where
    the segmenter normalises whitespace.
    """
    out: list[Sentence] = []
    for para_no, (p_start, p_end) in enumerate(_paragraph_spans(text)):
        para = text[p_start:p_end]
        cursor = 0
        for piece in _segmenter().segment(para):
            piece = piece.strip()
            if not piece:
                continue
            found = para.find(piece, cursor)
            if found < 0:  # segmenter altered the text: fall back to the rest of the paragraph
                found = cursor + (len(para[cursor:]) - len(para[cursor:].lstrip()))
                piece = para[found:].rstrip()
            start, end = p_start + found, p_start + found + len(piece)
            cursor = found + len(piece)
            out.append(Sentence(id=f"S{len(out) + 1}", index=len(out) + 1, start=start, end=end,
                                text=text[start:end], paragraph=para_no))
    return out
