"""An article as the library holds it: text, metadata and the sentence grid S1..Sn."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class Sentence(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Sentence id, S1..Sn, global to the document.")
    index: int = Field(description="1-based sentence number (the n in Sn).")
    start: int = Field(description="Character offset of the first character in Document.text.")
    end: int = Field(description="Character offset one past the last character in Document.text.")
    text: str = Field(description="Exactly Document.text[start:end].")
    paragraph: int = Field(0, description="0-based paragraph number the sentence belongs to.")


class Document(BaseModel):
    """An article after intake: clean text plus its sentence grid (the grounding system)."""

    text: str = Field(description="The article text every offset refers to.")
    sentences: list[Sentence] = Field(description="Sentences S1..Sn in reading order.")
    title: str | None = Field(None, description="Title, given or taken from the first line.")
    outlet: str | None = Field(None, description="Publisher or outlet name.")
    url: str | None = Field(None, description="Source URL.")
    published: dt.date | None = Field(None, description="Publication date.")
    published_source: str | None = Field(
        None, description="Where the date came from: argument, text, html or filename."
    )
    source: str | None = Field(None, description="Path or '-' the article was read from.")
    doc_id: str = Field("", description="Content hash of text (sha256, first 16 hex digits).")

    def sentence(self, sid: str | int) -> Sentence:
        index = sid if isinstance(sid, int) else int(str(sid).lstrip("Ss"))
        if not 1 <= index <= len(self.sentences):
            raise KeyError(f"S{index}")
        return self.sentences[index - 1]

    def has_sentence(self, sid: str | int) -> bool:
        try:
            self.sentence(sid)
        except (KeyError, ValueError):
            return False
        return True




class Quote(BaseModel):
    """Exact source words: `Document.text[start:end] == text`, checked by code."""

    sentence_id: str = Field(description="Id of the sentence the quote comes from.")
    text: str = Field(description="The exact words of the article.")
    start: int = Field(description="Character offset of the quote in Document.text.")
    end: int = Field(description="Character offset one past the quote's end.")




class DocumentInfo(BaseModel):
    title: str | None = Field(None, description="Article title.")
    outlet: str | None = Field(None, description="Outlet.")
    url: str | None = Field(None, description="URL.")
    published: dt.date | None = Field(None, description="Publication date.")
    source: str | None = Field(None, description="Where it was read from.")
    doc_id: str = Field(description="Content hash of the article text.")
    sentences: int = Field(description="Number of sentences.")

    @classmethod
    def of(cls, doc: Document) -> DocumentInfo:
        return cls(
            title=doc.title, outlet=doc.outlet, url=doc.url, published=doc.published,
            source=doc.source, doc_id=doc.doc_id, sentences=len(doc.sentences),
        )
