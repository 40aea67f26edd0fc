"""A report's own voice: "we" and "the Company" stand for the name the document speaks for."""

from __future__ import annotations

from rag.language.voice import is_self_noun, speaks_as, voice_names
from rag.records import Document

ACME = """# Annual report 2024

Acme Holdings plc (the “Company”) designs and sells garden tools across Europe.

## Our people

We employed 1,480 people at year end, up from 1,310 a year earlier.

The Company opened two new warehouses in Poland during the year.
"""
GLOBEX = """# Globex yearly review

Globex Corporation (“we”, “us”) builds industrial pumps.

We employed 300 people at the end of the year.
"""


def test_voice_names_from_definitions_title_and_authors() -> None:
    doc = Document("a.md", ACME, title="Annual report 2024", authors=["Acme Press Office"])
    names = voice_names(doc)
    assert names[0] == "Acme Holdings plc"
    assert "Annual report 2024" in names and "Acme Press Office" in names
    assert voice_names(Document("g.md", GLOBEX))[0] == "Globex Corporation"
    assert voice_names(Document("n.txt", "Nothing defined here.")) == []


def test_speaks_as() -> None:
    assert speaks_as("We employed 1,480 people.")
    assert speaks_as("The Company opened two warehouses.")
    assert speaks_as("the Group's revenue rose")
    assert not speaks_as("Acme employed 1,480 people.")
    assert not speaks_as("Western companies grew.")
    assert not speaks_as("OpenAI can provide API access to US government customers.")
    assert not speaks_as("“As we enter the next phase,” said the chief executive.")
    assert not speaks_as("“We will grow the business next year")  # a quote running on


def test_we_answers_for_the_documents_subject_only(citewise_over) -> None:
    cw = citewise_over({"acme.md": ACME, "globex.md": GLOBEX})
    acme = cw.ask("How many people does Acme employ?")
    assert "1,480" in acme.answer and "300" not in acme.answer, acme.answer
    assert acme.citations[0].source == "acme.md"
    globex = cw.ask("How many people does Globex employ?")
    assert "300" in globex.answer and "1,480" not in globex.answer, globex.answer
    assert "Poland" in cw.ask("How many warehouses did Acme open in Poland?").answer
    # a name neither document speaks for is not answered by either one's "we"
    assert cw.ask("How many people does Initech employ?").abstained


def test_the_company_in_a_question_is_the_reports_own_voice(citewise_over) -> None:
    assert is_self_noun("company") and is_self_noun("the group") and not is_self_noun("acme")
    report = ("# Notes to the accounts\n\nWe had $3.0 million and $1.2 million of accrued "
              "interest and penalties at December 31, 2019 and 2018, respectively.\n")
    cw = citewise_over({"notes.md": report})
    answer = cw.ask("What was the Company's accrued interest and penalties in 2019?")
    assert "$3.0 million" in answer.answer, answer.answer
