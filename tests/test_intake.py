from __future__ import annotations

import datetime as dt
import io
import json
import random
import sys
import unicodedata
from pathlib import Path

import pytest

from assistant.errors import InputError, UserError
from assistant.schemas import Document
from assistant.text.encoding import decode_bytes
from assistant.text.intake import document_from_text, load_document, looks_english, normalize_text

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "seed" / \
    "us-russia-ukraine-2022-01-14.txt"

ARTICLE = (
    "Ukraine hit by cyberattack\n\n"
    "Ukraine suffered a massive cyberattack on Friday, officials said. Government websites "
    "were defaced with threatening messages.\n\n"
    "The attack came after a week of talks between Russia and Western countries ended without "
    "a breakthrough.\n"
)

HTML_PAGE = """<!DOCTYPE html>
<html><head><title>Ukraine hit by cyberattack | Example News</title>
<meta property="og:site_name" content="Example News">
<meta property="og:url" content="https://example.com/ukraine-cyberattack">
<meta property="article:published_time" content="2022-01-14T10:00:00Z">
<script>var tracking = "SCRIPT-TEXT-MUST-NOT-APPEAR";</script>
<style>body { color: red; }</style>
</head><body>
<nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article>
<h1>Ukraine hit by cyberattack</h1>
<p>Ukraine suffered a massive cyberattack on Friday, officials said. Government websites were
defaced with threatening messages in three languages.</p>
<p>The attack came after a week of diplomatic talks between Russia and Western countries ended
without a breakthrough. Officials in Kyiv said it was too early to say who was responsible.</p>
<script>console.log("SCRIPT-TEXT-MUST-NOT-APPEAR");</script>
<p>The European Union said it would mobilise all its resources to help Ukraine deal with the
attack, and NATO offered closer cooperation on cyber defence.</p>
</article>
<footer>Copyright 2022 Example News</footer>
</body></html>
"""

MARKDOWN = """# Ukraine hit by *cyberattack*

Ukraine suffered a **massive** cyberattack, [officials said](https://example.com/a "src").
![a defaced website](https://example.com/img.png)

## Reaction

- The _European Union_ offered help.
- NATO offered `closer` cooperation.

```
quoted code line
```
"""


def assert_grid(doc: Document) -> None:
    """Every sentence is exactly the text it claims, ids run S1..Sn."""
    assert doc.sentences, "no sentences"
    for n, s in enumerate(doc.sentences, 1):
        assert (s.id, s.index) == (f"S{n}", n)
        assert doc.text[s.start:s.end] == s.text
        assert s.text == s.text.strip()


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("source", "fmt", "title", "must_have", "must_not_have"),
    [
        (ARTICLE, "auto", "Ukraine hit by cyberattack", ["officials said."], []),
        (ARTICLE, "text", "Ukraine hit by cyberattack", ["Western countries"], []),
        (HTML_PAGE, "auto", "Ukraine hit by cyberattack",
         ["Officials in Kyiv said", "NATO offered"],
         ["SCRIPT-TEXT", "color: red", "<p>", "Copyright"]),
        (MARKDOWN, "auto", "Ukraine hit by cyberattack",
         ["Ukraine suffered a massive cyberattack, officials said.", "The European Union offered",
          "NATO offered closer cooperation.", "Reaction", "quoted code line"],
         ["**", "https://", "](", "defaced website", "# ", "```", "_European"]),
        ("Plain *text* with a star and snake_case_name.", "markdown", None,
         ["Plain text with a star and snake_case_name."], ["*"]),
        ("<p>One paragraph.</p><p>Two paragraphs here.</p><p>Three.</p><p>Four.</p><p>5.</p>",
         "auto", None, ["One paragraph.", "Two paragraphs here."], ["<p>"]),
    ],
    ids=["plain", "plain-explicit", "html", "markdown", "markdown-explicit", "html-fragment"],
)
def test_formats(source: str, fmt: str, title: str | None, must_have: list[str],
                 must_not_have: list[str]) -> None:
    doc = document_from_text(source, fmt=fmt)
    assert doc.title == title
    for piece in must_have:
        assert piece in doc.text
    for piece in must_not_have:
        assert piece not in doc.text
    assert_grid(doc)


def test_html_metadata_and_paragraphs(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(HTML_PAGE, encoding="utf-8")
    doc = load_document(path)
    assert (doc.outlet, doc.url) == ("Example News", "https://example.com/ukraine-cyberattack")
    assert (doc.published, doc.published_source) == (dt.date(2022, 1, 14), "html")
    assert doc.source == str(path)
    # Blocks are paragraphs: the heading is its own sentence, never glued to the next.
    assert doc.sentences[0].text == "Ukraine hit by cyberattack"
    assert len({s.paragraph for s in doc.sentences}) == 4


@pytest.mark.parametrize(
    "page",
    ["<html><body><img src='photo.png'><div></div></body></html>",
     "<!DOCTYPE html><html><head><script>var a = 1;</script></head><body></body></html>"],
)
def test_html_without_article_text(page: str) -> None:
    with pytest.raises(InputError, match="no article text found in the HTML page"):
        document_from_text(page)


def test_markdown_options_win_over_markup() -> None:
    doc = document_from_text(MARKDOWN, title="Given", outlet="Outlet", url="https://x.test/a")
    assert (doc.title, doc.outlet, doc.url) == ("Given", "Outlet", "https://x.test/a")


def test_markdown_front_matter_and_setext_title() -> None:
    front = "---\ntitle: \"From front matter\"\nauthor: X\n---\n\nBody text here. More.\n"
    assert document_from_text(front, fmt="markdown").title == "From front matter"
    setext = "Setext Title\n============\n\nBody with a [link](https://a.test).\n\n## Sub\n"
    doc = document_from_text(setext)
    assert doc.title == "Setext Title"
    assert "=" not in doc.text and "Body with a link." in doc.text


# --------------------------------------------------------------------------- bytes & encodings

_TEXT = "Café owners in Zürich said “we’re open” on Friday — prices rose 5 €.\n\nSecond paragraph."


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_TEXT.encode("utf-8"), _TEXT),
        (b"\xef\xbb\xbf" + _TEXT.encode("utf-8"), _TEXT),
        (_TEXT.encode("utf-16"), _TEXT),  # with BOM
        (_TEXT.encode("utf-16-be"), _TEXT),  # no BOM: every other byte NUL gives it away
        ("Plain ASCII in UTF-16 without a mark.".encode("utf-16-le"),
         "Plain ASCII in UTF-16 without a mark."),
        (_TEXT.encode("utf-32"), _TEXT),
        (_TEXT.encode("cp1252"), _TEXT),
        ("Le café était fermé à Zürich. Garçon, où est la gare?".encode("latin-1"),
         "Le café était fermé à Zürich. Garçon, où est la gare?"),
        # UTF-8 with one pasted Windows-1252 apostrophe keeps both right.
        ("Zürich’s mayor".encode() + b" said it\x92s fine.", "Zürich’s mayor said it’s fine."),
        ("Москва ответила на обвинения Вашингтона. Это важное заявление для всех сторон."
         .encode("cp1251"),
         "Москва ответила на обвинения Вашингтона. Это важное заявление для всех сторон."),
    ],
    ids=["utf8", "utf8-bom", "utf16-bom", "utf16be-nobom", "utf16-nobom-ascii", "utf32",
         "cp1252", "latin1", "utf8-mixed-cp1252", "cp1251"],
)
def test_decoding(data: bytes, expected: str) -> None:
    assert decode_bytes(data) == expected
    doc = load_document(data)
    assert doc.text == normalize_text(expected)
    assert_grid(doc)


def test_undecodable_bytes_say_not_utf8() -> None:
    with pytest.raises(InputError, match="not UTF-8 text") as err:
        load_document(b"\x81\x8d\x8f\x90\x9d short", name="mystery.txt")
    assert "\n" not in str(err.value) and "mystery.txt" in str(err.value)


_rng = random.Random(1234)


@pytest.mark.parametrize(
    ("data", "looks_like"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF document"),
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP archive"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image"),
        (b"\x1f\x8b\x08\x00", "gzip archive"),
        (bytes(_rng.randrange(256) for _ in range(4096)), "binary file"),
        (b"Some text\x00with a NUL byte in it", "NUL bytes"),
        (b"text" + b"\x01\x02\x03\x04\x05\x06" * 20, "control characters"),
    ],
    ids=["png", "pdf", "zip", "jpeg", "gzip", "random", "nul", "controls"],
)
def test_binary_refused(data: bytes, looks_like: str) -> None:
    with pytest.raises(InputError, match=looks_like) as err:
        load_document(data)
    assert "\n" not in str(err.value)


def test_str_with_nul_refused() -> None:
    with pytest.raises(InputError, match="NUL"):
        document_from_text("An article\x00 with a NUL.")


# --------------------------------------------------------------------------- empty, size, files


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t \n", "\u200b\u200b\ufeff", "\u00a0 \u3000"])
def test_empty(text: str) -> None:
    with pytest.raises(InputError, match="the article is empty"):
        document_from_text(text)
    with pytest.raises(InputError, match="the article is empty"):
        load_document(text.encode("utf-8"))


# Long paragraphs of few sentences keep the segmenter's share of the run time small; the
# doubled spaces and non-ASCII make normalised offsets differ from raw ones.
_PARA = ("The committee met on Tuesday in Zürich. It talked " + "at  length " * 90
         + "about “the deal”. Officials said nothing.\n\n")
MEGABYTE = (_PARA * (1_000_000 // len(_PARA) + 1))[:1_000_000]


def test_over_the_limit_is_one_line() -> None:
    with pytest.raises(InputError) as err:
        document_from_text(MEGABYTE)
    message = str(err.value)
    assert "\n" not in message
    assert f"{len(normalize_text(MEGABYTE)):,} characters" in message and "300,000" in message
    assert "max_chars=" in message and "--max-chars" in message


def test_raised_limit_keeps_offsets_exact(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(MEGABYTE.encode("utf-8"))
    doc = load_document(path, max_chars=2_000_000)
    assert doc.text == normalize_text(MEGABYTE)
    assert len(doc.sentences) > 2_500
    text = doc.text
    assert all(text[s.start:s.end] == s.text for s in doc.sentences)
    assert [s.index for s in doc.sentences] == list(range(1, len(doc.sentences) + 1))


def test_size_limits(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="2,000 characters, over the limit of 1,000"):
        document_from_text("y" * 2000, max_chars=1000)
    # A file far beyond any article is refused from its size, before it is read.
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)
    with pytest.raises(InputError, match="bytes, over the limit"):
        load_document(path, max_chars=1000)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "is a directory"),
        (lambda p: p / "missing.txt", "no such file"),
        (lambda p: str(p / "missing.txt"), "no such file"),
    ],
    ids=["directory", "missing-path", "missing-str"],
)
def test_unreadable_sources(tmp_path: Path, make: object, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        load_document(make(tmp_path))  # type: ignore[operator]
    assert "\n" not in str(err.value)


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("An article.", encoding="utf-8")

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)  # chmod does not stop root, who runs CI here
    with pytest.raises(InputError, match=r"cannot read .*secret\.txt: permission denied"):
        load_document(path)


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.TextIOWrapper(io.BytesIO(ARTICLE.encode("utf-8")), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stream)
    doc = load_document("-")
    assert doc.source == "-" and doc.title == "Ukraine hit by cyberattack"


def test_str_source_rules(tmp_path: Path) -> None:
    path = tmp_path / "article.md"
    path.write_text("# From the file\n\nBody text.", encoding="utf-8")
    by_path = load_document(str(path))  # extension picks Markdown
    assert by_path.title == "From the file" and by_path.source == str(path)
    assert load_document(str(path), fmt="markdown").source == str(path)
    assert load_document("Just one line of text.", fmt="text").text == "Just one line of text."
    assert load_document("Line one.\nLine two.").source is None


def test_bad_options() -> None:
    with pytest.raises(UserError, match="unknown format"):
        document_from_text("x", fmt="pdf")
    with pytest.raises(UserError, match="publication date"):
        document_from_text("x", published="last Tuesday-ish")


# --------------------------------------------------------------------------- normalising


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a\u200bb\u200cc\u200dd\u2060e\ufefff", "abcdef"),
        ("left\u202eright\u2066iso\u2069\u200e\u200f", "leftrightiso"),
        ("soft\u00adhyphen", "softhyphen"),
        ("tag\U000e0041\U000e0042chars", "tagchars"),
        ("non\u00a0breaking\u202fspaces\u2009here", "non breaking spaces here"),
        ("many   spaces\t\tand tabs   ", "many spaces and tabs"),
        ("crlf\r\nline\rcr", "crlf\nline\ncr"),
        ("a\n\n\n\n\nb", "a\n\nb"),
        ("a\n  \n \t\nb", "a\n\nb"),
        ("Cafe\u0301", "Café"),  # NFC
        ("family 👨\u200d👩\u200d👧 stays", "family 👨\u200d👩\u200d👧 stays"),
        ("form\x0cfeed\x0bvt", "form\nfeed\nvt"),
    ],
)
def test_normalize(raw: str, clean: str) -> None:
    assert normalize_text(raw) == clean


def test_invisible_class_covers_every_format_character() -> None:
    missing = [hex(cp) for cp in range(sys.maxunicode + 1)
               if unicodedata.category(chr(cp)) == "Cf" and cp != 0x200D
               and normalize_text(f"a{chr(cp)}b") != "ab"]
    assert missing == []


# --------------------------------------------------------------------------- title & dates


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Short headline\n\nBody. More body.", "Short headline"),
        ("Is this a question?\n\nBody.", "Is this a question?"),
        ("A sentence that ends.\n\nBody.", None),
        ("No blank line after\nBody continues here.", None),
        ("x" * 250 + "\n\nBody.", None),
        ("Only one line", None),
        ("Bos tells Wikinews about ants Tuesday, September 1, 2015\n\nBody.",
         "Bos tells Wikinews about ants"),
        ("Published: January 14, 2022\n\nBody.", None),
        ("Friday, January 3, 2014\n\nBody.", None),
    ],
)
def test_title_detection(text: str, title: str | None) -> None:
    doc = document_from_text(text)
    assert doc.title == title
    if title:  # the title line stays in the text as S1
        assert doc.sentences[0].text.startswith(title)


@pytest.mark.parametrize(
    ("text", "published"),
    [
        ("Headline\n\nFriday, January 14, 2022\n\nBody text.", "2022-01-14"),
        ("Headline Tuesday, September 1, 2015\n\nBody text.", "2015-09-01"),
        ("Headline\n\nJanuary 14, 2022\n\nBody.", "2022-01-14"),
        ("Headline\n\n14 January 2022\n\nBody.", "2022-01-14"),
        ("Headline\n\n2022-01-14\n\nBody.", "2022-01-14"),
        ("Headline\n\nBy Jane Doe | Published: Jan. 14, 2022, 10:32 a.m. | Updated: Jan. 15, 2022"
         "\n\nBody.", "2022-01-14"),
        ("Headline\n\nUpdated: Jan. 15, 2022\n\nPublished 14 January 2022\n\nBody.", "2022-01-14"),
        ("KYIV, Jan. 14, 2022 — Ukraine suffered a cyberattack that officials blamed on groups "
         "linked to Russian intelligence services, according to a statement.", "2022-01-14"),
        # A date inside a long lead sentence is news, not the publication date.
        ("Headline\n\nThe talks that began on January 10, 2022 in Geneva between the two "
         "delegations ended without agreement after eight hours of discussions, both sides said.",
         None),
        ("Headline\n\nP2\n\nP3\n\nP4\n\nP5\n\nJanuary 14, 2022", None),  # past the first five lines
    ],
)
def test_date_from_text(text: str, published: str | None) -> None:
    doc = document_from_text(text)
    assert (doc.published.isoformat() if doc.published else None) == published
    assert doc.published_source == ("text" if published else None)


@pytest.mark.parametrize(
    ("kwargs", "published", "where"),
    [
        ({"name": "story-2021-03-04.txt"}, "2021-03-04", "filename"),
        ({"name": "story-2021-13-04.txt"}, None, None),
        ({"name": "story-2021-03-04.txt", "published": "2020-02-02"}, "2020-02-02", "argument"),
        ({"published": dt.date(2020, 2, 2)}, "2020-02-02", "argument"),
        ({"published": dt.datetime(2020, 2, 2, 10, 30)}, "2020-02-02", "argument"),
        ({"published": "February 2, 2020"}, "2020-02-02", "argument"),
        ({"published": "2020-02-02T10:00:00Z"}, "2020-02-02", "argument"),
    ],
)
def test_date_sources(kwargs: dict[str, object], published: str | None, where: str | None) -> None:
    doc = document_from_text("Headline\n\nBody text without a date.", **kwargs)  # type: ignore[arg-type]
    assert (doc.published.isoformat() if doc.published else None) == published
    assert doc.published_source == where


def test_text_date_beats_filename(tmp_path: Path) -> None:
    path = tmp_path / "2020-01-01-story.txt"
    path.write_text("Headline\n\nMarch 3, 2021\n\nBody.", encoding="utf-8")
    doc = load_document(path)
    assert (doc.published, doc.published_source) == (dt.date(2021, 3, 3), "text")


# --------------------------------------------------------------------------- language, ids, seed


@pytest.mark.parametrize(
    ("text", "english"),
    [
        (ARTICLE * 3, True),
        ("El gobierno de España anunció hoy que las medidas serán aplicadas en todo el país a "
         "partir del lunes, según fuentes oficiales consultadas por este periódico nacional.", False),
        ("Москва ответила на обвинения Вашингтона. Это важное заявление для всех сторон "
         "конфликта, сказал представитель министерства иностранных дел России сегодня утром.",
         False),
        ("Too short to tell.", True),
    ],
)
def test_looks_english(text: str, english: bool) -> None:
    assert looks_english(text) is english


def test_doc_id_is_content_hash() -> None:
    a = document_from_text("Same text. Here.")
    b = load_document(b"\xef\xbb\xbfSame  text.  Here.\r\n")
    assert a.doc_id == b.doc_id and len(a.doc_id) == 16


@pytest.mark.skipif(not SEED.is_file(), reason="shared seed article not available")
def test_seed_article() -> None:
    doc = load_document(SEED)
    assert len(doc.sentences) == 28
    assert (doc.published, doc.published_source) == (dt.date(2022, 1, 14), "filename")
    assert doc.title is not None and doc.title.startswith("Crossroads of accusations")
    assert doc.source == str(SEED)
    assert looks_english(doc.text)
    assert_grid(doc)


def test_name_labels_bytes() -> None:
    doc = load_document(HTML_PAGE.encode("utf-8"), name="saved-2021-05-06.htm")
    assert doc.source == "saved-2021-05-06.htm"
    assert "SCRIPT-TEXT" not in doc.text
    # The page's own date outranks the file name.
    assert (doc.published, doc.published_source) == (dt.date(2022, 1, 14), "html")
    plain = load_document(b"Body text only, no date.", name="notes-2021-05-06.txt")
    assert (plain.published, plain.published_source) == (dt.date(2021, 5, 6), "filename")


def test_html_parser_failure_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import trafilatura

    def explode(*args: object, **kwargs: object) -> None:
        raise ValueError("lxml said:\nsomething deep\ninside")

    monkeypatch.setattr(trafilatura, "bare_extraction", explode)
    with pytest.raises(InputError, match="could not parse the HTML page") as err:
        document_from_text(HTML_PAGE)
    assert "\n" not in str(err.value)


NEWS_PAGE = Path(__file__).resolve().parent / "data" / "news-page.html"


def test_html_cleaning_dependency_is_installed() -> None:
    """lxml moved its HTML cleaner out (lxml_html_clean); without it every HTML page fails."""
    import lxml.html.clean  # noqa: F401  (imports lxml_html_clean under the hood)
    import lxml_html_clean  # noqa: F401


def test_full_news_page_keeps_the_article_and_drops_the_site(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    doc = load_document(NEWS_PAGE)
    assert doc.title == "Riverside council approves flood barrier after decade of delays"
    assert (doc.published, doc.published_source) == (dt.date(2025, 3, 11), "html")
    for phrase in ("voted 9-4 on Tuesday night", "£48 million", "That ends now,\" said council leader",
                   "£12 million funding gap", "\"under review\"", "410 people were evacuated"):
        assert phrase in doc.text, phrase
    for chrome in ("cookies", "Subscribe", "Comments (37)", "©", "alert(", "Related", "Sign up",
                   "Breaking:", "dataLayer", "river_resident"):
        assert chrome not in doc.text, chrome
    assert len(doc.sentences) == 8

    from test_api_fake import responder

    import assistant.api as api
    from assistant.backends.fake import FakeBackend
    from assistant.cli import app as cli

    monkeypatch.setattr(api, "get_backend", lambda *a, **k: FakeBackend(default=responder))
    assert cli.main(["summarize", str(NEWS_PAGE), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["headline"] and out["key_points"]
    assert {i for p in out["key_points"] for i in p["sentence_ids"]} <= {f"S{n}" for n in range(1, 9)}
