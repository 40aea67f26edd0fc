"""Write harbour-drone-report.pdf, the one-page PDF report of the kinds golden set (issue 17).

The PDF is committed; rerun this only to change it: ``.venv/bin/python eval/golden/kinds/make_pdf.py``.
fpdf2 (the test extra) is the producer, so its line wrapping inside sentences is part of the test.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

OUT = Path(__file__).with_name("harbour-drone-report.pdf")

TITLE = "Kestrel Bay Harbour Drone Delivery Pilot"
SUBTITLE = "Interim project report, September 2025"
SECTIONS: list[tuple[str, list[str]]] = [
    ("About the pilot", [
        "The Harbour Drone Delivery Pilot is run by the Kestrel Bay Port Authority. "
        "The project is led by Dr. Amara Okonjo, who joined the authority from the regional "
        "hospital trust. The pilot carries medical supplies, spare parts and mail between the "
        "harbour office and four outlying piers.",
        "The pilot started on 3 March 2025 with six drones supplied by Northwind Aerial Systems. "
        "The drones fly a maximum distance of 18 kilometres per charge and carry up to "
        "4.5 kilograms. Each flight is monitored from a control room in the harbour office.",
    ]),
    ("Budget", [
        "The budget of the pilot was approved by the port's finance committee after a public "
        "consultation. The pilot has a total budget of 2.4 million euros over two years, of which "
        "600,000 euros came from a national innovation grant.",
    ]),
    ("Results so far", [
        "In its first six months the pilot completed 1,240 deliveries. The average delivery took "
        "11 minutes, compared with 47 minutes by road. Two flights were cancelled because of high "
        "winds, and no drone was lost.",
    ]),
    ("Next steps", [
        "The authority plans to extend the pilot to the island of Hollin in a second phase. "
        "The second phase still needs approval from the national aviation regulator. Until then "
        "the six drones will keep serving the four piers.",
    ]),
]


def build(out: Path = OUT) -> Path:
    """Lay the report out on one A4 page with the core Helvetica font (plain ASCII text)."""
    pdf = FPDF(format="A4")
    pdf.set_creator("citewise eval/golden/kinds/make_pdf.py")
    pdf.set_title(TITLE)
    pdf.set_author("Kestrel Bay Port Authority")
    pdf.set_creation_date(datetime(2025, 9, 30, tzinfo=UTC))  # fixed: reproducible bytes
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 9, TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "I", 11)
    pdf.multi_cell(0, 7, SUBTITLE, new_x="LMARGIN", new_y="NEXT")
    for heading, paragraphs in SECTIONS:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(0, 7, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        for text in paragraphs:
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    if pdf.page_no() != 1:
        raise SystemExit(f"{out.name}: the report must fit on one page, it has {pdf.page_no()}")
    pdf.output(str(out))
    return out


if __name__ == "__main__":
    build()
