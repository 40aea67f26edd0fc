"""Answers computed from a table: a row's years compared with a bound or with each other,
the row that leads a column, the years a table covers, what a table shows."""

from __future__ import annotations

import pytest

from rag.answer.table_ops import (
    cell_number,
    coordinated,
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


@pytest.mark.parametrize(("question", "names", "joined"), [
    ("what were the net sales of the international and foodservice segments?",
     [["international"], ["foodservice"]], [0, 1]),
    ("rates for japanese yen, euro and south korean won in 2018",
     [["japanese yen"], ["south korean won"], ["euro"]], [0, 2, 1]),
    ("how much did apple pay huawei in 2019?", [["apple"], ["huawei"]], []),  # not joined
    ("what was apple's revenue?", [["apple"]], []),
])
def test_names_joined_by_and(question: str, names: list[list[str]], joined: list[int]) -> None:
    assert coordinated(question, names) == joined


CUSTOMERS = """# Contoso annual report

Revenue from significant customers, as a percentage of revenue, is summarized as follows:

| Customer | 2019 | 2018 | 2017 |
|---|---|---|---|
| Fabrikam Inc. (“Fabrikam”) | 32% | 36% | 34% |
| Tailspin Ltd. (“Tailspin”) | 13% | 8% | 11% |
| Litware | 4% | 5% | 6% |
"""


def test_names_joined_by_and_each_get_their_row(citewise_over) -> None:
    cw = citewise_over({"contoso.md": CUSTOMERS})
    answer = cw.ask("What are the respective percentage of revenue from Fabrikam and Tailspin "
                    "in 2018?")
    assert answer.answer.startswith("2018, Fabrikam Inc. (“Fabrikam”): 36% [1] 2018, Tailspin"), \
        answer.answer
    assert "8% [2]" in answer.answer
    assert [c.quote.split("|")[1].strip() for c in answer.citations] == [
        "Fabrikam Inc. (“Fabrikam”)", "Tailspin Ltd. (“Tailspin”)"]
    # a name without a row, or a year without a column: not answered from the rows
    for other in ("What are the respective percentage of revenue from Fabrikam and Northwind "
                  "in 2018?", "What are the respective percentage of revenue from Fabrikam and "
                  "Tailspin in 2015?"):
        said = cw.ask(other)
        assert "Tailspin Ltd. (“Tailspin”): 8%" not in said.answer, said.answer


def test_a_rows_name_and_measure_may_be_in_the_label_columns_heading(citewise_over) -> None:
    cw = citewise_over({"segments.md": (
        "# Segment information\n\n"
        "| Revenue from external customers by country | 2019 $M | 2018 $M |\n|---|---|---|\n"
        "| UK | 83.2 | 73.5 |\n| USA | 222.2 | 199.0 |\n| Germany | 143.5 | 128.4 |\n"
        "| Total revenue from external customers by country | 448.9 | 400.9 |\n")})
    answer = cw.ask("What is the Revenue from UK in 2019?")
    assert "83.2" in answer.answer and "448.9" not in answer.answer, answer.answer


TAXES = """# Income taxes

The components of the provision for income taxes are as follows (in thousands):

|  | 2019 | 2018 | 2017 |
|---|---|---|---|
| Current provision for income taxes: |  |  |  |
| State | $49 | $44 | $48 |
| Foreign | 1,716 | 953 | 1,023 |
| Total current | 1,765 | 997 | 1,071 |
| Deferred tax expense (benefit): |  |  |  |
| Federal | 3 | (13) | 26 |
| Foreign | (361) | 98 | 109 |
| Total deferred | (358) | 85 | 135 |
| Provision for income taxes | $1,407 | $1,082 | $1,206 |
"""


def test_the_row_whose_own_label_names_the_question_is_quoted(citewise_over) -> None:
    cw = citewise_over({"taxes.md": TAXES})
    answer = cw.ask("What is the total provision for income taxes in 2019?")
    assert "$1,407" in answer.answer and "1,765" not in answer.answer, answer.answer
    assert "1,716" in cw.ask("What was the current foreign provision in 2019?").answer


def test_the_day_of_a_date_may_be_in_the_headings_only(citewise_over) -> None:
    cw = citewise_over({"accrued.md": (
        "# Accrued expenses\n\n|  | December31, |  |\n|---|---|---|\n|  | 2019 | 2018 |\n"
        "| Accrued payroll | $116.9 | $105.9 |\n| Derivative liabilities | 93.8 | 120.5 |\n")})
    answer = cw.ask("How much was the derivative liabilities as at December 31, 2019?")
    assert "93.8" in answer.answer, answer.answer
    # a day the table does not give is not answered from it
    assert "93.8" not in cw.ask("How much was the derivative liabilities as at December 30, "
                                "2019?").answer
