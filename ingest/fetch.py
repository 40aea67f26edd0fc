"""Fetching feeds and pages from the web, safely (issue 26).

Why a fetcher of its own: a feed names URLs nobody here chose. Each request is checked before it
is made: http or https only; a host that resolves to a loopback, private, link-local or other
non-public address is refused unless the user allows it by name (``feed_allow_private``); every
redirect hop is checked the same way and counted; robots.txt is honoured; a body larger than the
cap or slower than the timeout is abandoned. Conditional GET (ETag / Last-Modified) makes an
unchanged feed or page cost one small request and no download.

Not covered: a host whose DNS answer changes between the check and the connection (DNS
rebinding); the check resolves the name, the HTTP client resolves it again.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from ingest.loaders.meta import human_size
from rag.errors import LoadError

log = logging.getLogger(__name__)

USER_AGENT = "citewise-feeds/1.0 (+https://github.com/citewise)"
ROBOTS_AGENT = "citewise"  # the token robots.txt rules name
ROBOTS_TTL = 24 * 3600.0  # a host's robots.txt is read again after a day
Resolver = Callable[[str, int], list[str]]


class FetchError(LoadError):
    """A URL could not be fetched, or may not be: names the URL and what to do."""


@dataclass
class Fetched:
    """One response: ``status`` 200 with the body, or 304 (unchanged since the validators)."""

    url: str  # after redirects
    status: int
    body: bytes = b""
    etag: str = ""
    last_modified: str = ""
    content_type: str = ""

    @property
    def unchanged(self) -> bool:
        return self.status == 304


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _networks(allowed: str) -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    """``feed_allow_private`` ("127.0.0.1, intranet.example, 10.0.0.0/8") as host names and
    networks."""
    hosts, nets = set(), []
    for item in (a.strip() for a in allowed.split(",")):
        if not item:
            continue
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            hosts.add(item.lower().rstrip("."))
    return hosts, nets


def _non_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Why ``ip`` is not a public address ("" when it is)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    return ""


class Fetcher:
    """GETs with the checks above; one instance per poll (it caches robots.txt per host)."""

    def __init__(self, *, timeout: float = 20.0, max_bytes: int = 5 * 2**20,
                 max_redirects: int = 5, allow_private: str = "",
                 robots: dict[str, tuple[float, str]] | None = None,
                 resolver: Resolver | None = None,
                 client: httpx.Client | None = None) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._hosts, self._nets = _networks(allow_private)
        # origin -> (when read, robots.txt text); the caller may keep it between polls
        self.robots = robots if robots is not None else {}
        self._parsers: dict[str, RobotFileParser] = {}
        self._resolve = resolver or _resolve
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False,
                                              headers={"User-Agent": USER_AGENT})
        self.requests = 0  # made by this fetcher, robots.txt included

    def close(self) -> None:
        self._client.close()

    # ---- checks ------------------------------------------------------------------------------
    def check_url(self, url: str) -> None:
        """Refuse (FetchError) a URL this fetcher must not request, before any request."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError(url, f"only http and https URLs are fetched, not {parts.scheme or 'a relative URL'!r}")
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise FetchError(url, "the URL has no host")
        if host in self._hosts:
            return
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise FetchError(url, f"bad port ({exc})") from exc
        try:
            addresses = self._resolve(host, port)
        except OSError as exc:
            raise FetchError(url, f"cannot resolve {host} ({exc}); check the URL") from exc
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if any(ip in net for net in self._nets):
                continue
            kind = _non_public(ip)
            if kind:
                raise FetchError(url, f"{host} is a {kind} address ({ip}); citewise fetches only "
                                 "public addresses unless CITEWISE_FEED_ALLOW_PRIVATE (or "
                                 "--feed-allow-private) names the host or network")

    def allowed_by_robots(self, url: str) -> bool:
        """What the host's robots.txt says for citewise; a missing one (4xx) allows all, an
        unreachable one (5xx, timeout) allows nothing for now (RFC 9309)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        parser = self._parsers.get(origin)
        if parser is None:
            read_at, text = self.robots.get(origin, (0.0, ""))
            if time.time() - read_at > ROBOTS_TTL:
                text = self._read_robots(origin)
                self.robots[origin] = (time.time(), text)
            parser = RobotFileParser()
            parser.parse(text.splitlines())
            self._parsers[origin] = parser
        return parser.can_fetch(ROBOTS_AGENT, url)

    def _read_robots(self, origin: str) -> str:
        try:
            got = self._get(origin + "/robots.txt", {}, robots=False)
        except FetchError as exc:
            if exc.reason.startswith("HTTP 4"):
                return ""
            log.warning("robots.txt of %s unreadable (%s); nothing fetched from it this poll",
                        origin, exc.reason)
            return "User-agent: *\nDisallow: /"
        return got.body.decode("utf-8", "replace")

    # ---- requests ----------------------------------------------------------------------------
    def get(self, url: str, etag: str = "", last_modified: str = "") -> Fetched:
        """The body of ``url`` (or 304 when the validators still hold); FetchError naming the
        URL and the reason otherwise."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return self._get(url, headers, robots=True)

    def _get(self, url: str, headers: dict[str, str], robots: bool) -> Fetched:
        deadline = time.monotonic() + self.timeout
        current = url
        for _hop in range(self.max_redirects + 1):
            self.check_url(current)
            if robots and not self.allowed_by_robots(current):
                raise FetchError(current, "robots.txt disallows it for citewise")
            self.requests += 1
            try:
                with self._client.stream("GET", current, headers=headers) as resp:
                    if resp.status_code == 304:
                        return Fetched(current, 304, etag=headers.get("If-None-Match", ""),
                                       last_modified=headers.get("If-Modified-Since", ""))
                    if resp.status_code in (301, 302, 303, 307, 308):
                        target = resp.headers.get("location", "")
                        if not target:
                            raise FetchError(current, f"HTTP {resp.status_code} without a Location")
                        current = urljoin(current, target)
                        continue
                    if resp.status_code >= 400:
                        raise FetchError(current, f"HTTP {resp.status_code} "
                                         f"{resp.reason_phrase}".strip())
                    body = self._read(current, resp, deadline)
                    return Fetched(current, resp.status_code, body,
                                   etag=resp.headers.get("etag", ""),
                                   last_modified=resp.headers.get("last-modified", ""),
                                   content_type=resp.headers.get("content-type", ""))
            except httpx.TimeoutException as exc:
                raise FetchError(current, f"timed out after {self.timeout:g} s") from exc
            except httpx.HTTPError as exc:
                raise FetchError(current, f"request failed ({type(exc).__name__}: {exc})") from exc
        raise FetchError(url, f"more than {self.max_redirects} redirects (a redirect loop?)")

    def _read(self, url: str, resp: httpx.Response, deadline: float) -> bytes:
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(url, f"larger than {human_size(self.max_bytes)} ({int(declared):,} "
                             "bytes); raise CITEWISE_FEED_MAX_MB to fetch it")
        parts, size = [], 0
        for piece in resp.iter_bytes():
            size += len(piece)
            if size > self.max_bytes:
                raise FetchError(url, f"larger than {human_size(self.max_bytes)}; raise "
                                 "CITEWISE_FEED_MAX_MB to fetch it")
            if time.monotonic() > deadline:
                raise FetchError(url, f"timed out after {self.timeout:g} s")
            parts.append(piece)
        return b"".join(parts)
