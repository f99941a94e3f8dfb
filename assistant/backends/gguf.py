"""Read the metadata of a GGUF model file (no tensors): enough for the tokenizer and checks.

Layout (GGUF v2/v3, little-endian): magic `GGUF`, version u32, tensor count u64, key/value
count u64, then the key/value pairs. A key is a string (u64 length + UTF-8 bytes); a value
is a u32 type followed by the value; arrays carry an element type and a u64 count.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q",
            12: "d"}
_STRING, _ARRAY = 8, 9


class GGUFError(ValueError):
    """The file is not a GGUF file this reader understands."""


def _read(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise GGUFError("truncated GGUF header")
    return data


def _string(f: BinaryIO) -> str:
    (n,) = struct.unpack("<Q", _read(f, 8))
    return _read(f, n).decode("utf-8", "replace")


def _value(f: BinaryIO, kind: int) -> Any:
    if kind == _STRING:
        return _string(f)
    if kind == _ARRAY:
        (item, n) = struct.unpack("<IQ", _read(f, 12))
        if item in _SCALARS:
            size = struct.calcsize(_SCALARS[item])
            return list(struct.unpack(f"<{n}{_SCALARS[item]}", _read(f, size * n)))
        return [_value(f, item) for _ in range(n)]
    if kind not in _SCALARS:
        raise GGUFError(f"unknown GGUF value type {kind}")
    fmt = "<" + _SCALARS[kind]
    return struct.unpack(fmt, _read(f, struct.calcsize(fmt)))[0]


def read_metadata(path: str | Path) -> dict[str, Any]:
    """All key/value metadata of the GGUF file at `path`."""
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise GGUFError(f"{str(path)!r} is not a GGUF file")
        (version,) = struct.unpack("<I", _read(f, 4))
        if version < 2:
            raise GGUFError(f"GGUF version {version} is not supported")
        (_tensors, count) = struct.unpack("<QQ", _read(f, 16))
        meta: dict[str, Any] = {"GGUF.version": version}
        for _ in range(count):
            key = _string(f)
            (kind,) = struct.unpack("<I", _read(f, 4))
            meta[key] = _value(f, kind)
        return meta
