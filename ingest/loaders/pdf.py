"""PDF: the text of every page, re-joined into sentences; page starts kept for citations."""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path
from typing import Any

from pypdf import PasswordType, PdfReader

from ingest.clean import clean_pages
from ingest.loaders.meta import authors, iso_date, one_line, short_error
from rag.errors import LoadError
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
    return Document(
        source=source,
        text=text,
        title=one_line(_safe_attr(meta, "title")) or title,
        published=iso_date(_safe_attr(meta, "creation_date")),
        authors=authors(_safe_attr(meta, "author")),
        pages=starts,
    )


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
