"""Raw bytes to text: refuse binary files, then decode UTF-8, UTF-16/32 or a legacy encoding.

Every refusal is an `InputError` with one line that says what the input looks like.
"""

from __future__ import annotations

import codecs
import re

from assistant.errors import InputError

_MAGIC: list[tuple[bytes, str]] = [
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or a .docx/.odt/.epub file)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Microsoft Office file (.doc/.xls/.ppt)"),
    (b"\x7fELF", "an executable program"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"OggS", "an Ogg audio/video file"),
    (b"ID3\x02", "an MP3 audio file"),
    (b"ID3\x03", "an MP3 audio file"),
    (b"ID3\x04", "an MP3 audio file"),
    (b"{\\rtf", "an RTF document"),
]
_RIFF = {b"WEBP": "a WebP image", b"WAVE": "a WAV audio file", b"AVI ": "an AVI video"}
_BOMS = [  # UTF-32 first: its little-endian mark begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
]
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_CONVERT_HINT = "convert it to UTF-8 first (e.g. iconv -f WINDOWS-1252 -t UTF-8)"


def _binary_kind(data: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] in _RIFF:
        return _RIFF[data[8:12]]
    if data[4:8] == b"ftyp":
        return "an MP4/MOV video or HEIC image"
    return None


def _refuse_binary(label: str, kind: str) -> InputError:
    return InputError(f"{label} looks like {kind}, not article text; "
                      "save the article as plain text, Markdown or HTML")


def check_controls(text: str, label: str) -> None:
    if "\x00" in text:
        raise _refuse_binary(label, "a binary file (it contains NUL bytes)")
    sample = text[:65536]
    if sample and len(_CONTROL.findall(sample)) > 0.05 * len(sample):
        raise _refuse_binary(label, "a binary file (many control characters)")


def _utf16_without_bom(data: bytes) -> str | None:
    # ASCII-heavy UTF-16 puts a NUL in every other byte; that is text, not binary.
    if len(data) < 4 or len(data) % 2:
        return None
    half = len(data) // 2
    for encoding, zeros, other in (("utf-16-le", data[1::2], data[0::2]),
                                   ("utf-16-be", data[0::2], data[1::2])):
        if zeros.count(0) > 0.8 * half and other.count(0) == 0:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                return None
    return None


def _cp1252_fallback(err: UnicodeError) -> tuple[str, int]:
    assert isinstance(err, UnicodeDecodeError)
    bad = err.object[err.start:err.end]
    return bad.decode("cp1252", errors="replace"), err.end


codecs.register_error("assistant-cp1252", _cp1252_fallback)


def _plausible_cp1252(data: bytes) -> str | None:
    """Windows-1252, the usual legacy encoding of English and Western European news.

    charset_normalizer confuses the Latin code pages on short texts, so it is tried
    first. Another script read as cp1252 comes out almost all accented letters; Western
    text has few of them.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    letters = [c for c in text if c.isalpha()]
    accented = sum(1 for c in letters if ord(c) > 127)
    return text if letters and accented <= 0.3 * len(letters) else None


def _guess_encoding(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:200_000]).best()
    except Exception:  # a detector failure means "unknown", never a crash
        return None
    if best is None or best.chaos > 0.1 or best.coherence < 0.25:
        return None
    try:
        return data.decode(best.encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_bytes(data: bytes, label: str = "the input") -> str:
    """Text from raw bytes; `InputError` for binary data or an unknown encoding."""
    kind = _binary_kind(data)
    if kind:
        raise _refuse_binary(label, kind)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise InputError(f"{label} starts with a {encoding.upper()} byte-order mark "
                                 f"but is not valid {encoding.upper()}") from None
    if b"\x00" in data:
        text = _utf16_without_bom(data)
        if text is None:
            raise _refuse_binary(label, "a binary file (it contains NUL bytes)")
        return text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Mostly UTF-8 with a few stray Windows-1252 bytes (a pasted quote mark): keep the
    # UTF-8 and read only the stray bytes as cp1252.
    invalid = len(data.decode("utf-8", errors="replace").split("\ufffd")) - 1
    if len(_UTF8_MULTIBYTE.findall(data)) >= invalid:
        return data.decode("utf-8", errors="assistant-cp1252")
    text = _plausible_cp1252(data) or _guess_encoding(data)
    if text is None:
        raise InputError(f"{label}: not UTF-8 text, and its encoding could not be "
                         f"recognised; {_CONVERT_HINT}")
    return text
