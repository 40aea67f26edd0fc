"""Tables as answer units: headings found once, rows read with them, cells answered and cited."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest

from rag.language.tables import find_tables, is_value, pipe_rows, split_cells, table_rows
from rag.records import Chunk

REPORT = """# Acme annual report

Sales by contract type

|  |  | Years Ended September 30, |  |
|---|---|---|---|
|  | 2019 | 2018 | 2017 |
| Fixed Price | $ 1,452.4 | $ 1,146.2 | $ 1,036.9 |
| Other | 44.1 | 56.7 | 70.8 |
| Total sales | $1,496.5 | $1,202.9 | $1,107.7 |

Substantially all of our contracts are fixed-price type contracts.
"""


def test_heading_rows_columns_and_caption() -> None:
    (table,) = find_tables(REPORT)
    assert table.columns == ("", "2019", "2018", "2017")
    assert "Sales by contract type" in table.caption
    assert "Years Ended September 30," in table.caption  # the heading row spanning the table
    units = table_rows(REPORT, 0, [table])
    rows = [r for r in units if r.kind == "row"]
    assert [r.label for r in rows] == ["Fixed Price", "Other", "Total sales"]
    total = rows[-1]
    assert REPORT[total.start : total.end] == "| Total sales | $1,496.5 | $1,202.9 | $1,107.7 |"
    assert total.readable() == "Total sales — 2019: $1,496.5; 2018: $1,202.9; 2017: $1,107.7"
    (whole,) = [r for r in units if r.kind == "table"]  # "Which years ...?", "What are ...?"
    assert REPORT[whole.start : whole.end].startswith("|  |  | Years Ended")
    assert whole.readable().endswith("Fixed Price; Other; Total sales — columns: 2019; 2018; 2017")


def test_rows_of_a_chunk_that_continues_a_table() -> None:
    (table,) = find_tables(REPORT)
    start = REPORT.index("| Other")
    rows = table_rows(REPORT[start:], start, [table])
    assert [r.label for r in rows] == ["Other", "Total sales"]  # no table unit: no headings
    assert rows[0].start == start
    chunk = Chunk("c", "r.md", 1, start, len(REPORT), REPORT[start:], tables=[table])
    assert "2019 | 2018 | 2017" in chunk.index_prefix  # its headings are embedded with it


def test_group_rows_and_a_table_of_words() -> None:
    text = ("| Item | 2019 |\n|---|---|\n| Deferred tax assets: |  |\n| Reserves | $ 50 |\n\n"
            "| Name | Role |\n|---|---|\n| Ada Lovelace | Chair |\n| Alan Turing | Secretary |\n")
    first, second = find_tables(text)
    rows = table_rows(text, 0, [first])
    group, reserves = rows[0], rows[1]
    assert reserves.readable() == "Deferred tax assets: Reserves — 2019: $ 50"
    assert reserves.context_line() == "Item | 2019 — Deferred tax assets"  # shown with the quote
    assert group.kind == "group" and group.readable() == "Deferred tax assets: Reserves"
    assert text[group.start : group.end].endswith("| Reserves | $ 50 |")  # it spans its rows
    people = [r for r in table_rows(text, 0, [second]) if r.kind == "row"]
    assert [p.readable() for p in people] == ["Ada Lovelace — Role: Chair",
                                             "Alan Turing — Role: Secretary"]


def test_a_table_without_headings_is_all_data() -> None:
    text = "Budget\n\n" + "\n".join(pipe_rows([["Cost", "12 million"], ["Start", "spring"]]))
    (table,) = find_tables(text)
    rows = table_rows(text, 0, [table])
    assert [r.readable() for r in rows if r.kind == "row"] == ["Cost — 12 million",
                                                               "Start — spring"]


def test_a_line_without_a_bar_ends_the_table() -> None:
    text = "| Plan | Price |\n|---|---|\n| Team | $15 |\nPrices include VAT.\nAll plans renew yearly."
    (table,) = find_tables(text)
    assert text[table.start : table.end] == "| Plan | Price |\n|---|---|\n| Team | $15 |"
    assert [r.label for r in table_rows(text, 0, [table]) if r.kind == "row"] == ["Team"]


def test_cells_and_values() -> None:
    assert split_cells(r"| a \| b | c |") == ("a | b", "c")
    assert pipe_rows([["x|y", "line\nbreak"]])[0] == r"| x\|y | line break |"
    assert [is_value(c) for c in ["$1,073.3", "(38)", "4.5%", "2019", "April 27, 2019", "£m",
                                  "2019 €m", "FY2019", "December31,", "2019 (1)"]] \
        == [True, True, True, False, False, False, False, False, False, False]
    assert find_tables("no table | here") == ()


# ---------------------------------------------------------------- end to end, every format

PLANS = [["Plan", "Monthly", "Annual"], ["Basic", "$8", "$80"], ["Team", "$15", "$150"],
         ["Enterprise", "$40", "$400"]]


def write_markdown(folder: Path) -> Path:
    path = folder / "pricing.md"
    path.write_text("# Pricing\n\nOur plans and what they cost.\n\n"
                    + "\n".join(pipe_rows(PLANS)) + "\n\nPrices include VAT.\n", encoding="utf-8")
    return path


def write_html(folder: Path) -> Path:
    head = "".join(f"<th>{c}</th>" for c in PLANS[0])
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in PLANS[1:])
    path = folder / "pricing.html"
    path.write_text(f"<html><body><h1>Pricing</h1><p>Our plans and what they cost.</p>"
                    f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                    f"<p>Prices include VAT.</p></body></html>", encoding="utf-8")
    return path


def write_docx(folder: Path) -> Path:
    document = docx.Document()
    document.add_heading("Pricing", level=1)
    document.add_paragraph("Our plans and what they cost.")
    table = document.add_table(rows=len(PLANS), cols=3)
    for i, row in enumerate(PLANS):
        for j, cell in enumerate(row):
            table.cell(i, j).text = cell
    document.add_paragraph("Prices include VAT.")
    path = folder / "pricing.docx"
    document.save(str(path))
    return path


def write_pdf(folder: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "Pricing. Our plans and what they cost.")
    with pdf.table() as table:  # a ruled table, as reports print them
        for cells in PLANS:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.multi_cell(0, 6, "Prices include VAT.")
    path = folder / "pricing.pdf"
    pdf.output(str(path))
    return path


@pytest.mark.parametrize("write", [write_markdown, write_html, write_docx, write_pdf],
                         ids=["md", "html", "docx", "pdf"])
def test_a_cell_is_answered_and_its_row_cited(write, tmp_path: Path, make_citewise) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    write(folder)
    cw = make_citewise()
    assert cw.ingest([folder]).ok
    answer = cw.ask("How much does the Team plan cost per year (annual)?")
    assert not answer.abstained, answer.answer
    assert "$150" in answer.answer and "$80" not in answer.answer
    citation = answer.citations[0]
    text = cw.document_text(citation.source)
    assert text[citation.start : citation.end] == citation.quote  # an exact span, as always
    assert "Team" in citation.quote and "$150" in citation.quote
    assert "Annual" in citation.table and "Monthly" in citation.table  # what the cells mean
    listed = cw.ask("Which plans are there?")  # several items: the table's rows, listed
    assert all(p in listed.answer for p in ("Basic", "Team", "Enterprise")), listed.answer


def test_a_question_about_the_table_is_answered_by_its_list(citewise_over) -> None:
    cw = citewise_over({"report.md": REPORT})
    answer = cw.ask("Which years does the table show?")
    assert not answer.abstained and all(y in answer.answer for y in ("2019", "2018", "2017"))
    assert answer.citations[0].quote.startswith("|  |  | Years Ended")  # the whole table


def test_the_year_asked_picks_the_column_and_footnotes_are_not_words() -> None:
    from rag.answer.extractive import cell_answer
    from rag.language.tables import Row, Table

    table = Table(0, 1, 0, ("", "For the year ended 31 December 2019", "2018"), "")
    row = Row(0, 1, ("Total energy (MWh)1", "205,092", "167,488"), table)
    assert row.label == "Total energy (MWh)"
    asked_2018 = "How much was the total energy for the year ended 31 December 2018?"
    assert cell_answer(row, asked_2018) == "2018, Total energy (MWh): 167,488"
    assert cell_answer(row, "What was the total energy in 2019?").endswith(": 205,092")
    assert "167,488" in cell_answer(row, "How much energy was used?")  # no column named: all


def test_a_threshold_the_user_sets_holds_for_rows_too() -> None:
    from rag.answer.extractive import ROW_THRESHOLD, ExtractiveGenerator

    assert ExtractiveGenerator(None).row_threshold == ROW_THRESHOLD  # the learned scorer's
    assert ExtractiveGenerator(None, threshold=0.7).row_threshold == 0.7
    hand = ExtractiveGenerator(None, scorer=None)
    assert hand.row_threshold == hand.threshold


def test_each_year_asked_gets_its_columns_and_a_range_spans_its_years() -> None:
    from rag.answer.extractive import cell_answer
    from rag.language.tables import Row, Table

    table = Table(0, 1, 0, ("", "Revenues 2019", "2018", "2017"), "")
    row = Row(0, 1, ("Teekay LNG", "601,256", "510,762", "400,118"), table)
    # one year's heading shares "revenue" with the question, the other's doesn't: both count
    assert cell_answer(row, "What was the Teekay LNG revenue in 2018 and 2019?") == \
        "Teekay LNG — Revenues 2019: 601,256; 2018: 510,762"
    # "2019 to 2017" asks for 2018 too: every column, so the whole row
    assert "510,762" in cell_answer(row, "What was the revenue for fiscal years 2019 to 2017?")
    assert "400,118" not in cell_answer(row, "What was the revenue in 2019 and 2018?")


def test_every_column_the_question_names_outright_is_answered() -> None:
    from rag.answer.extractive import cell_answer
    from rag.language.tables import Row, Table

    table = Table(0, 1, 0, ("Contractual Obligations", "Less Than 1 Year", "2-5 Years",
                            "Total"), "")
    row = Row(0, 1, ("Operating lease obligations", "$773", "$2,055", "$2,828"), table)
    asked = ("What are the respective values of operating lease obligations that are less than "
             "one year and between 2-5 years?")  # "one" is the heading's 1
    assert cell_answer(row, asked) == \
        "Operating lease obligations — Less Than 1 Year: $773; 2-5 Years: $2,055"
    assert cell_answer(row, "What are the operating lease obligations due in 2-5 years?") == \
        "2-5 Years, Operating lease obligations: $2,055"


def test_a_heading_row_of_periods_under_a_spanning_heading() -> None:
    text = ("|  |  | Payments due by Period (In thousands) |  |\n|---|---|---|---|\n"
            "| Contractual Obligations | Less Than 1 Year | 2-5 Years | Total |\n"
            "| Operating lease obligations | $773 | $2,055 | $2,828 |\n"
            "| Total | $3,423 | $4,055 | $7,478 |\n")
    (table,) = find_tables(text)
    # "2-5 Years" has digits but is a heading: the row is the columns' headings, not data
    assert table.columns == ("Contractual Obligations", "Less Than 1 Year", "2-5 Years", "Total")
    rows = [r for r in table_rows(text, 0, [table]) if r.kind == "row"]
    assert [r.label for r in rows] == ["Operating lease obligations", "Total"]
    assert rows[0].readable().startswith("Operating lease obligations — Less Than 1 Year: $773")
