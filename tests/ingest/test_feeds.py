"""Feeds and the safe fetcher, each on its own: parsing RSS, Atom and sitemaps; the address,
scheme, robots.txt, size, time and redirect checks against a real server on 127.0.0.1."""

from __future__ import annotations

import pytest

from ingest.feeds import parse_feed
from ingest.fetch import Fetcher, FetchError
from rag.errors import LoadError
from tests.ingest.feed_server import FeedServer, Route, page, rss


@pytest.fixture
def server():
    s = FeedServer().start()
    yield s
    s.stop()


def fetcher(**kw) -> Fetcher:
    return Fetcher(allow_private=kw.pop("allow_private", "127.0.0.1"), **kw)


# ---- parsing ------------------------------------------------------------------------------------
def test_rss_items_carry_the_feeds_metadata():
    body = rss([{"link": "http://news.example/a", "title": "Ferry fares rise",
                 "date": "Tue, 03 Mar 2026 09:00:00 GMT", "author": "Ana Ruiz"},
                {"link": "http://news.example/b", "title": "No date here"}])
    items, children = parse_feed(body, "http://news.example/rss")
    assert children == []
    assert [(i.url, i.title, i.published) for i in items] == [
        ("http://news.example/a", "Ferry fares rise", "2026-03-03"),
        ("http://news.example/b", "No date here", "")]
    assert items[0].authors == ["Ana Ruiz"] and items[0].marker


def test_atom_and_sitemaps():
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:x</id>
<updated>2026-02-01T00:00:00Z</updated>
<entry><title>Budget passed</title><link href="http://news.example/budget"/><id>urn:1</id>
<updated>2026-02-01T10:00:00Z</updated><author><name>Li Wei</name></author></entry></feed>"""
    (item,), _ = parse_feed(atom, "http://news.example/atom")
    assert (item.url, item.title, item.published, item.authors) == (
        "http://news.example/budget", "Budget passed", "2026-02-01", ["Li Wei"])
    sitemap = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>http://news.example/x</loc><lastmod>2026-01-05</lastmod></url>
<url><loc>http://news.example/y</loc></url></urlset>"""
    items, _ = parse_feed(sitemap, "http://news.example/sitemap.xml")
    assert [(i.url, i.published, i.marker) for i in items] == [
        ("http://news.example/x", "2026-01-05", "2026-01-05"), ("http://news.example/y", "", "")]
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>http://news.example/s1.xml</loc></sitemap></sitemapindex>"""
    assert parse_feed(index, "http://news.example/index.xml") == ([], [
        "http://news.example/s1.xml"])


@pytest.mark.parametrize("body, why", [
    (b"<html><body>not a feed</body></html>", "not a readable RSS, Atom or sitemap"),
    (b"", "not a readable RSS, Atom or sitemap"),
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
     b'<rss version="2.0"><channel><title>&b;</title></channel></rss>', "declares entities"),
    (b"<urlset><url><loc>http://x/</loc></url", "malformed sitemap XML"),
])
def test_what_is_not_a_feed_is_refused_naming_the_url(body, why):
    with pytest.raises(LoadError, match=why) as info:
        parse_feed(body, "http://news.example/feed")
    assert info.value.where == "http://news.example/feed"


# ---- addresses ----------------------------------------------------------------------------------
@pytest.mark.parametrize("url, address, kind", [
    ("http://router.lan/feed", "192.168.1.1", "private"),
    ("http://metadata.internal/latest", "169.254.169.254", "link-local"),
    ("http://localhost:8080/", "127.0.0.1", "loopback"),
    ("http://[::1]/", "::1", "loopback"),
    ("http://mapped.example/", "::ffff:10.0.0.1", "private"),
])
def test_non_public_addresses_are_refused_before_any_request(url, address, kind):
    f = Fetcher(resolver=lambda host, port: [address])
    with pytest.raises(FetchError, match=f"is a {kind} address.*CITEWISE_FEED_ALLOW_PRIVATE"):
        f.get(url)
    assert f.requests == 0


def test_named_hosts_and_networks_may_be_private():
    f = Fetcher(allow_private="10.0.0.0/8, intranet.example",
                resolver=lambda host, port: ["10.1.2.3"])
    f.check_url("http://wiki.corp/feed")  # in the named network
    f.check_url("http://intranet.example/feed")  # named host
    g = Fetcher(allow_private="10.0.0.0/8", resolver=lambda host, port: ["192.168.0.9"])
    with pytest.raises(FetchError, match="private"):
        g.check_url("http://other.corp/")


@pytest.mark.parametrize("url, why", [
    ("file:///etc/passwd", "only http and https"),
    ("ftp://news.example/feed", "only http and https"),
    ("/relative/feed.xml", "only http and https"),
    ("http:///nohost", "no host"),
])
def test_only_http_urls_with_a_host(url, why):
    with pytest.raises(FetchError, match=why):
        Fetcher().check_url(url)


# ---- the fetcher against a real server ---------------------------------------------------------
def test_conditional_get_and_robots(server):
    server.routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    server.routes["/a"] = Route(page("A", "text"), etag='"v1"')
    server.routes["/private/b"] = Route(page("B", "text"))
    f = fetcher()
    got = f.get(server.url("/a"))
    assert got.status == 200 and got.etag == '"v1"' and b"<article>" in got.body
    assert f.get(server.url("/a"), etag='"v1"').unchanged
    with pytest.raises(FetchError, match="robots.txt disallows"):
        f.get(server.url("/private/b"))
    assert server.hits["/robots.txt"] == 1 and server.hits["/private/b"] == 0
    # robots.txt read once and kept for the next poll's fetcher
    g = fetcher(robots=f.robots)
    g.get(server.url("/a"))
    assert server.hits["/robots.txt"] == 1 and g.requests == 1


def test_an_unreachable_robots_txt_allows_nothing_for_now(server):
    server.routes["/robots.txt"] = Route(b"oops", status=503)
    server.routes["/a"] = Route(page("A", "text"))
    with pytest.raises(FetchError, match="robots.txt disallows"):
        fetcher().get(server.url("/a"))
    assert server.hits["/a"] == 0


@pytest.mark.parametrize("route, why", [
    (Route(b"x" * 5000), "larger than 4,096 bytes"),  # declared length
    (Route(b"x" * 5000, drip=1000, delay=0.01), "larger than 4,096 bytes"),  # streamed
    (Route(b"late", delay=1.5), "timed out after 0.5 s"),
    (Route(b"", status=500), "HTTP 500"),
    (Route(b"", status=302, headers={"Location": "/loop"}), "more than 5 redirects"),
])
def test_misbehaving_pages_fail_with_the_reason(server, route, why):
    server.routes["/loop"] = route
    with pytest.raises(FetchError, match=why) as info:
        fetcher(max_bytes=4096, timeout=0.5).get(server.url("/loop"))
    assert info.value.where.startswith(server.base)


def test_a_redirect_to_a_private_address_is_refused(server):
    server.routes["/go"] = Route(b"", status=301,
                                 headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    with pytest.raises(FetchError, match="link-local address"):
        fetcher().get(server.url("/go"))
