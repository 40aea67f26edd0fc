"""Feeds end to end: a real HTTP server on 127.0.0.1, the real embedder and a real Chroma store.
A new item is answerable after one poll, with its date; an unchanged poll costs one request and
embeds nothing; every kind of broken feed or page gives one clear log line and loses nothing."""

from __future__ import annotations

import json
import logging
import time

import pytest

from citewise.feeds import Refresher, parse_every
from rag.errors import InputError
from tests.ingest.feed_server import FeedServer, Route, page, rss

pytestmark = pytest.mark.slow  # a real HTTP server, the real model and Chroma

FARES = ("The harbour ferry fare rises to 4.20 euros on 1 April, the transport board said on "
         "Monday. Commuters with a monthly pass keep the old price until June.")
BRIDGE = ("The new cycle bridge over the Mill River opens on 12 May after two years of work. "
          "It cost 18 million euros, most of it paid by the regional government.")
LIBRARY = ("The central library will stay open until 10 pm on weekdays from September. The "
           "council approved the longer hours on Tuesday by a vote of seven to two.")


@pytest.fixture
def server():
    s = FeedServer().start()
    s.routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /members/\n",
                                    content_type="text/plain")
    s.routes["/news/fares"] = Route(page("Ferry fares rise", FARES), etag='"f1"')
    s.routes["/news/bridge"] = Route(page("Cycle bridge opens", BRIDGE), etag='"b1"')
    s.routes["/news/library"] = Route(page("Library hours", LIBRARY))
    s.routes["/rss"] = Route(_feed(s, ["fares", "bridge"]), content_type="application/rss+xml",
                             etag='"rss1"')
    yield s
    s.stop()


DATES = {"fares": "Mon, 02 Mar 2026 08:00:00 GMT", "bridge": "Tue, 10 Mar 2026 08:00:00 GMT",
         "library": "Wed, 18 Mar 2026 08:00:00 GMT"}
TITLES = {"fares": "Ferry fares rise", "bridge": "Cycle bridge opens", "library": "Library hours"}


def _feed(s: FeedServer, names: list[str], extra: list[dict[str, str]] | None = None) -> bytes:
    return rss([{"link": s.url(f"/news/{n}"), "title": TITLES[n], "date": DATES[n],
                 "author": "Ana Ruiz"} for n in names] + (extra or []))


@pytest.fixture
def cw(make_citewise, tmp_path):
    return make_citewise(feed_allow_private="127.0.0.1", feed_timeout=1.0,
                         feeds_db=tmp_path / "feeds.sqlite3")


def _stored(cw) -> dict[str, str]:
    return {d.source: d.content_hash for d in cw.documents()}


def test_a_new_item_is_answerable_after_one_poll_with_its_date(cw, server):
    run = cw.ingest_feeds([server.url("/rss")])
    assert run.report.ok and len(run.report.added) == 2
    doc = next(d for d in cw.documents() if d.source == server.url("/news/fares"))
    # the feed's metadata: title, link, date, authors
    assert (doc.title, doc.url, doc.published[:10], doc.authors, doc.dated_by) == (
        "Ferry fares rise", server.url("/news/fares"), "2026-03-02", ["Ana Ruiz"], "metadata")
    assert "Home" not in cw.document_text(doc.source)  # the page's boilerplate is cleaned off
    ans = cw.ask("How much will the harbour ferry fare be?")
    assert not ans.abstained and "4.20 euros" in ans.answer
    assert ans.citations[0].source == server.url("/news/fares")
    assert ans.citations[0].published.startswith("2026-03-02")

    # a new item: one poll later it is answerable; the others are not fetched again
    server.routes["/rss"] = Route(_feed(server, ["library", "fares", "bridge"]),
                                  content_type="application/rss+xml", etag='"rss2"')
    run = cw.refresh_feeds()
    assert run.report.added == [server.url("/news/library")]
    assert sorted(run.report.unchanged) == sorted([server.url("/news/fares"),
                                                   server.url("/news/bridge")])
    assert server.hits["/news/fares"] == 1 and server.hits["/news/bridge"] == 1
    assert run.requests == 2  # the feed and the new page
    ans = cw.ask("Until when will the central library stay open on weekdays?")
    assert "10 pm" in ans.answer and ans.citations[0].published.startswith("2026-03-18")


def test_an_unchanged_poll_makes_one_request_and_embeds_nothing(cw, server):
    cw.ingest_feeds([server.url("/rss")])
    before = _stored(cw)
    run = cw.refresh_feeds()
    assert run.requests == 1 and run.report.chunks_embedded == 0 and not run.report.added
    assert server.hits["/rss"] == 2 and _stored(cw) == before
    # a server without ETags: the same feed body is recognised, still one request
    server.routes["/rss"].etag = ""
    run = cw.refresh_feeds()
    assert run.requests == 1 and run.report.chunks_embedded == 0
    run = cw.refresh_feeds()
    assert run.requests == 1 and run.report.chunks_embedded == 0 and _stored(cw) == before


def test_items_that_leave_the_feed_stay_unless_pruned(cw, server):
    cw.ingest_feeds([server.url("/rss")])
    server.routes["/rss"] = Route(_feed(server, ["bridge"]), content_type="application/rss+xml")
    cw.refresh_feeds()
    assert server.url("/news/fares") in _stored(cw)  # a news archive keeps it
    run = cw.refresh_feeds(prune=True)
    assert run.report.removed == [server.url("/news/fares")]
    assert set(_stored(cw)) == {server.url("/news/bridge")}


BROKEN = {
    "malformed XML": ("/bad.xml", Route(b"<rss><channel><title>x</tit", content_type="text/xml"),
                      "not a readable RSS"),
    "404": ("/gone.xml", None, "HTTP 404"),
    "500": ("/err.xml", Route(b"boom", status=500), "HTTP 500"),
    "timeout": ("/slow.xml", Route(b"<rss/>", delay=2.0), "timed out after 1 s"),
    "huge": ("/huge.xml", Route(b"<rss>" + b"x" * 2_000_000), "larger than 1 MB"),
    "redirect loop": ("/loop.xml", Route(b"", status=302, headers={"Location": "/loop.xml"}),
                      "more than 5 redirects"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_feed_gives_one_log_line_and_loses_nothing(cw, server, caplog, kind):
    cw.ingest_feeds([server.url("/rss")])
    before = _stored(cw)
    path, route, why = BROKEN[kind]
    if route is not None:
        server.routes[path] = route
    cw.settings = cw.settings.updated(feed_max_mb=1.0)
    with caplog.at_level(logging.WARNING):
        run = cw.ingest_feeds([server.url(path)])
    lines = [r.getMessage() for r in caplog.records if server.url(path) in r.getMessage()]
    assert len(lines) == 1 and why in lines[0], lines
    assert [(w, r) for w, r in run.report.failed if w == server.url(path)]
    assert why in run.report.failed[0][1]
    assert _stored(cw) == before
    # and it waits out a backoff before the refresher tries it again
    info = next(f for f in cw.feeds() if f.url == server.url(path))
    assert info.failures == 1 and info.next_try > info.polled_at and why in info.last_error
    assert server.url(path) not in cw.feed_state().due()
    assert server.url("/rss") in cw.feed_state().due()


PAGES = {
    "binary page": ("/news/photo", Route(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
                                         content_type="image/png"), "not a web page (image/png)"),
    "binary as html": ("/news/blob", Route(bytes(range(256)) * 8), "binary file, not HTML"),
    "huge page": ("/news/huge", Route(page("Huge", "word " * 300_000)), "larger than 1 MB"),
    "robots": ("/members/only", Route(page("Members", LIBRARY)), "robots.txt disallows"),
    "empty page": ("/news/empty", Route(b"<html><head><script>var a = 1;</script></head>"
                                        b"<body> </body></html>"),
                   "empty page"),
    "private address": ("http://169.254.169.254/latest/meta-data/", None, "link-local address"),
}


@pytest.mark.parametrize("kind", sorted(PAGES))
def test_a_broken_item_is_skipped_with_one_log_line(cw, server, caplog, kind):
    path, route, why = PAGES[kind]
    link = path if path.startswith("http") else server.url(path)
    if route is not None:
        server.routes[path] = route
    server.routes["/rss"] = Route(_feed(server, ["fares"], [{"link": link, "title": "Bad"}]),
                                  content_type="application/rss+xml")
    cw.settings = cw.settings.updated(feed_max_mb=1.0)
    with caplog.at_level(logging.WARNING):
        run = cw.ingest_feeds([server.url("/rss")])
    lines = [r.getMessage() for r in caplog.records if link in r.getMessage()]
    assert len(lines) == 1 and why in lines[0], lines
    assert run.report.added == [server.url("/news/fares")]  # the good item still comes in
    assert [r for w, r in run.report.failed if w == link and why in r]
    assert link not in _stored(cw)


def test_one_refresher_per_store(cw, server, make_citewise, tmp_path):
    cw.ingest_feeds([server.url("/rss")])
    first = Refresher(cw, every=60)
    other = Refresher(make_citewise(client=cw.client, feeds_db=tmp_path / "feeds.sqlite3",
                                    feed_allow_private="127.0.0.1"), every=60)
    assert first.run_once() is not None
    assert other.run_once() is None  # the claim is held: it does not poll
    assert first.run_once() is not None  # renewed by its holder
    first.stop()
    assert other.run_once() is not None  # released: the other takes over


def test_the_refresher_thread_polls_until_stopped(cw, server):
    cw.ingest_feeds([server.url("/rss")])
    server.routes["/rss"] = Route(_feed(server, ["library", "fares", "bridge"]),
                                  content_type="application/rss+xml")
    r = Refresher(cw, every=0.2).start()
    try:
        for _ in range(100):
            if server.url("/news/library") in _stored(cw):
                break
            time.sleep(0.1)
    finally:
        r.stop()
    assert server.url("/news/library") in _stored(cw) and r.runs >= 1


def test_intervals():
    assert [parse_every(t) for t in ("30m", "2h", "90s", "1d", "45", "0.5h")] == [
        1800, 7200, 90, 86400, 45, 1800]
    for bad in ("", "soon", "-5m", "0", "10 minutes"):
        with pytest.raises(InputError, match="not an interval"):
            parse_every(bad)


def test_the_cli_follows_lists_and_watches(server, tmp_path, capsys):
    from ui.cli import main

    common = ["--store", str(tmp_path / "s"), "--feed-allow-private", "127.0.0.1"]
    assert main(["ingest", "--feed", server.url("/rss"), *common]) == 0
    out = capsys.readouterr().out
    assert "added 2" in out and "4 requests" in out  # robots.txt, the feed, two pages
    assert main(["feeds", "--json", *common]) == 0
    (feed,) = json.loads(capsys.readouterr().out)
    assert feed["url"] == server.url("/rss") and feed["items"] == 2 and feed["failures"] == 0
    assert main(["watch", "--once", *common]) == 0
    out = capsys.readouterr().out
    assert "unchanged 2" in out and "0 chunks embedded" in out and "1 request" in out
    assert main(["feeds", "--remove", server.url("/rss"), *common]) == 0
    assert main(["watch", "--once", *common]) == 2  # nothing followed: says how to add one
    assert "--feed URL" in capsys.readouterr().err
    assert main(["ingest", *common]) == 2
