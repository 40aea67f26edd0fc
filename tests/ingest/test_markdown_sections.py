"""Markdown headings are section titles (chunk and citation metadata), not quoted "#" text."""

from __future__ import annotations

from pathlib import Path

from ingest.loaders import load_file, markdown_sections
from rag.records import Citation
from ui.render import citation_html

HANDBOOK = """# Volunteer handbook

Welcome to the river clean-up volunteers.

## Schedule

The clean-up starts at 9:00 on the first Saturday of every month.

Equipment
---------

Gloves and bags are handed out at the boathouse.

```
# not a heading: a comment in a code block
```
"""


def test_headings_lose_their_marks_and_keep_exact_offsets() -> None:
    text, sections = markdown_sections(HANDBOOK.rstrip("\n"))
    assert [t for _, t in sections] == ["Volunteer handbook", "Schedule", "Equipment"]
    assert all(text[o : o + len(t)] == t for o, t in sections)
    assert "## " not in text and "-------" not in text
    assert "# not a heading: a comment in a code block" in text


def test_chunks_and_citations_carry_the_section(tmp_path: Path, make_citewise) -> None:
    f = tmp_path / "docs" / "handbook.md"
    f.parent.mkdir()
    f.write_text(HANDBOOK, encoding="utf-8")
    doc = load_file(f, "handbook.md", 2**24)[0]
    assert doc.title == "Volunteer handbook"
    cw = make_citewise()
    assert cw.ingest([f.parent]).ok
    ans = cw.ask("When does the clean-up start?")
    assert not ans.abstained and ans.citations, ans.answer
    (c,) = [c for c in ans.citations if "9:00" in c.quote]
    assert c.section == "Schedule" and "#" not in c.quote
    assert c.to_dict()["section"] == "Schedule"
    assert cw.document_text("handbook.md")[c.start : c.end] == c.quote
    ans = cw.ask("Where are the gloves and bags handed out?")
    assert any(c.section == "Equipment" and "boathouse" in c.quote for c in ans.citations)
    assert any(h.to_context()["section"] for h in ans.contexts)


def test_the_source_card_shows_the_section_title() -> None:
    c = Citation(1, "handbook.md", "Volunteer handbook", "", "The clean-up starts at 9:00.", 0,
                 28, section="Schedule <b>")
    html = citation_html(c, "t1", None)
    assert '<span class="cw-section">› Schedule &lt;b&gt;</span>' in html
    assert "cw-section" not in citation_html(
        Citation(1, "a.txt", "A", "", "q", 0, 1), "t1", None)
