"""Write solar-array-update.docx, the Word document of the kinds golden set (issue 17).

The DOCX is committed; rerun this only to change it: ``.venv/bin/python eval/golden/kinds/make_docx.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from docx import Document

OUT = Path(__file__).with_name("solar-array-update.docx")

TITLE = "Hillside Solar Array: update for members"
PARAGRAPHS: list[tuple[str | None, str]] = [
    (None, "The Hillside Solar Array is owned by the Orchard Valley Energy Cooperative, which has "
           "612 member households. The array was installed by SunForge Renewables under a "
           "fixed-price contract. Operations are overseen by the cooperative's technical manager, "
           "Helen Marsh."),
    (None, "The array was commissioned on 14 May 2024. It has 3,400 panels with a combined capacity "
           "of 1.2 megawatts, enough to supply about 410 homes. The array cost $1.8 million, "
           "financed by member shares and a loan from Valley Credit Union."),
    ("First year", "In its first full year the array generated 1,530 megawatt-hours of electricity. "
                   "Output was 6 per cent below forecast because of a wet spring. Members received a "
                   "dividend of 3.5 per cent on their shares."),
    ("Battery storage", "The battery storage project was discussed at the annual general meeting. "
                        "The cooperative wants to add a battery to store midday power for the evening "
                        "peak. The board will present a proposal to members before any contract is "
                        "signed."),
    ("Contact", "Questions can be sent to the cooperative office at the old creamery on Mill Lane, "
                "which is open on Tuesday and Thursday afternoons."),
]


def build(out: Path = OUT) -> Path:
    """A title, body paragraphs and level-2 headings, with fixed core properties."""
    doc = Document()
    props = doc.core_properties
    props.title = TITLE
    props.author = "Orchard Valley Energy Cooperative"
    props.created = props.modified = datetime(2025, 6, 2, tzinfo=UTC)
    doc.add_heading(TITLE, level=1)
    for heading, text in PARAGRAPHS:
        if heading:
            doc.add_heading(heading, level=2)
        doc.add_paragraph(text)
    doc.save(str(out))
    return out


if __name__ == "__main__":
    build()
