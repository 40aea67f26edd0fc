"""Boilerplate removal keeps every sentence verbatim and drops only news-site furniture."""

from __future__ import annotations

import pytest

from ingest.clean import clean_article, clean_pages, dropped_lines, is_boilerplate
from tests.conftest import SAMPLE_ARTICLE

SEED_TITLE = "OpenAI can now work with Google, Amazon as Microsoft loosens grip on ChatGPT maker"
SEED_BOILERPLATE = [
    "Staff Writer",
    "Image: Microsoft",
    "AI Generated",
    "Advertisement",
    "More Tech",
    "Article summary",
    "Key points",
]


@pytest.fixture
def seed_raw() -> str:
    """The seed article ships in the repository: a missing file is a failure, not a skip."""
    return SAMPLE_ARTICLE.read_text(encoding="utf-8")


def test_seed_article_title_is_the_headline(seed_raw: str) -> None:
    title, text = clean_article(seed_raw)
    assert title == SEED_TITLE
    assert text.split("\n", 1)[0] == SEED_TITLE  # the headline stays citable


def test_seed_article_boilerplate_lines_are_gone(seed_raw: str) -> None:
    _, text = clean_article(seed_raw)
    lines = {line.strip() for line in text.split("\n")}
    for junk in SEED_BOILERPLATE:
        assert junk not in lines, junk
    assert "Staff Writer" not in text
    assert "Advertisement" not in text


def test_seed_article_every_sentence_is_kept_verbatim(seed_raw: str) -> None:
    _, text = clean_article(seed_raw)
    assert "OpenAI has contracted to purchase $250 billion of Azure services." in text
    kept_lines = set(text.split("\n"))
    for line in seed_raw.splitlines():
        if line.strip() and line.strip() not in SEED_BOILERPLATE:
            assert line.rstrip() in kept_lines, line


def test_seed_article_dropped_lines_are_exactly_the_boilerplate(seed_raw: str) -> None:
    assert sorted(set(dropped_lines(seed_raw))) == sorted(SEED_BOILERPLATE)


def test_cleaning_is_idempotent(seed_raw: str) -> None:
    title, text = clean_article(seed_raw)
    assert clean_article(text) == (title, text)


def test_line_endings_control_chars_and_blank_runs() -> None:
    raw = "Headline here\r\n\r\nFirst\x00 line.  \rSecond\x07 line.\t \r\n\n\n\n\nThird line.\x0cFourth."
    title, text = clean_article(raw)
    assert title == "Headline here"
    assert text == "Headline here\n\nFirst line.\nSecond line.\n\nThird line.\nFourth."


def test_tabs_and_leading_indentation_are_kept() -> None:
    _, text = clean_article("Title\n\n  \u2022 A bullet point.\n\tIndented\tcell.")
    assert "  \u2022 A bullet point." in text.split("\n")
    assert "\tIndented\tcell." in text.split("\n")


@pytest.mark.parametrize(
    "line",
    [
        "Advertisement",
        "ADVERTISEMENT",
        "Sponsored",
        "Story continues below",
        "Story continues below advertisement",
        "More News",
        "More from Business",
        "Photo: Reuters",
        "Photograph: Justin Sullivan/Getty Images",
        "Credit: Jane Doe",
        "(Getty Images)",
        "AI Generated",
        "AI-generated summary",
        "How relevant is this ad to you?",
        "Ad feedback",
        "Report this ad",
        "Share",
        "Share this article",
        "Follow us on Twitter",
        "Sign up for our newsletter",
        "Sign up to our daily business newsletter",
        "Read more",
        "Read more: Why chips are scarce",
        "Click here",
        "We use cookies to improve your experience on our website.",
        "Accept all cookies",
        "Listen to this article",
        "Article summary",
        "Key points",
        "  \u2022 Advertisement \u00bb",
    ],
)
def test_boilerplate_lines_are_dropped(line: str) -> None:
    assert is_boilerplate(line)
    _, text = clean_article(f"A headline for the story\n\n{line}\n\nThe body sentence stays.")
    assert text == "A headline for the story\n\nThe body sentence stays."


@pytest.mark.parametrize(
    "sentence",
    [
        "Share prices fell sharply on Monday.",
        "Sponsored by the EU, the project began in 2019.",
        "Read more about the deal in our full report.",
        "Advertisement spending rose 4 per cent last year, the agency said.",
        "More Tech companies are hiring again.",
        "Photo: the moment the rocket lifted off from the pad.",
        "Key points of the deal were agreed on Friday.",
        "Click here, the manual said, and nothing happened.",
        "More than 300 people attended the meeting in the town hall on Friday evening.",
    ],
)
def test_real_sentences_are_never_dropped(sentence: str) -> None:
    assert not is_boilerplate(sentence)
    _, text = clean_article(f"Headline\n\n{sentence}\n\n{sentence}")
    assert text.count(sentence) == 2  # repeated full sentences are kept too


def test_long_lines_are_never_boilerplate() -> None:
    line = "Advertisement " + "x" * 80
    assert not is_boilerplate(line)


def test_repeated_short_non_sentence_lines_are_dropped_everywhere() -> None:
    raw = "Big news today in the city\nJane Roe\nSenior Reporter\nBody one.\nJane Roe\nSenior Reporter\nBody two."
    _, text = clean_article(raw)
    assert "Jane Roe" not in text
    assert "Senior Reporter" not in text
    assert text == "Big news today in the city\nBody one.\nBody two."


def test_repeated_headline_keeps_its_first_copy() -> None:
    raw = "Rates rise again in March\n\nThe bank raised rates.\n\nRates rise again in March"
    title, text = clean_article(raw)
    assert title == "Rates rise again in March"
    assert text == "Rates rise again in March\n\nThe bank raised rates."


def test_no_headline_gives_empty_title() -> None:
    title, text = clean_article("This text starts with a sentence. It has no headline.")
    assert title == ""
    assert text == "This text starts with a sentence. It has no headline."


def test_headline_rules() -> None:
    assert clean_article("Advertisement\n\nReal headline\nBody.")[0] == "Real headline"
    assert clean_article("x" * 201 + "\nBody.")[0] == ""
    assert clean_article("  \u2022 A list item\nBody.")[0] == ""
    assert clean_article("Is this a question?\nBody.")[0] == "Is this a question?"


def test_empty_and_boilerplate_only_input() -> None:
    assert clean_article("") == ("", "")
    assert clean_article(" \n\t\n\r\n") == ("", "")
    assert clean_article("Advertisement\n\nShare\nRead more") == ("", "")


def test_pages_offsets_point_into_the_cleaned_text() -> None:
    pages = ["Report title\nAdvertisement\nFirst page text.", "   \n", "Third page text.\nMore text."]
    title, text, starts = clean_pages(pages)
    assert title == "Report title"
    assert text == "Report title\nFirst page text.\n\nThird page text.\nMore text."
    assert len(starts) == 3
    assert starts[0] == 0
    assert text[starts[2] :].startswith("Third page text.")
    assert starts[1] == starts[2]  # an empty page never owns any text
    assert starts == sorted(starts)


def test_page_headers_repeated_on_every_page_are_dropped() -> None:
    pages = [f"ACME Annual Report 2024\nACME Corp\nPage body number {i}." for i in range(3)]
    title, text, starts = clean_pages(pages)
    assert title == "ACME Annual Report 2024"  # the first copy is the headline
    assert text.count("ACME Annual Report 2024") == 1
    assert "ACME Corp" not in text  # a short repeated line that is no headline goes everywhere
    assert text[starts[1] :].startswith("Page body number 1.")
    assert text[starts[2] :].startswith("Page body number 2.")


def test_a_table_row_is_never_the_title_and_table_rows_are_never_furniture():
    from ingest.clean import clean_article

    raw = "| Share | 12 |\n|---|---|\n| Share | 12 |\n\nShare\n\nThe board met on Monday to agree it."
    title, text = clean_article(raw)
    assert title == ""
    assert text.count("| Share | 12 |") == 2  # repeated and short, still kept
    assert "\nShare\n" not in text  # the same word alone on a line is furniture
