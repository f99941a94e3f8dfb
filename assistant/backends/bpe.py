"""An exact, offline tokenizer for the embedded model, built from its own GGUF vocabulary.

Qwen2-family models use byte-level BPE whose merge *i* produces token *256 + i*, so a
token's id is its merge rank and `tiktoken` can run the vocabulary directly. Building it
from the file (not from a download) keeps token counting offline and exact, and lets the
backend tokenize message content with special tokens *off*: `<|im_start|>` inside an
article becomes ordinary text tokens, never a role marker.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from assistant.backends.gguf import read_metadata

# llama.cpp's pre-tokenizer for `tokenizer.ggml.pre == "qwen2"` (single digits, unlike cl100k).
_QWEN2_SPLIT = (r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
                r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_NORMAL, _CONTROL, _USER_DEFINED = 1, 3, 4


def _byte_decoder() -> dict[str, int]:
    """GPT-2's printable stand-in character for each byte, reversed."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    chars = printable[:]
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


class UnsupportedVocabulary(ValueError):
    """The GGUF vocabulary is not byte-level BPE with rank-ordered ids."""


class GGUFTokenizer:
    """`encode` (plain text, specials inert), `special_id`, `decode` for one GGUF vocabulary."""

    def __init__(self, meta: dict[str, Any], name: str = "gguf") -> None:
        import tiktoken

        if meta.get("tokenizer.ggml.model") != "gpt2" or meta.get("tokenizer.ggml.pre") != "qwen2":
            raise UnsupportedVocabulary(
                f"tokenizer {meta.get('tokenizer.ggml.model')!r}/{meta.get('tokenizer.ggml.pre')!r}"
                " is not the Qwen2 byte-level BPE this tokenizer implements")
        tokens: list[str] = meta["tokenizer.ggml.tokens"]
        types: list[int] = meta["tokenizer.ggml.token_type"]
        decoder = _byte_decoder()
        ranks: dict[bytes, int] = {}
        specials: dict[str, int] = {}
        for i, (tok, kind) in enumerate(zip(tokens, types, strict=True)):
            if kind == _NORMAL:
                try:
                    ranks[bytes(decoder[c] for c in tok)] = i
                except KeyError:
                    raise UnsupportedVocabulary(f"token {i} is not byte-level") from None
            elif kind in (_CONTROL, _USER_DEFINED):
                specials[tok] = i
        if len(ranks) != max(ranks.values()) + 1:
            raise UnsupportedVocabulary("normal token ids are not contiguous merge ranks")
        self.vocab_size = len(tokens)
        self.specials = specials
        self._enc = tiktoken.Encoding(name=name, pat_str=_QWEN2_SPLIT, mergeable_ranks=ranks,
                                      special_tokens=specials)

    def encode(self, text: str) -> list[int]:
        """Tokens of `text` with every special-token string treated as plain text."""
        return self._enc.encode_ordinary(text)

    def special_id(self, text: str) -> int:
        return self.specials[text]

    def decode(self, tokens: list[int]) -> str:
        return self._enc.decode(tokens, errors="replace")


_CACHE: dict[str, GGUFTokenizer] = {}
_LOCK = threading.Lock()


def tokenizer_for(path: str | Path) -> GGUFTokenizer:
    """The tokenizer of the GGUF file at `path`, built once per process (~1 s)."""
    key = str(Path(path).resolve())
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = GGUFTokenizer(read_metadata(key), name=Path(key).stem)
        return _CACHE[key]
