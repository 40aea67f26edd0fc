"""Question sets: the citewise JSONL format and adapters for SQuAD JSON and BEIR folders.

JSONL, one question per line::

    {"id": "q1", "question": "...", "answers": ["..."], "answerable": true,
     "evidence": ["exact quote"], "sources": ["doc id"],
     "history": [{"question": "...", "answer": "..."}], "tags": ["paraphrase"],
     "distractors": ["a wrong choice"], "as_of": "2024-05-03"}

``answers`` is empty for an unanswerable question. ``evidence``, ``sources``, ``history``,
``tags``, ``notes``, ``distractors`` (the wrong choices of a multiple-choice question: an
answer naming one is not credited) and ``as_of`` (the day the question is asked, YYYY-MM-DD:
its "this week" and "recently" are read against it) are optional. Errors name ``file:line``.

SQuAD (v1.1 or v2.0 JSON) and BEIR folders (``corpus.jsonl``, ``queries.jsonl`` or
``queries*.tsv``, ``qrels/<split>.tsv`` or ``qrels*.txt``) are read as they are; their
documents come back as a *feed*: dicts with ``source``/``id``, ``title``, ``text`` that
:func:`write_feed` writes as one JSONL file for ``Citewise.ingest``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.records import EvalSample
from rag.errors import InputError
from rag.records import Turn
from rag.retrieval.filters import parse_day

log = logging.getLogger(__name__)

ALLOWED_KEYS = {"id", "question", "answers", "answerable", "evidence", "sources", "history",
                "tags", "notes", "distractors", "as_of"}


class DatasetError(InputError):
    """The question set cannot be used; the message names the file (and line) and the fix."""

    exit_code = 2


@dataclass
class Dataset:
    """Questions, plus the documents to ingest when the format carries its own corpus."""

    name: str
    kind: str  # "jsonl" | "squad" | "beir"
    path: Path
    samples: list[EvalSample]
    feed: list[dict[str, Any]] = field(default_factory=list)  # documents to ingest
    retrieval_only: bool = False  # BEIR: no reference answers, score the ranking
    sha256: str = ""

    @property
    def unanswerable(self) -> int:
        return sum(not s.answerable for s in self.samples)


# ---------------------------------------------------------------- JSONL


def _str_list(value: Any, key: str, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DatasetError(f"{where}: '{key}' must be a list of strings, got {value!r}")
    return [v for v in value if v.strip()]


def _history(value: Any, where: str) -> list[Turn]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DatasetError(f"{where}: 'history' must be a list of {{question, answer}} objects")
    turns = []
    for i, turn in enumerate(value):
        if isinstance(turn, dict) and isinstance(turn.get("question"), str):
            answer = turn.get("answer", "")
            if not isinstance(answer, str):
                raise DatasetError(f"{where}: history[{i}].answer must be a string")
            turns.append(Turn(question=turn["question"], answer=answer))
        else:
            raise DatasetError(
                f"{where}: history[{i}] must be an object with a string 'question' "
                f"(and optional 'answer'), got {turn!r}"
            )
    return turns


def parse_sample(obj: Any, where: str) -> EvalSample:
    """Validate one JSONL record; ``where`` ("file:line") prefixes every error."""
    if not isinstance(obj, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - ALLOWED_KEYS)
    if unknown:
        raise DatasetError(
            f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(ALLOWED_KEYS))}"
        )
    qid = obj.get("id")
    if isinstance(qid, bool) or not isinstance(qid, str | int) or str(qid).strip() == "":
        raise DatasetError(f"{where}: 'id' is required (a non-empty string or integer)")
    question = obj.get("question")
    if not isinstance(question, str) or not question.strip():
        raise DatasetError(f"{where}: 'question' is required (a non-empty string)")
    if "answers" not in obj:
        raise DatasetError(f"{where}: 'answers' is required (use [] for an unanswerable question)")
    answers = _str_list(obj["answers"], "answers", where)
    answerable = obj.get("answerable", bool(answers))
    if not isinstance(answerable, bool):
        raise DatasetError(f"{where}: 'answerable' must be true or false, got {answerable!r}")
    if answerable and not answers:
        raise DatasetError(f"{where}: an answerable question needs at least one entry in 'answers'")
    if not answerable and answers:
        raise DatasetError(f"{where}: an unanswerable question must have 'answers': []")
    as_of = obj.get("as_of") or ""
    if as_of:
        try:
            as_of = parse_day(str(as_of), "as_of")
        except InputError as exc:
            raise DatasetError(f"{where}: {exc}") from None
    tags = _str_list(obj.get("tags"), "tags", where)
    if not answerable and "unanswerable" not in tags:
        tags.append("unanswerable")
    return EvalSample(
        id=str(qid),
        question=question.strip(),
        references=answers,
        answerable=answerable,
        sources=_str_list(obj.get("sources"), "sources", where),
        evidence=_str_list(obj.get("evidence"), "evidence", where),
        history=_history(obj.get("history"), where),
        tags=tags,
        distractors=_str_list(obj.get("distractors"), "distractors", where),
        as_of=as_of,
    )


def load_jsonl(path: str | Path) -> Dataset:
    """Read a citewise JSONL question set; raises DatasetError naming file:line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the dataset ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc})") from exc
    samples: list[EvalSample] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from exc
        sample = parse_sample(obj, where)
        if sample.id in seen:
            raise DatasetError(f"{where}: duplicate id {sample.id!r} (first on line {seen[sample.id]})")
        seen[sample.id] = lineno
        samples.append(sample)
    if not samples:
        raise DatasetError(f"{path}: the dataset has no questions")
    return Dataset(path.stem, "jsonl", path, samples, sha256=hashlib.sha256(raw).hexdigest())


# ---------------------------------------------------------------- SQuAD


def squad_source(title: str, paragraph_index: int) -> str:
    """Document id of a SQuAD paragraph."""
    return f"{title}#{paragraph_index}"


def load_squad(path: str | Path) -> Dataset:
    """SQuAD v1.1/v2.0 JSON: every paragraph becomes a feed document, every question a sample."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the dataset ({exc.strerror or exc})") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise DatasetError(f"{path}: not SQuAD JSON (expected an object with a 'data' list)")
    samples: list[EvalSample] = []
    feed: list[dict[str, Any]] = []
    for a_i, article in enumerate(data["data"]):
        try:
            title = str(article["title"])
            for p_i, para in enumerate(article["paragraphs"]):
                source = squad_source(title, p_i)
                feed.append({"source": source, "id": source, "title": title.replace("_", " "),
                             "text": para["context"]})
                for qa in para["qas"]:
                    impossible = bool(qa.get("is_impossible", False))
                    answers = list(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
                    samples.append(
                        EvalSample(
                            id=str(qa["id"]),
                            question=str(qa["question"]).strip(),
                            references=[] if impossible else answers,
                            answerable=not impossible and bool(answers),
                            sources=[] if impossible else [source],
                            tags=["unanswerable"] if impossible else [],
                        )
                    )
        except (KeyError, TypeError) as exc:
            raise DatasetError(f"{path}: data[{a_i}] is not a SQuAD article (missing {exc})") from exc
    if not samples:
        raise DatasetError(f"{path}: the SQuAD file has no questions")
    return Dataset(path.stem, "squad", path, samples, feed, sha256=hashlib.sha256(raw).hexdigest())


# ---------------------------------------------------------------- BEIR


def _first(folder: Path, patterns: Iterable[str]) -> Path | None:
    for pattern in patterns:
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
    return None


def _read_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    if path.suffix == ".jsonl":
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    obj = json.loads(line)
                    queries[str(obj["_id"])] = str(obj["text"])
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise DatasetError(f"{path}:{lineno}: expected {{_id, text}} ({exc})") from exc
        return queries
    with path.open(encoding="utf-8", newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not row or (lineno == 1 and row[0].lower() in {"query-id", "_id", "id", "qid"}):
                continue
            if len(row) < 2:
                raise DatasetError(f"{path}:{lineno}: expected 'id<TAB>text'")
            queries[row[0].strip()] = "\t".join(row[1:]).strip()
    return queries


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if lineno == 1 and not parts[-1].lstrip("-").isdigit():
            continue  # header "query-id corpus-id score"
        if len(parts) == 4:  # TREC: qid 0 docid rel
            qid, _, doc, rel = parts
        elif len(parts) == 3:  # BEIR tsv: qid docid rel
            qid, doc, rel = parts
        else:
            raise DatasetError(f"{path}:{lineno}: expected 'qid 0 docid rel' or 'qid docid rel'")
        try:
            qrels.setdefault(qid, {})[doc] = int(rel)
        except ValueError as exc:
            raise DatasetError(f"{path}:{lineno}: relevance must be an integer") from exc
    return qrels


def load_beir(folder: str | Path, split: str = "test") -> Dataset:
    """A BEIR folder: corpus as a feed (source = ``_id``), queries with graded qrels."""
    folder = Path(folder)
    corpus_path = folder / "corpus.jsonl"
    queries_path = _first(folder, ["queries.jsonl", f"queries.{split}.tsv", "queries*.tsv"])
    qrels_path = _first(
        folder, [f"qrels/{split}.tsv", f"qrels.{split}.txt", f"qrels.{split}.tsv", "qrels*.t*"]
    )
    missing = [name for name, p in [("corpus.jsonl", corpus_path if corpus_path.is_file() else None),
                                    ("queries", queries_path), ("qrels", qrels_path)] if p is None]
    if missing:
        raise DatasetError(f"{folder}: not a BEIR folder (missing {', '.join(missing)})")
    assert queries_path is not None and qrels_path is not None
    digest = hashlib.sha256()
    feed: list[dict[str, Any]] = []
    with corpus_path.open("rb") as fh:
        for lineno, line in enumerate(fh, 1):
            digest.update(line)
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                doc_id = str(obj["_id"])
                title = str(obj.get("title", "") or "")
                text = str(obj.get("text", "") or "")
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DatasetError(f"{corpus_path}:{lineno}: expected {{_id, title, text}} ({exc})") from exc
            if text.strip() or title.strip():
                # The title leads the stored text, as a headline does in an article: it is
                # embedded and BM25-indexed with the abstract's first chunk, and citable.
                body = f"{title}\n\n{text}" if title.strip() and text.strip() else text or title
                feed.append({"source": doc_id, "id": doc_id, "title": title, "text": body})
    queries = _read_queries(queries_path)
    qrels = _read_qrels(qrels_path)
    digest.update(queries_path.read_bytes())
    digest.update(qrels_path.read_bytes())
    samples = []
    for qid, text in queries.items():
        rel = qrels.get(qid)
        if not rel:
            continue  # BEIR evaluates only judged queries
        samples.append(
            EvalSample(
                id=qid,
                question=text,
                answerable=True,
                sources=sorted(d for d, g in rel.items() if g > 0),
                relevance=dict(rel),
            )
        )
    if not samples:
        raise DatasetError(f"{folder}: no query in {queries_path.name} has relevance judgements")
    return Dataset(folder.name, "beir", folder, samples, feed, retrieval_only=True,
                   sha256=digest.hexdigest())


# ---------------------------------------------------------------- detection and feeds


def load_dataset(path: str | Path) -> Dataset:
    """Pick the adapter from the path: a folder is BEIR, ``.json`` SQuAD, anything else JSONL."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    if path.is_dir():
        return load_beir(path)
    if path.suffix.lower() == ".json":
        return load_squad(path)
    return load_jsonl(path)


def write_feed(feed: list[dict[str, Any]], path: str | Path) -> Path:
    """Write feed documents as JSONL (one document per line) for ``Citewise.ingest``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for doc in feed:
            fh.write(json.dumps(doc, ensure_ascii=False) + "\n")
    return path
