"""Files -> cleaned Documents, or a LoadFailure that names the file and says what to do.

One bad file never stops an ingest: ``iter_documents`` turns every problem into a
``LoadFailure`` and goes on with the next file (or the next line of a JSONL feed).
Every text goes through ``ingest.clean`` so offsets always point into the cleaned text.
"""

from __future__ import annotations

import codecs
import email.utils
import json
import logging
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import charset_normalizer
import docx
import lxml.html
import trafilatura
from docx.table import Table
from lxml import etree
from pypdf import PasswordType, PdfReader

from ingest.clean import clean_article, clean_pages
from rag.errors import LoadError
from rag.records import Document

log = logging.getLogger(__name__)

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".jsonl"}

_MB = 2**20
_SNIFF_BYTES = 8192
_BOMS = [  # UTF-32 first: its little-endian BOM starts like UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_CONTROL_BYTES = frozenset(range(32)) - {9, 10, 12, 13} | {127}
_MD_HEADING = re.compile(r" {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*")
_SPACE_RUN = re.compile(r"[ \t]{2,}")
_MD_SETEXT = re.compile(r" {0,3}(?:=+|-{2,})[ \t]*")  # the underline of a setext heading
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
_DATE_FORMATS = [
    "%Y/%m/%d",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%B %d %Y",
    "%b %d %Y",
    "%d.%m.%Y",
]


class _BadLine(ValueError):
    """A JSONL line that cannot become a document; its message is the failure reason."""


@dataclass
class LoadFailure:
    """A file (or JSONL line) that could not be loaded; the ingest reports it and goes on."""

    where: str  # file path (and ':LINE' for a JSONL line)
    reason: str  # human readable: what is wrong and what to do


# ---------------------------------------------------------------- walking


def iter_documents(
    paths: Iterable[Path | str], max_bytes: int = 25 * _MB
) -> Iterator[Document | LoadFailure]:
    """Every document under ``paths`` (files or folders), in a deterministic order."""
    for item in iter_files(paths):
        if isinstance(item, LoadFailure):
            yield item
        else:
            yield from _load_safely(*item, max_bytes)


def iter_files(paths: Iterable[Path | str]) -> Iterator[tuple[Path, str] | LoadFailure]:
    """(file, source id) for every file ``iter_documents`` would load, in the same order; a
    distributed ingest (ingest/ray_pipeline.py) loads them elsewhere with ``load_safely``."""
    for given in paths:
        path = Path(given)
        if not path.exists():
            yield LoadFailure(str(path), "no such file or directory")
        elif path.is_dir():
            files, failures = _files_under(path)
            yield from failures
            for file in files:
                yield file, file.relative_to(path).as_posix()
        else:
            yield path, path.name


def load_safely(path: Path, source: str, max_bytes: int) -> list[Document | LoadFailure]:
    """One file's documents, or the LoadFailure that names it; never raises."""
    return list(_load_safely(path, source, max_bytes))


def _files_under(root: Path) -> tuple[list[Path], list[LoadFailure]]:
    """Supported, non-hidden files below ``root``, sorted; symlinks never lead outside it."""
    real_root = root.resolve()
    files: list[Path] = []
    failures: list[LoadFailure] = []

    def on_error(err: OSError) -> None:
        failures.append(
            LoadFailure(str(err.filename or root), f"cannot read folder: {err.strerror}")
        )

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error):  # never follows dir links
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            file = Path(dirpath, name)
            if name.startswith(".") or file.suffix.lower() not in SUPPORTED:
                log.debug("skipping %s (hidden or unsupported type)", file)
            elif file.is_symlink() and not file.resolve().is_relative_to(real_root):
                log.warning("skipping %s: symlink to outside %s", file, root)
            else:
                files.append(file)
    files.sort(key=lambda f: f.relative_to(root).as_posix())
    return files, failures


def _load_safely(path: Path, source: str, max_bytes: int) -> Iterator[Document | LoadFailure]:
    """Load one file, turning every error into a LoadFailure so the ingest can go on."""
    if path.suffix.lower() == ".jsonl":
        yield from _guarded(path, lambda: _iter_jsonl(path, source, max_bytes))
    else:
        yield from _guarded(path, lambda: load_file(path, source, max_bytes))


def _guarded(
    path: Path, produce: Callable[[], Iterable[Document | LoadFailure]]
) -> Iterator[Document | LoadFailure]:
    """Yield what ``produce`` yields; any exception ends this file with a LoadFailure."""
    try:
        yield from produce()
    except LoadError as err:
        yield LoadFailure(err.where, err.reason)
    except OSError as err:
        yield LoadFailure(str(path), f"cannot read file: {err.strerror or err}")
    except Exception as err:  # a parser bug must not stop the whole ingest
        log.exception("unexpected error loading %s", path)
        yield LoadFailure(
            str(path), f"unexpected error ({type(err).__name__}: {err}); please report it"
        )


# ---------------------------------------------------------------- one file


def load_file(path: Path, source: str, max_bytes: int) -> list[Document]:
    """The documents of one file (a JSONL feed: all of them, failing on its first bad line)."""
    path = Path(path)
    ext = path.suffix.lower()
    try:
        if ext == ".jsonl":
            return [_raise_failure(item) for item in _iter_jsonl(path, source, max_bytes)]
        loader = _LOADERS.get(ext)
        if loader is None:
            supported = ", ".join(sorted(SUPPORTED))
            raise LoadError(
                str(path), f"unsupported file type {ext or '(none)'!r}; supported: {supported}"
            )
        _check_size(path, max_bytes)
        doc = loader(path, source, max_bytes)
    except OSError as err:
        raise LoadError(str(path), f"cannot read file: {err.strerror or err}") from err
    doc.path = str(path)
    if not doc.text.strip():
        raise LoadError(str(path), "empty document (no text after cleaning)")
    return [doc]


def _raise_failure(item: Document | LoadFailure) -> Document:
    """load_file is all-or-nothing: a failed feed line becomes a LoadError."""
    if isinstance(item, LoadFailure):
        raise LoadError(item.where, item.reason)
    return item


def _size(n: int) -> str:
    """Human size for messages: MB (as CITEWISE_MAX_FILE_MB counts them), bytes when tiny."""
    if n < _MB // 10:
        return f"{n:,} bytes"
    return f"{n / _MB:.1f}".removesuffix(".0") + " MB"


def _check_size(path: Path, max_bytes: int) -> None:
    """Refuse big files before reading them, so one huge file cannot exhaust memory."""
    size = path.stat().st_size
    if size > max_bytes:
        raise LoadError(
            str(path),
            f"file is {_size(size)}, over the {_size(max_bytes)} limit; "
            "raise CITEWISE_MAX_FILE_MB to ingest it",
        )


# ---------------------------------------------------------------- text and markdown


def _has_bom(data: bytes) -> bool:
    """UTF-16/32 text is full of NUL bytes; its byte-order mark tells it from binary."""
    return any(data.startswith(bom) for bom, _ in _BOMS)


def _looks_binary(data: bytes) -> bool:
    """NUL bytes or many control bytes in the first 8 KB mean this is not text."""
    head = data[:_SNIFF_BYTES]
    if not head or _has_bom(head):
        return False
    controls = sum(1 for b in head if b in _CONTROL_BYTES)
    return b"\x00" in head or controls > len(head) / 10


def decode_text(data: bytes, where: str) -> str:
    """Bytes -> str: BOM, then UTF-8, then the best legacy encoding charset_normalizer finds."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as err:
                raise LoadError(
                    where,
                    f"cannot decode text: invalid {encoding} ({err.reason}); convert it to UTF-8",
                ) from err
    if _looks_binary(data):
        raise LoadError(where, "binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise LoadError(
            where, "cannot decode text: not UTF-8 and no other encoding fits; convert it to UTF-8"
        )
    log.info("%s is not UTF-8; decoded as %s", where, best.encoding)
    return str(best)


def _load_text(path: Path, source: str, max_bytes: int) -> Document:
    """Plain text is kept verbatim. Markdown headings lose their "#" marks and become section
    titles (chunk and citation metadata); the first heading is the title."""
    title, text = clean_article(decode_text(path.read_bytes(), str(path)))
    sections: list[tuple[int, str]] = []
    if path.suffix.lower() in {".md", ".markdown"}:
        text, sections = markdown_sections(text)
        title = sections[0][1] if sections else title
    return Document(source=source, text=text, title=title, sections=sections)


def markdown_sections(text: str) -> tuple[str, list[tuple[int, str]]]:
    """Text with ATX ("## Title") and setext ("Title" over "===") headings reduced to their
    words, and each heading as (offset in the returned text, title). Code fences are left as
    they are: a "# comment" in code is no heading."""
    out: list[str] = []
    sections: list[tuple[int, str]] = []
    pos = 0
    fence = ""
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            marker = stripped[:3]
            fence = "" if fence == marker else (fence or marker)
        elif not fence:
            atx = _MD_HEADING.fullmatch(line)
            if atx:
                line = atx.group(1).strip()
                sections.append((pos, line))
            elif _MD_SETEXT.fullmatch(line) and out and out[-1].strip() and (
                not sections or sections[-1][0] != pos - len(out[-1]) - 1
            ):
                prev = out.pop()
                pos -= len(prev) + 1
                title = prev.strip()
                sections.append((pos + len(prev) - len(prev.lstrip()), title))
                line = prev
        out.append(line)
        pos += len(line) + 1
    return "\n".join(out), sections


# ---------------------------------------------------------------- HTML


def _load_html(path: Path, source: str, max_bytes: int) -> Document:
    """Main text only (no menus, scripts or footers), with the page's own metadata."""
    data = path.read_bytes()
    if _looks_binary(data):
        raise LoadError(str(path), "binary file, not HTML")
    meta, text = _trafilatura(data, str(path))
    if not text or len(text) < _HTML_MIN_TRUSTED:
        # On short pages trafilatura falls back to a baseline that splits inline tags
        # ("Hello <b>bold</b>" becomes three lines); our block-aware text is better there.
        text = _html_fallback(data, str(path)) or text or ""
    title, text = clean_article(text)
    return Document(
        source=source,
        text=text,
        title=_one_line(getattr(meta, "title", None)) or title,
        url=_one_line(getattr(meta, "url", None)),
        published=iso_date(getattr(meta, "date", None)),
        authors=_authors(getattr(meta, "author", None)),
    )


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


def _html_fallback(data: bytes, where: str) -> str:
    """Body text without scripts, styles and page furniture, one line per block element.

    Walks lxml's tree without recursion: lxml caps nesting (libxml2's limit), so
    pathological pages cost linear time instead of BeautifulSoup's quadratic walk.
    """
    try:
        root = lxml.html.document_fromstring(data)
    except (etree.ParserError, ValueError) as err:
        raise LoadError(where, f"cannot parse HTML ({_short(err)})") from err
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


# ---------------------------------------------------------------- PDF


def _load_pdf(path: Path, source: str, max_bytes: int) -> Document:
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
        raise LoadError(where, f"corrupt PDF: {_short(err)}") from err
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
        title=_one_line(_safe_attr(meta, "title")) or title,
        published=iso_date(_safe_attr(meta, "creation_date")),
        authors=_authors(_safe_attr(meta, "author")),
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


def _short(err: BaseException) -> str:
    """First line of an error message, capped, for a one-line failure reason."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:200]


# ---------------------------------------------------------------- DOCX


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
    if total > 8 * max_bytes or (total > _MB and total > 100 * max(packed, 1)):
        raise LoadError(where, f"suspicious .docx: expands to {_size(total)} (zip bomb?)")


def _load_docx(path: Path, source: str, max_bytes: int) -> Document:
    """Paragraphs (and table rows) in document order, with the core properties as metadata."""
    _check_zip(path, max_bytes)
    try:
        document = docx.Document(str(path))
        lines: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines.extend("\t".join(cell.text for cell in row.cells) for row in block.rows)
            else:
                lines.append(block.text)
        props = document.core_properties
    except Exception as err:  # KeyError, ValueError, lxml errors on a damaged package
        raise LoadError(str(path), f"not a valid .docx: {_short(err)}") from err
    title, text = clean_article("\n".join(lines))
    return Document(
        source=source,
        text=text,
        title=_one_line(props.title) or title,
        published=iso_date(props.created),
        authors=_authors(props.author),
    )


_LOADERS: dict[str, Callable[[Path, str, int], Document]] = {
    ".txt": _load_text,
    ".md": _load_text,
    ".markdown": _load_text,
    ".html": _load_html,
    ".htm": _load_html,
    ".pdf": _load_pdf,
    ".docx": _load_docx,
}


# ---------------------------------------------------------------- JSONL news feeds


def _read_lines(stream: IO[bytes], limit: int) -> Iterator[bytes | None]:
    """Lines of a file read one at a time; None stands for a line over ``limit`` bytes."""
    while line := stream.readline(limit + 1):
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # skip the rest of the long line
                line = stream.readline(_MB)
            yield None
        else:
            yield line


def _iter_jsonl(path: Path, rel: str, max_bytes: int) -> Iterator[Document | LoadFailure]:
    """One document per JSON line, streamed; bad lines fail alone and the rest still load."""
    seen: dict[str, int] = {}
    with path.open("rb") as stream:
        for lineno, raw in enumerate(_read_lines(stream, max_bytes), start=1):
            where = f"{path}:{lineno}"
            if raw is None:
                yield LoadFailure(
                    where,
                    f"line is over the {_size(max_bytes)} limit; "
                    "raise CITEWISE_MAX_FILE_MB to ingest it",
                )
                continue
            if not raw.strip():
                continue
            try:
                doc = _feed_document(raw, rel, lineno)
            except _BadLine as err:
                yield LoadFailure(where, str(err))
                continue
            if doc.source in seen:
                yield LoadFailure(
                    where,
                    f"duplicate id {doc.source!r} (first on line "
                    f"{seen[doc.source]}); ids must be unique within a feed",
                )
                continue
            seen[doc.source] = lineno
            doc.path = str(path)
            yield doc


def _parse_json_line(raw: bytes, lineno: int) -> dict[str, Any]:
    """One JSON object from one line, or a _BadLine saying what is wrong with it."""
    try:
        obj = json.loads(raw.decode("utf-8-sig" if lineno == 1 else "utf-8"))
    except UnicodeDecodeError as err:
        raise _BadLine("invalid UTF-8; JSON Lines feeds must be UTF-8") from err
    except json.JSONDecodeError as err:
        raise _BadLine(f"invalid JSON: {err.msg} (column {err.colno})") from err
    except RecursionError as err:
        raise _BadLine("invalid JSON: nested too deeply") from err
    if not isinstance(obj, dict):
        raise _BadLine(f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _feed_document(raw: bytes, rel: str, lineno: int) -> Document:
    """A Document from one feed record; its id (else url, else file#line) is its source."""
    obj = _parse_json_line(raw, lineno)
    text = obj.get("text")
    if "text" not in obj:
        raise _BadLine("missing 'text'")
    if not isinstance(text, str) or not text.strip():
        raise _BadLine("'text' must be a non-empty string")
    title, text = clean_article(text)
    if not text.strip():
        raise _BadLine("empty document (no text after cleaning)")
    ident, url = obj.get("id"), _one_line(obj.get("url"))
    ident = "" if ident is None or isinstance(ident, dict | list) else str(ident).strip()
    return Document(
        source=ident or url or f"{rel}#{lineno}",
        text=text,
        title=_one_line(obj.get("title")) or title,
        url=url,
        published=iso_date(obj.get("published")),
        authors=_authors(obj.get("authors")),
    )


# ---------------------------------------------------------------- metadata helpers


def _one_line(value: Any) -> str:
    """A metadata string on one line, or "" when it is missing or not a string."""
    return " ".join(value.split()) if isinstance(value, str) else ""


def _authors(value: Any) -> list[str]:
    """Authors from a list of names or one string ("A; B" as trafilatura and Office write them)."""
    if isinstance(value, str):
        value = value.split(";")
    if not isinstance(value, list):
        return []
    return [name for name in (_one_line(v) for v in value) if name]


def iso_date(value: Any) -> str:
    """YYYY-MM-DD from a date, datetime, epoch number or common date string; "" if unparseable."""
    if isinstance(value, date):  # datetime too
        return value.strftime("%Y-%m-%d")
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value  # epoch milliseconds
        try:
            return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d")
        except (OverflowError, OSError, ValueError):
            return ""
    text = value.strip() if isinstance(value, str) else ""
    return _parse_date_string(text) if text else ""


def _parse_date_string(text: str) -> str:
    """ISO 8601, RFC 2822 (RSS) and a few written-out formats."""
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%d")
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text).strftime("%Y-%m-%d")
    except (TypeError, ValueError, IndexError):
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).strftime("%Y-%m-%d")
        except ValueError:
            continue
    return ""
