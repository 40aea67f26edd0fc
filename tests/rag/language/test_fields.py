"""Form fields, front matter and column lists are answer units, not headlines."""

from __future__ import annotations

from rag.language.fields import field_lines

MINUTES = """Board minutes, 3 March 2025

Present
Jane Roe    Chair
Sam Lee     Treasurer
Ann Poe     Secretary

The board approved the 2025 budget of £2.4 million.

Actions
Owner: Sam Lee   Due: 30 September 2025
"""
POLICY = """# Travel policy

**Valid from:** 12 January 2025
**Owner:** Finance team
**Review date:** 1 July 2025

Staff book rail travel through the approved agency.
"""


def _lines(text: str) -> list[str]:
    return [text[s:e] for s, e in sorted(field_lines(text))]


def test_field_lines() -> None:
    assert _lines(MINUTES) == ["Jane Roe    Chair", "Sam Lee     Treasurer", "Ann Poe     Secretary",
                               "Owner: Sam Lee   Due: 30 September 2025"]
    assert _lines(POLICY) == ["**Valid from:** 12 January 2025", "**Owner:** Finance team",
                              "**Review date:** 1 July 2025"]
    # a lone "Key: value" line is a headline or label, not a form
    assert _lines("Analysis: why rates rose\n\nRates rose because prices did.") == []


def test_fields_are_answered(citewise_over) -> None:
    cw = citewise_over({"minutes.txt": MINUTES, "policy.md": POLICY})
    assert "Sam Lee" in cw.ask("Who is the treasurer?").answer
    assert "Jane Roe" in cw.ask("Who chairs the board?").answer
    assert "Finance team" in cw.ask("Who owns the travel policy?").answer
    due = cw.ask("When is Sam Lee's action due?")
    assert "30 September 2025" in due.answer
    assert due.citations[0].quote == "Owner: Sam Lee   Due: 30 September 2025"  # exact line
