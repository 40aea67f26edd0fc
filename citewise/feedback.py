"""Answers users rated, kept so that a 👎 can become a regression case of the eval harness.

Why: citewise promises that fidelity only goes up, so a wrong answer a user meets must leave a
trace a reviewer can turn into a gate case. Every answer a front end shows (chat, Slack, JSON
API) is recorded with what is needed to replay and judge it: question, history, as-of day, the
answer with its citations and the passages it was chosen from, and the store's fingerprint (the
content hashes of the documents it read, and a digest of all of them). A rating (👍/👎, with an
optional comment) points at a recorded answer; a review of a 👎 says what was right: "should
have abstained", or one sentence of a stored document. :func:`export_cases` writes rated
answers as cases in the eval harness's JSONL format.

Stored in SQLite (WAL), append-only: rows are inserted, never changed or deleted, so replicas
sharing the file (``CITEWISE_FEEDBACK_DB``) and restarts lose nothing, and a later review of
the same item supersedes an earlier one by being newer.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citewise.sqlite_file import SqliteFile
from rag.errors import InputError, NotFoundError
from rag.language.text import sentence_spans
from rag.records import Answer, DocumentInfo, Turn

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, created REAL NOT NULL, channel TEXT NOT NULL, user TEXT NOT NULL,
    question TEXT NOT NULL, history TEXT NOT NULL, as_of TEXT NOT NULL, answer TEXT NOT NULL,
    fingerprint TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT, answer_id TEXT NOT NULL REFERENCES answers(id),
    created REAL NOT NULL, rating INTEGER NOT NULL, comment TEXT NOT NULL, user TEXT NOT NULL,
    channel TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT, rating_id INTEGER NOT NULL REFERENCES ratings(id),
    created REAL NOT NULL, verdict TEXT NOT NULL, source TEXT NOT NULL, start INTEGER NOT NULL,
    end INTEGER NOT NULL, quote TEXT NOT NULL, reviewer TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT, rating_id INTEGER NOT NULL REFERENCES ratings(id),
    created REAL NOT NULL, comment TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    key TEXT PRIMARY KEY, answer_id TEXT NOT NULL REFERENCES answers(id));
CREATE INDEX IF NOT EXISTS ratings_by_answer ON ratings(answer_id);
CREATE INDEX IF NOT EXISTS reviews_by_rating ON reviews(rating_id);
"""

RATINGS = {"up": 1, "down": -1, "+1": 1, "-1": -1, "thumbsup": 1, "thumbsdown": -1,
           "like": 1, "dislike": -1}
VERDICTS = ("abstain", "sentence")
MAX_COMMENT_CHARS = 2000


@dataclass
class Candidate:
    """A sentence a reviewer may pick as the right answer: an exact span of its document."""

    n: int
    source: str
    title: str
    start: int
    end: int
    quote: str


@dataclass
class Review:
    verdict: str  # "abstain" | "sentence"
    source: str = ""
    start: int = 0
    end: int = 0
    quote: str = ""
    reviewer: str = ""
    created: float = 0.0


@dataclass
class Rated:
    """One rating with the answer it rates and its latest review."""

    id: int
    rating: int  # +1 / -1
    comment: str
    user: str
    channel: str
    created: float
    answer_id: str
    question: str
    history: list[Turn]
    as_of: str
    answer: dict[str, Any]  # Answer.to_dict() as shown
    fingerprint: dict[str, Any]
    review: Review | None = None

    def candidates(self) -> list[Candidate]:
        """The sentences of the passages retrieved then, numbered from 1, in their order."""
        out: list[Candidate] = []
        seen: set[tuple[str, int]] = set()
        for ctx in self.answer.get("contexts", []) + self.answer.get("related", []):
            text, base = ctx["text"], int(ctx["start"])
            for s, e in sentence_spans(text):
                key = (ctx["source"], base + s)
                if key in seen:
                    continue
                seen.add(key)
                out.append(Candidate(len(out) + 1, ctx["source"], ctx.get("title", ""),
                                     base + s, base + e, text[s:e]))
        return out


def fingerprint(answer: Answer, documents: Sequence[DocumentInfo]) -> dict[str, Any]:
    """What the store held when ``answer`` was given: the content hash of each document its
    passages came from, and one digest over every stored document's hash."""
    hashes = {d.source: d.content_hash for d in documents}
    digest = hashlib.sha256("\n".join(f"{s}\t{h}" for s, h in sorted(hashes.items()))
                            .encode()).hexdigest()
    read = {h.chunk.source for h in answer.contexts + answer.related}
    return {"documents": len(hashes), "digest": digest,
            "read": {s: hashes.get(s, "") for s in sorted(read)}}


def parse_rating(value: Any) -> int:
    """``up``/``down`` (and Slack's and Gradio's words for them), or +1/-1."""
    if isinstance(value, bool):
        raise InputError("rating must be \"up\" or \"down\"")
    if isinstance(value, int) and value in (1, -1):
        return value
    rating = RATINGS.get(str(value).strip().lower())
    if rating is None:
        raise InputError(f"rating must be \"up\" or \"down\", not {value!r}")
    return rating


def _checked_comment(text: str) -> str:
    text = (text or "").strip()
    if len(text) > MAX_COMMENT_CHARS:
        raise InputError(f"The comment is {len(text):,} characters long; the limit is "
                         f"{MAX_COMMENT_CHARS:,}.")
    return text


class FeedbackLog:
    """The SQLite file of recorded answers, ratings and reviews (append-only)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = SqliteFile(self.path, SCHEMA, "the feedback log", "CITEWISE_FEEDBACK_DB")

    def _db(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._file.db()

    # ---- writing -----------------------------------------------------------------------------
    def record(self, answer: Answer, history: Sequence[Turn] | None, print_: dict[str, Any],
               channel: str, user: str = "") -> str:
        """Store an answer as shown; returns its id (the one a rating names)."""
        answer_id = uuid.uuid4().hex
        body = answer.to_dict()
        body["id"] = answer_id
        turns = [{"question": t.question, "answer": t.answer} for t in history or []]
        with self._db() as con:
            con.execute(
                "INSERT INTO answers VALUES (?,?,?,?,?,?,?,?,?)",
                (answer_id, time.time(), channel, user, answer.question, json.dumps(turns),
                 answer.as_of, json.dumps(body, ensure_ascii=False), json.dumps(print_)))
        return answer_id

    def rate(self, answer_id: str, rating: Any, comment: str = "", user: str = "",
             channel: str = "") -> int:
        """A 👍/👎 (and comment) on a recorded answer; returns the rating's id."""
        value = parse_rating(rating)
        comment = _checked_comment(comment)
        with self._db() as con:
            if con.execute("SELECT 1 FROM answers WHERE id=?", (answer_id,)).fetchone() is None:
                raise NotFoundError(f"No recorded answer {answer_id!r}; rate the `id` of an "
                                    "answer this server gave.")
            cur = con.execute(
                "INSERT INTO ratings (answer_id, created, rating, comment, user, channel) "
                "VALUES (?,?,?,?,?,?)", (answer_id, time.time(), value, comment, user, channel))
            return int(cur.lastrowid or 0)

    def comment(self, rating_id: int, text: str) -> None:
        """A comment given after the rating (the chat asks for one once 👎 is clicked)."""
        text = _checked_comment(text)
        if not text:
            return
        self.get(rating_id)
        with self._db() as con:
            con.execute("INSERT INTO comments (rating_id, created, comment) VALUES (?,?,?)",
                        (rating_id, time.time(), text))

    def link(self, key: str, answer_id: str) -> None:
        """Remember which answer a posted message (a Slack channel and ts) shows."""
        with self._db() as con:
            con.execute("INSERT OR IGNORE INTO messages VALUES (?,?)", (key, answer_id))

    def linked(self, key: str) -> str | None:
        with self._db() as con:
            row = con.execute("SELECT answer_id FROM messages WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else None

    def review(self, rating_id: int, verdict: str, source: str = "", start: int = 0,
               end: int = 0, quote: str = "", reviewer: str = "") -> None:
        if verdict not in VERDICTS:
            raise InputError(f"verdict must be one of {', '.join(VERDICTS)}")
        self.get(rating_id)  # NotFoundError names it
        with self._db() as con:
            con.execute(
                "INSERT INTO reviews (rating_id, created, verdict, source, start, end, quote, "
                "reviewer) VALUES (?,?,?,?,?,?,?,?)",
                (rating_id, time.time(), verdict, source, start, end, quote, reviewer))

    # ---- reading -----------------------------------------------------------------------------
    _SELECT = (
        "SELECT r.id, r.rating, trim(r.comment || ' ' || coalesce((SELECT group_concat("
        "c.comment, ' ') FROM comments c WHERE c.rating_id = r.id), '')), r.user, r.channel, r.created, a.id, a.question, "
        "a.history, a.as_of, a.answer, a.fingerprint FROM ratings r JOIN answers a "
        "ON a.id = r.answer_id")

    def items(self, rating: int | None = None, unreviewed: bool = False) -> list[Rated]:
        """Ratings, oldest first, with their answers and latest reviews."""
        with self._db() as con:
            rows = con.execute(self._SELECT + " ORDER BY r.id").fetchall()
            reviews = self._reviews(con)
        out = [self._rated(row, reviews.get(int(row[0]))) for row in rows]
        if rating is not None:
            out = [r for r in out if r.rating == rating]
        if unreviewed:
            out = [r for r in out if r.review is None]
        return out

    def get(self, rating_id: int) -> Rated:
        with self._db() as con:
            row = con.execute(self._SELECT + " WHERE r.id=?", (rating_id,)).fetchone()
            reviews = self._reviews(con, rating_id)
        if row is None:
            raise NotFoundError(f"No feedback #{rating_id}; `citewise feedback list` shows them.")
        return self._rated(row, reviews.get(rating_id))

    @staticmethod
    def _reviews(con: sqlite3.Connection, rating_id: int | None = None) -> dict[int, Review]:
        sql = ("SELECT rating_id, verdict, source, start, end, quote, reviewer, created "
               "FROM reviews")
        rows = (con.execute(sql + " WHERE rating_id=? ORDER BY id", (rating_id,))
                if rating_id is not None else con.execute(sql + " ORDER BY id"))
        return {int(r[0]): Review(r[1], r[2], int(r[3]), int(r[4]), r[5], r[6], float(r[7]))
                for r in rows}  # the newest review of each rating wins

    @staticmethod
    def _rated(row: Sequence[Any], review: Review | None) -> Rated:
        turns = [Turn(t["question"], t.get("answer", "")) for t in json.loads(row[8])]
        return Rated(id=int(row[0]), rating=int(row[1]), comment=row[2], user=row[3],
                     channel=row[4], created=float(row[5]), answer_id=row[6], question=row[7],
                     history=turns, as_of=row[9], answer=json.loads(row[10]),
                     fingerprint=json.loads(row[11]), review=review)


def case_of(item: Rated) -> dict[str, Any] | None:
    """One eval-harness case (eval/datasets.py JSONL) from a rating; None for a 👎 that has no
    review yet (nobody has said what would have been right)."""
    case: dict[str, Any] = {"id": f"feedback-{item.id}", "question": item.question,
                            "tags": ["feedback"]}
    if item.history:
        case["history"] = [{"question": t.question, "answer": t.answer} for t in item.history]
    if item.as_of:
        case["as_of"] = item.as_of
    was = " ".join(str(item.answer.get("answer", "")).split())[:300]
    notes = [f"rated {'up' if item.rating > 0 else 'down'}; the answer was: {was}"]
    if item.comment:
        notes.append(f"comment: {item.comment}")
    if item.rating > 0:
        quotes = [c["quote"] for c in item.answer.get("citations", [])]
        if item.answer.get("abstained") or not quotes:
            case.update(answerable=False, answers=[])
            case["tags"].append("abstained-rightly")
        else:
            case.update(answerable=True, answers=quotes, evidence=quotes,
                        sources=sorted({c["source"] for c in item.answer["citations"]}))
            case["tags"].append("thumbs-up")
    elif item.review is None:
        return None
    elif item.review.verdict == "abstain":
        case.update(answerable=False, answers=[])
        case["tags"] += ["thumbs-down", "should-abstain"]
    else:
        case.update(answerable=True, answers=[item.review.quote], evidence=[item.review.quote],
                    sources=[item.review.source])
        case["tags"] += ["thumbs-down", "right-sentence"]
    case["notes"] = "; ".join(notes)
    return case


def gate_baseline(cases: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A baseline every exported case must pass: answerable ones answered with a citation of
    their evidence (answer_trigger_f1 = 1), the others abstained on (abstention_recall = 1)."""
    metrics: dict[str, float] = {}
    if any(c.get("answerable", True) for c in cases):
        metrics["answer_trigger_f1"] = 1.0
    if any(not c.get("answerable", True) for c in cases):
        metrics["abstention_recall"] = 1.0
    return {"format": 1, "dataset": {"name": "feedback"}, "metrics": metrics,
            "tolerances": dict.fromkeys(metrics, 0.0),
            "note": "From `citewise feedback export --gate`: every case must pass."}
