"""The CLI refuses what it cannot answer well, loudly: bad filters and k, missing or empty
stores, unreadable question files. Never a traceback, never a silent empty answer."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SAMPLE_DIR
from ui.cli import main

QUESTION = "What stake does Microsoft hold in OpenAI Group PBC?"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def dated_store(tmp_path_factory, embedder) -> str:
    """The sample article (no published date) plus one dated JSONL article."""
    from citewise import Citewise
    from rag.config import Settings

    store = tmp_path_factory.mktemp("dated-store")
    feed = tmp_path_factory.mktemp("feed") / "feed.jsonl"
    feed.write_text(json.dumps({
        "id": "quokka-2024", "published": "2024-05-02", "title": "Quokka census",
        "text": "The quokka census of 2024 counted 4,217 quokkas on Rottnest Island."}) + "\n",
        encoding="utf-8")
    cw = Citewise(Settings(store=store), embedder=embedder)
    report = cw.ingest([SAMPLE_DIR, feed])
    assert report.ok, report.failed
    return str(store)


@pytest.mark.parametrize("flags, message", [
    (["--source", "nope.txt"], "Unknown source in the filter: 'nope.txt'"),
    (["--date-from", "2024-13-45"], "date_from '2024-13-45' is not a real date"),
    (["--date-to", "2024/01/01"], "date_to '2024/01/01' is not a date in YYYY-MM-DD form"),
    (["--date-from", "2024-06-01", "--date-to", "2024-01-01"],
     "date_from 2024-06-01 is after date_to 2024-01-01"),
    (["--k", "0"], "k must be between 1 and 50 (got 0)"),
    (["--k", "51"], "k must be between 1 and 50 (got 51)"),
])
def test_bad_filters_and_k_exit_2_with_a_message(capsys, dated_store, flags, message):
    code, out, err = run(capsys, "ask", QUESTION, "--store", dated_store, *flags)
    assert code == 2 and message in err and out == ""


def test_a_date_filter_says_which_undated_documents_it_left_out(capsys, dated_store):
    code, out, _ = run(capsys, "ask", "--json", "How many quokkas were counted?",
                       "--date-from", "2024-01-01", "--store", dated_store)
    ans = json.loads(out)
    assert code == 0 and not ans["abstained"]
    assert all(c["source"] == "quokka-2024" for c in ans["citations"])
    assert ("left out 1 document without a published date "
            "('microsoft-openai-partnership.txt')") in ans["note"]
    code, out, _ = run(capsys, "ask", "--json", QUESTION, "--date-to", "2001-01-01",
                       "--store", dated_store)
    note = json.loads(out)["note"]
    assert code == 0 and "No stored document was published in … to 2001-01-01" in note


def test_ask_and_docs_on_a_missing_store_say_so_and_create_nothing(capsys, tmp_path):
    store = tmp_path / "never-ingested"
    code, out, err = run(capsys, "ask", QUESTION, "--store", str(store))
    assert code == 2 and out == ""
    assert f"No store at {store}" in err and f"citewise ingest PATH --store {store}" in err
    code, out, err = run(capsys, "docs", "--store", str(store))  # the same exit as ask
    assert code == 2 and f"No store at {store}" in err and "citewise ingest" in err
    code, out, _ = run(capsys, "docs", "--json", "--store", str(store))
    assert code == 2 and out == ""
    assert not store.exists()


def test_ask_on_an_empty_store_says_how_to_ingest(capsys, tmp_path):
    store = tmp_path / "emptied"
    doc = tmp_path / "docs" / "one.txt"
    doc.parent.mkdir()
    doc.write_text("Wombats dig burrows with their strong claws.\n", encoding="utf-8")
    assert run(capsys, "ingest", str(doc.parent), "--store", str(store))[0] == 0
    assert run(capsys, "remove", "one.txt", "--store", str(store))[0] == 0
    code, out, err = run(capsys, "ask", "What do wombats dig?", "--store", str(store))
    assert code == 2 and out == "" and "No documents stored yet" in err
    assert f"citewise ingest PATH --store {store}" in err
    code, out, _ = run(capsys, "docs", "--store", str(store))
    assert code == 0 and "No documents stored yet" in out


def test_ask_file_missing_is_a_message_not_a_traceback(capsys, dated_store, tmp_path):
    missing = tmp_path / "nope.jsonl"
    code, out, err = run(capsys, "ask", "--file", str(missing), "--store", dated_store)
    assert code == 2 and out == "" and f"No question file {missing}" in err
    assert "Traceback" not in err
    code, _, err = run(capsys, "ask", "--file", str(tmp_path), "--store", dated_store)
    assert code == 2 and "No question file" in err


def test_ask_file_reports_bad_lines_by_number_and_answers_the_rest(capsys, dated_store,
                                                                     tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join([
        json.dumps({"id": "a", "question": "How many quokkas were counted?"}),
        "{not json",
        json.dumps({"id": "c", "text": "no question here"}),
        "",
        json.dumps({"id": "e", "question": "x", "history": "not a list"}),
        json.dumps({"id": "f", "question": "y" * 2001}),
        json.dumps({"id": "g", "question": QUESTION}),
    ]) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "ask", "--file", str(questions), "--store", dated_store)
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["a", "g"] and not rows[0]["abstained"]
    assert code == 2
    assert f"{questions}:2: invalid JSON" in err
    assert f'{questions}:3: each line needs a "question"' in err
    assert f'{questions}:5: "history" must be a list' in err
    assert f"{questions}:6: The question is 2001 characters long" in err
    assert "4 lines of" in err and "2 answered" in err
