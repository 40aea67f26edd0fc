"""The feedback log: answers recorded as shown, ratings, comments and reviews in SQLite,
append-only and shared by every process that opens the file; and the eval cases made from it."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from citewise.feedback import FeedbackLog, case_of, fingerprint, gate_baseline, parse_rating
from eval.datasets import load_dataset
from rag.errors import InputError, NotFoundError
from rag.records import Answer, Chunk, Citation, DocumentInfo, Hit, Turn

TEXT = ("The ferry leaves pier 4 at 7:15 on weekdays. From May it leaves at 8:05. "
        "Tickets cost two euros.")


def _answer(question: str = "When does the ferry leave?") -> Answer:
    chunk = Chunk("ferry.txt#0", "ferry.txt", 0, 0, len(TEXT), TEXT)
    hit = Hit(chunk, 0.9, "Ferry timetable", "https://example.com/ferry", "2025-04-01")
    quote = TEXT[:44]
    cite = Citation(1, "ferry.txt", "Ferry timetable", "https://example.com/ferry", quote, 0,
                    44, "2025-04-01")
    return Answer(question, f"{quote} [1]", False, citations=[cite], contexts=[hit],
                  as_of="2025-06-01")


DOCS = [DocumentInfo("ferry.txt", "Ferry timetable", "", "2025-04-01", [], 1, "", "h-ferry"),
        DocumentInfo("other.txt", "Other", "", "", [], 1, "", "h-other")]


@pytest.fixture
def fb(tmp_path) -> FeedbackLog:
    return FeedbackLog(tmp_path / "store" / "feedback.sqlite3")


def _rated(fb: FeedbackLog, rating: str = "down", comment: str = "") -> int:
    answer = _answer()
    answer_id = fb.record(answer, [Turn("Is there a ferry?", "Yes [1]")],
                          fingerprint(answer, DOCS), "chat")
    return fb.rate(answer_id, rating, comment, user="ana", channel="chat")


def test_an_answer_is_kept_as_shown_with_the_stores_fingerprint(fb):
    answer = _answer()
    answer_id = fb.record(answer, None, fingerprint(answer, DOCS), "api")
    rid = fb.rate(answer_id, "down", "old timetable")
    item = fb.get(rid)
    assert item.answer_id == answer_id and item.question == "When does the ferry leave?"
    assert item.answer["citations"][0]["quote"] == TEXT[:44] and item.as_of == "2025-06-01"
    assert item.answer["id"] == answer_id and item.rating == -1
    assert item.fingerprint["read"] == {"ferry.txt": "h-ferry"}
    assert item.fingerprint["documents"] == 2 and len(item.fingerprint["digest"]) == 64
    other = fingerprint(answer, DOCS[:1])
    assert other["digest"] != item.fingerprint["digest"]  # a store change shows


@pytest.mark.parametrize("value", ["sideways", "", True, 0, 2, None])
def test_a_rating_is_up_or_down(value):
    with pytest.raises(InputError):
        parse_rating(value)


def test_unknown_answer_and_long_comment_are_refused_and_nothing_is_written(fb):
    _rated(fb)
    with pytest.raises(NotFoundError, match="nope"):
        fb.rate("nope", "up")
    answer_id = fb.items()[0].answer_id
    with pytest.raises(InputError, match="limit"):
        fb.rate(answer_id, "up", "x" * 3000)
    assert len(fb.items()) == 1


def test_comments_and_reviews_are_added_never_changed(fb):
    rid = _rated(fb, comment="wrong time")
    fb.comment(rid, "it says 8:05 from May")
    fb.review(rid, "abstain", reviewer="bo")
    fb.review(rid, "sentence", "ferry.txt", 45, 73, TEXT[45:73], "bo")  # a second look wins
    item = fb.get(rid)
    assert item.comment == "wrong time it says 8:05 from May"
    assert item.review is not None and item.review.verdict == "sentence"
    with sqlite3.connect(fb.path) as con:
        assert con.execute("SELECT count(*) FROM reviews").fetchone()[0] == 2
    with pytest.raises(InputError):
        fb.review(rid, "maybe")
    with pytest.raises(NotFoundError, match="#99"):
        fb.review(99, "abstain")


def test_candidates_are_exact_spans_of_the_passages_retrieved(fb):
    item = fb.get(_rated(fb))
    candidates = item.candidates()
    assert [c.n for c in candidates] == [1, 2, 3]
    for c in candidates:
        assert TEXT[c.start:c.end] == c.quote
    assert candidates[1].quote == "From May it leaves at 8:05."


def test_two_processes_worth_of_writers_share_one_file(tmp_path):
    path = tmp_path / "shared.sqlite3"
    a, b = FeedbackLog(path), FeedbackLog(path)  # two replicas
    answer = _answer()
    ids = [a.record(answer, None, {}, "api"), b.record(answer, None, {}, "api")]

    def rate(log: FeedbackLog, answer_id: str) -> None:
        for _ in range(20):
            log.rate(answer_id, "up")

    threads = [threading.Thread(target=rate, args=(log, i)) for log in (a, b) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(a.items()) == len(b.items()) == 80


def test_cases_in_the_harness_format(fb, tmp_path):
    down_pending = _rated(fb)
    down_abstain = _rated(fb, comment="nobody confirmed it")
    fb.review(down_abstain, "abstain")
    down_right = _rated(fb)
    fb.review(down_right, "sentence", "ferry.txt", 45, 72, TEXT[45:72])
    up = _rated(fb, "up")
    cases = {c["id"]: c for c in (case_of(i) for i in fb.items()) if c}
    assert f"feedback-{down_pending}" not in cases  # nobody said what was right yet
    abstain = cases[f"feedback-{down_abstain}"]
    assert abstain["answerable"] is False and abstain["answers"] == []
    assert "nobody confirmed it" in abstain["notes"] and abstain["as_of"] == "2025-06-01"
    right = cases[f"feedback-{down_right}"]
    assert right["evidence"] == [TEXT[45:72]] and right["sources"] == ["ferry.txt"]
    assert right["history"] == [{"question": "Is there a ferry?", "answer": "Yes [1]"}]
    good = cases[f"feedback-{up}"]
    assert good["answerable"] is True and good["evidence"] == [TEXT[:44]]
    # the harness reads them as they are
    out = tmp_path / "cases.jsonl"
    import json

    out.write_text("".join(json.dumps(c) + "\n" for c in cases.values()), encoding="utf-8")
    ds = load_dataset(out)
    assert len(ds.samples) == 3 and ds.unanswerable == 1
    gate = gate_baseline(list(cases.values()))
    assert gate["metrics"] == {"answer_trigger_f1": 1.0, "abstention_recall": 1.0}
    assert gate["tolerances"] == {"answer_trigger_f1": 0.0, "abstention_recall": 0.0}


def test_an_unwritable_place_says_what_to_do(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    fb = FeedbackLog(blocker / "feedback.sqlite3")
    from rag.errors import StoreError

    with pytest.raises(StoreError, match="CITEWISE_FEEDBACK_DB"):
        fb.items()
