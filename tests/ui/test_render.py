"""Pure rendering: escaping, citation markers, sources panel, Block Kit."""

from __future__ import annotations

import json

from rag.records import Answer, Chunk, Citation, DocumentInfo, Hit
from ui import render
from ui.chat import KEEP

HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="alert(1)"> & <!channel> <@U1>'
DOC = "Intro line.\n\nMicrosoft holds 27 per cent. <script>x()</script> More text follows here."


def _answer(**kw) -> Answer:
    q = "Microsoft holds 27 per cent."
    start = DOC.index(q)
    cite = Citation(1, "a.txt", "Title <b>", "https://example.com/a?x=1&y=2", q, start,
                    start + len(q), "2025-10-28")
    base = dict(question="What stake? <script>", answer="Microsoft holds 27 per cent [1].",
                abstained=False, citations=[cite])
    base.update(kw)
    return Answer(**base)


def test_esc_escapes_markup_and_quotes():
    out = render.esc(HOSTILE)
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;" in out and "&quot;" in out and "&amp;" in out
    assert render.esc(None) == ""


def test_esc_multiline_never_makes_blank_lines():
    out = render.esc_multiline("a\n\nb\r\nc <i>")
    assert "\n" not in out
    assert out == "a<br><br>b<br>c &lt;i&gt;"


def test_safe_url_only_http():
    assert render.safe_url("https://example.com/x") == "https://example.com/x"
    assert render.safe_url("http://example.com") == "http://example.com"
    for bad in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "/relative",
                "example.com", "", None, 'https://e.com/"onmouseover=x', "https://e.com/<x>"):
        assert render.safe_url(bad) is None, bad


def test_link_markers_only_known_citations():
    out = render.link_markers("a [1] b [2] c [10]", "t3", [1, 10])
    assert '<a class="cw-cite" href="#cw-t3-src-1"' in out
    assert '<a class="cw-cite" href="#cw-t3-src-10"' in out
    assert "[2]" in out and "cw-t3-src-2" not in out
    both = render.link_markers("a [1, 10] b [1, 2]", "t3", [1, 10])
    assert both.count('href="#cw-t3-src-1"') == 1 and 'href="#cw-t3-src-10"' in both
    assert both.endswith("b [1, 2]")  # one unknown number: the marker stays text


def test_answer_html_links_markers_and_escapes():
    a = _answer(answer=f"{HOSTILE} holds 27 per cent [1].")
    out = render.answer_html(a, "t1")
    assert 'href="#cw-t1-src-1"' in out
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;" in out
    assert "cw-abstain" not in out


def test_abstention_looks_different():
    hit = Hit(Chunk("c", "a.txt", 0, 0, 11, "Intro line."), 0.1, "T")
    a = _answer(abstained=True, citations=[], answer="Not in the documents <b>x</b>",
                related=[hit])
    out = render.answer_html(a, "t2")
    assert "cw-abstain" in out and "cw-answer" not in out
    assert "&lt;b&gt;" in out
    panel = render.turn_sources_html(a, "t2", lambda s: DOC)
    assert "Related passages" in panel and "Intro line." in panel
    assert "cw-turn-abstain" in panel


def test_quote_in_context_highlights_exact_span():
    q = "Microsoft holds 27 per cent."
    start = DOC.index(q)
    out = render.quote_in_context(q, start, start + len(q), DOC, context=40)
    assert f'<mark class="cw-quote">{q}</mark>' in out
    assert "Intro line." in out  # text before
    assert "&lt;script&gt;x()&lt;/script&gt;" in out  # text after, escaped
    assert "<script" not in out


def test_quote_in_context_falls_back_to_quote():
    out = render.quote_in_context("abc <x>", 0, 7, None)
    assert out == '<mark class="cw-quote">abc &lt;x&gt;</mark>'
    out = render.quote_in_context("abc", 0, 3, "xyz")  # mismatch: never highlight the wrong text
    assert out == '<mark class="cw-quote">abc</mark>'


def test_sources_panel_anchor_ids_match_markers():
    a = _answer()
    panel = render.turn_sources_html(a, "t1", lambda s: DOC)
    assert 'id="cw-t1-src-1"' in panel
    assert "Title &lt;b&gt;" in panel
    assert 'href="https://example.com/a?x=1&amp;y=2"' in panel
    assert "2025-10-28" in panel and "a.txt" in panel
    assert "&lt;script&gt;" in panel and "<script" not in panel


def test_sources_panel_survives_missing_document():
    def gone(_source: str) -> str:
        raise KeyError("deleted")

    panel = render.turn_sources_html(_answer(), "t1", gone)
    assert '<mark class="cw-quote">Microsoft holds 27 per cent.</mark>' in panel


def test_javascript_urls_are_not_links():
    a = _answer()
    a.citations[0].url = "javascript:alert(1)"
    panel = render.turn_sources_html(a, "t1", None)
    assert "javascript:" not in panel


def test_sources_panel_newest_first_older_folded():
    out = render.sources_panel_html(["<p>one</p>", "<p>two</p>", "<p>three</p>"])
    assert out.index("three") < out.index("two") < out.index("one")
    assert out.count("<details") == 2
    assert "cw-sources-empty" in render.sources_panel_html([])


def test_question_html_escapes():
    out = render.question_html("<script>window.__pwned=1</script>\n*x*")
    assert "<script" not in out and "&lt;script&gt;" in out and "<br>" in out


def test_documents_rows_and_ingest_result():
    d = DocumentInfo("a.txt", "", "", "", [], 3, "2025-01-02T03:04:05", "h")
    # no published date: a dash, never the ingest date (which has its own column)
    assert render.documents_rows([d]) == [["a.txt", "a.txt", "—", "2025-01-02", 3]]
    d = DocumentInfo("b.txt", "B", "", "2024-06-30", [], 1, "2025-01-02T03:04:05", "h")
    assert render.documents_rows([d]) == [["B", "b.txt", "2024-06-30", "2025-01-02", 1]]
    assert len(render.DOCUMENT_COLUMNS) == 5 and render.DOCUMENT_COLUMNS[2:4] == (
        "Published", "Ingested")
    out = render.ingest_result_html([("<x>.txt", "failed", "bad <b>")])
    assert "&lt;x&gt;.txt" in out and "cw-status-failed" in out and "<b>" not in out


# ---- Slack -------------------------------------------------------------------------------


def _texts(blocks) -> str:
    return json.dumps(blocks)


def test_slack_escape():
    assert render.slack_escape("a <!channel> & <@U1>") == "a &lt;!channel&gt; &amp; &lt;@U1&gt;"


def test_slack_answer_blocks():
    text, blocks = render.slack_answer(_answer())
    assert text.startswith("Microsoft holds 27 per cent")
    assert blocks[0]["type"] == "section"
    assert "[1]" in blocks[0]["text"]["text"]
    assert blocks[1] == {"type": "divider"}
    source = [b for b in blocks if b["type"] == "section"][1]["text"]["text"]
    assert source.startswith("*[1]* <https://example.com/a?x=1&amp;y=2|Title &lt;b&gt;>")
    assert "\n> Microsoft holds 27 per cent." in source
    assert "2025-10-28" in _texts(blocks)


def test_slack_answer_escapes_document_text():
    a = _answer(answer=f"{HOSTILE} [1]")
    a.citations[0].quote = HOSTILE
    a.citations[0].title = "T|x>"
    _, blocks = render.slack_answer(a)
    dumped = _texts(blocks)
    assert "<!channel>" not in dumped and "<@U1>" not in dumped and "<script" not in dumped
    assert "|T|x" not in dumped  # a | in a title cannot break the link


def test_slack_abstention_lists_related():
    hit = Hit(Chunk("c", "b.txt", 0, 0, 11, "Close passage."), 0.1, "B", "ftp://nope")
    text, blocks = render.slack_answer(_answer(abstained=True, citations=[], related=[hit],
                                               answer="No answer."))
    dumped = _texts(blocks)
    assert "Not found in the documents" in dumped and "Close passage." in dumped
    assert "ftp://" not in dumped  # only http(s) links
    assert text.startswith("Not found")


def test_slack_not_found_is_one_line_and_two_trimmed_passages():
    hits = [Hit(Chunk(f"c{i}", f"d{i}.txt", 0, 0, 2000, f"Passage {i} " + "word " * 400), 0.1,
                f"Doc {i}", "https://e.com/x", "2025-01-0{i}") for i in range(1, 6)]
    long = ("The articles don't say what the boiling point of tungsten is. The closest passages "
            "are listed below.\nSee also the sources panel.")
    text, blocks = render.slack_answer(_answer(abstained=True, citations=[], related=hits,
                                               answer=long))
    head = blocks[0]["text"]["text"]
    assert "Not found" in head and "\n" not in head and "closest passages" not in head
    sections = [b for b in blocks[1:] if b["type"] == "section"]
    assert len(sections) == 2 and "Passage 1" in sections[0]["text"]["text"]
    assert "Passage 3" not in _texts(blocks)
    assert all(len(b["text"]["text"]) < 450 for b in sections)
    assert "\n" not in text and len(text) < 250


def test_slack_not_found_line_is_the_fixed_abstention_sentence():
    hit = Hit(Chunk("c", "b.txt", 0, 0, 14, "Close passage."), 0.1, "B")
    a = Answer.abstention("What did the U.S. Senate say. About it?", [hit])
    text, blocks = render.slack_answer(a)
    head = blocks[0]["text"]["text"]
    assert head.endswith("don't answer “What did the U.S. Senate say. About it?”.")
    assert "closest passages" not in head and "Close passage." in _texts(blocks)


def test_slack_limits():
    cites = [Citation(i, f"s{i}", "T", "https://e.com", "q" * 5000, 0, 5000) for i in range(1, 40)]
    _, blocks = render.slack_answer(_answer(answer="x" * 10000, citations=cites), max_sources=40)
    assert len(blocks) <= 50
    for b in blocks:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= 3000


def test_strip_mentions():
    assert render.strip_mentions("<@UBOT> what is  &lt;x&gt; ?") == "what is <x> ?"
    assert render.strip_mentions("<@UBOT|citewise>") == ""


def test_follow_up_shows_what_it_was_understood_as():
    a = _answer(question="and until when?", standalone_question="until when: What <IP> rights?")
    out = render.answer_html(a, "t2")
    assert "Understood as: until when: What &lt;IP&gt; rights?" in out
    _, blocks = render.slack_answer(a)
    assert "Understood as: until when: What &lt;IP&gt; rights?" in json.dumps(blocks)
    same = _answer(standalone_question="What stake? <script>")
    assert "Understood as" not in render.answer_html(same, "t1")


# ---- chat handlers (the Gradio callbacks, without a browser) ------------------------------


def _chat_ui():
    from rag.config import Settings
    from tests.ui.conftest import sample_fake
    from ui.chat import ChatUI

    cw = sample_fake()
    return ChatUI(cw, Settings()), cw


def test_chat_respond_streams_then_links_citations():
    ui, _ = _chat_ui()
    steps = list(ui.respond("What stake does Microsoft hold in OpenAI Group PBC?", [], None))
    assert len(steps) >= 3
    assert "cw-streaming" in steps[1][1][-1]["content"]
    assert "writing…" in steps[1][1][-1]["content"]  # visible while the answer streams
    box, chat, panel, state = steps[-1]
    assert "writing…" not in chat[-1]["content"]
    assert steps[0][0] == "" and box == KEEP  # cleared as it starts, then left alone
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert 'href="#cw-t1-src-1"' in chat[-1]["content"]
    assert 'id="cw-t1-src-1"' in panel and "<mark" in panel
    assert len(state["turns"]) == 1


def test_chat_follow_up_passes_history():
    ui, cw = _chat_ui()
    *_, (_, chat, _, state) = ui.respond("What stake does Microsoft hold?", [], None)
    *_, (_, chat, panel, state) = ui.respond("and <b>before</b>?", chat, state)
    question, history = cw.calls[-1]
    assert question == "and <b>before</b>?"
    assert [t.question for t in history] == ["What stake does Microsoft hold?"]
    assert "&lt;b&gt;before&lt;/b&gt;" in chat[-2]["content"]
    assert 'id="cw-t2-src-1"' in panel and "cw-older" in panel


def test_chat_asks_as_of_the_date_field_and_says_when_it_is_not_a_date():
    ui, cw = _chat_ui()
    *_, (_, chat, _, _) = ui.respond("What stake does Microsoft hold?", [], None, " 2025-11-01 ")
    *_, (_, chat, _, _) = ui.respond("What stake does Microsoft hold?", [], None, "")
    assert cw.as_of_seen == ["2025-11-01", ""]
    *_, (_, chat, _, state) = ui.respond("What stake does Microsoft hold?", [], None, "tomorrow")
    assert "cw-error" in chat[-1]["content"] and "YYYY-MM-DD" in chat[-1]["content"]
    assert state["turns"] == []


def test_chat_errors_and_empty_questions():
    ui, cw = _chat_ui()
    assert list(ui.respond("   ", [], None))[-1][1] == []
    cw.ask = lambda *a, **k: (_ for _ in ()).throw(__import__("rag.errors").errors.StoreError("down"))
    *_, (_, chat, _, state) = ui.respond("q?", [], None)
    assert "cw-error" in chat[-1]["content"] and "down" in chat[-1]["content"]
    assert state["turns"] == []


def test_chat_refuses_an_over_long_question_with_a_message():
    from citewise import MAX_QUESTION_CHARS

    ui, cw = _chat_ui()
    long = "What stake does Microsoft hold? " + "x" * MAX_QUESTION_CHARS
    box, chat, _panel, state = list(ui.respond(long, [], None))[-1]
    assert box == long  # kept in the box to be shortened, not cut
    assert "cw-error" in chat[-1]["content"] and f"{MAX_QUESTION_CHARS:,}" in chat[-1]["content"]
    assert cw.calls == [] and state["turns"] == []
    at_limit = "q" * (MAX_QUESTION_CHARS - 1) + "?"
    steps = list(ui.respond(at_limit, [], None))
    assert steps[0][0] == ""  # accepted: the box is cleared once, as the answer starts
    # ...and left alone after that, so a follow-up typed during the answer survives it
    assert len(steps) > 1 and all(step[0] == KEEP for step in steps[1:])


def test_chat_delete_asks_first():
    ui, cw = _chat_ui()
    row, question, status = ui.confirm_delete("microsoft-openai-partnership.txt")
    assert row["visible"] is True and "Delete <b>microsoft-openai-partnership.txt</b>?" in question
    assert "microsoft-openai-partnership.txt" in cw.docs  # nothing deleted yet
    row, _q, status = ui.cancel_delete()
    assert row["visible"] is False and "Nothing was deleted" in status
    row, _q, status = ui.confirm_delete(None)
    assert row["visible"] is False and "Choose a document" in status
    row, question, _ = ui.confirm_delete("<b>x</b>")
    assert "&lt;b&gt;x&lt;/b&gt;" in question


def test_chat_upload_and_delete(tmp_path):
    ui, cw = _chat_ui()
    f = tmp_path / "notes.txt"
    f.write_text("Otters hold hands while sleeping.", encoding="utf-8")
    seen = []
    result, table, _dropdown, cleared = ui.upload([str(f)], progress=lambda *a, **k: seen.append(a))
    assert "notes.txt" in result and "added" in result and cleared is None
    assert any(row[1] == "notes.txt" for row in table) and seen
    status, table, _ = ui.delete("notes.txt")
    assert "Deleted" in status and not any(row[1] == "notes.txt" for row in table)
    status, _, _ = ui.delete("notes.txt")
    assert "cw-error" in status


def test_a_table_rows_headings_are_shown_escaped():
    c = Citation(n=1, source="prices.md", title="Prices", url="", quote="| Team | $15 | $150 |",
                 start=0, end=21, table="Plans: Monthly | <b>Annual</b>")
    html_out = render.citation_html(c, "t1", None)
    assert "Table: Plans: Monthly | &lt;b&gt;Annual&lt;/b&gt;" in html_out
    assert "<b>Annual" not in html_out
    assert c.to_dict()["table"] == "Plans: Monthly | <b>Annual</b>"


def test_a_title_is_said_once_on_a_source_card_and_in_the_cli():
    from ui.cli import format_answer

    q = "Microsoft holds 27 per cent."
    start = DOC.index(q)
    cite = Citation(1, "a.md", "Pricing", "", q, start, start + len(q), "", section="pricing")
    assert "cw-section" not in render.citation_html(cite, "t1", DOC)  # not "Pricing › pricing"
    cite.section = "Team plan"
    assert "› Team plan" in render.citation_html(cite, "t1", DOC)
    hit = Hit(Chunk("c1", "news.txt", 0, 0, 60, "Acme opens a plant\n\nAcme opened a plant in "
                    "Ohio on Monday."), 0.1, "Acme opens a plant")
    shown = format_answer(Answer("Where?", "The documents don't answer “Where?”.", True,
                                 related=[hit]))
    assert shown.count("Acme opens a plant") == 1 and "Acme opened a plant in Ohio" in shown


def test_an_abstention_does_not_say_where_the_passages_are():
    hit = Hit(Chunk("c1", "a.txt", 0, 0, 10, "Close text"), 0.1, "A")
    text = Answer.abstention("Who?", [hit]).answer
    assert "below" not in text and "passage" not in text  # each front end says where
    assert "No passage matched" in Answer.abstention("Who?", []).answer
    html = render.answer_html(Answer.abstention("Who?", [hit]), "t1")
    assert "The closest passage is under Sources" in html


def test_the_empty_chat_names_stored_titles_escaped():
    from rag.records import DocumentInfo
    from ui.render import chat_placeholder

    assert "Documents" in chat_placeholder([])
    docs = [DocumentInfo("a.md", "Board *minutes* <script>x</script>", "", "2024-02-14", [], 1,
                         "2025-01-01", "h1"),
            DocumentInfo("b.txt", "", "", "", [], 1, "2025-01-02", "h2"),
            DocumentInfo("c.md", "Policy [draft](http://x)", "", "2023-01-01", [], 1,
                         "2025-01-03", "h3"),
            DocumentInfo("d.md", "Old memo", "", "2020-01-01", [], 1, "2025-01-04", "h4")]
    text = chat_placeholder(docs)
    assert text.startswith("Ask a question about your 4 documents, such as “Board")
    assert "<script>" not in text and "&lt;script&gt;" in text and "\\*minutes\\*" in text
    assert "\\[draft\\]" in text and "Old memo" in text and "and more" in text
    assert "b.txt" not in text  # the three newest by publication date; undated ones last
