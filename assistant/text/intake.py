"""Article intake: bytes from a file, stdin or the caller become a clean `Document`.

Reading, refusing what is not an article (binary, undecodable, empty, too large),
decoding, HTML/Markdown to text, Unicode clean-up, title and publication date, and the
sentence grid. Every failure is an `InputError` whose message is one readable line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sys
import unicodedata
from pathlib import Path

from assistant.errors import InputError, UserError
from assistant.schemas import Document
from assistant.text._markup import (
    Extracted,
    html_to_text,
    looks_html,
    looks_markdown,
    markdown_to_text,
)
from assistant.text.dates import find_dates
from assistant.text.encoding import check_controls, decode_bytes
from assistant.text.segment import split_sentences

Source = str | Path | bytes

FORMATS = ("auto", "text", "markdown", "html")
_EXTENSIONS = {".html": "html", ".htm": "html", ".xhtml": "html", ".md": "markdown",
               ".markdown": "markdown"}

# --------------------------------------------------------------------------- reading


def _raw_limit(max_chars: int) -> int:
    # HTML pages carry several times their text in markup; cap raw input well above
    # max_chars so the character limit (checked on clean text) is the one users meet.
    return max(16 * max_chars, 16 * 1024 * 1024)


def _too_large(label: str, size: int, limit: int, unit: str) -> InputError:
    return InputError(
        f"{label} is {size:,} {unit}, over the limit of {limit:,}; "
        "raise it with max_chars= (CLI: --max-chars)"
    )


def _read_path(path: Path, limit: int) -> bytes:
    try:
        if path.is_dir():
            raise InputError(f"{path} is a directory, not an article file")
        size = path.stat().st_size
        if size > limit:
            raise _too_large(str(path), size, limit, "bytes")
        with path.open("rb") as handle:
            return handle.read(limit + 1)
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except PermissionError:
        raise InputError(f"cannot read {path}: permission denied") from None
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror or err}") from None


def _read_stdin(limit: int) -> bytes | str:
    stream = sys.stdin
    if stream is None:
        raise InputError("no standard input to read the article from")
    try:
        buffer = getattr(stream, "buffer", None)
        # A replaced sys.stdin (tests, notebooks) may be text-only.
        return buffer.read(limit + 1) if buffer is not None else stream.read(limit + 1)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read standard input: {err}") from None


# --------------------------------------------------------------------------- normalising

# Format characters (Unicode category Cf: zero-width, bidi controls, soft hyphen, tags)
# are invisible yet change what a model reads; tests check this covers every Cf.
_INVISIBLE = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]"
)
_SPACES_MAP = {cp: " " for cp in (0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)}
_SPACES_MAP |= {0x0B: "\n", 0x0C: "\n", 0x85: "\n", 0x2028: "\n", 0x2029: "\n\n", 0x09: " "}
_TRANSLATE = str.maketrans(_SPACES_MAP)
_RUN_OF_SPACES = re.compile(r" {2,}")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def _drop_invisible(m: re.Match[str]) -> str:
    # Keep a zero-width joiner inside an emoji sequence (family, profession emoji).
    if m.group() == "\u200d":
        s, i = m.string, m.start()
        if 0 < i < len(s) - 1 and unicodedata.category(s[i + 1]) == "So" and \
                unicodedata.category(s[i - 1]) in ("So", "Mn", "Sk"):
            return "\u200d"
    return ""


def normalize_text(text: str) -> str:
    """NFC, LF line ends, invisible characters gone, spaces collapsed, at most one blank line."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_TRANSLATE)
    text = _INVISIBLE.sub(_drop_invisible, text)
    text = "\n".join(_RUN_OF_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _MANY_NEWLINES.sub("\n\n", text).strip()


# --------------------------------------------------------------------------- metadata

_LABEL = re.compile(r"(?i)\b(first published|published|posted|dated|date|updated)\b")
_LEADS_INTO_TEXT = re.compile("\\s*[-\u2013\u2014(|]")
_EDGE = " \t,;:|\u2022\u00b7-\u2013\u2014"
_FILENAME_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


def date_in_text(text: str) -> dt.date | None:
    """A publication date stated near the top: a labelled date or a dateline.

    Only the first five non-empty lines count, and only dates that stand out there
    ("Published: ...", a short line, a line's start or end, "CITY, Jan. 14, 2022 —"):
    a date inside the lead sentence is news, not the publication date.
    """
    best: tuple[int, int, dt.date] | None = None
    lines = [line for line in text.split("\n") if line.strip()][:5]
    for n, line in enumerate(lines):
        for start, end, day in find_dates(line):
            labels = list(_LABEL.finditer(line[:start]))
            if labels:
                rank = 2 if "updated" in labels[-1].group(1).lower() else 0
            elif (len(line) <= 60 or not line[:start].strip(_EDGE)
                  or not line[end:].strip(_EDGE + ".") or _LEADS_INTO_TEXT.match(line[end:])):
                rank = 1
            else:
                continue
            if best is None or (rank, n) < best[:2]:
                best = (rank, n, day)
    return best[2] if best else None


def _date_in_name(name: str | None) -> dt.date | None:
    if not name:
        return None
    for m in _FILENAME_DATE.finditer(Path(name).name):
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            continue
    return None


def _published_argument(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        found = find_dates(text)
        if found:
            return found[0][2]
    raise UserError(f"cannot read the publication date {value!r}; give it as YYYY-MM-DD")


def _first_line_title(text: str) -> str | None:
    """The first line as a title: short, no closing period, followed by a blank line.

    A date at the end of that line (Wikinews: "Title Tuesday, September 1, 2015") is
    kept out of the title.
    """
    first, sep, _ = text.partition("\n\n")
    if not sep or "\n" in first or len(first) >= 200 or first.endswith("."):
        return None
    dates = find_dates(first)
    if dates and not first[dates[-1][1]:].strip(_EDGE + "."):
        first = first[: dates[-1][0]].rstrip(_EDGE)
    # "Published: January 14, 2022" on its own is a dateline, not a title.
    return first if first and not _LABEL.fullmatch(first) else None


_STOPWORDS = frozenset((
    "the", "of", "and", "to", "in", "is", "was", "that", "for", "on", "with", "as", "by", "at",
    "from", "it", "his", "her", "he", "she", "they", "this", "be", "are", "were", "has", "have",
    "had", "not", "but", "or", "an", "which", "their", "said", "will", "would", "been", "its",
    "who", "after", "about", "more", "than",
))


def looks_english(text: str) -> bool:
    """Cheap language check: English prose is about a third common function words.

    Other languages score near zero; texts under 20 words are given the benefit of doubt.
    """
    words = re.findall(r"[^\W\d_]+", text[:20_000].lower())
    if len(words) < 20:
        return True
    return sum(1 for w in words if w in _STOPWORDS) >= 0.12 * len(words)


# --------------------------------------------------------------------------- news content

# An article needs this many sentences of words before a summary, claims or a check mean
# anything: a bare link or a one-liner is refused before any model call.
MIN_NEWS_SENTENCES = 2
MIN_SENTENCE_WORDS = 3
_URL = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
_LINKISH = re.compile(r"(?i)\b(?:https?://|www\.)\S+|\S+@\S+\.\w+|(?<!\w)[@#]\w+")
_WORD = re.compile(r"[^\W\d_]{2,}")
# Scripts written without spaces: two characters count as a word.
_UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _words(text: str) -> int:
    text = _LINKISH.sub(" ", text)
    unspaced = len(_UNSPACED.findall(text))
    return len(_WORD.findall(_UNSPACED.sub(" ", text))) + unspaced // 2


def news_problem(doc: Document) -> str | None:
    """Why `doc` has no news to work on (None when it has): fewer than
    `MIN_NEWS_SENTENCES` sentences of at least `MIN_SENTENCE_WORDS` words, once links,
    e-mail addresses and handles are set aside."""
    prose = [s for s in doc.sentences if _words(s.text) >= MIN_SENTENCE_WORDS]
    if len(prose) >= MIN_NEWS_SENTENCES:
        return None
    if not prose and _URL.search(doc.text):
        return "it holds only a link, not the article's text (save the page or its text and pass that)"
    return (f"it has {len(prose)} sentence(s) of text; an article needs at least "
            f"{MIN_NEWS_SENTENCES}")


def require_news(doc: Document) -> Document:
    """`doc`, or an `InputError` (one line) when it has no news to analyse."""
    if problem := news_problem(doc):
        raise InputError(f"{doc.source or 'the article'}: no news to analyse: {problem}")
    return doc


# --------------------------------------------------------------------------- building


def _check_options(fmt: str, max_chars: int) -> None:
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")
    if max_chars <= 0:
        raise UserError(f"max_chars must be positive, not {max_chars}")


def _treat_as_text(source: str, fmt: str) -> bool:
    # A str is article text when it cannot be a path; with an explicit format it is
    # text unless it names an existing file (a CLI passes paths as str).
    if not source or "\n" in source or len(source) > 4096:
        return True
    return fmt != "auto" and not Path(source).is_file()


def load_document(
    source: Source, *, title: str | None = None, outlet: str | None = None,
    url: str | None = None, published: dt.date | str | None = None, fmt: str = "auto",
    max_chars: int = 300_000, name: str | None = None,
) -> Document:
    """Read an article from a path, "-" (stdin), bytes or text, and build its Document.

    A str is a path unless it contains a newline, or `fmt` is given and no such file
    exists. `name` labels bytes or text: it becomes `source`, its extension can pick the
    format and a YYYY-MM-DD in it can date the article. `published` (date or ISO string)
    wins over any date found in the article; `fmt` is auto, text, markdown or html.
    Raises `InputError` (one line) when the input cannot be used, `UserError` for a bad
    option.
    """
    _check_options(fmt, max_chars)
    limit = _raw_limit(max_chars)
    raw: bytes | str
    if isinstance(source, bytes) or (
        isinstance(source, str) and source != "-" and _treat_as_text(source, fmt)
    ):
        origin, label, raw = name, name or "the input", source
    elif str(source) == "-":
        origin, label, raw = "-", "standard input", _read_stdin(limit)
    else:
        path = Path(source)
        origin = label = str(path)
        raw = _read_path(path, limit)
    if len(raw) > limit:
        raise _too_large(label, len(raw), limit, "bytes" if isinstance(raw, bytes) else "characters")
    text = decode_bytes(raw, label) if isinstance(raw, bytes) else raw
    return _build(text, label=label, origin=origin, name=name or origin, fmt=fmt,
                  title=title, outlet=outlet, url=url, published=published, max_chars=max_chars)


def document_from_text(
    text: str, *, title: str | None = None, outlet: str | None = None, url: str | None = None,
    published: dt.date | str | None = None, fmt: str = "auto", max_chars: int = 300_000,
    name: str | None = None,
) -> Document:
    """A Document from article text in hand (never read as a path)."""
    _check_options(fmt, max_chars)
    if len(text) > _raw_limit(max_chars):
        raise _too_large(name or "the article", len(text), max_chars, "characters")
    return _build(text, label=name or "the input", origin=name, name=name, fmt=fmt, title=title,
                  outlet=outlet, url=url, published=published, max_chars=max_chars)


def _build(
    text: str, *, label: str, origin: str | None, name: str | None, fmt: str,
    title: str | None, outlet: str | None, url: str | None,
    published: dt.date | str | None, max_chars: int,
) -> Document:
    published_date = _published_argument(published)  # a bad argument fails before work
    check_controls(text, label)
    if fmt == "auto" and name:
        fmt = _EXTENSIONS.get(Path(name).suffix.lower(), "auto")
    if fmt == "auto":
        fmt = "html" if looks_html(text) else "markdown" if looks_markdown(text) else "text"
    extracted = (html_to_text(text) if fmt == "html" else
                 markdown_to_text(text) if fmt == "markdown" else Extracted(text=text))
    clean = normalize_text(extracted.text)
    if not clean:
        raise InputError("the article is empty")
    if len(clean) > max_chars:
        raise _too_large("the article", len(clean), max_chars, "characters")

    source_of_date: str | None = "argument" if published_date else None
    if published_date is None:
        found = [("text", date_in_text(clean)), ("html", extracted.published),
                 ("filename", _date_in_name(name))]
        source_of_date, published_date = next(((w, d) for w, d in found if d), (None, None))
    md_title = normalize_text(extracted.title) if extracted.title else None
    return Document(
        text=clean,
        sentences=split_sentences(clean),
        title=title or md_title or _first_line_title(clean),
        outlet=outlet or extracted.outlet,
        url=url or extracted.url,
        published=published_date,
        published_source=source_of_date,
        source=origin,
        doc_id=hashlib.sha256(clean.encode("utf-8")).hexdigest()[:16],
    )
