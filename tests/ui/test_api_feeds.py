"""POST and GET /api/feeds on the real application object: a feed served on 127.0.0.1 is
followed, polled and answerable; one that can't be read is a 422 naming the URL and why."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.ingest.feed_server import FeedServer, Route, page, rss
from ui.server import create_app

pytestmark = pytest.mark.slow  # a real HTTP server, the real model and Chroma

TEXT = ("The harbour ferry fare rises to 4.20 euros on 1 April, the transport board said on "
        "Monday. Commuters with a monthly pass keep the old price until June.")


def test_follow_a_feed_over_the_api(make_citewise, tmp_path):
    server = FeedServer().start()
    try:
        server.routes["/news/fares"] = Route(page("Ferry fares rise", TEXT))
        server.routes["/rss"] = Route(rss([{"link": server.url("/news/fares"),
                                            "title": "Ferry fares rise",
                                            "date": "Mon, 02 Mar 2026 08:00:00 GMT"}]),
                                      content_type="application/rss+xml")
        cw = make_citewise(feed_allow_private="127.0.0.1", feed_timeout=2.0)
        with TestClient(create_app(cw, cw.settings)) as client:
            r = client.post("/api/feeds", json={"url": server.url("/rss")})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["added"] == [server.url("/news/fares")] and body["requests"] == 3
            assert body["feeds"] == [{"url": server.url("/rss"), "ok": True, "error": "",
                                      "items": 1, "changed": True}]
            (feed,) = client.get("/api/feeds").json()
            assert feed["url"] == server.url("/rss") and feed["items"] == 1 and feed["ok_at"]
            ans = client.post("/api/ask", json={"question": "What will the ferry fare be?",
                                                "as_of": "2026-03-05"}).json()
            assert "4.20 euros" in ans["answer"]
            assert ans["citations"][0]["source"] == server.url("/news/fares")

            r = client.post("/api/feeds", json={"url": server.url("/missing.xml")})
            assert r.status_code == 422 and "HTTP 404" in r.json()["error"]
            assert server.url("/missing.xml") in r.json()["error"]
            r = client.post("/api/feeds", json={"url": "file:///etc/passwd"})
            assert r.status_code == 422 and "only http and https" in r.json()["error"]
            assert client.post("/api/feeds", json={}).status_code == 422
            assert client.delete("/api/feeds").status_code == 405
    finally:
        server.stop()
