"""Plain text and Markdown: decoding (BOM, UTF-8, then the best legacy encoding) and headings."""

from __future__ import annotations

import codecs
import logging
import re
from pathlib import Path

import charset_normalizer

from ingest.clean import clean_article
from ingest.loaders.meta import date_lines, stated_date
from rag.errors import LoadError
from rag.records import Document

log = logging.getLogger(__name__)

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
_MD_SETEXT = re.compile(r" {0,3}(?:=+|-{2,})[ \t]*")  # the underline of a setext heading


def _has_bom(data: bytes) -> bool:
    """UTF-16/32 text is full of NUL bytes; its byte-order mark tells it from binary."""
    return any(data.startswith(bom) for bom, _ in _BOMS)


def looks_binary(data: bytes) -> bool:
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
    if looks_binary(data):
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


def load_text(path: Path, source: str, max_bytes: int) -> Document:
    """Plain text is kept verbatim. Markdown headings lose their "#" marks and become section
    titles (chunk and citation metadata); the first heading is the title."""
    title, text = clean_article(decode_text(path.read_bytes(), str(path)))
    sections: list[tuple[int, str]] = []
    if path.suffix.lower() in {".md", ".markdown"}:
        text, sections = markdown_sections(text)
        title = sections[0][1] if sections else title
    published = stated_date(*date_lines(title, text))  # "Board minutes, 14 February 2024"
    return Document(source=source, text=text, title=title, sections=sections,
                    published=published, dated_by="title or first line" if published else "")


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
