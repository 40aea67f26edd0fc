"""News feeds as a source of documents: RSS 2.0, Atom and sitemap.xml (issue 26).

One poll reads each feed (conditional GET), fetches the pages of its new or changed items
(ingest/fetch.py: address, robots.txt, size, time and redirect checks), cleans them like an HTML
file and ingests them with the feed's metadata: its title, link, published date and authors (the
page's own only where the feed has none). What a poll learned (validators, each item's
last-seen marker, robots.txt) is kept by the caller (citewise/feeds.py: a SQLite file beside the
store), so an unchanged
poll costs one request per feed and embeds nothing. Items that leave a feed stay, as a news
archive does, unless ``prune`` is asked for. Everything is fetched before the store's write lock
is taken; a feed or page that fails is reported and loses nothing already stored.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

from ingest.fetch import Fetched, Fetcher
from ingest.loaders.base import LoadFailure
from ingest.loaders.meta import authors as author_list
from ingest.loaders.meta import iso_date, one_line
from rag.errors import LoadError
from rag.records import Document, IngestReport

log = logging.getLogger(__name__)

MAX_CHILD_SITEMAPS = 20  # of a sitemap index, per poll
_SITEMAP = re.compile(rb"<(?:[\w.-]+:)?(urlset|sitemapindex)\b")
_NOT_PAGES = ("application/pdf", "image/", "audio/", "video/", "application/zip",
              "application/octet-stream", "font/")



# ---- parsing ------------------------------------------------------------------------------------
@dataclass
class FeedItem:
    """One entry of a feed (or URL of a sitemap), with the metadata the feed gives."""

    url: str
    title: str = ""
    published: str = ""  # YYYY-MM-DD
    authors: list[str] = field(default_factory=list)
    marker: str = ""  # changes when the item does (its updated/published stamp, lastmod)


def parse_feed(body: bytes, url: str) -> tuple[list[FeedItem], list[str]]:
    """(items, child sitemaps) of an RSS, Atom or sitemap document; LoadError naming ``url``
    when it is none of them. XML that declares entities is refused (defusedxml)."""
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    head = body[:4096]
    try:
        root = SafeET.fromstring(body) if _SITEMAP.search(head) else None
    except DefusedXmlException as exc:
        raise LoadError(url, f"the XML declares entities, which citewise refuses ({exc})") from exc
    except SafeET.ParseError as exc:
        raise LoadError(url, f"malformed sitemap XML ({exc})") from exc
    if root is not None:
        return _sitemap(root, url)
    return _rss_or_atom(body, url), []


def _sitemap(root: Any, url: str) -> tuple[list[FeedItem], list[str]]:
    local = root.tag.rsplit("}", 1)[-1]
    items, children = [], []
    for node in root:
        name = node.tag.rsplit("}", 1)[-1]
        fields = {c.tag.rsplit("}", 1)[-1]: (c.text or "").strip() for c in node}
        loc = fields.get("loc", "")
        if not loc:
            continue
        if local == "sitemapindex" and name == "sitemap":
            children.append(loc)
        elif name == "url":
            lastmod = fields.get("lastmod", "")
            items.append(FeedItem(loc, published=iso_date(lastmod), marker=lastmod))
    return items, children


def _rss_or_atom(body: bytes, url: str) -> list[FeedItem]:
    import defusedxml.ElementTree as SafeET
    import feedparser
    from defusedxml import DefusedXmlException

    try:  # entity declarations are refused before feedparser's own parser sees the text
        SafeET.fromstring(body)
    except DefusedXmlException as exc:
        raise LoadError(url, f"the XML declares entities, which citewise refuses ({exc})") from exc
    except SafeET.ParseError:
        pass  # malformed: feedparser reads what it can and says so (bozo)
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    entries = parsed.get("entries", [])
    if not entries and (parsed.get("bozo") or not parsed.get("version")):
        why = parsed.get("bozo_exception") or "no RSS, Atom or sitemap element"
        raise LoadError(url, f"not a readable RSS, Atom or sitemap document ({one_line(str(why))})")
    if parsed.get("bozo"):
        log.warning("feed %s is malformed (%s); read the %d item(s) it could", url,
                    one_line(str(parsed.get("bozo_exception"))), len(entries))
    items = []
    for e in entries:
        link = e.get("link") or ""
        if not link:
            continue
        stamp = e.get("published_parsed") or e.get("updated_parsed")
        published = time.strftime("%Y-%m-%d", stamp) if stamp else ""
        names = [a.get("name", "") for a in e.get("authors", []) if isinstance(a, dict)]
        names = [n for n in names if n] or author_list(e.get("author"))
        marker = str(e.get("updated") or e.get("published") or "")
        if stamp and not marker:
            marker = str(calendar.timegm(stamp))
        items.append(FeedItem(link, one_line(e.get("title")), published, names, marker))
    return items


# ---- what a poll remembers (citewise/feeds.py keeps it in SQLite) ------------------------------
class FeedMemory(Protocol):
    """Validators, item markers and robots.txt from earlier polls."""

    def feed(self, url: str) -> dict[str, Any]: ...  # etag, last_modified, body_hash, failures

    def pages(self, feed: str) -> dict[str, tuple[str, str, str]]: ...  # url -> marker, etag, lm

    def robots(self) -> dict[str, tuple[float, str]]: ...

    def save(self, polls: list[FeedPoll], robots: dict[str, tuple[float, str]]) -> None: ...


# ---- one poll ----------------------------------------------------------------------------------
@dataclass
class FeedPoll:
    """What polling one feed found: its items, the documents to ingest, the failures."""

    url: str
    failures: int = 0  # before this poll
    fetched: Fetched | None = None
    body_hash: str = ""
    items: list[FeedItem] = field(default_factory=list)
    documents: list[Document | LoadFailure] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # item URLs, not re-fetched
    pages: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # read this poll
    pruned: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def complete(self) -> bool:
        """The whole item list was read (so items missing from it have left the feed)."""
        return not self.error and self.fetched is not None and not self.fetched.unchanged


@dataclass
class FeedRun:
    """The outcome of a poll over several feeds (`citewise ingest --feed`, the refresher)."""

    report: IngestReport
    polls: list[FeedPoll]
    requests: int

    def to_dict(self) -> dict[str, Any]:
        return {**self.report.to_dict(), "requests": self.requests,
                "feeds": [{"url": p.url, "ok": not p.error, "error": p.error,
                           "items": len(p.items),
                           "changed": p.fetched is not None and not p.fetched.unchanged}
                          for p in self.polls]}


@dataclass
class FeedOptions:
    timeout: float = 20.0
    max_bytes: int = 5 * 2**20
    max_items: int = 100
    max_redirects: int = 5
    allow_private: str = ""


class FeedReader:
    """Polls feeds: network only, nothing written (see ``poll_feeds`` for the whole run)."""

    def __init__(self, state: FeedMemory, options: FeedOptions, stored: set[str],
                 fetcher: Fetcher | None = None) -> None:
        self.state = state
        self.options = options
        self.stored = stored  # sources in the store now
        self.fetcher = fetcher or Fetcher(
            timeout=options.timeout, max_bytes=options.max_bytes,
            max_redirects=options.max_redirects, allow_private=options.allow_private,
            robots=state.robots())

    def poll(self, url: str) -> FeedPoll:
        known = self.state.feed(url)
        poll = FeedPoll(url, failures=int(known["failures"] or 0))
        try:
            poll.fetched = self.fetcher.get(url, known["etag"], known["last_modified"])
            if poll.fetched.unchanged:  # its items as last read: all unchanged
                poll.unchanged = [u for u in self.state.pages(url) if u in self.stored]
                log.info("feed %s: unchanged (HTTP 304)", url)
                return poll
            poll.body_hash = hashlib.sha256(poll.fetched.body).hexdigest()
            poll.items = self._items(poll.fetched)[: self.options.max_items]
        except LoadError as exc:
            poll.error = exc.reason
            log.warning("feed %s failed: %s; it is tried again later", url, exc.reason)
            return poll
        same_body = bool(known["body_hash"]) and known["body_hash"] == poll.body_hash
        pages = self.state.pages(url)
        for item in poll.items:
            before = pages.get(item.url)
            if before is not None and item.url in self.stored and (
                    same_body or (item.marker and before[0] == item.marker)):
                poll.unchanged.append(item.url)
                continue
            doc = self._page(item, before, poll)
            if doc is not None:
                poll.documents.append(doc)
        log.info("feed %s: %d item(s), %d to read, %d unchanged", url, len(poll.items),
                 len(poll.documents), len(poll.unchanged))
        return poll

    def _items(self, fetched: Fetched) -> list[FeedItem]:
        items, children = parse_feed(fetched.body, fetched.url)
        for child in children[:MAX_CHILD_SITEMAPS]:
            try:
                sub, _ = parse_feed(self.fetcher.get(child).body, child)
            except LoadError as exc:
                log.warning("sitemap %s skipped: %s", child, exc.reason)
                continue
            items.extend(sub)
        return items

    def _page(self, item: FeedItem, before: tuple[str, str, str] | None,
              poll: FeedPoll) -> Document | LoadFailure | None:
        """The item's page as a Document; a LoadFailure naming it; None when unchanged."""
        from ingest.loaders.html import html_document

        etag, modified = (before[1], before[2]) if before and item.url in self.stored else ("", "")
        try:
            page = self.fetcher.get(item.url, etag, modified)
            if page.unchanged:
                poll.unchanged.append(item.url)
                poll.pages[item.url] = (item.marker, etag, modified)
                return None
            kind = page.content_type.split(";", 1)[0].strip().lower()
            if kind.startswith(_NOT_PAGES):
                raise LoadError(item.url, f"not a web page ({kind}); feeds are read as HTML")
            doc = html_document(page.body, item.url, item.url)
            if not doc.text.strip():
                raise LoadError(item.url, "empty page (no text after cleaning)")
        except LoadError as exc:
            log.warning("feed %s: item %s skipped: %s", poll.url, item.url, exc.reason)
            return LoadFailure(item.url, exc.reason)
        # the feed's metadata first; the page's own only where the feed has none
        doc.url = item.url
        doc.title = item.title or doc.title
        if item.published:
            doc.published, doc.dated_by = item.published, "metadata"
        doc.authors = item.authors or doc.authors
        poll.pages[item.url] = (item.marker, page.etag, page.last_modified)
        return doc


def poll_feeds(index: Any, state: FeedMemory, urls: list[str], options: FeedOptions, *,
               prune: bool = False, chunk_tokens: int = 200, overlap_tokens: int = 30,
               progress: Callable[[int, int], None] | None = None,
               fetcher: Fetcher | None = None,
               write_lock: AbstractContextManager[Any] | None = None) -> FeedRun:
    """Poll ``urls``, ingest what is new or changed, remember what was learned. With
    ``prune``, documents of items that left a (completely read) feed are deleted.
    ``write_lock`` (the application's) is held only while writing, not while fetching."""
    from ingest.pipeline import Ingestor

    started = time.perf_counter()
    report = IngestReport()
    stored = set(index.records())
    reader = FeedReader(state, options, stored, fetcher)
    try:
        polls = [reader.poll(url) for url in dict.fromkeys(urls)]
    finally:
        reader.fetcher.close()
    for p in polls:
        if p.error:
            report.failed.append((p.url, p.error))
        report.unchanged.extend(p.unchanged)

    # embedded before the write session: asks that read the store wait for the writes only
    ingestor = Ingestor(index, chunk_tokens, overlap_tokens)
    batches = ingestor.embed_all((d for p in polls for d in p.documents), report, progress)
    with write_lock or nullcontext(), index.writing():
        ingestor.write_all(batches, report)
        if progress:
            progress(len(report.added) + len(report.updated) + len(report.unchanged),
                     report.chunks_embedded)
        if prune:
            _prune(index, state, polls, report)
    state.save(polls, reader.fetcher.robots)
    report.seconds = time.perf_counter() - started
    log.info("feeds polled: %d request(s); %d added, %d updated, %d unchanged, %d failed",
             reader.fetcher.requests, len(report.added), len(report.updated),
             len(report.unchanged), len(report.failed))
    return FeedRun(report, polls, reader.fetcher.requests)


def _prune(index: Any, state: FeedMemory, polls: list[FeedPoll], report: IngestReport) -> None:
    records = index.records()
    for p in polls:
        if not p.complete:
            continue
        current = {i.url for i in p.items}
        gone = [u for u in state.pages(p.url) if u not in current]
        present = [u for u in gone if u in records]
        if present:
            index.delete_documents(present)
            report.removed.extend(present)
        p.pruned = gone
