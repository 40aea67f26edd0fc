"""Loaders turn every supported file into cleaned Documents, and every bad one into a LoadFailure."""

from __future__ import annotations

import io
import json
import random
import zipfile
from datetime import datetime
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader, PdfWriter

from ingest.loaders import (
    LoadFailure,
    iso_date,
    iter_documents,
    load_file,
    supported_extensions,
)
from rag.errors import LoadError
from rag.records import Document

MB = 2**20


# ---------------------------------------------------------------- helpers


def load(path: Path, max_bytes: int = 25 * MB) -> list[Document | LoadFailure]:
    return list(iter_documents([path], max_bytes=max_bytes))


def one_doc(path: Path, **kw: int) -> Document:
    items = load(path, **kw)
    assert len(items) == 1 and isinstance(items[0], Document), items
    return items[0]


def one_failure(path: Path, **kw: int) -> LoadFailure:
    items = load(path, **kw)
    assert len(items) == 1 and isinstance(items[0], LoadFailure), items
    return items[0]


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF with one Helvetica text line per string (pypdf cannot write text)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, lines in enumerate(pages):
        ops = [
            "BT",
            "/F1 12 Tf",
            "14 TL",
            "72 720 Td",
            *(f"({line}) Tj T*" for line in lines),
            "ET",
        ]
        stream = "\n".join(ops).encode("latin-1")
        objs.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        objs.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


PDF_PAGES = [
    ["Quarterly results for ACME", "Revenue grew by ten percent this year."],
    ["Advertisement", "Costs fell on the second page."],
    ["The third page closes the report."],
]


def rewrite_pdf(data: bytes, **encrypt: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    if encrypt:
        writer.encrypt(**encrypt)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# ---------------------------------------------------------------- text and markdown


def test_plain_text_is_cleaned_and_titled(tmp_path: Path) -> None:
    f = tmp_path / "story.txt"
    f.write_text("Big headline\n\nAdvertisement\n\nThe body sentence.\n", encoding="utf-8")
    doc = one_doc(f)
    assert doc.source == "story.txt"
    assert doc.path == str(f)
    assert doc.title == "Big headline"
    assert doc.text == "Big headline\n\nThe body sentence."
    assert doc.pages == []


def test_markdown_headings_become_section_titles_and_the_first_is_the_title(
    tmp_path: Path,
) -> None:
    f = tmp_path / "notes.md"
    f.write_text(
        "Intro line without heading\n\n## The *real* title ##\n\nSome text.\n", encoding="utf-8"
    )
    doc = one_doc(f)
    assert doc.title == "The *real* title"
    assert doc.text == "Intro line without heading\n\nThe *real* title\n\nSome text."
    assert doc.sections == [(28, "The *real* title")]
    assert doc.text[28:].startswith("The *real* title")


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    f = tmp_path / "bom.txt"
    f.write_bytes("\ufeffHeadline\nBody text.".encode())
    doc = one_doc(f)
    assert doc.text == "Headline\nBody text."
    assert doc.title == "Headline"


def test_utf16_text_with_bom_is_decoded(tmp_path: Path) -> None:
    f = tmp_path / "wide.txt"
    f.write_bytes("Überschrift\nDer Bär aß Brötchen.".encode("utf-16"))
    assert one_doc(f).text == "Überschrift\nDer Bär aß Brötchen."


def test_utf32_text_with_bom_is_decoded(tmp_path: Path) -> None:
    f = tmp_path / "wider.txt"
    f.write_bytes("Title\nCafé crème.".encode("utf-32"))
    assert one_doc(f).text == "Title\nCafé crème."


def test_latin1_text_is_decoded(tmp_path: Path) -> None:
    f = tmp_path / "legacy.txt"
    body = (
        "Le café de la gare\n\n"
        "Le café était fermé à cause de la grève. Les employés réclamaient "
        "une hausse de salaire, et le propriétaire a refusé de négocier.\n"
    )
    f.write_bytes(body.encode("latin-1"))
    doc = one_doc(f)
    assert "Le café était fermé à cause de la grève." in doc.text
    assert doc.title == "Le café de la gare"


def test_cp1252_smart_quotes_are_decoded(tmp_path: Path) -> None:
    f = tmp_path / "quotes.txt"
    body = (
        "Headline\n\n\u201cWe will build it,\u201d the mayor said \u2013 and the council agreed.\n"
    )
    f.write_bytes(body.encode("cp1252"))
    assert "\u201cWe will build it,\u201d the mayor said \u2013 and" in one_doc(f).text


def test_binary_junk_named_txt_fails(tmp_path: Path) -> None:
    f = tmp_path / "junk.txt"
    f.write_bytes(bytes(range(256)) * 40)
    failure = one_failure(f)
    assert failure.where == str(f)
    assert failure.reason == "binary file, not text"


def test_control_heavy_file_without_nul_is_binary(tmp_path: Path) -> None:
    f = tmp_path / "ctrl.txt"
    f.write_bytes(b"abc\x01\x02\x03\x04" * 100)
    assert one_failure(f).reason == "binary file, not text"


@pytest.mark.parametrize(
    "content", [b"", b"   \n\t\r\n  \n", "\ufeff".encode(), b"Advertisement\n"]
)
def test_empty_whitespace_or_boilerplate_only_files_fail(tmp_path: Path, content: bytes) -> None:
    f = tmp_path / "empty.txt"
    f.write_bytes(content)
    assert one_failure(f).reason == "empty document (no text after cleaning)"


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    f = tmp_path / "big.txt"
    f.write_text("word " * 400)
    failure = one_failure(f, max_bytes=100)
    assert "over the 100 bytes limit" in failure.reason
    assert "CITEWISE_MAX_FILE_MB" in failure.reason


def test_oversized_message_in_megabytes(tmp_path: Path) -> None:
    f = tmp_path / "huge.txt"
    with f.open("wb") as out:
        out.truncate(int(52.3 * MB))  # sparse: no disk space used
    failure = one_failure(f)
    assert failure.reason == (
        "file is 52.3 MB, over the 25 MB limit; raise CITEWISE_MAX_FILE_MB to ingest it"
    )


def test_load_file_raises_load_error(tmp_path: Path) -> None:
    f = tmp_path / "junk.txt"
    f.write_bytes(b"\x00\x01" * 100)
    with pytest.raises(LoadError) as info:
        load_file(f, "junk.txt", 25 * MB)
    assert info.value.where == str(f)
    assert info.value.reason == "binary file, not text"


def test_load_file_returns_documents(tmp_path: Path) -> None:
    f = tmp_path / "ok.txt"
    f.write_text("Title line\nBody.")
    [doc] = load_file(f, "custom/source.txt", 25 * MB)
    assert doc.source == "custom/source.txt"
    assert doc.title == "Title line"


def test_missing_path_fails(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert load(missing) == [LoadFailure(str(missing), "no such file or directory")]


def test_unsupported_file_given_directly_fails(tmp_path: Path) -> None:
    f = tmp_path / "sheet.xlsx"
    f.write_bytes(b"PK")
    assert "unsupported file type '.xlsx'" in one_failure(f).reason


# ---------------------------------------------------------------- folders


def test_recursive_walk_is_sorted_and_skips_hidden_and_unsupported(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".hidden-dir").mkdir()
    files = {
        "b.txt": "B title\nB body.",
        "a.md": "# A title\nA body.",
        "sub/z.txt": "Z title\nZ body.",
        "sub/deeper/c.html": "<html><body><p>C paragraph body text.</p></body></html>",
        ".hidden.txt": "hidden",
        ".git/config.txt": "hidden",
        ".hidden-dir/inside.txt": "hidden",
        "image.png": "not loaded",
        "sub/notes.TXT": "Upper ext\nStill text.",
    }
    for rel, content in files.items():
        (root / rel).write_text(content, encoding="utf-8")
    items = load(root)
    assert all(isinstance(i, Document) for i in items), items
    assert [d.source for d in items] == [
        "a.md",
        "b.txt",
        "sub/deeper/c.html",
        "sub/notes.TXT",
        "sub/z.txt",
    ]
    assert [d.source for d in load(root)] == [d.source for d in items]  # deterministic


def test_spaces_and_unicode_in_names(tmp_path: Path) -> None:
    root = tmp_path / "my docs"
    sub = root / "sub dir" / "ünïcødé"
    sub.mkdir(parents=True)
    f = sub / "café – notes 東京.txt"
    f.write_text("Tokyo notes\nThe meeting is in Tokyo.", encoding="utf-8")
    [doc] = load(root)
    assert doc.source == "sub dir/ünïcødé/café – notes 東京.txt"
    assert doc.path == str(f)
    assert one_doc(f).source == "café – notes 東京.txt"


def test_symlinks_outside_the_root_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Secret\nDo not ingest.")
    root = tmp_path / "root"
    root.mkdir()
    (root / "real.txt").write_text("Real\nIngest me.")
    try:
        (root / "link.txt").symlink_to(outside / "secret.txt")
        (root / "linkdir").symlink_to(outside, target_is_directory=True)
        (root / "inside.txt").symlink_to(root / "real.txt")
    except OSError:
        pytest.skip("symlinks not supported here")
    sources = [d.source for d in load(root) if isinstance(d, Document)]
    assert sources == ["inside.txt", "real.txt"]


def test_one_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("A title\nA body.")
    (tmp_path / "b.txt").write_bytes(b"\x00" * 50)
    (tmp_path / "c.txt").write_text("C title\nC body.")
    items = load(tmp_path)
    assert [type(i).__name__ for i in items] == ["Document", "LoadFailure", "Document"]


def test_supported_extensions() -> None:
    assert set(supported_extensions()) == {
        ".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".jsonl"
    }


# ---------------------------------------------------------------- HTML

ARTICLE_HTML = """<!doctype html>
<html><head><title>Page title | Site</title>
<meta property="og:title" content="Council approves new bridge">
<meta name="author" content="Jane Roe">
<meta property="article:published_time" content="2024-03-05T09:00:00Z">
<link rel="canonical" href="https://news.example.com/bridge">
<script>var tracking = "SECRET_TRACKER";</script>
<style>.menu { color: red }</style></head>
<body>
<nav><a href="/">Home</a> | <a href="/about">About us menu</a></nav>
<article>
<h1>Council approves new bridge</h1>
<p>The city council approved the construction of a new bridge across the river on Tuesday,
after two years of debate about its cost and its design.</p>
<script>alert(1)</script>
<p>Work is expected to begin next spring and to last about three years, officials said.</p>
</article>
<footer>Copyright 2024 Example News. All rights reserved.</footer>
</body></html>"""


def test_html_main_text_and_metadata(tmp_path: Path) -> None:
    f = tmp_path / "bridge.html"
    f.write_text(ARTICLE_HTML, encoding="utf-8")
    doc = one_doc(f)
    assert doc.title == "Council approves new bridge"
    assert doc.url == "https://news.example.com/bridge"
    assert doc.published == "2024-03-05"
    assert doc.authors == ["Jane Roe"]
    assert "The city council approved the construction of a new bridge" in doc.text
    assert "officials said." in doc.text
    for junk in (
        "alert(1)",
        "SECRET_TRACKER",
        "color: red",
        "About us menu",
        "All rights reserved",
    ):
        assert junk not in doc.text


def test_tiny_html_with_script_never_shows_the_script(tmp_path: Path) -> None:
    f = tmp_path / "tiny.htm"
    f.write_text(
        "<html><body><header>Site menu</header><p>Hello <b>bold</b> world.</p>"
        "<script>alert(1)</script><div>Second block.</div><footer>Foot</footer></body></html>"
    )
    doc = one_doc(f)
    assert "alert" not in doc.text
    assert "Hello bold world." in doc.text
    assert "Second block." in doc.text
    assert "Site menu" not in doc.text and "Foot" not in doc.text


def test_deeply_nested_html_never_crashes(tmp_path: Path) -> None:
    depth = 100_000
    f = tmp_path / "deep.html"
    f.write_text(
        "<html><body>"
        + "<div>" * depth
        + "Deep text at the bottom.<script>alert(1)</script>"
        + "</div>" * depth
        + "</body></html>"
    )
    items = load(f)
    assert len(items) == 1
    item = items[0]
    if isinstance(item, Document):
        assert "alert" not in item.text
    else:
        assert item.reason


def test_binary_named_html_fails(tmp_path: Path) -> None:
    f = tmp_path / "x.html"
    f.write_bytes(b"\x00\x01\x02" * 100)
    assert one_failure(f).reason == "binary file, not HTML"


# ---------------------------------------------------------------- PDF


def test_pdf_pages_offsets_point_into_the_cleaned_text(tmp_path: Path) -> None:
    f = tmp_path / "report.pdf"
    f.write_bytes(make_pdf(PDF_PAGES))
    doc = one_doc(f)
    assert doc.title == "Quarterly results for ACME"
    assert "Advertisement" not in doc.text
    assert len(doc.pages) == 3
    assert doc.pages[0] == 0
    assert doc.text[doc.pages[1] :].startswith("Costs fell on the second page.")
    assert doc.text[doc.pages[2] :].startswith("The third page closes the report.")
    assert doc.text[doc.pages[1] - 2 : doc.pages[1]] == "\n\n"  # pages joined by a blank line
    assert doc.page_at(doc.text.index("Revenue grew")) == 1
    assert doc.page_at(doc.text.index("Costs fell")) == 2
    assert doc.page_at(len(doc.text) - 1) == 3


def test_pdf_metadata_title_wins(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(PDF_PAGES))))
    writer.add_metadata({"/Title": "ACME Q3 Report", "/Author": "Jane Roe; John Doe"})
    f = tmp_path / "meta.pdf"
    with f.open("wb") as out:
        writer.write(out)
    doc = one_doc(f)
    assert doc.title == "ACME Q3 Report"
    assert doc.authors == ["Jane Roe", "John Doe"]
    assert doc.text.startswith("Quarterly results for ACME")


def test_truncated_pdf_is_corrupt(tmp_path: Path) -> None:
    data = make_pdf(PDF_PAGES)
    f = tmp_path / "cut.pdf"
    f.write_bytes(data[: len(data) // 2])
    assert one_failure(f).reason.startswith("corrupt PDF: ")


def test_garbage_named_pdf_is_corrupt(tmp_path: Path) -> None:
    f = tmp_path / "fake.pdf"
    f.write_text("this is not a pdf at all")
    assert one_failure(f).reason.startswith("corrupt PDF: ")


def test_encrypted_pdf_fails(tmp_path: Path) -> None:
    f = tmp_path / "locked.pdf"
    f.write_bytes(rewrite_pdf(make_pdf(PDF_PAGES), user_password="secret", owner_password="owner"))
    assert one_failure(f).reason == "PDF is encrypted; decrypt it first"


def test_pdf_with_only_an_owner_password_loads(tmp_path: Path) -> None:
    f = tmp_path / "owner-only.pdf"
    f.write_bytes(rewrite_pdf(make_pdf(PDF_PAGES), user_password="", owner_password="owner"))
    assert "Revenue grew by ten percent this year." in one_doc(f).text


def test_pdf_without_text_layer_fails(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    f = tmp_path / "scan.pdf"
    with f.open("wb") as out:
        writer.write(out)
    assert one_failure(f).reason == "PDF has no text layer (scanned?); run OCR first"


# ---------------------------------------------------------------- DOCX


def make_docx(path: Path) -> None:
    document = docx.Document()
    document.add_heading("Bridge plan approved", level=1)
    document.add_paragraph("Advertisement")
    document.add_paragraph("The council approved the bridge on Tuesday.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Cost"
    table.rows[0].cells[1].text = "12 million"
    document.add_paragraph("Work begins in spring.")
    document.core_properties.title = "Official bridge memo"
    document.core_properties.author = "Jane Roe"
    document.core_properties.created = datetime(2024, 3, 5, 12, 0)
    document.save(str(path))


def test_docx_paragraphs_tables_and_properties(tmp_path: Path) -> None:
    f = tmp_path / "memo.docx"
    make_docx(f)
    doc = one_doc(f)
    assert doc.title == "Official bridge memo"
    assert doc.authors == ["Jane Roe"]
    # the core "created" date is when the file was made, not when the memo was published
    assert doc.published == "" and doc.dated_by == ""
    assert doc.text == (
        "Bridge plan approved\nThe council approved the bridge on Tuesday.\n"
        "| Cost | 12 million |\n|---|---|\nWork begins in spring."
    )


def test_a_date_is_published_only_when_the_document_states_it(tmp_path: Path) -> None:
    """python-docx's template says created 2013-12-23 and author "python-docx"; a PDF's
    creation date is the day it was generated. Neither is a published date or an author; a
    date in the title or first line is."""
    minutes = tmp_path / "minutes.docx"
    document = docx.Document()  # the template's own core properties, untouched
    document.add_paragraph("Board minutes, 14 February 2024")
    document.add_paragraph("The board approved a dividend of 12 cents.")
    document.save(str(minutes))
    undated = tmp_path / "undated.docx"
    document = docx.Document()
    document.add_paragraph("Annual report 2023")  # a year is not a publication date
    document.save(str(undated))
    pdf = tmp_path / "release.pdf"
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([[
        "Press release, Jan. 5, 2024", "Acme opened a plant."]]))))
    writer.add_metadata({"/CreationDate": "D:20261204120000Z", "/Author": "Unknown"})
    with pdf.open("wb") as out:
        writer.write(out)
    notes = tmp_path / "notes.md"
    notes.write_text("# Policy update (valid from 12 January 2025)\n\nText.\n", encoding="utf-8")

    got = {f.name: one_doc(f) for f in (minutes, undated, pdf, notes)}
    assert docx.Document(str(minutes)).core_properties.author == "python-docx"
    assert (got["minutes.docx"].published, got["minutes.docx"].authors) == ("2024-02-14", [])
    assert got["minutes.docx"].dated_by == "title or first line"
    assert got["undated.docx"].published == ""
    assert (got["release.pdf"].published, got["release.pdf"].authors) == ("2024-01-05", [])
    assert got["notes.md"].published == "2025-01-12"


def test_a_dateline_under_the_headline_dates_the_article(tmp_path: Path) -> None:
    """News puts its date on the line under the headline; a long second line (a sentence that
    mentions a date) says nothing about when the document was written."""
    story = tmp_path / "story.txt"
    story.write_text("Ferry fares rise\nHarbour Gazette, 14 February 2025\n\nThe fare rises.\n",
                     encoding="utf-8")
    noted = tmp_path / "noted.md"
    noted.write_text("# Ferry fares rise\n\nBy Ana Ruiz - 3 March 2025\n\nThe fare rises.\n",
                     encoding="utf-8")
    told = tmp_path / "told.txt"
    told.write_text("Ferry fares rise\nThe board said on 14 February 2025 that the ferry fare "
                    "rises to 4.20 euros from April, after two years without a change.\n",
                    encoding="utf-8")
    got = {f.name: one_doc(f) for f in (story, noted, told)}
    assert got["story.txt"].published == "2025-02-14"
    assert got["noted.md"].published == "2025-03-03"
    assert got["told.txt"].published == ""


def test_not_a_zip_named_docx_fails(tmp_path: Path) -> None:
    f = tmp_path / "fake.docx"
    f.write_text("plain text pretending to be a document")
    assert one_failure(f).reason == "not a valid .docx (zip) file"


def test_zip_without_word_content_fails(tmp_path: Path) -> None:
    f = tmp_path / "other.docx"
    with zipfile.ZipFile(f, "w") as archive:
        archive.writestr("hello.txt", "not a word document")
    assert one_failure(f).reason.startswith("not a valid .docx: ")


def test_zip_bomb_named_docx_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "bomb.docx"
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (30 * MB))
    assert f.stat().st_size < MB
    failure = one_failure(f)
    assert failure.reason == "suspicious .docx: expands to 30 MB (zip bomb?)"


def test_docx_expanding_past_eight_times_the_limit_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "big.docx"
    # Random picks from 4 words compress about 12:1: past 8x, far below the 100x ratio alarm.
    words = [w.encode() for w in "alpha bravo charlie delta".split()]
    rng = random.Random(0)
    payload = b" ".join(rng.choice(words) for _ in range(200_000))
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", payload)
    failure = one_failure(f, max_bytes=f.stat().st_size + 1)
    assert failure.reason.startswith("suspicious .docx: expands to")


# ---------------------------------------------------------------- JSONL feeds


def test_jsonl_feed_good_and_bad_lines(tmp_path: Path) -> None:
    f = tmp_path / "feed.jsonl"
    lines = [
        json.dumps(
            {
                "id": "a1",
                "title": "Feed title",
                "text": "Body of A.",
                "url": "https://x/a",
                "published": "2024-03-05T10:00:00Z",
                "authors": ["Jane Roe", "  "],
            }
        ),
        "{not json",
        json.dumps({"id": "b2"}),
        "",
        json.dumps(["a", "list"]),
        json.dumps(
            {
                "url": "https://x/c",
                "text": "Headline C\n\nBody of C.",
                "authors": "John Doe",
                "published": "Tue, 05 Mar 2024 10:00:00 GMT",
            }
        ),
        json.dumps({"text": "Body of D.", "published": "not a date"}),
        json.dumps({"id": "a1", "text": "Duplicate of A."}),
        json.dumps({"id": "e5", "text": "   "}),
        json.dumps({"id": 7, "text": "Advertisement"}),
        json.dumps({"id": 8, "text": 42}),
    ]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = load(f)
    docs = [i for i in items if isinstance(i, Document)]
    failures = {i.where: i.reason for i in items if isinstance(i, LoadFailure)}

    assert [d.source for d in docs] == ["a1", "https://x/c", "feed.jsonl#7"]
    a, c, d = docs
    assert (a.title, a.text, a.url, a.published, a.authors) == (
        "Feed title",
        "Body of A.",
        "https://x/a",
        "2024-03-05",
        ["Jane Roe"],
    )
    assert (c.title, c.published, c.authors) == ("Headline C", "2024-03-05", ["John Doe"])
    assert d.published == ""
    assert all(doc.path == str(f) for doc in docs)

    assert failures[f"{f}:2"].startswith("invalid JSON: ")
    assert failures[f"{f}:3"] == "missing 'text'"
    assert failures[f"{f}:5"] == "expected a JSON object, got list"
    assert failures[f"{f}:8"].startswith("duplicate id 'a1' (first on line 1)")
    assert failures[f"{f}:9"] == "'text' must be a non-empty string"
    assert failures[f"{f}:10"] == "empty document (no text after cleaning)"
    assert failures[f"{f}:11"] == "'text' must be a non-empty string"
    assert len(failures) == 7


def test_jsonl_source_falls_back_to_relative_path_and_line(tmp_path: Path) -> None:
    sub = tmp_path / "feeds"
    sub.mkdir()
    (sub / "news.jsonl").write_text('\n{"text": "First."}\n{"text": "Second."}\n')
    assert [d.source for d in load(tmp_path)] == ["feeds/news.jsonl#2", "feeds/news.jsonl#3"]


def test_jsonl_overlong_line_fails_alone(tmp_path: Path) -> None:
    f = tmp_path / "feed.jsonl"
    long_line = json.dumps({"id": "big", "text": "x " * 5000})
    f.write_text(
        "\n".join(
            [
                json.dumps({"id": "a", "text": "A."}),
                long_line,
                json.dumps({"id": "c", "text": "C."}),
            ]
        )
    )
    items = load(f, max_bytes=1000)
    assert [getattr(i, "source", None) for i in items] == ["a", None, "c"]
    assert items[1].where == f"{f}:2"
    assert "over the 1,000 bytes limit" in items[1].reason


def test_jsonl_invalid_utf8_and_deep_nesting(tmp_path: Path) -> None:
    f = tmp_path / "feed.jsonl"
    f.write_bytes(b'{"text": "caf\xe9"}\n' + b"[" * 100_000 + b"\n" + b'{"text": "ok."}\n')
    items = load(f)
    assert items[0].reason == "invalid UTF-8; JSON Lines feeds must be UTF-8"
    assert items[1].reason.startswith("invalid JSON")
    assert isinstance(items[2], Document) and items[2].text == "ok."


def test_jsonl_is_streamed_not_read_whole(tmp_path: Path) -> None:
    f = tmp_path / "feed.jsonl"
    f.write_text(
        "".join(json.dumps({"id": str(i), "text": f"Story {i}."}) + "\n" for i in range(3))
    )
    stream = iter_documents([f])
    first = next(stream)
    assert isinstance(first, Document) and first.source == "0"
    with f.open("a") as out:  # a lazily read file sees lines appended after the first yield
        out.write(json.dumps({"id": "late", "text": "Appended."}) + "\n")
    assert [d.source for d in stream] == ["1", "2", "late"]


def test_jsonl_feed_bigger_than_max_bytes_still_loads(tmp_path: Path) -> None:
    f = tmp_path / "feed.jsonl"
    f.write_text(
        "".join(json.dumps({"id": str(i), "text": f"Story {i}."}) + "\n" for i in range(200))
    )
    items = load(f, max_bytes=200)
    assert len(items) == 200 and all(isinstance(i, Document) for i in items)


def test_load_file_on_jsonl_fails_on_the_first_bad_line(tmp_path: Path) -> None:
    f = tmp_path / "feed.jsonl"
    f.write_text('{"text": "Good."}\n{oops\n')
    with pytest.raises(LoadError) as info:
        load_file(f, "feed.jsonl", 25 * MB)
    assert info.value.where == f"{f}:2"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05", "2024-03-05"),
        ("2024-03-05T23:30:00-05:00", "2024-03-05"),
        ("2024-03-05T10:00:00Z", "2024-03-05"),
        ("Tue, 05 Mar 2024 10:00:00 GMT", "2024-03-05"),
        ("5 March 2024", "2024-03-05"),
        ("March 5, 2024", "2024-03-05"),
        ("2024/03/05", "2024-03-05"),
        (1709632800, "2024-03-05"),
        (1709632800000, "2024-03-05"),
        (datetime(2024, 3, 5, 8, 0), "2024-03-05"),
        ("yesterday", ""),
        ("", ""),
        (None, ""),
        (True, ""),
        (["2024-03-05"], ""),
    ],
)
def test_iso_date(value: object, expected: str) -> None:
    assert iso_date(value) == expected
