"""The Documents tab's "News feeds": follow a feed (RSS, Atom, sitemap.xml) and see how the
followed ones were last polled. The work is Citewise.ingest_feeds, shared with the CLI and
POST /api/feeds; the server's refresher (`serve --refresh-feeds 30m`) keeps them fresh.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from rag.errors import CitewiseError
from ui import render


def feeds_html(feeds: list[Any]) -> str:
    """The followed feeds as a small table (feed text is data: escaped)."""
    if not feeds:
        return ('<div class="cw-feeds-empty">No feed is followed yet. Paste a feed\'s URL '
                "above; the server polls followed feeds when started with "
                "<code>--refresh-feeds 30m</code>.</div>")
    rows = []
    for f in feeds:
        d = f.to_dict()
        state = ("ok" if not f.failures else
                 f"failed {f.failures}× ({render.esc(f.last_error)}); retried {d['next_try']}")
        rows.append(f"<tr><td>{render.esc(f.url)}</td><td>{f.items}</td>"
                    f"<td>{render.esc(d['ok_at'] or '-')}</td><td>{state}</td></tr>")
    return ('<table class="cw-feeds"><thead><tr><th>Feed</th><th>Items</th>'
            "<th>Last read (UTC)</th><th>Status</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


class FeedHandlers:
    """Event handlers, apart from the layout so they can be tested without a browser."""

    def __init__(self, citewise: Any, writer: Callable[[Any], Any]) -> None:
        self.citewise = citewise
        # the signed-in user's audited writes, or a refusal message (ui/chat.py ChatUI.writer)
        self.writer = writer

    def listing(self) -> str:
        try:
            return feeds_html(self.citewise.feeds())
        except CitewiseError as exc:
            return render.error_html(str(exc))

    def follow(self, url: str | None, request: gr.Request | None = None):
        """Follow ``url`` and poll it now. Returns (status, listing, the URL box's value)."""
        url = (url or "").strip()
        if not url:
            return (render.error_html("Paste a feed's URL (RSS, Atom or sitemap.xml)."),
                    self.listing(), "")
        writer = self.writer(request)
        if isinstance(writer, str):
            return render.error_html(writer), self.listing(), url
        try:
            run = writer.ingest_feeds([url])
        except CitewiseError as exc:
            return render.error_html(str(exc)), self.listing(), url
        poll = run.polls[0] if run.polls else None
        if poll is not None and poll.error:
            return (render.error_html(f"{url}: {poll.error}"), self.listing(), url)
        r = run.report
        failed = "".join(f"<li>{render.esc(w)}: {render.esc(why)}</li>" for w, why in r.failed)
        status = (f'<div class="cw-feed-done">Following <b>{render.esc(url)}</b>: '
                  f"{len(r.added)} added, {len(r.updated)} updated, {len(r.unchanged)} "
                  f"unchanged, {len(r.failed)} could not be read.</div>"
                  + (f'<ul class="cw-feed-failed">{failed}</ul>' if failed else ""))
        return status, self.listing(), ""


def build_feeds_panel(citewise: Any, writer: Callable[[Any], Any],
                      refresh: Callable[[], Any], refresh_outputs: list[Any]
                      ) -> tuple[gr.HTML, Callable[[], str]]:
    """The panel, wired; returns its listing and the function that redraws it."""
    h = FeedHandlers(citewise, writer)
    with gr.Column(elem_id="cw-feeds-tools"):
        gr.Markdown("#### News feeds")
        with gr.Row():
            url = gr.Textbox(elem_id="cw-feed-url", label="Feed URL (RSS, Atom or sitemap.xml)",
                             placeholder="https://news.example/rss.xml", max_lines=1, scale=5)
            follow = gr.Button("Follow", elem_id="cw-feed-follow", scale=1, min_width=80)
        status = gr.HTML("", elem_id="cw-feed-status", js_on_load=None)
        listing = gr.HTML("", elem_id="cw-feeds", js_on_load=None)
    for event in (follow.click, url.submit):
        event(h.follow, [url], [status, listing, url], concurrency_limit=2,
              api_name=False).then(refresh, None, refresh_outputs, api_name=False)
    return listing, h.listing
