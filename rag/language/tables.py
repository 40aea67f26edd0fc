"""Tables in stored text: each data row is an answer unit that carries its column headings.

Every loader writes a table as Markdown pipe rows ("| Team | $15 | $150 |", a delimiter line
after the first row): Markdown files have them already, trafilatura writes HTML tables so, and
the .docx and HTML fallback loaders render them so. The stored text stays exact: a row is a
line of it, and a citation quotes that line. What a row *means* needs its headings, often far
above it; :func:`find_tables` (markdown-it-py's table rule, not a regex) finds each table's
heading rows and caption once, at ingest, and chunks carry the :class:`Table` records of the
tables they overlap, so the answerer reads a row as "Team — Monthly: $15; Annual: $150".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

MAX_CAPTION_WORDS = 20  # a longer line before a table is prose, not its caption
MAX_PREFIX_CHARS = 200  # headings repeated before a chunk that continues a table
_DELIMITER = re.compile(r"\s*\|?\s*:?-{1,}:?\s*(?:\|\s*:?-{1,}:?\s*)*\|?\s*")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_FOOTNOTE = re.compile(r"(?<=[a-z)])\d{1,2}$|\s*\(\d{1,2}\)$")


@dataclass(frozen=True)
class Table:
    """Where a table lies in a document's text (offsets) and what its columns are called."""

    start: int  # the first heading row
    end: int  # the end of the last row
    body: int  # where the data rows start (after every heading row and the delimiter)
    columns: tuple[str, ...]  # per column, its heading rows' cells joined ("" when none)
    caption: str = ""  # the short line just above the table, or a heading row spanning it

    def to_json(self) -> list[Any]:
        return [self.start, self.end, self.body, list(self.columns), self.caption]

    @classmethod
    def from_json(cls, value: list[Any]) -> Table:
        start, end, body, columns, caption = value
        return cls(int(start), int(end), int(body), tuple(str(c) for c in columns), str(caption))

    def heading_line(self) -> str:
        """The caption and the column headings as one line: the context of a chunk that holds
        rows of this table but not its heading."""
        cols = " | ".join(c for c in self.columns if c)
        line = f"{self.caption}: {cols}" if self.caption and cols else self.caption or cols
        return line[:MAX_PREFIX_CHARS]


@dataclass(frozen=True)
class Row:
    """One data row: an exact line of the text, its cells and its table."""

    start: int  # document offsets of the line without surrounding spaces
    end: int
    cells: tuple[str, ...]
    table: Table
    group: str = ""  # the label-only row above it ("Deferred tax assets:"), if any
    # "row"; "group": a label-only row with the rows under it (its span covers them);
    # "table": the whole table read as a list of its rows and columns
    kind: str = "row"
    members: tuple[str, ...] = ()  # labels of the rows a group or table lists

    @property
    def label(self) -> str:
        """What the row is about: its first non-empty cell, footnote marks left out
        ("Incentive schemes1", "Foreign(2)" are "Incentive schemes", "Foreign")."""
        return _FOOTNOTE.sub("", next((c for c in self.cells if c), ""))

    def values(self) -> list[tuple[str, str]]:
        """(column heading, cell) for each non-empty cell after the label."""
        out = []
        label_seen = False
        for i, cell in enumerate(self.cells):
            if not cell:
                continue
            if not label_seen:
                label_seen = True
                continue
            column = self.table.columns[i] if i < len(self.table.columns) else ""
            out.append((column, cell))
        return out

    def context_line(self) -> str:
        """What a quoted row's cells mean, shown beside the quote: its table's caption and
        column headings, and the group label it is under ("Deferred tax assets:")."""
        line = self.table.heading_line()
        group = self.group.rstrip(":").strip()
        return f"{line} — {group}" if group and self.kind == "row" else line

    def readable(self) -> str:
        """The row as a reader would say it: "Team — Monthly: $15; Annual: $150"; a group as
        "Deferred tax assets: Reserves; Losses"; a table as its caption, rows and columns."""
        if self.kind == "group":
            return f"{self.label.rstrip(':')}: {'; '.join(self.members)}"
        if self.kind == "table":
            cols = "; ".join(c for c in self.table.columns[1:] if c)
            lead = f"{self.table.caption.rstrip('.:;')}: " if self.table.caption else ""
            return f"{lead}{'; '.join(self.members)}" + (f" — columns: {cols}" if cols else "")
        parts = [f"{col}: {cell}" if col else cell for col, cell in self.values()]
        label = self.label
        if self.group and label != self.group:
            label = f"{self.group.rstrip(':')}: {label}"
        if not parts:
            return label
        return f"{label} — {'; '.join(parts)}" if label else "; ".join(parts)


def pipe_rows(rows: list[list[str]]) -> list[str]:
    """Cells as Markdown pipe rows with a delimiter after the first: how loaders write a
    table into a document's text. Line breaks in a cell become spaces, bars are escaped."""
    cleaned = [[" ".join(c.split()).replace("|", "\\|") for c in row] for row in rows]
    cleaned = [row for row in cleaned if any(row)]
    if not cleaned:
        return []
    width = max(len(r) for r in cleaned)
    lines = ["| " + " | ".join(r + [""] * (width - len(r))) + " |" for r in cleaned]
    return [lines[0], "|" + "---|" * width, *lines[1:]]


def split_cells(line: str) -> tuple[str, ...]:
    """The cells of one pipe row, ``\\|`` read as a literal bar."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return tuple(" ".join(c.replace("\\|", "|").split()) for c in _UNESCAPED_PIPE.split(body))


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", text))
    return starts


def _line_span(text: str, starts: list[int], line: int) -> tuple[int, int]:
    s = starts[line]
    e = starts[line + 1] - 1 if line + 1 < len(starts) else len(text)
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def _caption(text: str, starts: list[int], first_line: int) -> str:
    """The short line just above a table (blank lines between allowed), if it is one."""
    line = first_line - 1
    while line >= 0:
        s, e = _line_span(text, starts, line)
        if e > s:
            words = text[s:e].split()
            if len(words) <= MAX_CAPTION_WORDS and "|" not in text[s:e]:
                return " ".join(words).rstrip(":")
            return ""
        line -= 1
    return ""


_YEARISH = re.compile(r"(?:fy|fiscal\s*)?(?:19|20)\d\d(?:\s*[/–-]\s*(?:19|20)?\d\d)?", re.IGNORECASE)
_DIGIT = re.compile(r"\d")


_YEAR_TOKEN = re.compile(r"(?<![\d,.$])(?:fy)?(?:19|20)\d\d(?![\d,.])|\(\d\)|(?<=[a-z])\d+\b",
                         re.IGNORECASE)


def is_value(cell: str) -> bool:
    """A cell that holds data ("$1,073.3", "(38)", "4.5%"), not a heading: it has a digit
    besides years ("2019 €m", "FY2019", "2018/2019"), footnote marks ("(1)") and dates in words
    ("April 27, 2019")."""
    cell = cell.strip()
    if not _DIGIT.search(cell) or _YEARISH.fullmatch(cell):
        return False
    if re.search(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s*\d|"
                 r"\d\s*(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", cell,
                 re.IGNORECASE):
        return False
    return bool(_DIGIT.search(_YEAR_TOKEN.sub("", cell)))


# a word in a cell other than a unit: "1-3 Years" is a heading, "$12.5 million" a figure
_WORDY = re.compile(r"\b(?!(?:million|billion|thousand|per|cent|pts|bps)s?\b)[a-z]{3,}",
                    re.IGNORECASE)


def _heading_rows(rows: list[tuple[int, tuple[str, ...]]]) -> int:
    """How many leading rows head the columns: none when the first has data or is the only
    row (a Word or HTML table need not have headings), else the first and those after it without data
    ("" over "2019 | 2018", "(Dollars in Millions) | April 27, 2019"), as long as a later row
    has data (a table of words has one heading row)."""
    has_value = [any(is_value(c) for c in cells[1:]) for _, cells in rows]
    if len(rows) == 1 or has_value[0] and rows[0][1][0]:  # "| Cost | 12 million |": data
        return 0
    # under a heading row, one whose cells are all words ("Less than 1 Year | 2-5 Years")
    # heads the columns too, though its cells have digits
    figures = [any(is_value(c) and not _WORDY.search(c) for c in cells[1:])
               for _, cells in rows]
    heads = 1
    while heads < len(rows) and not figures[heads] and any(has_value[heads + 1:]) \
            and any(rows[heads][1][1:]):
        heads += 1
    return heads


def _headings(heading_rows: list[tuple[str, ...]], width: int
              ) -> tuple[tuple[str, ...], list[str]]:
    """(each column's heading, the heading rows' cells that span the whole table). A heading
    row with one cell in a table of three or more columns ("Years ended 30 June") spans it: it
    belongs to the caption, not to the column it happens to sit in."""
    spans = [len([c for c in cells if c]) == 1 and width > 2 for cells in heading_rows]
    columns = []
    for j in range(width):
        parts: list[str] = []
        for cells, spanning in zip(heading_rows, spans, strict=True):
            cell = cells[j] if j < len(cells) else ""
            if cell and cell not in parts and not (spanning and j > 0):
                parts.append(cell)
        columns.append(" ".join(parts))
    spanning_cells = [next(c for c in cells if c)
                      for cells, spanning in zip(heading_rows, spans, strict=True) if spanning]
    return tuple(columns), spanning_cells


@lru_cache(maxsize=256)
def find_tables(text: str) -> tuple[Table, ...]:
    """Every pipe table of ``text`` with its heading rows, columns and caption."""
    if "|" not in text or "-" not in text:
        return ()
    from markdown_it import MarkdownIt  # imported on use: ingest and answers only

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    starts = _line_starts(text)
    tables = []
    for i, tok in enumerate(tokens):
        if tok.type != "table_open" or tok.map is None:
            continue
        rows: list[tuple[int, tuple[str, ...]]] = []
        for t in tokens[i + 1:]:
            if t.type == "table_close":
                break
            if t.type == "tr_open" and t.map is not None:
                s, e = _line_span(text, starts, t.map[0])
                if "|" not in text[s:e]:
                    # GFM runs a table on over the next lines until a blank one; loaders
                    # write a paragraph right under a table, and a line without a bar ends it
                    break
                rows.append((t.map[0], split_cells(text[s:e])))
        if not rows:
            continue
        heads = _heading_rows(rows)
        columns, spanning = _headings([cells for _, cells in rows[:heads]],
                                      max(len(cells) for _, cells in rows))
        caption = "; ".join(p for p in [_caption(text, starts, tok.map[0]), *spanning] if p)
        first = _line_span(text, starts, rows[0][0])[0]
        last = _line_span(text, starts, rows[-1][0])[1]
        body = starts[rows[heads][0]] if heads < len(rows) else last
        tables.append(Table(first, last, body, tuple(columns), caption))
    return tuple(tables)


def table_rows(text: str, offset: int, tables: list[Table] | tuple[Table, ...]) -> list[Row]:
    """The data rows of ``tables`` inside ``text``, a span of the document that starts at
    document offset ``offset`` (a chunk); offsets returned are the document's."""
    rows = []
    end = offset + len(text)
    for table in tables:
        lo, hi = max(table.body, offset), min(table.end, end)
        if lo >= hi:
            continue
        pos = lo - offset
        group = ""
        for line in text[pos : hi - offset].split("\n"):
            s = offset + pos + (len(line) - len(line.lstrip()))
            e = offset + pos + len(line.rstrip())
            pos += len(line) + 1
            body = line.strip()
            if "|" not in body or _DELIMITER.fullmatch(body):
                continue
            if s < table.body:
                continue
            cells = split_cells(body)
            filled = [c for c in cells if c]
            if len(filled) == 1 and cells[0]:  # a label alone heads the rows below it
                group = cells[0]
                rows.append(Row(s, e, cells, table, kind="group"))
                continue
            rows.append(Row(s, e, cells, table, group))
    return _with_lists(rows, offset, end)


def _with_lists(rows: list[Row], offset: int, end: int) -> list[Row]:
    """Groups get their members (and span them); a table whose headings are in the span is
    also one unit listing its rows: "Which segments ...?" is answered by labels."""
    out: list[Row] = []
    for i, row in enumerate(rows):
        if row.kind != "group":
            out.append(row)
            continue
        members = [r for r in rows[i + 1:] if r.table is row.table and r.kind == "row"
                   and r.group == row.cells[0]]
        if members:
            row = replace(row, end=members[-1].end, members=tuple(m.label for m in members))
        out.append(row)
    for table in dict.fromkeys(r.table for r in rows):
        if table.start < offset:
            continue
        own = [r for r in rows if r.table is table]
        # the rows at the table's top level: groups, and rows under no group
        labels = tuple(dict.fromkeys(r.label for r in own if not r.group))
        if len(labels) >= 2:
            out.append(Row(table.start, min(table.end, end), (), table, kind="table",
                           members=labels))
    return out


def tables_json(tables: list[Table] | tuple[Table, ...]) -> str:
    return json.dumps([t.to_json() for t in tables], ensure_ascii=False)


def tables_from_json(value: str) -> list[Table]:
    return [Table.from_json(v) for v in json.loads(value)]
