"""The Citewise application object: one object that ingests, lists, deletes and answers.

ui/ (CLI, HTTP, Slack, Gradio) and eval/ talk only to this. It sits above ingest/ and rag/ and
wires them together; clients are passed in or built from settings (citewise/stores.py), never
at import time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citewise.stores import make_client
from rag.answer.generator import Generator
from rag.answer.newer import stale_note
from rag.config import Settings
from rag.errors import InputError, NotFoundError
from rag.language.aliases import expand_query, load_aliases
from rag.language.text import looks_non_english
from rag.records import Answer, DocumentInfo, Filters, Hit, IngestReport, Turn
from rag.retrieval.asof import AsOf
from rag.retrieval.rerank import Reranker
from rag.retrieval.retriever import HybridSearcher
from rag.storage.embedders import make_embedder
from rag.storage.embeddings import Embedder
from rag.storage.store import Index

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable

    from citewise.feeds import FeedInfo, FeedState
    from citewise.protocols import CitewiseApp
    from ingest.feeds import FeedRun
    from rag.retrieval.langchain_retriever import CitewiseRetriever

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000


def check_question(question: str | None) -> str:
    """The question stripped; InputError when it is empty or too long (every front end, and
    the interface tests' double, refuse the same questions with the same message)."""
    question = (question or "").strip()
    if not question:
        raise InputError("The question is empty; ask something about your documents.")
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(f"The question is {len(question)} characters long; keep it under "
                         f"{MAX_QUESTION_CHARS}.")
    return question


class Citewise:
    """Ingest, list, delete and answer. Thread-safe for concurrent questions."""

    def __init__(self, settings: Settings | None = None, *, client: Any = None,
                 embedder: Embedder | None = None, generator: Generator | None = None) -> None:
        self.settings = settings or Settings()
        self.embedder = embedder or make_embedder(self.settings)
        self.client = client if client is not None else make_client(self.settings)
        self.index = Index(self.client, self.embedder, self.settings.collection,
                           cache_dir=Path(self.settings.store),
                           shared=bool(self.settings.chroma_url))
        self.aliases = load_aliases(self.settings.aliases_file) \
            if self.settings.aliases_file else {}
        self.searcher = HybridSearcher(self.index, self.embedder, aliases=self.aliases,
                                       reranker=Reranker() if self.settings.rerank else None)
        if generator is None:
            from rag.answer.registry import make_generator

            generator = make_generator(self.settings, self.embedder)
        self.generator = generator
        self._write_lock = threading.Lock()
        self._feed_state: FeedState | None = None  # opened on first use (feeds.sqlite3)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Citewise:
        return cls(settings or Settings())

    def warm(self) -> None:
        """Load the embedding model now: it loads on first use (so listing documents stays
        fast), and a server's first question should not wait seconds for it."""
        self.embedder.embed_query("warm-up")

    # ---- documents ----------------------------------------------------------------------------
    def ingest(self, paths: Sequence[Path | str], prune: bool = False,
               progress: Callable[[int, int], None] | None = None) -> IngestReport:
        # imported on use: the loaders pull in trafilatura, pypdf and docx (~0.8 s) that
        # `citewise docs` and `ask` never need
        from ingest.pipeline import ingest_paths

        s = self.settings
        with self._write_lock:
            return ingest_paths(self.index, [Path(p) for p in paths], prune=prune,
                                max_bytes=int(s.max_file_mb * 2**20), chunk_tokens=s.chunk_tokens,
                                overlap_tokens=s.chunk_overlap, progress=progress)

    # ---- feeds (ingest/feeds.py reads them, citewise/feeds.py remembers) ---------------------
    def feed_state(self) -> FeedState:
        from citewise.feeds import FeedState

        if self._feed_state is None:
            s = self.settings
            self._feed_state = FeedState(s.feeds_db or Path(s.store) / "feeds.sqlite3")
        return self._feed_state

    def ingest_feeds(self, urls: Sequence[str], prune: bool = False,
                     progress: Callable[[int, int], None] | None = None) -> FeedRun:
        """Follow ``urls`` (RSS, Atom, sitemap.xml) and poll them now, failing ones included."""
        state = self.feed_state()
        for url in urls:
            state.add(url)
        return self._poll(list(urls), prune, progress)

    def refresh_feeds(self, prune: bool = False,
                      progress: Callable[[int, int], None] | None = None) -> FeedRun:
        """Poll the followed feeds that are due (a failing one waits out its backoff)."""
        return self._poll(self.feed_state().due(), prune, progress)

    def feeds(self) -> list[FeedInfo]:
        return self.feed_state().feeds()

    def unfollow_feed(self, url: str) -> None:
        """Stop polling ``url``; its documents stay (`citewise remove` deletes them)."""
        if not self.feed_state().remove(url):
            raise NotFoundError(f"No feed {url!r} is followed; `citewise feeds` lists them.")

    def _poll(self, urls: list[str], prune: bool,
              progress: Callable[[int, int], None] | None) -> FeedRun:
        from ingest.feeds import FeedOptions, poll_feeds

        s = self.settings
        options = FeedOptions(timeout=s.feed_timeout, max_bytes=int(s.feed_max_mb * 2**20),
                              max_items=s.feed_max_items, max_redirects=s.feed_max_redirects,
                              allow_private=s.feed_allow_private)
        # the write lock is taken for the writing only: uploads don't wait for slow feeds
        return poll_feeds(self.index, self.feed_state(), urls, options, prune=prune,
                          chunk_tokens=s.chunk_tokens, overlap_tokens=s.chunk_overlap,
                          progress=progress, write_lock=self._write_lock)

    def documents(self) -> list[DocumentInfo]:
        return self.index.documents()

    def document_text(self, source: str) -> str:
        return self.index.document(source).text

    def delete(self, source: str) -> None:
        from ingest.pipeline import remove_sources

        with self._write_lock:
            if not remove_sources(self.index, [source]):
                raise NotFoundError(f"No document {source!r} in the store; `citewise docs` lists them.")

    def claim_once(self, key: str, ttl: float = 3600.0) -> bool:
        """True the first time ``key`` is claimed by any replica sharing this Chroma server
        (Slack event ids); always True with an embedded store, which one process owns."""
        if not self.index.shared:
            return True
        self._claims_made = getattr(self, "_claims_made", 0) + 1
        if self._claims_made % 500 == 0:
            self.index.prune_claims()
        return self.index.try_claim(f"once:{key}", ttl) is not None

    # ---- answering ----------------------------------------------------------------------------
    def _prepare(self, question: str, history: list[Turn] | None) -> str:
        question = check_question(question)
        if history:
            return self.generator.condense(question, history)
        return question

    def retrieve(self, question: str, k: int | None = None, filters: Filters | None = None,
                 when: AsOf | None = None) -> list[Hit]:
        # Acronyms the documents define are searched in both forms ("PBC" finds
        # "public benefit corporation"); the answer step sees the question as asked.
        query = expand_query(question, {**self.aliases, **self.index.aliases()})
        return self.searcher.search(query, k or self.settings.k, filters, when)

    def as_of(self, question: str, day: str | date | None = None) -> tuple[AsOf, str]:
        """The question's as-of date (default today) and the window its time words point at,
        with a note for the answer. A window that holds no stored document is dropped (the
        note says so; all dates are searched); in a store without dates there is none."""
        from rag.retrieval.filters import parse_day

        if isinstance(day, str):
            day = date.fromisoformat(parse_day(day, "as_of"))
        when = AsOf.of(question, day or date.today())
        window = when.window
        if window is None:
            return when, ""
        records = self.index.records()
        if not any(r.published for r in records.values()):
            return AsOf(when.day), ""
        if not when.inside(records):
            return AsOf(when.day), (f"No stored document was published {window.describe()}, "
                                    f"as of {when.day.isoformat()}; documents of any date "
                                    "were searched.")
        return when, (f"Documents published {window.describe()}, as of "
                      f"{when.day.isoformat()}, were preferred.")

    def validate(self, k: int | None, filters: Filters | None) -> tuple[Filters | None, str]:
        """Refuse a bad ``k`` or filter (the same for CLI and API); returns the checked filters
        and a note for the answer (undated documents a date filter left out)."""
        from rag.retrieval.filters import check_filters, check_k

        check_k(k)
        if filters is None or filters.is_empty():
            return None, ""
        published = {s: r.published for s, r in self.index.records().items()}
        return check_filters(filters, published)

    def ask(self, question: str, history: list[Turn] | None = None, k: int | None = None,
            filters: Filters | None = None, as_of: str | date | None = None) -> Answer:
        started = time.perf_counter()
        standalone = self._prepare(question, history)
        filters, note = self.validate(k, filters)
        when, time_note = self.as_of(standalone, as_of)
        hits = self.retrieve(standalone, k, filters, when)
        answer = self.generator.generate(standalone, hits, history)
        return self._finish(answer, question, standalone, started, f"{note} {time_note}", when)

    def search(self, query: str, k: int | None = None, filters: Filters | None = None,
               as_of: str | date | None = None) -> list[Hit]:
        """The passages ``ask`` would answer ``query`` from, best first, with the same
        checks, dates and time words; for tools that read the passages themselves."""
        query = check_question(query)
        filters, _ = self.validate(k, filters)
        when, _ = self.as_of(query, as_of)
        return self.retrieve(query, k, filters, when)

    def stream(self, question: str, history: list[Turn] | None = None, k: int | None = None,
               filters: Filters | None = None,
               as_of: str | date | None = None) -> Iterator[str | Answer]:
        """Answer text pieces as they are ready, then the final Answer."""
        started = time.perf_counter()
        standalone = self._prepare(question, history)
        filters, note = self.validate(k, filters)
        when, time_note = self.as_of(standalone, as_of)
        hits = self.retrieve(standalone, k, filters, when)
        for piece in self.generator.stream(standalone, hits, history):
            if isinstance(piece, Answer):
                yield self._finish(piece, question, standalone, started, f"{note} {time_note}",
                                   when)
            else:
                yield piece

    @staticmethod
    def _finish(answer: Answer, question: str, standalone: str, started: float,
                note: str = "", when: AsOf | None = None) -> Answer:
        if answer.abstained and looks_non_english(question):
            note = ("This question does not look like English; citewise matches questions "
                    f"against the documents' English text, so ask it in English. {note}").strip()
        answer.question = question
        answer.standalone_question = standalone
        answer.latency_ms = (time.perf_counter() - started) * 1000
        if when is not None:
            answer.as_of = when.day.isoformat()
            answer.window = when.window.describe() if when.window else ""
            if not answer.abstained:  # "now" answered from old articles: say how old
                dates = [c.published for c in answer.citations]
                note = f"{note} {stale_note(standalone, dates, answer.as_of)}"
        note = note.strip()
        if note:
            answer.note = f"{answer.note} {note}".strip()
        for c in answer.citations:  # the Markdown heading each quote falls under
            for hit in answer.contexts:
                ch = hit.chunk
                if not c.section and ch.source == c.source and ch.start <= c.start < ch.end:
                    c.section = ch.section_at(c.start)
        return answer

    # ---- LangChain ----------------------------------------------------------------------------
    def retriever(self, k: int | None = None, filters: Filters | None = None) -> CitewiseRetriever:
        from rag.retrieval.langchain_retriever import CitewiseRetriever

        return CitewiseRetriever(searcher=self.searcher, k=k or self.settings.k, filters=filters)

    def runnable(self) -> Runnable[Any, Answer]:
        """A LangChain Runnable: {"question", "history"?} (or a plain string) -> Answer."""
        from langchain_core.runnables import RunnableLambda

        def _run(inp: Any) -> Answer:
            if isinstance(inp, str):
                return self.ask(inp)
            history = [Turn(**t) if isinstance(t, dict) else t for t in inp.get("history") or []]
            return self.ask(inp["question"], history=history, k=inp.get("k"))

        return RunnableLambda(_run, name="citewise")


if TYPE_CHECKING:
    def _implements_the_interfaces_contract(cw: Citewise) -> CitewiseApp:
        """Never run: mypy checks here that Citewise is a CitewiseApp (citewise/protocols.py)."""
        return cw
