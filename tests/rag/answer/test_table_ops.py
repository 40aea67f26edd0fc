"""Answers computed from a table: a row's years compared with a bound or with each other,
the row that leads a column, the years a table covers, what a table shows."""

from __future__ import annotations

import pytest

from rag.answer.table_ops import (
    cell_number,
    extreme_answer,
    parse_table_question,
    row_extreme,
    threshold_answer,
)
from rag.language.tables import find_tables, table_rows

REPORT = """# Northwind annual report

Revenue by segment

| Segment | 2019 | 2018 | 2017 |
|---|---|---|---|
| Retail | $ 1,210.5 | $ 980.2 | $ 1,020.0 |
| Wholesale | 640.0 | 712.4 | 455.1 |
| Online | 95.3 | 60.8 | 41.0 |
| Total | $1,945.8 | $1,753.4 | $1,516.1 |

The table above shows revenue by segment, in millions of dollars. Online sales grew
fastest as the new web shop opened in 2018.

Northwind employed 1,480 people at the end of 2019.
"""


def _rows() -> dict[str, object]:
    (table,) = find_tables(REPORT)
    return {r.label: r for r in table_rows(REPORT, 0, [table]) if r.kind == "row"}


@pytest.mark.parametrize(("question", "op"), [
    ("In which year was Wholesale revenue less than 700 million?", "threshold"),
    ("Which years did the amount for Other exceed $5 million?", "threshold"),
    ("Which FY has a higher EBITDA?", "extreme"),
    ("In which year was Online revenue the largest?", "extreme"),
    ("Which segment had the highest revenue in 2018?", "row_extreme"),
    ("What years are included in the table?", "years"),
    ("In which years was the current liabilities recorded for?", "years"),
    ("What does the table show?", "about"),
    ("What does this table represent?", "about"),
])
def test_table_operations_are_read_from_the_question(question: str, op: str) -> None:
    tq = parse_table_question(question)
    assert tq is not None and tq.op == op


@pytest.mark.parametrize("question", [
    "How many children under 5 died of measles?",  # a bound, but no period or row asked
    "Which company has more than 10,000 employees?",
    "What was the revenue in 2019 and 2018 respectively?",  # a lookup: the row is quoted
    "Which company has the most employees?",  # "most" qualifies a noun: no column compared
    "Who won the election?",
])
def test_ordinary_questions_are_not_table_operations(question: str) -> None:
    assert parse_table_question(question) is None


def test_the_bound_and_the_rest_of_the_question() -> None:
    tq = parse_table_question("In which year was Total other income, net less than -3,000 "
                              "thousands?")
    assert tq is not None and tq.bound == -3000.0 and tq.direction == -1
    assert "less than -3,000 thousands" == tq.bound_text
    assert "-3,000" not in tq.rest and "Total other income" in tq.rest
    between = parse_table_question("Between 2018 and 2019, which year had higher sales?")
    assert between is not None and between.years == ("2018", "2019")


@pytest.mark.parametrize(("cell", "value"), [
    ("$ 1,210.5", 1210.5), ("(38)", -38.0), ("4.5%", 4.5), ("-3,000", -3000.0), ("12", 12.0),
    ("—", None), ("", None), ("1-3 Years", None), ("2018/2019", None), ("n/a", None),
])
def test_cell_numbers(cell: str, value: float | None) -> None:
    assert cell_number(cell) == value


def test_a_bound_and_a_comparison_over_a_rows_years() -> None:
    rows = _rows()
    below = parse_table_question("In which year was Wholesale revenue less than 700 million?")
    assert threshold_answer(rows["Wholesale"], below).startswith(  # type: ignore[arg-type]
        "2019 and 2017: Wholesale — 2019: 640.0")
    above = parse_table_question("In which years did Online revenue exceed 1,000?")
    assert threshold_answer(rows["Online"], above).startswith("None of 2019, 2018 and 2017")  # type: ignore[arg-type]
    largest = parse_table_question("In which year was Online revenue the largest?")
    assert extreme_answer(rows["Online"], largest).startswith("2019 (largest)")  # type: ignore[arg-type]
    pair = parse_table_question("Between 2018 and 2017, which year had lower Retail revenue?")
    assert extreme_answer(rows["Retail"], pair).startswith("2018 (smaller)")  # type: ignore[arg-type]


def test_the_row_that_leads_a_column_leaves_totals_out() -> None:
    rows = list(_rows().values())
    tq = parse_table_question("Which segment had the highest revenue in 2018?")
    winner, lead = row_extreme(rows, tq)  # type: ignore[arg-type, misc]
    assert winner.label == "Retail" and lead == "Retail (the largest, 2018: $ 980.2)"
    tq = parse_table_question("Which segment had the smallest revenue in 2019?")
    assert row_extreme(rows, tq)[0].label == "Online"  # type: ignore[arg-type, index]
    unclear = parse_table_question("Which segment had the highest revenue?")  # which year?
    assert row_extreme(rows, unclear) is None  # type: ignore[arg-type]


def test_computed_answers_cite_the_row_they_read(citewise_over) -> None:
    cw = citewise_over({"northwind.md": REPORT})
    answer = cw.ask("In which year was Wholesale revenue less than 700 million?")
    assert answer.answer.startswith("2019 and 2017: Wholesale"), answer.answer
    (citation,) = answer.citations
    assert citation.quote == "| Wholesale | 640.0 | 712.4 | 455.1 |"
    assert cw.document_text(citation.source)[citation.start:citation.end] == citation.quote
    assert cw.ask("Which segment had the highest revenue in 2018?").answer.startswith("Retail")
    assert cw.ask("In which year was Online revenue the largest?").answer.startswith("2019")
    shows = cw.ask("What does the table show?")
    assert shows.citations[0].quote.startswith("The table above shows revenue by segment")
    years = cw.ask("Which years are included in the table?")
    assert years.answer.startswith("2019, 2018 and 2017"), years.answer
    assert years.citations[0].quote.startswith("| Segment | 2019 | 2018 | 2017 |")
    lookup = cw.ask("What was Retail revenue in 2018?")  # an ordinary lookup: quoted as before
    assert "980.2" in lookup.answer and not lookup.answer.startswith("2018 (")


def test_what_a_line_item_includes_is_said_in_words_not_by_its_figures(citewise_over) -> None:
    cw = citewise_over({"costs.md": (
        "# Operating costs\n\n| Cost | 2019 | 2018 |\n|---|---|---|\n"
        "| Service delivery costs (1) | 661,214 | 615,267 |\n"
        "| Customer related costs (2) | 83,401 | 68,744 |\n\n"
        "(1) Service delivery costs include equipment sold, content and programming costs and "
        "network costs.\n\n(2) Customer related costs include advertising, selling and "
        "billing expenses.\n")})
    answer = cw.ask("What is included in service delivery costs?")
    assert not answer.abstained, answer.answer
    assert answer.citations[0].quote.startswith("(1) Service delivery costs include"), answer.answer
