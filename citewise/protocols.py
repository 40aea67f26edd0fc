"""`CitewiseApp`: what the interfaces (ui/: CLI, JSON API, Slack, chat, server) need from the
application object, and nothing more.

The real `Citewise` implements it, and so does the test double the interface tests run on
(tests/ui/conftest.py `FakeCitewise`). mypy checks both against this one definition (`make
lint`), so a method the interfaces start to use, or a changed parameter, fails type checking
instead of passing against a stale fake.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rag.config import Settings
from rag.records import Answer, DocumentInfo, Filters, Hit, IngestReport, Turn

if TYPE_CHECKING:
    from citewise.feeds import FeedInfo
    from ingest.feeds import FeedRun


class CitewiseApp(Protocol):
    """Ingest, list, delete and answer; the interfaces hold one and call nothing else."""

    settings: Settings

    def ingest(self, paths: Sequence[Path | str], prune: bool = False,
               progress: Callable[[int, int], None] | None = None) -> IngestReport:
        """Add or update the documents under ``paths``; ``prune`` drops those whose files are
        gone. Failures are reported per file, not raised."""
        ...

    def ingest_feeds(self, urls: Sequence[str], prune: bool = False,
                     progress: Callable[[int, int], None] | None = None) -> FeedRun:
        """Follow these feeds and poll them now; failures are reported per feed and item."""
        ...

    def feeds(self) -> list[FeedInfo]:
        """The followed feeds and how their last polls went."""
        ...

    def documents(self) -> list[DocumentInfo]:
        """Every stored document, sorted by source id."""
        ...

    def document_text(self, source: str) -> str:
        """The stored (cleaned) text citations are offsets into; NotFoundError if absent."""
        ...

    def delete(self, source: str) -> None:
        """Remove a document so it is never cited again; NotFoundError if absent."""
        ...

    def ask(self, question: str, history: list[Turn] | None = None, k: int | None = None,
            filters: Filters | None = None, as_of: str | date | None = None) -> Answer:
        """The answer with exact-quote citations, or an abstention, as of a day (default
        today); InputError on a bad question, ``k``, filter or date."""
        ...

    def stream(self, question: str, history: list[Turn] | None = None, k: int | None = None,
               filters: Filters | None = None,
               as_of: str | date | None = None) -> Iterator[str | Answer]:
        """Text pieces as they are ready, then the final Answer (the one ``ask`` returns)."""
        ...

    def search(self, query: str, k: int | None = None, filters: Filters | None = None,
               as_of: str | date | None = None) -> list[Hit]:
        """The passages ``ask`` would answer from, best first (the MCP ``search`` tool)."""
        ...

    def claim_once(self, key: str, ttl: float = 3600.0) -> bool:
        """True the first time ``key`` is claimed by any replica (Slack event ids)."""
        ...
