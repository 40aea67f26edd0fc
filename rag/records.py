"""Typed records that cross module boundaries.

Raw Chroma dicts are converted to these in exactly one place (rag/storage/store.py).
All character offsets refer to ``Document.text``: the cleaned text that the store keeps.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.language.tables import Table
    from rag.sentence_vectors import SentenceVectors


@dataclass
class Document:
    """One article after loading and cleaning."""

    source: str  # stable id: path relative to the ingested root, or a feed's id/url
    text: str  # cleaned text; every offset in citewise points into this string
    title: str = ""
    url: str = ""
    published: str = ""  # ISO date (YYYY-MM-DD) or ""
    authors: list[str] = field(default_factory=list)
    pages: list[int] = field(default_factory=list)  # start offset of each page (PDF); page n = i+1
    path: str = ""  # the file it was read from, for messages
    ingested_at: str = ""  # set by the store
    # Markdown headings as (offset where the heading starts, its title), in text order
    sections: list[tuple[int, str]] = field(default_factory=list)
    # where ``published`` came from: "metadata" (the page's or feed's own), "title or first
    # line" (a date the document states), "" when undated; never a file's created date
    dated_by: str = ""

    @property
    def content_hash(self) -> str:
        """Hash of everything that ends up in the index, so unchanged documents are skipped."""
        fields: list[Any] = [self.text, self.title, self.url, self.published, self.authors,
                             self.pages]
        if self.sections:  # only when present, so documents without headings keep their hash
            fields.append([list(s) for s in self.sections])
        if self.tables:  # stores from before tables were units re-read such documents
            fields.append("tables:1")
        payload = json.dumps(fields, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    @property
    def tables(self) -> tuple[Table, ...]:
        """The pipe tables of the text, each with its column headings (rag/language/tables.py)."""
        from rag.language.tables import find_tables

        return find_tables(self.text)

    def page_at(self, offset: int) -> int | None:
        """1-based page number that holds ``offset``, or None when the document has no pages."""
        if not self.pages:
            return None
        page = 1
        for i, start in enumerate(self.pages):
            if start <= offset:
                page = i + 1
            else:
                break
        return page

    def sections_for(self, start: int, end: int) -> list[tuple[int, str]]:
        """The headings a span needs: the one in effect at ``start`` and those inside it."""
        before = [s for s in self.sections if s[0] <= start]
        inside = [s for s in self.sections if start < s[0] < end]
        return before[-1:] + inside


def section_at(sections: list[tuple[int, str]], offset: int) -> str:
    """Title of the last heading at or before ``offset`` ("" when there is none)."""
    title = ""
    for start, name in sections:
        if start > offset:
            break
        title = name
    return title


@dataclass
class Chunk:
    """A span of a document's cleaned text that is embedded and indexed as one unit."""

    id: str
    source: str
    ordinal: int
    start: int
    end: int
    text: str
    page: int | None = None
    # Vectors of its sentences from the ingest forward pass (rag/sentence_vectors.py); None for
    # chunks stored without them, whose sentences the answerer embeds when asked.
    sentence_vectors: SentenceVectors | None = field(default=None, compare=False, repr=False)
    # Markdown headings over this span as (offset, title): the one in effect at ``start`` first
    sections: list[tuple[int, str]] = field(default_factory=list, compare=False)
    # the tables this span overlaps, so each row is read with its column headings
    tables: list[Table] = field(default_factory=list, compare=False)

    @property
    def index_prefix(self) -> str:
        """What is embedded before the text: the headings of a table this chunk continues
        (a big table's later rows mean nothing without them)."""
        return "\n".join(t.heading_line() for t in self.tables if t.start < self.start) \
            if self.tables else ""

    def section_at(self, offset: int) -> str:
        """The heading (section title) a position in this chunk falls under, or ""."""
        return section_at(self.sections, offset)

    @staticmethod
    def make_id(source: str, start: int, end: int, text: str) -> str:
        """Ids derive from content and position, so they never duplicate and re-ingest is a no-op."""
        h = hashlib.sha256(f"{source}\x00{start}\x00{end}\x00{text}".encode()).hexdigest()
        return h[:32]


@dataclass
class Hit:
    """A retrieved chunk with its fused score and the metadata of its document."""

    chunk: Chunk
    score: float
    title: str = ""
    url: str = ""
    published: str = ""
    dense_rank: int | None = None
    sparse_rank: int | None = None
    dense_score: float | None = None  # cosine similarity
    sparse_score: float | None = None  # BM25
    aliases: dict[str, str] = field(default_factory=dict, repr=False)  # of its document
    voice: list[str] = field(default_factory=list, repr=False)  # whom its document's "we" means

    def to_context(self) -> dict[str, Any]:
        return {
            "source": self.chunk.source,
            "title": self.title,
            "section": self.chunk.section_at(self.chunk.start),
            "text": self.chunk.text,
            "score": round(float(self.score), 6),
            "start": self.chunk.start,
            "end": self.chunk.end,
        }


@dataclass
class Citation:
    """An exact quote: ``quote == document.text[start:end]`` always holds."""

    n: int
    source: str
    title: str
    url: str
    quote: str
    start: int
    end: int
    published: str = ""
    page: int | None = None
    section: str = ""  # the Markdown heading the quote falls under
    table: str = ""  # a quoted table row: its table's caption and column headings

    @classmethod
    def from_span(cls, n: int, hit: Hit, start: int, end: int, quote: str) -> Citation:
        """Citation ``n`` of the span ``start:end`` (document offsets) of ``hit``'s document,
        with the document's metadata. Both answer backends cite through here."""
        return cls(n=n, source=hit.chunk.source, title=hit.title, url=hit.url, quote=quote,
                   start=start, end=end, published=hit.published, page=hit.chunk.page)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "section": self.section,
            "source": self.source,
            "title": self.title,
            "url": self.url,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "published": self.published,
            "page": self.page,
            "table": self.table,
        }


@dataclass
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str = ""


MAX_QUOTED_QUESTION = 150


def abstention_text(question: str, hits: list[Hit] | None = None) -> str:
    """'The articles don't answer “Who founded Tesla?”.' - one fixed form whatever the question;
    "documents" unless every passage found comes from a news article (one with a date or URL)."""
    q = " ".join(question.split()).rstrip("?.! ")
    if len(q) > MAX_QUOTED_QUESTION:
        q = q[:MAX_QUOTED_QUESTION].rsplit(" ", 1)[0] + "…"
    news = bool(hits) and all(h.published or h.url for h in hits or [])
    noun = "articles" if news else "documents"
    return f"The {noun} don't answer “{q}?”." if q else f"The {noun} don't answer that."


# In every note of an LLM-mode answer given without the model's text (a failure, a timeout,
# nothing supported): what eval counts as a fallback.
FALLBACK_NOTE = "this answer quotes the documents directly"


@dataclass
class Answer:
    """What every front end renders: the answer text with [n] markers and its citations."""

    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    contexts: list[Hit] = field(default_factory=list)
    related: list[Hit] = field(default_factory=list)  # closest passages shown on abstention
    latency_ms: float = 0.0
    standalone_question: str = ""  # the question after follow-up resolution
    note: str = ""  # for the user, e.g. why the model's text isn't shown (see FALLBACK_NOTE)
    id: Any = None
    # generated sentences the citation verifier removed (LLM answers; the note says so too)
    removed_sentences: int = 0
    as_of: str = ""  # the day the question was answered as of (ISO)
    window: str = ""  # the publication dates its time words pointed at, when they were used

    @classmethod
    def abstention(cls, question: str, hits: list[Hit], **extra: Any) -> Answer:
        """"Not found", in one fixed form, with the closest passages listed as related (never
        as citations). Both answer backends build their abstentions here."""
        text = abstention_text(question, hits)
        # where the closest passages are shown is each front end's to say (below in the CLI and
        # Slack, beside the chat on a desktop)
        text += "" if hits else " No passage matched the question."
        return cls(question=question, answer=text, abstained=True, citations=[],
                   contexts=list(hits), related=list(hits[:3]), **extra)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON contract of `citewise ask --json` and `POST /api/ask`."""
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "contexts": [h.to_context() for h in self.contexts],
            "related": [h.to_context() for h in self.related],
            "standalone_question": self.standalone_question,
            "note": self.note,
            "removed_sentences": self.removed_sentences,
            "as_of": self.as_of,
            "window": self.window,
            "latency_ms": round(self.latency_ms, 2),
        }


def as_dict(obj: Any) -> dict[str, Any]:
    return asdict(obj)


@dataclass
class Filters:
    """Metadata filters usable from the API: restrict to sources and/or a published-date range."""

    sources: list[str] | None = None
    date_from: str | None = None  # ISO date, inclusive
    date_to: str | None = None  # ISO date, inclusive

    def is_empty(self) -> bool:
        return not (self.sources or self.date_from or self.date_to)


@dataclass
class DocumentInfo:
    """A stored document as listed by `citewise docs`, the API and the Documents tab."""

    source: str
    title: str
    url: str
    published: str
    authors: list[str]
    chunks: int
    ingested_at: str
    content_hash: str
    dated_by: str = ""  # where the published date came from (Document.dated_by)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class IngestReport:
    """Outcome of one ingest run; the CLI prints it and exits non-zero when anything failed."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)
    chunks_embedded: int = 0
    tokens_embedded: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["failed"] = [{"where": w, "reason": r} for w, r in self.failed]
        return d
