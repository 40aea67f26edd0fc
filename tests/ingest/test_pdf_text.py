"""PDF text reads as sentences: wrapped lines joined, hyphenation undone, ligatures normalized.

Tested on PDFs from two real producers: fpdf2 (a PDF library) and Debian chromium's headless
``--print-to-pdf`` of an HTML page. Offsets must stay exact: every sentence we look for is found
in the stored text, and page starts point at the first text of their page.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ingest.clean import clean_pages
from ingest.loaders import load_file
from rag.language.text import sentence_spans
from rag.records import Document

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "ingest"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # fonts-dejavu-core (make browser)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

DRONES = ("The drones fly a maximum distance of 18 kilometres per charge, and each one carries "
          "a parcel of up to four kilograms across the valley.")
LEAD = "The project lead is Maria Okafor, who joined in 2021."
BUDGET = ("The annual budget is 2.4 million euros, approved by the regional council after a long "
          "public consultation with the neighbouring municipalities.")


def sentences(doc: Document) -> list[str]:
    return [doc.text[s:e] for s, e in sentence_spans(doc.text)]


# ---------------------------------------------------------------- reflow rules (unit)


WRAPPED = [
    "Annual report\n"
    "The drones ﬂy a maximum distance of 18 kilometres per\n"
    "charge, and the longest flight so far was a disas-\n"
    "trous test over the lake in March last year at dawn.\n"
    "Budget\n"
    "• first item of a list that goes on for a while here\n"
    "• second item\n"
    "The fleet was bought from a supplier based in the\n",
    "Page header\n"
    "north of the country, which also services it.\n",
]


def test_wrapped_lines_are_joined_into_sentences() -> None:
    _title, text, _starts = clean_pages(WRAPPED, reflow=True)
    lines = text.split("\n")
    assert ("The drones fly a maximum distance of 18 kilometres per charge, and the longest "
            "flight so far was a disastrous test over the lake in March last year at dawn."
            ) in lines
    assert "Annual report" in lines and "Budget" in lines  # headings stay on their own line
    assert "• second item" in lines  # list items are never glued to the line before


def test_a_sentence_crossing_a_page_is_joined_and_the_page_start_is_exact() -> None:
    _title, text, starts = clean_pages(WRAPPED, reflow=True)
    sentence = ("The fleet was bought from a supplier based in the Page header")
    assert sentence not in text  # a capitalised first line of a page is not a continuation
    assert text[starts[1]:].startswith("Page header")
    assert text[starts[1] - 2 : starts[1]] == "\n\n"
    _title, text, starts = clean_pages([WRAPPED[0], WRAPPED[1].split("\n", 1)[1]], reflow=True)
    assert ("The fleet was bought from a supplier based in the north of the country, which "
            "also services it.") in text.split("\n")
    assert text[starts[1]:].startswith("north of the country")


def test_without_reflow_lines_stay_verbatim_but_ligatures_are_letters() -> None:
    _title, text, _ = clean_pages(WRAPPED)
    assert "The drones fly a maximum distance of 18 kilometres per\ncharge" in text
    assert "disas-\ntrous" in text and "ﬂ" not in text


def test_real_hyphenated_compounds_at_line_end_before_a_capital_stay() -> None:
    _t, text, _ = clean_pages(["The survey was run by the Anglo-\nFrench consortium in 2020."],
                              reflow=True)
    assert "Anglo-" in text  # not a split word: the next line starts with a capital


# ---------------------------------------------------------------- producer 1: fpdf2


def fpdf2_report(path: Path) -> Path:
    """Two pages written line by line (as a PDF library lays text out): a header repeated on
    both pages, a sentence wrapped over three lines with a ligature and a hyphenated word, and
    a sentence that runs over the page break."""
    from fpdf import FPDF

    assert FONT.exists(), f"{FONT} is missing: run `make browser` (installs fonts-dejavu-core)"
    pdf = FPDF(format=(148, 210))
    pdf.set_title("Skyline Drone Report")
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=10)
    pages = [
        ["Skyline internal", "Skyline Drone Report",
         "The Skyline project is run by the Northern Air Transport Authority,",
         "which operates the depot. The drones ﬂy a maximum distance of 18",
         "kilometres per charge, and each one carries a parcel of up to four kilo-",
         "grams across the valley. The project lead is Maria Okafor, who joined",
         "in 2021. The annual budget is 2.4 million euros, approved by the regional"],
        ["Skyline internal",
         "council after a long public consultation with the neighbouring",
         "municipalities."],
    ]
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def test_fpdf2_pdf_reads_as_whole_sentences(tmp_path: Path) -> None:
    doc = load_file(fpdf2_report(tmp_path / "fpdf2.pdf"), "fpdf2.pdf", 2**24)[0]
    found = sentences(doc)
    assert DRONES in found and LEAD in found and BUDGET in found
    assert "ﬂ" not in doc.text and "kilo-" not in doc.text
    assert "Skyline internal" not in doc.text  # the repeated page header is still dropped
    assert doc.title == "Skyline Drone Report"
    # the second page starts inside the budget sentence, exactly where its text begins
    assert len(doc.pages) == 2 and doc.text[doc.pages[1]:].startswith("council after")
    start = doc.text.index(DRONES)
    assert doc.page_at(start) == 1 and doc.page_at(doc.text.index("municipalities")) == 2


# ---------------------------------------------------------------- producer 2: chromium

REPORT_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Skyline Drone Report</title>
<style>body{font-family:"DejaVu Serif";font-size:12pt;width:11cm;text-align:justify}</style>
</head><body><h1>Skyline Drone Report</h1>
<p>The Skyline project is run by the Northern Air Transport Authority, which operates the
depot. The drones &#xFB02;y a maximum distance of 18 kilometres per charge, and each one carries a
parcel of up to four kilograms across the valley. The project lead is Maria Okafor, who joined
in 2021.</p>
<p>The annual budget is 2.4 million euros, approved by the regional council after a long public
consul&shy;tation with the neighbouring municipalities.</p>
</body></html>"""


def chromium_report(folder: Path) -> Path:
    """The HTML page printed to PDF by headless chromium (a browser's print-to-PDF)."""
    html = folder / "report.html"
    html.write_text(REPORT_HTML, encoding="utf-8")
    pdf = folder / "chromium.pdf"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
         f"--print-to-pdf={pdf}", html.as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    assert pdf.stat().st_size > 0
    return pdf


@pytest.mark.slow
def test_chromium_print_to_pdf_reads_as_whole_sentences(tmp_path: Path) -> None:
    doc = load_file(chromium_report(tmp_path), "chromium.pdf", 2**24)[0]
    found = sentences(doc)
    assert DRONES in found and LEAD in found and BUDGET in found  # "consul-tation" rejoined
    assert "ﬂ" not in doc.text and "\u2010" not in doc.text
    assert doc.title == "Skyline Drone Report" and doc.pages == [0]


@pytest.mark.slow
def test_a_question_on_a_pdf_is_answered_with_the_whole_sentence(tmp_path: Path,
                                                                  make_citewise) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    chromium_report(folder)
    fpdf2_report(folder / "fpdf2.pdf")
    (folder / "report.html").unlink()
    cw = make_citewise()
    report = cw.ingest([folder])
    assert report.ok and sorted(report.added) == ["chromium.pdf", "fpdf2.pdf"]
    lines = []
    for source in ("chromium.pdf", "fpdf2.pdf"):
        from rag.records import Filters

        ans = cw.ask("How far can the drones fly on one charge?", filters=Filters([source]))
        assert not ans.abstained and ans.citations, ans.answer
        quote = ans.citations[0].quote
        assert "18 kilometres per charge" in quote and quote.endswith("valley.")
        text = cw.document_text(source)
        assert all(text[c.start:c.end] == c.quote for c in ans.citations)
        lines += [f"## {source}", f"Q: {ans.question}", f"A: {ans.answer}",
                  *(f"[{c.n}] {c.source} p.{c.page} chars {c.start}-{c.end}: {c.quote!r}"
                    for c in ans.citations), ""]
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "pdf_answer.txt").write_text("\n".join(lines), encoding="utf-8")
