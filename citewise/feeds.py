"""The feeds a store follows, what their polls learned, and the refresher that polls them.

ingest/feeds.py reads feeds and pages; this module remembers (a SQLite file, default
STORE/feeds.sqlite3, that replicas may share like the feedback log) and schedules: `citewise
watch --every 30m` and `citewise serve --refresh-feeds 30m` run a Refresher. Of several
processes on one store only one refreshes at a time: it holds a claim in the store (Index's
claims, the same mechanism as the write lock), renewed every poll; if it dies the claim expires
and another takes over. A feed that fails is retried with a growing wait (1 minute, doubling, at
most 6 hours), logged once per failure.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citewise.sqlite_file import SqliteFile
from rag.errors import InputError

if TYPE_CHECKING:
    from ingest.feeds import FeedPoll, FeedRun

log = logging.getLogger(__name__)

MAX_BACKOFF = 6 * 3600.0  # a failing feed is tried at least this often
FIRST_BACKOFF = 60.0
REFRESHER_CLAIM = "feeds-refresher"
_EVERY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY, added_at REAL, etag TEXT DEFAULT '', last_modified TEXT DEFAULT '',
    body_hash TEXT DEFAULT '', polled_at REAL DEFAULT 0, ok_at REAL DEFAULT 0,
    failures INTEGER DEFAULT 0, next_try REAL DEFAULT 0, last_error TEXT DEFAULT '',
    items INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY, feed TEXT, marker TEXT DEFAULT '', etag TEXT DEFAULT '',
    last_modified TEXT DEFAULT '');
CREATE TABLE IF NOT EXISTS robots (origin TEXT PRIMARY KEY, read_at REAL, body TEXT);
"""


def parse_every(text: str) -> float:
    """Seconds from "30m", "2h", "90s", "1d" or a number of seconds; InputError otherwise."""
    m = _EVERY.match(text or "")
    if not m or float(m.group(1)) <= 0:
        raise InputError(f"{text!r} is not an interval; write it like 30m, 2h, 90s or 1d.")
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


@dataclass
class FeedInfo:
    """A registered feed and how its last polls went (`citewise feeds`, GET /api/feeds)."""

    url: str
    added_at: float
    polled_at: float
    ok_at: float
    failures: int
    next_try: float
    last_error: str
    items: int

    def to_dict(self) -> dict[str, Any]:
        def stamp(t: float) -> str:
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) if t else ""

        return {"url": self.url, "added_at": stamp(self.added_at),
                "polled_at": stamp(self.polled_at), "ok_at": stamp(self.ok_at),
                "failures": self.failures, "next_try": stamp(self.next_try),
                "last_error": self.last_error, "items": self.items}


class FeedState:
    """The feeds file (default STORE/feeds.sqlite3): registered feeds, validators, markers."""

    def __init__(self, path: Path) -> None:
        self.file = SqliteFile(path, SCHEMA, "the feeds file", "CITEWISE_FEEDS_DB")

    def add(self, url: str) -> None:
        with self.file.db() as con:
            con.execute("INSERT OR IGNORE INTO feeds (url, added_at) VALUES (?, ?)",
                        (url, time.time()))

    def remove(self, url: str) -> bool:
        with self.file.db() as con:
            gone = con.execute("DELETE FROM feeds WHERE url = ?", (url,)).rowcount
            con.execute("DELETE FROM pages WHERE feed = ?", (url,))
        return bool(gone)

    def due(self, now: float | None = None) -> list[str]:
        """Registered feeds not waiting out a failure."""
        now = time.time() if now is None else now
        return [f.url for f in self.feeds() if f.next_try <= now]

    def feeds(self) -> list[FeedInfo]:
        with self.file.db() as con:
            rows = con.execute("SELECT url, added_at, polled_at, ok_at, failures, next_try, "
                               "last_error, items FROM feeds ORDER BY added_at").fetchall()
        return [FeedInfo(*row) for row in rows]

    def feed(self, url: str) -> dict[str, Any]:
        with self.file.db() as con:
            row = con.execute("SELECT etag, last_modified, body_hash, failures FROM feeds "
                              "WHERE url = ?", (url,)).fetchone()
        keys = ("etag", "last_modified", "body_hash", "failures")
        return dict(zip(keys, row, strict=True)) if row else dict.fromkeys(keys, "") | {
            "failures": 0}

    def pages(self, feed: str) -> dict[str, tuple[str, str, str]]:
        """url -> (marker, etag, last_modified) of the items last read from ``feed``."""
        with self.file.db() as con:
            rows = con.execute("SELECT url, marker, etag, last_modified FROM pages WHERE feed = ?",
                               (feed,)).fetchall()
        return {u: (m, e, lm) for u, m, e, lm in rows}

    def robots(self) -> dict[str, tuple[float, str]]:
        with self.file.db() as con:
            return {o: (t, b) for o, t, b in con.execute("SELECT origin, read_at, body FROM robots")}

    def save(self, polls: list[FeedPoll], robots: dict[str, tuple[float, str]]) -> None:
        """Record what the polls learned, after their documents are stored (so a crash before
        that re-reads them next time instead of taking them for unchanged)."""
        now = time.time()
        with self.file.db() as con:
            for p in polls:
                con.execute("INSERT OR IGNORE INTO feeds (url, added_at) VALUES (?, ?)",
                            (p.url, now))
                if p.error:
                    failures = p.failures + 1
                    wait = min(FIRST_BACKOFF * 2 ** (failures - 1), MAX_BACKOFF)
                    con.execute("UPDATE feeds SET polled_at = ?, failures = ?, next_try = ?, "
                                "last_error = ? WHERE url = ?",
                                (now, failures, now + wait, p.error, p.url))
                    continue
                if p.fetched is not None and not p.fetched.unchanged:
                    con.execute("UPDATE feeds SET etag = ?, last_modified = ?, body_hash = ?, "
                                "items = ? WHERE url = ?",
                                (p.fetched.etag, p.fetched.last_modified, p.body_hash,
                                 len(p.items), p.url))
                con.execute("UPDATE feeds SET polled_at = ?, ok_at = ?, failures = 0, "
                            "next_try = 0, last_error = '' WHERE url = ?", (now, now, p.url))
                for url, (marker, etag, modified) in p.pages.items():
                    con.execute("INSERT OR REPLACE INTO pages (url, feed, marker, etag, "
                                "last_modified) VALUES (?, ?, ?, ?, ?)",
                                (url, p.url, marker, etag, modified))
                for url in p.pruned:
                    con.execute("DELETE FROM pages WHERE url = ?", (url,))
            for origin, (read_at, body) in robots.items():
                con.execute("INSERT OR REPLACE INTO robots VALUES (?, ?, ?)",
                            (origin, read_at, body))


class Refresher:
    """Polls the store's feeds (``citewise.refresh_feeds``) every ``every`` seconds on a daemon
    thread, while this process holds the store's refresher claim."""

    def __init__(self, citewise: Any, every: float, prune: bool = False) -> None:
        self.citewise = citewise
        self.every = every
        self.prune = prune
        self.ttl = every * 2 + 120  # a claim outlives one missed poll, not two
        self._token: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0  # polls this refresher made

    def holds_claim(self) -> bool:
        """Take or renew the store's refresher claim; True while this process holds it."""
        index = self.citewise.index
        key = f"{REFRESHER_CLAIM}:{index.name}"
        if self._token is not None and index.renew_claim(key, self._token, self.ttl):
            return True
        self._token = index.try_claim(key, self.ttl)
        return self._token is not None

    def run_once(self) -> FeedRun | None:
        """One poll of the due feeds, if this process holds the claim; None otherwise."""
        if not self.holds_claim():
            log.debug("feeds: another process refreshes this store")
            return None
        run: FeedRun = self.citewise.refresh_feeds(prune=self.prune)
        self.runs += 1
        return run

    def start(self) -> Refresher:
        self._thread = threading.Thread(target=self._loop, name="citewise-feeds", daemon=True)
        self._thread.start()
        log.info("feeds: refreshing every %s", _human(self.every))
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._token is not None:
            key = f"{REFRESHER_CLAIM}:{self.citewise.index.name}"
            self.citewise.index.release_claim(key, self._token)
            self._token = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - a bad poll must not end the refresher
                log.exception("feeds: the poll failed; trying again in %s", _human(self.every))
            self._stop.wait(self.every)


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
