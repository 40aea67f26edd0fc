"""TAT-QA dev as a development set of documents with tables (``python -m eval.external tatqa``).

TAT-QA (Zhu et al., ACL 2021, CC BY 4.0) holds excerpts of real annual reports: one table and
the paragraphs around it, with questions written by finance experts. Each excerpt becomes one
document *file* (Markdown, HTML or Word), so the loaders' table handling is what is measured,
and each question is asked over its own document only (a user who opened that report).
Arithmetic and count questions are left out: an extractive answer quotes, it doesn't compute.
Only the dev split exists here; TAT-QA's test files are reserved for independent evaluation.
"""

from __future__ import annotations

import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.datasets import DatasetError
from eval.splits import split_titles

FORMATS = ("md", "html", "docx", "pdf")
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian's fonts-dejavu-core
KINDS = ("span", "multi-span")  # the extractive part of TAT-QA
MEASURE_SHARE = 0.5  # of the excerpts, by table uid


def read_tatqa(path: Path) -> list[dict[str, Any]]:
    """The excerpts of a TAT-QA JSON file; refuses a test file (reserved) and names bad input."""
    if "test" in path.name.lower():
        raise DatasetError(f"{path}: TAT-QA's test split is reserved for independent evaluation; "
                           "use tatqa_dataset_dev.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read TAT-QA ({exc.strerror or exc}); see "
                           "../shared/datasets/README.md") from exc
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from exc
    if not isinstance(data, list) or not all(isinstance(x, dict) and "table" in x for x in data):
        raise DatasetError(f"{path}: expected a TAT-QA list of {{table, paragraphs, questions}}")
    return data


def _cell(value: Any) -> str:
    return " ".join(str(value).split())


def _rows(excerpt: dict[str, Any]) -> list[list[str]]:
    rows = [[_cell(c) for c in row] for row in excerpt["table"]["table"]]
    width = max((len(r) for r in rows), default=0)
    return [r + [""] * (width - len(r)) for r in rows if any(r)]


def header_rows(rows: Sequence[Sequence[str]]) -> int:
    """How many leading rows are column headings: the first, and those after it whose first
    cell (the row label) is empty, as reports lay out "Years ended ..." over "2019 | 2018"."""
    n = 1 if rows else 0
    while n < len(rows) and not rows[n][0].strip():
        n += 1
    return n


def _paragraphs(excerpt: dict[str, Any]) -> list[str]:
    paras = sorted(excerpt.get("paragraphs", []), key=lambda p: int(p.get("order", 0)))
    return [" ".join(str(p["text"]).split()) for p in paras if str(p.get("text", "")).strip()]


def to_markdown(excerpt: dict[str, Any]) -> str:
    """The table as a Markdown pipe table, then the paragraphs."""
    rows = _rows(excerpt)
    lines = []
    for i, row in enumerate(rows):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
        if i == 0:
            lines.append("|" + "---|" * len(row))
    return "\n".join(lines) + "\n\n" + "\n\n".join(_paragraphs(excerpt)) + "\n"


def to_html(excerpt: dict[str, Any]) -> str:
    """An HTML page: the table (heading rows as ``<th>`` in ``<thead>``), then the paragraphs."""
    rows = _rows(excerpt)
    n_head = header_rows(rows)
    out = ["<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><table>"]
    for i, row in enumerate(rows):
        if i == 0:
            out.append("<thead>")
        if i == n_head:
            out.append("</thead><tbody>")
        tag = "th" if i < n_head else "td"
        out.append("<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in row) + "</tr>")
    out.append("</tbody></table>" if n_head < len(rows) else "</thead></table>")
    out += [f"<p>{html.escape(p)}</p>" for p in _paragraphs(excerpt)]
    out.append("</body></html>")
    return "\n".join(out)


def to_docx(excerpt: dict[str, Any]) -> bytes:
    """A Word document: the table, then the paragraphs."""
    import docx  # python-docx, a loader dependency; imported on use

    rows = _rows(excerpt)
    document = docx.Document()
    if rows:
        table = document.add_table(rows=len(rows), cols=len(rows[0]))
        for i, row in enumerate(rows):
            for j, cell in enumerate(row):
                table.cell(i, j).text = cell
    for para in _paragraphs(excerpt):
        document.add_paragraph(para)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def to_pdf(excerpt: dict[str, Any]) -> bytes:
    """A PDF page as reports print them: the table ruled, then the paragraphs (fpdf2, a test
    dependency; DejaVu Sans when installed, else Helvetica with non-Latin-1 text replaced)."""
    try:
        from fpdf import FPDF
    except ImportError as exc:
        raise DatasetError("--format pdf needs fpdf2 (pip install fpdf2; `make install` has "
                           "it)") from exc
    pdf = FPDF()
    pdf.add_page()
    if FONT.is_file():
        pdf.add_font("DejaVu", fname=str(FONT))
        pdf.set_font("DejaVu", size=8)

        def fix(t: str) -> str:
            return t
    else:
        pdf.set_font("Helvetica", size=8)

        def fix(t: str) -> str:
            return t.encode("latin-1", "replace").decode("latin-1")
    rows = _rows(excerpt)
    if rows:
        with pdf.table(first_row_as_headings=False) as table:
            for cells in rows:
                row = table.row()
                for cell in cells:
                    row.cell(fix(cell))
    for para in _paragraphs(excerpt):
        pdf.multi_cell(0, 5, fix(para), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def render(excerpt: dict[str, Any], fmt: str) -> bytes:
    if fmt == "md":
        return to_markdown(excerpt).encode("utf-8")
    if fmt == "html":
        return to_html(excerpt).encode("utf-8")
    if fmt == "docx":
        return to_docx(excerpt)
    if fmt == "pdf":
        return to_pdf(excerpt)
    raise DatasetError(f"unknown TAT-QA document format {fmt!r}; use one of {', '.join(FORMATS)}")


def file_name(uid: str, fmt: str) -> str:
    return f"tatqa-{uid}.{fmt}"


def question_rows(excerpt: dict[str, Any], source: str) -> list[dict[str, Any]]:
    """The span and multi-span questions of one excerpt, asked over ``source`` only."""
    out = []
    for q in excerpt.get("questions", []):
        if q.get("answer_type") not in KINDS:
            continue
        answers = q["answer"] if isinstance(q["answer"], list) else [q["answer"]]
        answers = [a for a in (_cell(a) for a in answers) if a]
        if not answers:
            continue
        tags = ["tatqa", str(q.get("answer_from", "")), str(q["answer_type"])]
        out.append({"id": str(q["uid"]), "question": _cell(q["question"]), "answers": answers,
                    "answerable": True, "sources": [source], "tags": [t for t in tags if t]})
    return out


def build_parts(data: list[dict[str, Any]], fmt: str, seed: int
                ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, bytes], dict[str, Any]]:
    """(question rows by part, document files, counts), split by excerpt."""
    uids = [str(x["table"]["uid"]) for x in data]
    tune, measure = split_titles(uids, set(), seed, measure=round(len(uids) * MEASURE_SHARE))
    part_of = {u: "tune" for u in tune} | {u: "measure" for u in measure}
    parts: dict[str, list[dict[str, Any]]] = {"tune": [], "measure": []}
    files: dict[str, bytes] = {}
    for excerpt in data:
        uid = str(excerpt["table"]["uid"])
        name = file_name(uid, fmt)
        rows = question_rows(excerpt, name)
        if not rows:
            continue
        files[name] = render(excerpt, fmt)
        parts[part_of[uid]].extend(rows)
    return parts, files, part_stats(parts, files, fmt)


def part_stats(parts: dict[str, list[dict[str, Any]]], files: dict[str, bytes],
               fmt: str) -> dict[str, Any]:
    """Documents, and questions per part by where the answer is."""
    stats: dict[str, Any] = {"documents": len(files), "format": fmt}
    for part, rows in parts.items():
        stats[f"{part}_questions"] = len(rows)
        for where in ("table", "text", "table-text"):
            stats[f"{part}_{where}"] = sum(where in r["tags"] for r in rows)
        stats[f"{part}_multi_span"] = sum("multi-span" in r["tags"] for r in rows)
    return stats
