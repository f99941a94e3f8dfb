"""Evidence documents for fact-checking: files, folders, texts or Documents in, a
de-duplicated, numbered set (E1..En) out, each segmented like an article.

Named inputs that cannot be used (missing, empty, binary, undecodable) are errors: the
user asked for them. Inside a folder, unusable files are skipped with a note, since a
folder of downloads often holds strays; a folder is counted before anything is read, and
more files than `max_documents` is refused with the count rather than read slowly.
Duplicates (same clean text, by content hash) are kept once, with a note.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import InputError
from assistant.schemas import Document, EvidenceDocument
from assistant.text.intake import document_from_text, load_document

EvidenceInput = str | Path | Document

# What a folder contributes: text-like files only (the rest are skipped silently).
_TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown", ".html", ".htm", ".xhtml", ""})
MAX_DOCUMENTS = 200
MAX_CHARS = 300_000


@dataclass
class EvidenceSet:
    """Evidence documents after loading: `docs[i]` is described by `info[i]` (id E{i+1})."""

    docs: list[Document] = field(default_factory=list)
    info: list[EvidenceDocument] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def by_id(self, evidence_id: str) -> Document:
        return self.docs[int(evidence_id.lstrip("E")) - 1]


def _is_path(item: str | Path) -> bool:
    if isinstance(item, Path):
        return True
    if "\n" in item or not 0 < len(item) < 4096:
        return False
    try:
        return Path(item).exists()
    except OSError:  # "File name too long": text, not a path
        return False


def _folder_files(folder: Path, limit: int) -> list[Path]:
    files: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or Path(name).suffix.lower() not in _TEXT_SUFFIXES:
                continue
            files.append(Path(root) / name)
            if len(files) > limit:
                raise InputError(f"evidence folder {folder} holds more than {limit} text files; "
                                 "pass a smaller folder or the files that matter "
                                 f"(the limit is max_documents={limit})")
    return files


def load_evidence(items: Sequence[EvidenceInput] | EvidenceInput | EvidenceSet, *,
                  max_documents: int = MAX_DOCUMENTS,
                  max_chars: int = MAX_CHARS) -> EvidenceSet:
    """Load, segment and de-duplicate evidence; raise `InputError` when none is usable.

    An `EvidenceSet` already loaded is returned as it is.
    """
    if isinstance(items, EvidenceSet):
        return items
    if isinstance(items, str | Path | Document):
        items = [items]
    if not items:
        raise InputError("no evidence given: pass at least one evidence file, folder or text")
    loaded: list[tuple[Document, str | None]] = []
    notes: list[str] = []
    for item in items:
        if isinstance(item, Document):
            loaded.append((item, item.source))
        elif _is_path(item):
            path = Path(item)
            if path.is_dir():
                files = _folder_files(path, max_documents)
                if not files:
                    raise InputError(f"evidence folder {path} holds no text files "
                                     "(.txt, .md, .html)")
                for f in files:
                    try:
                        loaded.append((load_document(f, max_chars=max_chars), str(f)))
                    except InputError as exc:
                        notes.append(f"skipped {f}: {exc}")
            else:
                try:
                    loaded.append((load_document(path, max_chars=max_chars), str(path)))
                except InputError as exc:
                    raise InputError(f"evidence {path}: {exc}") from None
        elif isinstance(item, str) and len(item) < 4096 and "\n" not in item and (
                item.endswith((".txt", ".md", ".html", ".htm")) or os.sep in item) \
                and len(item.split()) == 1:
            raise InputError(f"evidence file not found: {item}")
        else:
            try:
                loaded.append((document_from_text(str(item), max_chars=max_chars), None))
            except InputError as exc:
                raise InputError(f"evidence text #{len(loaded) + 1}: {exc}") from None
        if len(loaded) > max_documents:
            raise InputError(f"more than {max_documents} evidence documents given "
                             f"(the limit is max_documents={max_documents})")
    out = EvidenceSet(notes=notes)
    seen: dict[str, str] = {}
    for doc, source in loaded:
        if not doc.sentences:
            notes.append(f"skipped {source or 'an evidence text'}: no sentences")
            continue
        if doc.doc_id in seen:
            notes.append(f"{source or 'an evidence text'} duplicates {seen[doc.doc_id]}: used once")
            continue
        eid = f"E{len(out.docs) + 1}"
        seen[doc.doc_id] = eid
        out.docs.append(doc)
        out.info.append(EvidenceDocument(
            id=eid, title=doc.title, source=source, doc_id=doc.doc_id,
            published=doc.published.isoformat() if doc.published else None,
            sentences=len(doc.sentences)))
    if not out.docs:
        raise InputError("none of the evidence could be used: " + "; ".join(notes))
    return out
