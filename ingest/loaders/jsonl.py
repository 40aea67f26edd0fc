"""JSON Lines news feeds: one article per line, streamed; a bad line fails alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ingest.clean import clean_article
from ingest.loaders.base import Loader, LoadFailure
from ingest.loaders.meta import MB, authors, human_size, iso_date, one_line
from rag.records import Document


class _BadLine(ValueError):
    """A JSONL line that cannot become a document; its message is the failure reason."""


def _read_lines(stream: IO[bytes], limit: int) -> Iterator[bytes | None]:
    """Lines of a file read one at a time; None stands for a line over ``limit`` bytes."""
    while line := stream.readline(limit + 1):
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # skip the rest of the long line
                line = stream.readline(MB)
            yield None
        else:
            yield line


def load_jsonl(path: Path, rel: str, max_bytes: int) -> Iterator[Document | LoadFailure]:
    """One document per JSON line, streamed; bad lines fail alone and the rest still load."""
    seen: dict[str, int] = {}
    with path.open("rb") as stream:
        for lineno, raw in enumerate(_read_lines(stream, max_bytes), start=1):
            where = f"{path}:{lineno}"
            if raw is None:
                yield LoadFailure(
                    where,
                    f"line is over the {human_size(max_bytes)} limit; "
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
    ident, url = obj.get("id"), one_line(obj.get("url"))
    ident = "" if ident is None or isinstance(ident, dict | list) else str(ident).strip()
    published = iso_date(obj.get("published"))
    return Document(
        source=ident or url or f"{rel}#{lineno}",
        text=text,
        title=one_line(obj.get("title")) or title,
        url=url,
        published=published,
        authors=authors(obj.get("authors")),
        dated_by="metadata" if published else "",
    )


LOADER = Loader(load_jsonl, streams=True)  # each line is size-checked, not the whole feed
