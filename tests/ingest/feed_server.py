"""A real HTTP server on 127.0.0.1 serving fixture feeds and pages (tests of ingest/feeds.py).

Routes are set per test (``server.routes[path] = Route(...)``); it answers conditional GETs
with 304 when a route has an ETag, counts requests per path, and has the misbehaving routes a
feed meets in the wild: slow, huge, binary, a redirect loop.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    etag: str = ""  # answered with 304 when the request's If-None-Match matches
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the body (a slow server)
    drip: int = 0  # bytes per write, with ``delay`` between writes


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?", 1)[0]
                server.hits[path] += 1
                route = server.routes.get(path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self.send_response(304)
                    self.send_header("ETag", route.etag)
                    self.end_headers()
                    return
                if route.delay and not route.drip:
                    time.sleep(route.delay)
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.etag:
                    self.send_header("ETag", route.etag)
                for k, v in route.headers.items():
                    self.send_header(k, v)
                if not route.drip:
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                try:
                    if route.drip:
                        for i in range(0, len(route.body), route.drip):
                            self.wfile.write(route.body[i:i + route.drip])
                            self.wfile.flush()
                            time.sleep(route.delay)
                    else:
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> FeedServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def rss(items: list[dict[str, str]], title: str = "Harbour Gazette") -> bytes:
    """An RSS 2.0 document; each item: link, title, date (RFC 822), author (optional)."""
    parts = [f"<item><title>{i['title']}</title><link>{i['link']}</link>"
             f"<guid>{i['link']}</guid>"
             + (f"<pubDate>{i['date']}</pubDate>" if i.get("date") else "")
             + (f"<author>{i['author']}</author>" if i.get("author") else "")
             + "</item>" for i in items]
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{title}</title><link>http://example.invalid/</link>"
            f"<description>news</description>{''.join(parts)}</channel></rss>").encode()


def page(title: str, *paragraphs: str) -> bytes:
    """A news page with boilerplate around the article, as real sites have."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<html><head><title>{title}</title></head><body><nav><a href='/'>Home</a> "
            f"<a href='/sport'>Sport</a></nav><article><h1>{title}</h1>{body}</article>"
            f"<footer>Copyright Harbour Gazette. All rights reserved.</footer></body></html>"
            ).encode()
