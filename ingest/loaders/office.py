"""DOCX: paragraphs and tables in document order, with the core properties as metadata.

A table is written as Markdown pipe rows (rag/language/tables.py reads every loader's tables so); a
merged cell repeats in each column it spans, as python-docx reports it."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
from docx.table import Table

from ingest.clean import clean_article
from ingest.loaders.meta import (
    MB,
    date_lines,
    human_size,
    one_line,
    real_authors,
    short_error,
    stated_date,
)
from rag.errors import LoadError
from rag.language.tables import pipe_rows
from rag.records import Document


def _check_zip(path: Path, max_bytes: int) -> None:
    """Refuse non-zips and zip bombs before python-docx decompresses anything."""
    where = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as err:
        raise LoadError(where, "not a valid .docx (zip) file") from err
    total = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if total > 8 * max_bytes or (total > MB and total > 100 * max(packed, 1)):
        raise LoadError(where, f"suspicious .docx: expands to {human_size(total)} (zip bomb?)")


def load_docx(path: Path, source: str, max_bytes: int) -> Document:
    """Paragraphs (and table rows) in document order, with the core properties as metadata."""
    _check_zip(path, max_bytes)
    try:
        document = docx.Document(str(path))
        lines: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines.extend(pipe_rows([[cell.text for cell in row.cells] for row in block.rows]))
            else:
                lines.append(block.text)
        props = document.core_properties
    except Exception as err:  # KeyError, ValueError, lxml errors on a damaged package
        raise LoadError(str(path), f"not a valid .docx: {short_error(err)}") from err
    title, text = clean_article("\n".join(lines))
    title = one_line(props.title) or title
    # the core "created" date is when the file was made (python-docx's template says
    # 2013-12-23): only a date the document states is its published date
    published = stated_date(*date_lines(title, text))
    return Document(source=source, text=text, title=title, published=published,
                    authors=real_authors(props.author),
                    dated_by="title or first line" if published else "")
