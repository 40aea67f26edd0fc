"""Pure rendering for the front ends: HTML for the browser chat, Block Kit for Slack.

Everything that comes from documents or users (answer text, quotes, titles, urls, questions)
passes through :func:`esc` (HTML) or :func:`slack_escape` (Slack mrkdwn) before it is put into
markup, and urls are only linked when they are http(s). Nothing here does I/O.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlparse

from rag.language.textrules import MARKER, marker_numbers
from rag.records import Answer, Citation, DocumentInfo, Hit

#: Characters of surrounding text shown on each side of a quoted span in the sources panel.
CONTEXT_CHARS = 220

# Slack limits (https://docs.slack.dev/reference/block-kit/blocks/section-block)
SLACK_SECTION_MAX = 3000
SLACK_MAX_BLOCKS = 50
SLACK_TEXT_MAX = 3900  # the top-level fallback ``text``
#: a "not found" reply in Slack: one line, then at most this many related passages, trimmed
SLACK_RELATED_MAX = 2
SLACK_RELATED_CHARS = 280
SLACK_NOT_FOUND_LINE = 200


# --------------------------------------------------------------------------------------------
# escaping
# --------------------------------------------------------------------------------------------


def esc(text: object) -> str:
    """HTML-escape anything (``None`` becomes "")."""
    if text is None:
        return ""
    return html.escape(str(text), quote=True)


def esc_multiline(text: object) -> str:
    """Escape and keep line breaks, without ever producing a blank line.

    Chat messages are rendered by a Markdown renderer; an HTML block without blank lines is
    passed through as HTML and not re-interpreted as Markdown, so ``*`` or ``_`` in a document
    stay literal characters.
    """
    escaped = esc(text).replace("\r\n", "\n").replace("\r", "\n")
    return escaped.replace("\n", "<br>")


def safe_url(url: object) -> str | None:
    """``url`` when it is an absolute http(s) URL, else None (no ``javascript:`` links)."""
    if not url:
        return None
    s = str(url).strip()
    try:
        parsed = urlparse(s)
    except ValueError:
        return None
    if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc:
        return None
    if any(c in s for c in '\x00\n\r\t <>"'):
        return None
    return s


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + "…"


def display_title(title: str, source: str) -> str:
    return (title or "").strip() or source


def same_words(a: str, b: str) -> bool:
    """Equal but for case, spacing and punctuation ("Title › Title" is said once)."""
    return re.findall(r"\w+", a.lower()) == re.findall(r"\w+", b.lower())


# --------------------------------------------------------------------------------------------
# browser chat
# --------------------------------------------------------------------------------------------


def source_anchor(turn: str, n: int) -> str:
    """DOM id of citation ``n`` of chat turn ``turn`` in the sources panel."""
    return f"cw-{turn}-src-{n}"


def link_markers(escaped: str, turn: str, numbers: Iterable[int]) -> str:
    """Replace ``[n]`` markers of known citations in already-escaped text by anchor links
    (``[1, 2]``: one link per number); a marker naming an unknown citation stays text."""
    known = set(numbers)

    def repl(m: re.Match[str]) -> str:
        ns = marker_numbers(m.group())
        if not all(n in known for n in ns):
            return m.group(0)
        return "".join(
            f'<a class="cw-cite" href="#{source_anchor(turn, n)}" '
            f'data-cite="{n}" title="Source {n}">[{n}]</a>'
            for n in ns
        )

    return MARKER.sub(repl, escaped)


def question_html(question: str) -> str:
    """A user's message as shown in the chat (escaped, never interpreted)."""
    return f'<div class="cw-question">{esc_multiline(question)}</div>'


def streaming_html(partial: str) -> str:
    """Answer text while it streams in (markers are linked once the answer is complete), with a
    visible "writing…" state: a local LLM may take seconds per sentence on a CPU."""
    text = esc_multiline(partial) if partial.strip(" …") else ""
    return (f'<div class="cw-answer cw-streaming">{text} <span class="cw-writing" role="status" '
            'style="opacity:.6;font-style:italic">writing…</span></div>')


def resolved_question(answer: Answer) -> str | None:
    """The standalone question a follow-up was understood as, when it differs from the asked one."""
    from rag.answer.followup import understood_as

    return understood_as(answer.question, answer.standalone_question)


def answer_html(answer: Answer, turn: str) -> str:
    """The final chat message of an answer or an abstention."""
    resolved = resolved_question(answer)
    understood = (f'<div class="cw-understood">Understood as: {esc(resolved)}</div>'
                  if resolved else "")
    if answer.abstained:
        body = esc_multiline(answer.answer) or "The documents don't answer this question."
        related = (
            '<div class="cw-abstain-hint">'
            + ("The closest passage is" if len(answer.related) == 1
               else f"The {len(answer.related)} closest passages are")
            + " under Sources.</div>"
            if answer.related and "passage" not in answer.answer.lower()
            else ""
        )
        return (
            '<div class="cw-abstain">'
            '<div class="cw-abstain-title">Not found in the documents</div>'
            f'<div class="cw-abstain-body">{body}</div>{related}</div>{understood}'
        )
    body = link_markers(esc_multiline(answer.answer), turn, (c.n for c in answer.citations))
    note = f'<div class="cw-note">{esc(answer.note)}</div>' if answer.note else ""
    return f'<div class="cw-answer">{body}</div>{note}{understood}'


def error_html(message: str) -> str:
    return f'<div class="cw-error">{esc_multiline(message)}</div>'


def quote_in_context(
    quote: str, start: int, end: int, text: str | None, context: int = CONTEXT_CHARS
) -> str:
    """Escaped HTML of the quoted span highlighted (``<mark>``) in its surrounding text.

    Falls back to the quote alone when the document text is unavailable or does not hold the
    quote at ``start:end``.
    """
    if text is None or not (0 <= start <= end <= len(text)) or text[start:end] != quote:
        return f'<mark class="cw-quote">{esc_multiline(quote)}</mark>'
    lo = max(0, start - context)
    hi = min(len(text), end + context)
    # widen to word boundaries so the context doesn't start or end mid-word
    if lo > 0:
        space = text.find(" ", lo, start)
        lo = space + 1 if space != -1 else lo
    if hi < len(text):
        space = text.rfind(" ", end, hi)
        hi = space if space != -1 else hi
    before = ("…" if lo > 0 else "") + text[lo:start]
    after = text[end:hi] + ("…" if hi < len(text) else "")
    return (
        f'<span class="cw-ctx">{esc_multiline(before)}</span>'
        f'<mark class="cw-quote">{esc_multiline(quote)}</mark>'
        f'<span class="cw-ctx">{esc_multiline(after)}</span>'
    )


def _meta_html(source: str, url: str, published: str, page: int | None = None) -> str:
    parts = []
    link = safe_url(url)
    if link:
        parts.append(
            f'<a class="cw-url" href="{esc(link)}" target="_blank" rel="noopener noreferrer">'
            f"{esc(_truncate(link, 80))}</a>"
        )
    if published:
        parts.append(f'<span class="cw-date">{esc(published)}</span>')
    if page:
        parts.append(f'<span class="cw-page">p. {int(page)}</span>')
    parts.append(f'<span class="cw-srcid">{esc(source)}</span>')
    return " · ".join(parts)


def citation_html(c: Citation, turn: str, doc_text: str | None) -> str:
    return (
        f'<div class="cw-source" id="{source_anchor(turn, c.n)}" data-n="{c.n}">'
        f'<div class="cw-source-head"><span class="cw-n">[{c.n}]</span> '
        f'<span class="cw-title">{esc(display_title(c.title, c.source))}</span>'
        + (f' <span class="cw-section">› {esc(c.section)}</span>'
           if c.section and not same_words(c.section, display_title(c.title, c.source)) else "")
        + "</div>"
        f'<div class="cw-meta">{_meta_html(c.source, c.url, c.published, c.page)}</div>'
        + (f'<div class="cw-table-head">Table: {esc(c.table)}</div>' if c.table else "")
        + f'<blockquote class="cw-passage">{quote_in_context(c.quote, c.start, c.end, doc_text)}'
        "</blockquote></div>"
    )


def related_html(hit: Hit) -> str:
    ch = hit.chunk
    return (
        '<div class="cw-related">'
        f'<div class="cw-source-head"><span class="cw-title">'
        f"{esc(display_title(hit.title, ch.source))}</span></div>"
        f'<div class="cw-meta">{_meta_html(ch.source, hit.url, hit.published, ch.page)}</div>'
        f'<blockquote class="cw-passage">{esc_multiline(_truncate(ch.text, 700))}</blockquote>'
        "</div>"
    )


def turn_sources_html(
    answer: Answer, turn: str, doc_text: Callable[[str], str | None] | None = None
) -> str:
    """Sources of one answer: its citations, or the related passages of an abstention."""
    q = f'<div class="cw-turn-q">{esc(_truncate(answer.question, 200))}</div>'
    if answer.abstained:
        if not answer.related:
            items = '<div class="cw-empty">No related passages.</div>'
        else:
            items = "".join(related_html(h) for h in answer.related)
        return (
            f'<section class="cw-turn cw-turn-abstain" data-turn="{esc(turn)}">{q}'
            f'<div class="cw-related-label">Related passages (not an answer)</div>{items}</section>'
        )
    cache: dict[str, str | None] = {}

    def text_of(source: str) -> str | None:
        if doc_text is None:
            return None
        if source not in cache:
            try:
                cache[source] = doc_text(source)
            except Exception:  # a deleted document: show the quote alone
                cache[source] = None
        return cache[source]

    items = "".join(citation_html(c, turn, text_of(c.source)) for c in answer.citations)
    if not items:
        items = '<div class="cw-empty">No citations.</div>'
    return f'<section class="cw-turn" data-turn="{esc(turn)}">{q}{items}</section>'


def sources_panel_html(turn_htmls: list[str]) -> str:
    """The whole sources panel: newest turn first, earlier turns folded."""
    if not turn_htmls:
        return (
            '<div class="cw-sources cw-sources-empty">Sources of the answers appear here: each '
            "quoted passage highlighted in its document.</div>"
        )
    newest, *older = list(reversed(turn_htmls))
    folded = "".join(
        f'<details class="cw-older"><summary>Earlier answer {len(turn_htmls) - 1 - i}</summary>'
        f"{h}</details>"
        for i, h in enumerate(older)
    )
    return f'<div class="cw-sources">{newest}{folded}</div>'


#: The Documents table's columns, in the order of :func:`documents_rows`.
DOCUMENT_COLUMNS = ("Title", "Source", "Published", "Ingested", "Chunks")


def chat_placeholder(docs: list[DocumentInfo], shown: int = 3) -> str:
    """The empty chat's prompt: how many documents are stored and the newest titles (Markdown,
    escaped: titles are document text)."""
    if not docs:
        return ("No documents are stored yet: add some in the **Documents** tab, then ask "
                "about them here.")
    newest = sorted(docs, key=lambda d: (d.published or "", d.ingested_at or ""), reverse=True)
    titles = [display_title(d.title, d.source) for d in newest[:shown]]
    named = ", ".join(f"“{_md_escape(_truncate(t, 100))}”" for t in titles)
    n = len(docs)
    return (f"Ask a question about your {n} document{'s' if n != 1 else ''}, such as "
            f"{named}{' and more' if n > shown else ''}.")


def _md_escape(text: str) -> str:
    """Markdown and HTML characters of a title shown as themselves."""
    out = esc(text)
    for ch in "\\`*_[]#|!":
        out = out.replace(ch, "\\" + ch)
    return out


def documents_rows(docs: list[DocumentInfo]) -> list[list[Any]]:
    """Rows for the Documents table (plain text cells; the table renders them as text).

    The published date is the document's own ("—" when it has none, so a missing date is not
    mistaken for the day it was ingested); the ingest date has its own column.
    """
    return [
        [display_title(d.title, d.source), d.source, (d.published or "")[:10] or "—",
         (d.ingested_at or "")[:10], d.chunks]
        for d in docs
    ]


def ingest_result_html(rows: list[tuple[str, str, str]]) -> str:
    """Per-file outcome of an upload: (file, status, detail)."""
    if not rows:
        return '<div class="cw-ingest-result">No files.</div>'
    body = "".join(
        f'<tr class="cw-status-{esc(status)}"><td>{esc(name)}</td><td>{esc(status)}</td>'
        f"<td>{esc(detail)}</td></tr>"
        for name, status, detail in rows
    )
    return (
        '<table class="cw-ingest-result"><thead><tr><th>File</th><th>Result</th><th>Detail</th>'
        f"</tr></thead><tbody>{body}</tbody></table>"
    )


# --------------------------------------------------------------------------------------------
# Slack Block Kit
# --------------------------------------------------------------------------------------------


def slack_escape(text: object) -> str:
    """Escape for Slack mrkdwn: ``&``, ``<``, ``>`` (so ``<!channel>`` or ``<@U1>`` in a
    document can never mention anyone)."""
    if text is None:
        return ""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str, label: str) -> str:
    link = safe_url(url)
    label_s = slack_escape(label).replace("|", "¦")
    if not link:
        return f"*{label_s}*"
    return f"<{slack_escape(link).replace('|', '%7C')}|{label_s}>"


def _slack_quote(text: str, limit: int) -> str:
    body = slack_escape(_truncate(" ".join(text.split()), limit))
    return "> " + body if body else ""


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _truncate(text, SLACK_SECTION_MAX)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _truncate(text, 2000)}]}


def slack_answer(answer: Answer, max_sources: int = 10) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, Block Kit blocks) for an answer: the answer, then the numbered sources
    (title linked to its url, date, quote); for an abstention a short "not found" reply."""
    if answer.abstained:
        return _slack_not_found(answer)
    blocks: list[dict[str, Any]] = [_section(slack_escape(answer.answer) or "_(empty answer)_")]
    fallback = answer.answer
    resolved = resolved_question(answer)
    if resolved:
        blocks.append(_context(f"_Understood as: {slack_escape(resolved)}_"))
    if answer.note:
        blocks.append(_context(f":information_source: {slack_escape(answer.note)}"))

    if answer.citations:
        blocks.append({"type": "divider"})
        blocks.append(_context("*Sources*"))
        for c in answer.citations[:max_sources]:
            line = f"*[{c.n}]* " + _slack_link(c.url, display_title(c.title, c.source))
            head = f"\n_Table: {slack_escape(_truncate(c.table, 200))}_" if c.table else ""
            blocks.append(_section(f"{line}{head}\n{_slack_quote(c.quote, 1200)}"))
            meta_parts = [slack_escape(c.published), f"p. {int(c.page)}" if c.page else "",
                          slack_escape(c.source)]
            blocks.append(_context(" · ".join(x for x in meta_parts if x)))
    # the fallback text is parsed by Slack too (notifications): escaped like the blocks, so a
    # document's "<!channel>" can never ping anyone
    return _truncate(slack_escape(fallback), SLACK_TEXT_MAX), blocks[:SLACK_MAX_BLOCKS]


def _first_sentence(text: str) -> str:
    """The first sentence of ``text``, whitespace-collapsed. The fixed "not found" form quotes
    the question (“…?”.), so a quoted question's own full stops ("U.S.") do not end it."""
    flat = " ".join((text or "").split())
    end = flat.find("”.")
    if end != -1:
        return flat[: end + 2]
    m = re.search(r"(?<![A-Z]\.)(?<=[.!?])\s+(?=[A-Z“\"])", flat)
    return flat[: m.start()] if m else flat


def _slack_not_found(answer: Answer) -> tuple[str, list[dict[str, Any]]]:
    """A short "not found" reply: one line, then at most two related passages, trimmed.

    In a channel a long abstention buries the conversation; the browser shows the full list.
    """
    line = _truncate(_first_sentence(answer.answer), SLACK_NOT_FOUND_LINE)
    head = ":mag: *Not found in the documents.*" + (f" {slack_escape(line)}" if line else "")
    blocks: list[dict[str, Any]] = [_section(head)]
    related = answer.related[:SLACK_RELATED_MAX]
    if related:
        blocks.append(_context("Related passages (not an answer):"))
    for hit in related:
        ch = hit.chunk
        title = _slack_link(hit.url, _truncate(display_title(hit.title, ch.source), 80))
        meta = " · ".join(x for x in (slack_escape(hit.published), slack_escape(ch.source)) if x)
        quote = _slack_quote(ch.text, SLACK_RELATED_CHARS)
        blocks.append(_section(f"{title} _({meta})_\n{quote}" if meta else f"{title}\n{quote}"))
    fallback = "Not found in the documents." + (f" {line}" if line else "")
    return _truncate(slack_escape(fallback), SLACK_TEXT_MAX), blocks


def slack_error(message: str) -> tuple[str, list[dict[str, Any]]]:
    text = f":warning: {slack_escape(message)}"
    return slack_escape(message), [_section(text)]


MENTION_RE = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def strip_mentions(text: str) -> str:
    """A Slack message's text without ``<@U123>`` mentions, unescaped (``&lt;`` -> ``<``)."""
    t = MENTION_RE.sub(" ", text or "")
    t = t.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(t.split())
