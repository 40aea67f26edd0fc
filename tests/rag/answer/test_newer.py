"""Newer facts over older ones (issue 26, part 2), on 16 updated-document pairs of five kinds
(policy versions, corrected stories, quarterly figures, roles that changed hands, prices and
rates) written as txt, md, html, docx and JSONL: asked plainly, the newest document answers and
the note names the older one; asked for the earlier value, the older one answers; an answer
about "now" from old documents says its date. Real model, real Chroma."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import docx
import pytest

from rag.answer.newer import asked_year, asks_earlier, prefer_newer, stale_note, without_time

pytestmark = pytest.mark.slow  # the real model and Chroma over 32 documents


@dataclass
class Version:
    title: str
    day: str  # YYYY-MM-DD
    text: str


@dataclass
class Pair:
    kind: str
    fmt: str
    old: Version
    new: Version
    question: str
    old_value: str
    new_value: str
    earlier: str = ""  # a question asking for the earlier value


PAIRS = [
    Pair("policy", "txt",
         Version("Remote work policy", "2024-01-10", "Staff may work from home up to 2 days a week. "
                 "Requests go to the line manager, who answers within five working days."),
         Version("Remote work policy updated", "2025-03-01", "Staff may work from home up to 3 days "
                 "a week. Requests go to the line manager, who answers within five working days."),
         "How many days a week may staff work from home?", "2 days", "3 days",
         "How many days a week could staff work from home before the change?"),
    Pair("policy", "md",
         Version("Expense policy", "2023-06-01", "Meals on business trips are reimbursed up to $40 "
                 "per day. Receipts must be filed within a month of the trip."),
         Version("Expense policy revised", "2025-01-15", "Meals on business trips are reimbursed up "
                 "to $55 per day. Receipts must be filed within a month of the trip."),
         "Up to how much are meals on business trips reimbursed per day?", "$40", "$55",
         "How much were meals on business trips reimbursed per day originally?"),
    Pair("policy", "html",
         Version("Parental leave", "2022-09-01", "New parents at the agency receive 12 weeks of "
                 "paid leave. The leave can be split into two blocks."),
         Version("Parental leave extended", "2024-09-01", "New parents at the agency receive 16 "
                 "weeks of paid leave. The leave can be split into two blocks."),
         "How many weeks of paid leave do new parents at the agency receive?", "12 weeks",
         "16 weeks"),
    Pair("correction", "docx",
         Version("Footbridge collapses in storm", "2025-02-03", "Rescuers said 14 people were "
                 "injured when the footbridge over the Alder collapsed during the storm."),
         Version("Correction: footbridge collapse", "2025-02-04", "Rescuers said 11 people were "
                 "injured when the footbridge over the Alder collapsed during the storm; an "
                 "earlier report gave a higher figure."),
         "How many people were injured when the footbridge over the Alder collapsed?", "14", "11",
         "How many injuries were first reported when the footbridge over the Alder collapsed?"),
    Pair("correction", "jsonl",
         Version("Lantern festival draws crowds", "2025-08-11", "The lantern festival in Kestel "
                 "drew 42,000 visitors over the weekend, organisers said."),
         Version("Lantern festival count corrected", "2025-08-13", "The lantern festival in Kestel "
                 "drew 38,500 visitors over the weekend, organisers said after a recount."),
         "How many visitors did the lantern festival in Kestel draw?", "42,000", "38,500"),
    Pair("correction", "txt",
         Version("Science prize awarded", "2025-05-20", "The Harwell science prize went to the "
                 "chemist Laura Benz for her work on battery membranes."),
         Version("Science prize: name corrected", "2025-05-21", "The Harwell science prize went "
                 "to the chemist Laura Berger for her work on battery membranes."),
         "Who won the Harwell science prize?", "Benz", "Berger"),
    Pair("quarterly", "md",
         Version("Second-quarter results", "2025-07-20", "Tidewater Software reported revenue of "
                 "$4.1 million for the quarter, up from a year earlier."),
         Version("Third-quarter results", "2025-10-20", "Tidewater Software reported revenue of "
                 "$4.6 million for the quarter, up from a year earlier."),
         "What quarterly revenue did Tidewater Software report?", "$4.1 million", "$4.6 million"),
    Pair("quarterly", "html",
         Version("Harbourline usage, spring", "2025-04-05", "Harbourline had 1.2 million active "
                 "users at the end of the quarter, the company said."),
         Version("Harbourline usage, summer", "2025-07-05", "Harbourline had 1.5 million active "
                 "users at the end of the quarter, the company said."),
         "How many active users does Harbourline have?", "1.2 million", "1.5 million"),
    Pair("quarterly", "docx",
         Version("Grocer keeps opening stores", "2025-04-02", "The Fresco grocery chain operated "
                 "212 stores at the end of the quarter."),
         Version("Grocer store count grows", "2025-07-02", "The Fresco grocery chain operated 219 "
                 "stores at the end of the quarter."),
         "How many stores does the Fresco grocery chain operate?", "212", "219"),
    Pair("role", "jsonl",
         Version("Lumen Bank leadership", "2023-02-01", "Maria Okafor is the chief executive of "
                 "Lumen Bank, which she has led since 2019."),
         Version("Lumen Bank names new chief", "2025-06-10", "Daniel Reyes is the chief executive "
                 "of Lumen Bank, succeeding Maria Okafor."),
         "Who is the chief executive of Lumen Bank?", "Okafor is", "Daniel Reyes",
         "Who was the chief executive of Lumen Bank previously?"),
    Pair("role", "txt",
         Version("Rovers keep their coach", "2024-05-01", "The head coach of the Dunmore Rovers is "
                 "Tom Hale, who signed a new contract this spring."),
         Version("Rovers change coach", "2025-05-01", "The head coach of the Dunmore Rovers is "
                 "Ines Moreau, who signed a three-year contract this spring."),
         "Who is the head coach of the Dunmore Rovers?", "Hale", "Moreau"),
    Pair("role", "md",
         Version("Planning committee", "2024-03-12", "Priya Nair chairs the planning committee "
                 "of the county council."),
         Version("Planning committee chair", "2025-09-12", "Samuel Otieno chairs the planning "
                 "committee of the county council."),
         "Who chairs the planning committee of the county council?", "Nair", "Otieno"),
    Pair("price", "html",
         Version("Ferry fares", "2024-02-14", "A single ticket on the harbour ferry costs 3.80 "
                 "euros. Children under six travel free."),
         Version("Ferry fares rise", "2025-02-14", "A single ticket on the harbour ferry costs "
                 "4.20 euros. Children under six travel free."),
         "How much does a single ticket on the harbour ferry cost?", "3.80", "4.20",
         "How much did a single ticket on the harbour ferry cost originally?"),
    Pair("price", "docx",
         Version("Central bank holds", "2024-11-06", "The central bank of Norland set its key "
                 "interest rate at 3.5 percent."),
         Version("Central bank cuts", "2025-03-05", "The central bank of Norland set its key "
                 "interest rate at 3.25 percent."),
         "What is the key interest rate of the central bank of Norland?", "3.5 percent",
         "3.25 percent"),
    Pair("price", "jsonl",
         Version("Transit pass prices", "2024-01-02", "A monthly transit pass in Vellmar costs 49 "
                 "euros for adults."),
         Version("Transit pass prices 2025", "2025-01-02", "A monthly transit pass in Vellmar costs "
                 "58 euros for adults."),
         "How much does a monthly transit pass in Vellmar cost?", "49", "58",
         "How much did a monthly transit pass in Vellmar cost in 2024?"),
    Pair("policy", "html",
         Version("Library hours", "2024-08-30", "The Eastgate library is open 52 hours a week, "
                 "with late opening on Thursdays."),
         Version("Library hours extended", "2025-08-30", "The Eastgate library is open 60 hours "
                 "a week, with late opening on Thursdays."),
         "How many hours a week is the Eastgate library open?", "52 hours", "60 hours"),
]


def _long(day: str) -> str:
    d = date.fromisoformat(day)
    return f"{d.day} {d.strftime('%B %Y')}"


def _write(folder: Path, name: str, fmt: str, v: Version, feed: list[dict]) -> None:
    body = f"{v.text} The Harbour Gazette will follow the story."
    if fmt == "txt":
        (folder / f"{name}.txt").write_text(f"{v.title}\nHarbour Gazette, {_long(v.day)}\n\n{body}\n")
    elif fmt == "md":
        (folder / f"{name}.md").write_text(f"# {v.title}\n\nHarbour Gazette, {_long(v.day)}\n\n{body}\n")
    elif fmt == "html":
        (folder / f"{name}.html").write_text(
            f"<html><head><title>{v.title}</title><meta property='article:published_time' "
            f"content='{v.day}T08:00:00Z'></head><body><nav>Home | News</nav><article>"
            f"<h1>{v.title}</h1><p>{body}</p></article></body></html>")
    elif fmt == "docx":
        d = docx.Document()
        d.core_properties.title = v.title
        d.add_paragraph(f"Harbour Gazette, {_long(v.day)}")
        d.add_paragraph(body)
        d.save(str(folder / f"{name}.docx"))
    else:
        feed.append({"id": name, "title": v.title, "published": v.day, "text": body})


@pytest.fixture(scope="module")
def cw(tmp_path_factory, embedder):
    from citewise import Citewise
    from rag.config import Settings

    folder = tmp_path_factory.mktemp("updated")
    feed: list[dict] = []
    for i, p in enumerate(PAIRS):
        _write(folder, f"p{i:02d}-old", p.fmt, p.old, feed)
        _write(folder, f"p{i:02d}-new", p.fmt, p.new, feed)
    (folder / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in feed) + "\n")
    c = Citewise(Settings(store=tmp_path_factory.mktemp("updated-store")), embedder=embedder)
    report = c.ingest([folder])
    assert report.ok and len(report.added) == 2 * len(PAIRS), report.failed
    return c


def test_the_fixtures_cover_every_format_and_every_document_is_dated(cw):
    assert {p.fmt for p in PAIRS} == {"txt", "md", "html", "docx", "jsonl"} and len(PAIRS) >= 15
    dates = {d.title: d.published[:10] for d in cw.documents() if d.title}
    for p in PAIRS:
        for v in (p.old, p.new):
            assert dates.get(v.title) == v.day, (p.fmt, v.title, dates.get(v.title))


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"{p.kind}-{p.fmt}-{p.new.title}")
def test_the_newest_document_answers_and_the_note_names_the_older(cw, pair):
    ans = cw.ask(pair.question, as_of="2026-01-01")
    assert not ans.abstained, ans.note
    assert pair.new_value in ans.answer and pair.old_value not in ans.answer, ans.answer
    assert {c.published[:10] for c in ans.citations} == {pair.new.day}
    assert f"An earlier article, “{pair.old.title}” ({pair.old.day}), said:" in ans.note
    assert pair.old_value in ans.note


@pytest.mark.parametrize("pair", [p for p in PAIRS if p.earlier], ids=lambda p: p.new.title)
def test_asked_for_the_earlier_value_the_older_document_answers(cw, pair):
    ans = cw.ask(pair.earlier, as_of="2026-01-01")
    assert not ans.abstained, ans.note
    assert pair.old_value in ans.answer and pair.new_value not in ans.answer, ans.answer
    assert {c.published[:10] for c in ans.citations} == {pair.old.day}
    if not asked_year(pair.earlier):  # "in 2024" prefers 2024's documents: the later may be unseen
        assert f"A later article, “{pair.new.title}” ({pair.new.day}), said:" in ans.note


def test_as_of_a_day_between_the_versions_the_older_one_is_the_newest(cw):
    pair = next(p for p in PAIRS if p.new.title == "Ferry fares rise")
    ans = cw.ask(pair.question, as_of="2024-06-01")
    assert "3.80" in ans.answer and "4.20" not in ans.answer and "4.20" not in ans.note


def test_an_answer_about_now_from_old_documents_says_its_date(cw):
    ans = cw.ask("Who is currently the chief executive of Lumen Bank?", as_of="2028-01-01")
    assert "Daniel Reyes" in ans.answer
    assert "This answer is as of 2025-06-10" in ans.note
    recent = cw.ask("Who is currently the chief executive of Lumen Bank?", as_of="2025-09-01")
    assert "This answer is as of" not in recent.note


def test_the_rules_pieces():
    assert without_time("What was the fare originally?") == "What was the fare?"
    assert without_time("How many were first reported injured?") == "How many were reported injured?"
    assert without_time("What did a pass cost in 2024?") == "What did a pass cost?"
    assert without_time("What is the fare?") == "What is the fare?"
    assert asks_earlier("What was the fare before the change?")
    assert asks_earlier("Who originally chaired the committee?")
    assert not asks_earlier("What is the fare now?")
    assert not asks_earlier("How old is the Eastgate library?")  # an age, not an earlier value
    assert asks_earlier("What did the fare used to be?")
    assert prefer_newer("q?", [], [], lambda c: True) == ([], "")
    assert stale_note("Who is the current chair?", ["2020-01-01"], "2026-01-01").startswith(
        "This answer is as of 2020-01-01")
    assert stale_note("Who is the chair?", ["2020-01-01"], "2026-01-01") == ""  # not about now
    assert stale_note("Who is the current chair?", ["2020-01-01", ""], "2026-01-01") == ""
