"""HTML: the main text only (no menus, scripts or footers), with the page's own metadata."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lxml.html
import trafilatura
from lxml import etree

from ingest.clean import clean_article
from ingest.loaders.meta import (
    authors,
    date_lines,
    iso_date,
    one_line,
    short_error,
    stated_date,
)
from ingest.loaders.text import looks_binary
from rag.errors import LoadError
from rag.language.tables import pipe_rows
from rag.records import Document

log = logging.getLogger(__name__)

_HTML_SKIP = [
    "script",
    "style",
    "noscript",
    "template",
    "head",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "iframe",
    "svg",
    "button",
]
_HTML_BLOCKS = [
    "p",
    "div",
    "section",
    "article",
    "main",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "tr",
    "table",
    "blockquote",
    "pre",
    "dd",
    "dt",
    "figcaption",
]
_HTML_MIN_TRUSTED = 250  # trafilatura's own minimum extraction size
_BLOCK_MARK = "\ue000"  # private-use character marking HTML block boundaries


def load_html(path: Path, source: str, max_bytes: int) -> Document:
    """Main text only (no menus, scripts or footers), with the page's own metadata."""
    return html_document(path.read_bytes(), source, str(path))


def html_document(data: bytes, source: str, where: str) -> Document:
    """An HTML page's Document (a file's, or a feed item's page): ``where`` names it in
    errors."""
    if looks_binary(data):
        raise LoadError(where, "binary file, not HTML")
    meta, text = _trafilatura(data, where)
    if not text or len(text) < _HTML_MIN_TRUSTED:
        # On short pages trafilatura falls back to a baseline that splits inline tags
        # ("Hello <b>bold</b>" becomes three lines); our block-aware text is better there.
        text = _html_fallback(data, where) or text or ""
    title, text = clean_article(text)
    title = one_line(getattr(meta, "title", None)) or title
    published = iso_date(getattr(meta, "date", None))  # the page's own metadata, not guessed
    dated_by = "metadata" if published else ""
    if not published:
        published = stated_date(*date_lines(title, text))
        dated_by = "title or first line" if published else ""
    return Document(source=source, text=text, title=title,
                    url=one_line(getattr(meta, "url", None)), published=published,
                    authors=authors(getattr(meta, "author", None)), dated_by=dated_by)


def _trafilatura(data: bytes, where: str) -> tuple[Any, str | None]:
    """(metadata, main text) from trafilatura; (None, None) when it cannot cope with the page."""
    try:
        tree = trafilatura.load_html(data)
        if tree is None:
            return None, None
        meta = trafilatura.extract_metadata(tree, extensive=False)  # no guessed dates
        text = trafilatura.extract(
            tree, include_comments=False, output_format="txt", with_metadata=False
        )
        return meta, text
    except Exception as err:  # includes RecursionError on pathological nesting
        log.debug("trafilatura failed on %s (%s); using the plain HTML fallback", where, err)
        return None, None


def _table_cells(table: Any) -> list[list[str]]:
    """The cells of a table's rows, a cell spanning columns repeated in each (colspan)."""
    rows = []
    for tr in table.iter("tr"):
        cells: list[str] = []
        for cell in tr:
            if cell.tag not in ("td", "th"):
                continue
            try:
                span = max(1, min(int(cell.get("colspan", "1")), 50))
            except ValueError:
                span = 1
            cells.extend([" ".join(cell.text_content().split())] * span)
        rows.append(cells)
    return rows


def _html_fallback(data: bytes, where: str) -> str:
    """Body text without scripts, styles and page furniture, one line per block element.

    Walks lxml's tree without recursion: lxml caps nesting (libxml2's limit), so
    pathological pages cost linear time instead of BeautifulSoup's quadratic walk.
    """
    try:
        root = lxml.html.document_fromstring(data)
    except (etree.ParserError, ValueError) as err:
        raise LoadError(where, f"cannot parse HTML ({short_error(err)})") from err
    body = root.find("body")
    start = body if body is not None else root
    skip = set(_HTML_SKIP)
    blocks = {"br", *_HTML_BLOCKS}
    parts: list[str] = []
    skipping = 0
    for event, el in etree.iterwalk(start, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if event == "start":
            if skipping or tag in skip:
                skipping += 1
                continue
            if tag == "table":  # its rows as pipe rows (rag/language/tables.py), then skip its inside
                parts.append(_BLOCK_MARK + _BLOCK_MARK.join(pipe_rows(_table_cells(el)))
                             + _BLOCK_MARK)
                skipping += 1
                continue
            if tag in blocks:
                parts.append(_BLOCK_MARK)
            if el.text:
                parts.append(el.text)
        else:
            if skipping:
                skipping -= 1
                if skipping:
                    continue
            elif tag in blocks:
                parts.append(_BLOCK_MARK)
            if el.tail and el is not start:
                parts.append(el.tail)
    text = "".join(parts)
    lines = (" ".join(block.split()) for block in text.split(_BLOCK_MARK))
    return "\n".join(line for line in lines if line)
