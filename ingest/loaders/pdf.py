"""PDF: the text of every page, re-joined into sentences; page starts kept for citations.

A page with a ruled table (pdfplumber finds it by its lines) is read with pdfplumber: the text
above, between and below its tables, and each table as Markdown pipe rows (rag/language/tables.py reads
them with their headings). Pages without one keep pypdf's text, as before.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path
from typing import Any

from pypdf import PasswordType, PdfReader

from ingest.clean import clean_pages
from ingest.loaders.meta import date_lines, one_line, real_authors, short_error, stated_date
from rag.errors import LoadError
from rag.language.tables import pipe_rows
from rag.records import Document

log = logging.getLogger(__name__)

_SPACE_RUN = re.compile(r"[ \t]{2,}")


def load_pdf(path: Path, source: str, max_bytes: int) -> Document:
    """Text of every page; ``pages`` holds where each page starts in the cleaned text."""
    where = str(path)
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not _decrypt(reader):
            raise LoadError(where, "PDF is encrypted; decrypt it first")
        if not reader.pages:
            raise LoadError(where, "corrupt PDF: no pages found")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
        for i, text in _table_pages(path, len(pages)).items():
            pages[i] = text
    except LoadError:
        raise
    except Exception as err:  # pypdf raises many types on damaged files
        raise LoadError(where, f"corrupt PDF: {short_error(err)}") from err
    if not any(page.strip() for page in pages):
        raise LoadError(where, "PDF has no text layer (scanned?); run OCR first")
    # NFKC: ligatures and other compatibility characters (ﬂ, full-width digits) become the
    # letters a reader types; done before cleaning so every offset is into the stored text.
    # Runs of spaces are justified text's word spacing, not content.
    pages = [_SPACE_RUN.sub(" ", unicodedata.normalize("NFKC", page)) for page in pages]
    title, text, starts = clean_pages(pages, reflow=True)
    title = one_line(_safe_attr(meta, "title")) or title
    # the creation date is when the PDF was generated: only a date it states is "published"
    published = stated_date(*date_lines(title, text))
    return Document(source=source, text=text, title=title, published=published,
                    authors=real_authors(_safe_attr(meta, "author")), pages=starts,
                    dated_by="title or first line" if published else "")


def _decrypt(reader: PdfReader) -> bool:
    """PDFs locked only by an owner password open with an empty user password."""
    try:
        return reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except Exception as err:  # e.g. AES without the cryptography package
        log.debug("cannot decrypt PDF: %s", err)
        return False


def _safe_attr(obj: Any, name: str) -> Any:
    """A metadata field, or None when it is missing or malformed (bad dates raise)."""
    try:
        return getattr(obj, name, None)
    except Exception:
        return None


def _table_pages(path: Path, n_pages: int) -> dict[int, str]:
    """Page index -> its text with ruled tables as pipe rows, for pages that have one. A page
    pdfplumber can't read keeps pypdf's text (logged, never an error)."""
    try:
        import pdfplumber  # imported on use: only ingest reads PDFs
    except ImportError:  # pragma: no cover - a dependency of the project
        return {}
    out: dict[int, str] = {}
    ruled = _pages_with_paths(path, n_pages)
    if not ruled:
        return out
    try:
        with pdfplumber.open(path) as pdf:
            for i, page in enumerate(pdf.pages[:n_pages]):
                if i not in ruled:
                    continue
                try:
                    text = _page_with_tables(page)
                except Exception as err:  # pdfminer raises many types on odd pages
                    log.debug("%s page %d: table extraction failed (%s)", path, i + 1, err)
                    continue
                if text is not None:
                    out[i] = text
    except Exception as err:
        log.debug("%s: pdfplumber cannot open it (%s); text without tables", path, err)
    return out


def _pages_with_paths(path: Path, n_pages: int) -> set[int]:
    """Pages that draw lines or boxes (pdfium, fast): only they can hold a ruled table, and
    pdfplumber's layout analysis costs ~75 ms a page (BENCHMARKS.md)."""
    try:
        import pypdfium2 as pdfium
        import pypdfium2.raw as pdfium_c
    except ImportError:  # pragma: no cover - installed with pdfplumber
        return set()
    try:
        doc = pdfium.PdfDocument(str(path))
        try:
            return {i for i in range(min(len(doc), n_pages))
                    if next(iter(doc[i].get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH],
                                                    max_depth=2)), None) is not None}
        finally:
            doc.close()
    except Exception as err:  # a file pypdf could read but pdfium can't: no tables
        log.debug("%s: pdfium cannot read it (%s); text without tables", path, err)
        return set()


def _page_with_tables(page: Any) -> str | None:
    """The page's text in reading order with each ruled table as pipe rows; None when the
    page has no table."""
    tables = sorted(page.find_tables(), key=lambda t: t.bbox[1])
    if not tables:
        return None
    boxes = [t.bbox for t in tables]

    def outside(obj: dict[str, Any]) -> bool:
        x = (obj["x0"] + obj["x1"]) / 2
        y = (obj["top"] + obj["bottom"]) / 2
        return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

    prose = page.filter(outside)
    parts: list[str] = []
    top = page.bbox[1]
    for table in tables:
        parts.append(_region_text(prose, top, table.bbox[1]))
        parts.append("\n".join(pipe_rows([[c or "" for c in row] for row in table.extract()])))
        top = table.bbox[3]
    parts.append(_region_text(prose, top, page.bbox[3]))
    return "\n".join(p for p in parts if p.strip())


def _region_text(page: Any, top: float, bottom: float) -> str:
    if bottom - top < 1:
        return ""
    x0, _, x1, _ = page.bbox
    return page.crop((x0, top, x1, bottom), strict=False).extract_text() or ""
