"""Batch inputs: a directory of article files, or a JSONL file of articles.

An input's id is its name (file path under the directory, or the JSONL `id`) plus a hash
of its content, so an edited article counts as a new input and a resumed run never
mistakes it for the one already done.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assistant.errors import InputError
from assistant.schemas import Document
from assistant.text.intake import document_from_text, load_document


class BatchInput(BaseModel):
    """One article to process: where it comes from and how to load it."""

    id: str = Field(description="Stable id: name + '#' + first 12 hex digits of the content hash.")
    name: str = Field(description="File path under the input directory, or the JSONL id.")
    source: str = Field(description="Where it was read: a file path, or FILE.jsonl:LINE.")
    path: str | None = Field(None, description="The article file (directory inputs).")
    text: str | None = Field(None, description="The article text (JSONL inputs).")
    title: str | None = Field(None, description="Title given in the JSONL line.")
    url: str | None = Field(None, description="URL given in the JSONL line.")
    outlet: str | None = Field(None, description="Outlet given in the JSONL line.")
    published: str | None = Field(None, description="Publication date given in the JSONL line.")
    evidence: list[str] | None = Field(None, description="Evidence paths or texts given in the "
                                                         "JSONL line (task check, brief).")
    problem: str | None = Field(None, description="Why this input cannot be used (bad JSONL line).")

    def load(self, max_chars: int = 300_000) -> Document:
        if self.problem:
            raise InputError(self.problem)
        if self.path is not None:
            return load_document(self.path, max_chars=max_chars)
        return document_from_text(self.text or "", title=self.title, url=self.url,
                                  outlet=self.outlet, published=self.published,
                                  name=self.name, max_chars=max_chars)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def read_inputs(source: str | Path) -> list[BatchInput]:
    """The inputs of a directory (every visible file, recursively, sorted) or a JSONL file."""
    path = Path(source)
    if path.is_dir():
        return _read_dir(path)
    if path.is_file() and path.suffix.lower() in (".jsonl", ".ndjson"):
        return _read_jsonl(path)
    if not path.exists():
        raise InputError(f"no such input: {path}")
    raise InputError(f"{path}: batch input must be a directory of articles or a .jsonl file")


def _read_dir(root: Path) -> list[BatchInput]:
    items = []
    for file in sorted(root.rglob("*")):
        rel = file.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not file.is_file():
            continue
        try:
            digest = _digest(file.read_bytes())
        except OSError as exc:
            items.append(BatchInput(id=f"{rel.as_posix()}#unreadable", name=rel.as_posix(),
                                    source=str(file), problem=f"cannot read {file}: "
                                                              f"{exc.strerror or exc}"))
            continue
        items.append(BatchInput(id=f"{rel.as_posix()}#{digest}", name=rel.as_posix(),
                                source=str(file), path=str(file)))
    return items


_JSONL_FIELDS = ("text", "title", "url", "outlet", "published")


def _read_jsonl(file: Path) -> list[BatchInput]:
    items = []
    with file.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            where = f"{file}:{number}"
            problem: str | None = None
            try:
                obj = json.loads(raw)
            except ValueError as exc:
                obj, problem = None, f"{where}: not valid JSON ({exc})"
            else:
                if not isinstance(obj, dict):
                    problem = f"{where}: expected a JSON object with a 'text' field"
                elif not isinstance(obj.get("text"), str) or not obj["text"].strip():
                    problem = f"{where}: no article 'text'"
            given = obj.get("id") if isinstance(obj, dict) else None
            name = str(given) if given not in (None, "") else f"line{number}"
            if problem is not None or not isinstance(obj, dict):
                items.append(BatchInput(id=f"{name}#{_digest(raw.strip())}", name=name,
                                        source=where, problem=problem))
                continue
            fields: dict[str, Any] = {k: None if obj.get(k) is None else str(obj[k])
                                      for k in _JSONL_FIELDS}
            if fields["published"] is None and obj.get("date") is not None:
                fields["published"] = str(obj["date"])
            evidence = obj.get("evidence")
            if isinstance(evidence, str):
                evidence = [evidence]
            if evidence is not None:
                fields["evidence"] = [str(e) for e in evidence] if isinstance(evidence, list) \
                    else None
            canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()
            items.append(BatchInput(id=f"{name}#{_digest(canonical)}", name=name, source=where,
                                    **fields))
    return items
