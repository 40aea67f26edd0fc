"""Answers as of a date (rag/retrieval/asof.py and its use by Citewise.ask): time words become a window
of publication dates, later documents are never cited, and the note says what was done."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import pytest

from rag.errors import InputError
from rag.retrieval.asof import AsOf, Window, resolve

DAY = date(2024, 5, 3)  # a Friday


@pytest.mark.parametrize("question, first, last", [
    ("Who was named chief executive this week?", "2024-04-27", "2024-05-03"),
    ("What happened last week in Paris?", "2024-04-20", "2024-04-26"),
    ("Who won yesterday?", "2024-05-02", "2024-05-02"),
    ("What did the company report this year?", "2024-01-01", "2024-05-03"),
    ("What did they say last month?", "2024-04-01", "2024-04-30"),
    ("Which show recently announced its nominees?", "2024-04-03", "2024-05-03"),
    ("Who is the latest chair?", "2024-04-03", "2024-05-03"),
    ("What happened in March?", "2024-03-01", "2024-03-31"),
    ("What happened in December?", "2023-12-01", "2023-12-31"),  # last December, not the next
    ("Who met privately on Sunday?", "2024-04-28", "2024-05-03"),  # reported in the week after
    ("What was announced on April 14?", "2024-04-14", "2024-04-20"),
    ("What was the status as of the evening of Apr. 30?", "2024-04-30", "2024-05-03"),
    ("What happened in 2022?", "2022-01-01", "2022-12-31"),
    ("What has risen since 2023?", "2023-01-01", "2024-05-03"),
])
def test_time_words_become_a_window_before_the_day(question, first, last):
    window = resolve(question, DAY)
    assert window is not None
    assert (window.first.isoformat(), window.last.isoformat()) == (first, last)
    assert window.last <= DAY


@pytest.mark.parametrize("question", [
    "How many moons does Saturn have?",
    "Who headlines the 2025 Super Bowl half-time show?",  # a year that names an event
    "What is the current ratio?",  # "current" in accounting is no time
    "Which drug may help patients?",  # "may" the verb
    "Who organised a march in Washington?",
    "What happened in 2030?",  # after the day: nothing to prefer
])
def test_no_window_without_time_words(question):
    assert resolve(question, DAY) is None


def test_a_window_holds_dated_documents_only_and_describes_itself():
    w = Window(date(2024, 4, 27), date(2024, 5, 3), "this week")
    assert w.holds("2024-05-03") and w.holds("2024-04-27T10:00:00") and not w.holds("2024-05-04")
    assert not w.holds("")
    assert w.describe() == "2024-04-27 to 2024-05-03 (“this week”)"


@dataclass
class Rec:
    published: str


def test_as_of_allows_nothing_later_keeps_undated_and_finds_the_window():
    records = {"old": Rec("2023-01-05"), "week": Rec("2024-05-01"), "later": Rec("2024-06-01"),
               "undated": Rec("")}
    when = AsOf.of("What happened this week?", DAY)
    assert [s for s, r in records.items() if when.allows(r.published)] == ["old", "week", "undated"]
    assert when.allows("2024-05-03T23:00:00") and not when.allows("2024-05-04")
    assert when.inside(records) == {"week"}
    assert AsOf(DAY).inside(records) == set()  # no time words, no window


def feed(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


NEWS = [
    {"id": "ceo-2023", "title": "Acme names a new chief executive", "published": "2023-03-10",
     "text": "Acme named Jane Roe as its new chief executive on Thursday. Roe joined Acme from "
             "Globex, where she ran the retail arm. She starts in April."},
    {"id": "ceo-2024", "title": "Acme picks another chief executive", "published": "2024-05-02",
     "text": "Acme named Sam Lee as its new chief executive on Thursday, a year after Jane Roe "
             "took the job. Lee ran Acme's European business."},
    {"id": "ceo-2025", "title": "Acme chief executive to step down", "published": "2025-02-01",
     "text": "Acme named Ola Berg as its new chief executive on Friday. Berg ran the logistics "
             "unit for six years."},
]


@pytest.fixture
def news_citewise(citewise_over):
    return citewise_over({"news.jsonl": feed(NEWS)})


def cited(answer) -> set[str]:
    return {c.source.rsplit("/", 1)[-1].split("#")[0] for c in answer.citations}


def test_as_of_a_day_this_week_means_that_week_and_nothing_later_is_cited(news_citewise):
    q = "Who did Acme name as its new chief executive this week?"
    ans = news_citewise.ask(q, as_of="2024-05-03")
    assert not ans.abstained
    assert "Sam Lee" in ans.answer and "Ola Berg" not in ans.answer
    assert ans.as_of == "2024-05-03" and ans.window.startswith("2024-04-27 to 2024-05-03")
    assert "2024-04-27 to 2024-05-03" in ans.note and "preferred" in ans.note
    earlier = news_citewise.ask(q, as_of="2023-03-12")
    assert "Jane Roe" in earlier.answer
    assert all(h.published <= "2023-03-12" for h in earlier.contexts)  # no answer from the future


def test_a_window_with_no_document_falls_back_and_says_so(news_citewise):
    ans = news_citewise.ask("Who did Acme name as chief executive this week?", as_of="2026-12-04")
    assert not ans.abstained and ans.window == ""
    assert "No stored document was published 2026-11-28 to 2026-12-04" in ans.note
    assert "any date" in ans.note


def test_default_as_of_is_today_and_a_bad_day_is_refused(news_citewise):
    ans = news_citewise.ask("Who did Acme name as its new chief executive?")
    assert ans.as_of == date.today().isoformat() and ans.window == ""
    with pytest.raises(InputError, match="as_of '2024-02-30' is not a real date"):
        news_citewise.ask("Who is the chief executive?", as_of="2024-02-30")


def test_a_store_without_dates_has_no_window_and_no_note(citewise_over):
    cw = citewise_over({"report.txt": "Acme Annual Report\n\nRevenue in 2023 was $5 million. "
                                      "Revenue in 2022 was $4 million.\n"})
    ans = cw.ask("What was revenue in 2023?", as_of="2024-05-03")
    assert ans.window == "" and "published" not in ans.note
    assert "$5 million" in ans.answer
