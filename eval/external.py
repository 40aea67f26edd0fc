"""External development sets, each built by one command as citewise eval files.

``python -m eval.external NAME [--out DIR] [--seed S] ...`` writes question files in the
citewise JSONL format (eval/datasets.py) and a JSONL feed corpus, to run with
``citewise eval DIR/PART.jsonl --ingest DIR/corpus.jsonl``:

* ``realtimeqa --repo PATH``: RealTime QA weekly news quizzes (a checkout, export or bare git
  mirror of github realtimeqa/realtimeqa_public). Only ``past/2023`` … ``past/2026`` are read;
  ``past/2022`` and ``backnumber/`` are reserved for independent evaluation and refused. Weeks
  are sampled with the seed and split by week into ``tune.jsonl`` and ``measure.jsonl``; the
  corpus is the search-result articles of those weeks. A question is answerable only when its
  correct choice appears (:func:`eval.metrics.mentions`) in an article of its own search
  results; its wrong choices become ``distractors`` and its week's date its ``as_of`` (the
  quiz's "this week" is that week; ``citewise eval --ignore-as-of`` asks as of today).
* ``squad --squad dev-v1.1.json --reserved reserved-titles.txt``: every paragraph as the
  corpus; questions of the non-reserved articles only, split by article into tune and measure.
* ``wikiqa --dir FOLDER --split dev|train``: one document per WikiQA summary; a question is
  answerable when a sentence is labelled 1 (``questions.jsonl``).
* ``squad2 --squad2 train-v2.0-subset.json``: split by article into tune and measure, the
  unanswerable questions tagged ``squad2-unanswerable``.
* ``tatqa --tatqa tatqa_dataset_dev.json --format md|html|docx``: each TAT-QA excerpt (a table
  of a company's annual report and the paragraphs around it) as one document file of that
  format in ``corpus/``; its span and multi-span questions (arithmetic and counts are out of
  scope for extractive answers), each to be asked over its own document (``citewise eval
  --restrict``), split by excerpt. Tags say where the answer is (``table``, ``text``,
  ``table-text``) and ``multi-span`` (every reference must be in the answer). Only the dev
  split is read: TAT-QA's test files are reserved.

Third-party text is never written inside the project's work tree: ``--out`` defaults to
``~/.cache/citewise/datasets/NAME`` and a folder inside the work tree is refused.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import logging
import random
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval import splits, tatqa
from eval.datasets import DatasetError, squad_source, write_feed
from eval.metrics import content_words, squad_normalize
from eval.splits import split_titles
from ingest.clean import clean_article
from rag.language.text import sentence_spans

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path("../shared/datasets")  # relative to the project root, as the README says
YEARS = ("2023", "2024", "2025", "2026")
RESERVED_PATHS = ("past/2022", "backnumber")
MIN_QUESTIONS = 600  # realtimeqa: weeks are added until this many usable questions
MAX_EVIDENCE = 20  # evidence sentences kept per question
NOTA = re.compile(r"^\s*(?:none|all|neither)\b.*\b(?:above|these|them|options?)\b|^\s*none\W*$",
                  re.IGNORECASE)
NEGATION = re.compile(r"\b(?:not|never|isn't|wasn't|doesn't|didn't|except)\b", re.IGNORECASE)


@dataclass
class Built:
    """A built set: question files by part, the corpus, counts, and the command."""

    name: str
    out: Path
    parts: dict[str, list[dict[str, Any]]]  # file stem -> question rows
    corpus: list[dict[str, Any]]
    stats: dict[str, Any]
    command: str
    notes: list[str] = field(default_factory=list)
    # document files (name -> bytes) written to ``corpus/`` instead of a JSONL feed
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def corpus_path(self) -> Path:
        return self.out / ("corpus" if self.files else "corpus.jsonl")


# ---------------------------------------------------------------- output


def project_root() -> Path:
    """The git work tree holding this module (the module's parent folder when not in git)."""
    try:
        top = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True, check=True).stdout.strip()
        return Path(top).resolve() if top else ROOT
    except (OSError, subprocess.CalledProcessError):
        return ROOT


def check_out(out: Path) -> Path:
    """The output folder, refused when it lies inside the project's work tree."""
    resolved = out.expanduser().resolve()
    root = project_root()
    if resolved == root or root in resolved.parents:
        raise DatasetError(
            f"{out}: inside the project's work tree ({root}); third-party data is never written "
            f"there: pass --out a folder outside it (default ~/.cache/citewise/datasets/NAME)"
        )
    return resolved


def _write_jsonl(rows: Iterable[dict[str, Any]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def readme_text(built: Built) -> str:
    """DIR/README.txt: what the set is, its counts, and the command that rebuilt it."""
    lines = [f"citewise external development set: {built.name}", ""]
    lines += [f"{k}: {v}" for k, v in built.stats.items()]
    lines += ["", *built.notes, "", "Rebuilt with:", f"  {built.command}", "", "Run with:"]
    restrict = " --restrict" if built.files else ""
    lines += [f"  citewise eval {built.out / (p + '.jsonl')} --ingest {built.corpus_path}{restrict}"
              for p in built.parts]
    return "\n".join(lines) + "\n"


def write_built(built: Built) -> list[Path]:
    """Write the question files, corpus.jsonl and README.txt; returns their paths."""
    built.out.mkdir(parents=True, exist_ok=True)
    paths = []
    for part, rows in built.parts.items():
        path = built.out / f"{part}.jsonl"
        _write_jsonl(rows, path)
        paths.append(path)
    if built.files:
        folder = built.corpus_path
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        for name, data in built.files.items():
            (folder / name).write_bytes(data)
        paths.append(folder)
    else:
        paths.append(write_feed(built.corpus, built.out / "corpus.jsonl"))
    readme = built.out / "README.txt"
    readme.write_text(readme_text(built), encoding="utf-8")
    return [*paths, readme]


def summary(built: Built) -> str:
    """What the CLI prints."""
    counts = ", ".join(f"{k} {v}" for k, v in built.stats.items())
    return f"{built.name}: {counts}\nwritten to {built.out}"


# ---------------------------------------------------------------- RealTime QA: reading


class RepoReader:
    """Files of a realtimeqa_public copy: a folder, or a bare git directory (read at HEAD).

    Paths under ``past/2022`` or ``backnumber`` are refused: they are reserved.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_dir():
            raise DatasetError(f"{path}: no such folder; pass --repo a checkout or bare git "
                               "mirror of github realtimeqa/realtimeqa_public")
        self.bare = (path / "HEAD").is_file() and (path / "objects").is_dir() \
            and not (path / "past").is_dir()

    @staticmethod
    def check_allowed(rel: str) -> None:
        clean = rel.strip("/")
        for reserved in RESERVED_PATHS:
            if clean == reserved or clean.startswith(reserved + "/"):
                raise DatasetError(f"{rel}: reserved for independent evaluation; only "
                                   f"past/{YEARS[0]} … past/{YEARS[-1]} may be used")
        if not any(clean == f"past/{y}" or clean.startswith(f"past/{y}/") for y in YEARS):
            raise DatasetError(f"{rel}: not a past/{YEARS[0]} … past/{YEARS[-1]} path")

    def _git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "--git-dir", str(self.path), *args],
                              capture_output=True, text=True)

    def list(self, rel: str) -> list[str]:
        """File names in the folder ``rel`` ([] when it is absent)."""
        self.check_allowed(rel)
        if not self.bare:
            folder = self.path / rel
            return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        done = self._git("ls-tree", "--name-only", f"HEAD:{rel}")
        return sorted(done.stdout.split()) if done.returncode == 0 else []

    def read(self, rel: str) -> str:
        """The text of the file ``rel``."""
        self.check_allowed(rel)
        if not self.bare:
            try:
                return (self.path / rel).read_text(encoding="utf-8")
            except OSError as exc:
                raise DatasetError(f"{self.path / rel}: cannot read ({exc.strerror or exc})") from exc
        done = self._git("show", f"HEAD:{rel}")
        if done.returncode != 0:
            raise DatasetError(f"{self.path}: cannot read HEAD:{rel} ({done.stderr.strip()})")
        return done.stdout


def _jsonl(text: str, where: str) -> list[dict[str, Any]]:
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{where}:{lineno}: invalid JSON ({exc.msg})") from exc
            if isinstance(obj, dict):
                rows.append(obj)
    return rows


def list_weeks(reader: RepoReader) -> list[str]:
    """Dates (YYYYMMDD) of the weeks that have both a _qa.jsonl and a _gcs.jsonl file."""
    weeks = []
    for year in YEARS:
        names = set(reader.list(f"past/{year}"))
        weeks += [n[:8] for n in names
                  if n.endswith("_qa.jsonl") and f"{n[:8]}_gcs.jsonl" in names]
    if not weeks:
        raise DatasetError(f"{reader.path}: no past/{YEARS[0]} … past/{YEARS[-1]} weeks "
                           "(YYYYMMDD_qa.jsonl with YYYYMMDD_gcs.jsonl); pass --repo a copy of "
                           "github realtimeqa/realtimeqa_public")
    return sorted(weeks)


def _week_file(week: str, kind: str) -> str:
    return f"past/{week[:4]}/{week}_{kind}.jsonl"


def iso_week(week: str) -> str:
    return f"{week[:4]}-{week[4:6]}-{week[6:8]}"


@dataclass
class Choice:
    """One usable RealTime QA question: its correct choice and the wrong ones."""

    id: str
    question: str
    correct: str
    distractors: list[str]
    week: str
    source: str = ""


def parse_question(obj: dict[str, Any], week: str) -> Choice | None:
    """A usable question, or None (no choices, a bad answer index, or a correct choice that
    is "none of the above"-style). "None/all of the above" choices are never distractors."""
    choices = obj.get("choices")
    answer = obj.get("answer")
    question = str(obj.get("question_sentence", "") or "").strip()
    if not isinstance(choices, list) or not choices or not question or not answer:
        return None
    try:
        correct = str(choices[int(answer[0] if isinstance(answer, list) else answer)]).strip()
    except (ValueError, IndexError, TypeError):
        return None
    if not correct or NOTA.search(correct):
        return None
    distractors = list(dict.fromkeys(
        c for c in (str(x).strip() for x in choices)
        if c and not NOTA.search(c) and c.casefold() != correct.casefold()
    ))
    return Choice(str(obj.get("question_id")), question, correct, distractors, week,
                  str(obj.get("question_source", "") or ""))


def read_questions(reader: RepoReader, week: str) -> list[Choice]:
    rel = _week_file(week, "qa")
    rows = _jsonl(reader.read(rel), rel)
    return [q for q in (parse_question(r, week) for r in rows) if q is not None]


def read_results(reader: RepoReader, week: str, limit: int | None) -> dict[str, list[dict[str, Any]]]:
    """question_id -> its first ``limit`` search results ({url, title, text})."""
    rel = _week_file(week, "gcs")
    out: dict[str, list[dict[str, Any]]] = {}
    for row in _jsonl(reader.read(rel), rel):
        results = row.get("search_result") or []
        if isinstance(results, list):
            out[str(row.get("question_id"))] = [r for r in results if isinstance(r, dict)][:limit]
    return out


def sample_weeks(reader: RepoReader, weeks: Sequence[str], n: int | None, seed: int,
                 min_questions: int = MIN_QUESTIONS) -> dict[str, list[Choice]]:
    """``n`` weeks drawn with ``seed`` (default: enough for ``min_questions``), with their
    usable questions, in date order."""
    order = list(weeks)
    random.Random(seed).shuffle(order)
    picked: dict[str, list[Choice]] = {}
    total = 0
    for week in order:
        if (n is not None and len(picked) >= n) or (n is None and total >= min_questions):
            break
        picked[week] = read_questions(reader, week)
        total += len(picked[week])
    return dict(sorted(picked.items()))


def split_weeks(weeks: Sequence[str], seed: int) -> tuple[list[str], list[str]]:
    """Weeks split with ``seed`` into tune and measure, about half each (tune gets the odd one)."""
    if len(weeks) < 2:
        raise DatasetError(f"{len(weeks)} week(s) sampled: need at least 2 to split "
                           "(raise --weeks)")
    order = sorted(weeks)
    random.Random(f"split-{seed}").shuffle(order)
    cut = (len(order) + 1) // 2
    return sorted(order[:cut]), sorted(order[cut:])


# ---------------------------------------------------------------- RealTime QA: matching


def article_id(url: str) -> str:
    """A short stable document id for an article URL."""
    return "rtqa-" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]


class Article:
    """A corpus article with its cleaned text (what ingest stores) cut into sentences."""

    def __init__(self, url: str, title: str, text: str, week: str) -> None:
        self.id = article_id(url)
        self.url, self.title, self.text, self.week = url, title, text, week
        self.clean = clean_article(text)[1]
        self._sentences: list[tuple[str, str, frozenset[str]]] | None = None
        self._norm = ""

    def feed(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "url": self.url, "text": self.text,
                "published": iso_week(self.week)}

    def _prepare(self) -> list[tuple[str, str, frozenset[str]]]:
        if self._sentences is None:
            self._norm = f" {squad_normalize(self.clean)} "
            self._sentences = []
            for s, e in sentence_spans(self.clean):
                sentence = self.clean[s:e]
                self._sentences.append(
                    (sentence, f" {squad_normalize(sentence)} ", content_words(sentence)))
        return self._sentences

    def find(self, choice: str) -> tuple[bool, list[str]]:
        """Does the article name ``choice`` (as :func:`eval.metrics.mentions` reads it), and
        the sentences that do."""
        sentences = self._prepare()
        norm = squad_normalize(choice)
        wanted = content_words(choice)
        hits = [s for s, s_norm, words in sentences
                if (norm and f" {norm} " in s_norm) or (wanted and wanted <= words)]
        return bool(hits) or bool(norm and f" {norm} " in self._norm), hits


def collect_articles(results: dict[str, list[dict[str, Any]]], week: str,
                     corpus: dict[str, Article]) -> None:
    """Add the week's non-empty search-result articles to ``corpus`` (by url, first kept)."""
    for items in results.values():
        for item in items:
            url = str(item.get("url", "") or "").strip()
            text = str(item.get("text", "") or "")
            if not url or url in corpus or not text.strip():
                continue
            article = Article(url, " ".join(str(item.get("title", "") or "").split()), text, week)
            if article.clean.strip():
                corpus[url] = article


def question_row(q: Choice, articles: Sequence[Article]) -> dict[str, Any]:
    """The JSONL record of one question, answerable when one of its articles names the answer."""
    sources: list[str] = []
    evidence: list[str] = []
    for article in articles:
        found, sentences = article.find(q.correct)
        if found:
            sources.append(article.id)
            evidence += sentences
    tags = ["realtimeqa"] + (["negation"] if NEGATION.search(q.question) else [])
    row: dict[str, Any] = {"id": q.id, "question": q.question}
    if sources:
        row.update(answers=[q.correct], answerable=True, sources=list(dict.fromkeys(sources)),
                   evidence=list(dict.fromkeys(evidence))[:MAX_EVIDENCE])
    else:
        row.update(answers=[], answerable=False)
        tags.append("answer-not-in-corpus")
    row.update(distractors=q.distractors, tags=tags, as_of=iso_week(q.week),
               notes=f"week {iso_week(q.week)}; correct choice: {q.correct}; {q.source}".strip("; "))
    return row


def build_realtimeqa(repo: Path, out: Path, seed: int = 0, weeks: int | None = None,
                     max_results: int | None = None, command: str = "",
                     progress: bool = True) -> Built:
    """RealTime QA weeks sampled with ``seed``, split by week into tune and measure."""
    if weeks is not None and weeks < 2:
        raise DatasetError("--weeks must be at least 2 (the weeks are split into tune and measure)")
    if max_results is not None and max_results < 1:
        raise DatasetError("--max-results-per-question must be at least 1")
    reader = RepoReader(repo)
    picked = sample_weeks(reader, list_weeks(reader), weeks, seed)
    tune_weeks, measure_weeks = split_weeks(list(picked), seed)
    corpus: dict[str, Article] = {}
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for week in tqdm(picked, desc="weeks", unit="week", file=sys.stderr, disable=not progress or None):
        results[week] = read_results(reader, week, max_results)
        collect_articles(results[week], week, corpus)
    rows: dict[str, list[dict[str, Any]]] = {}
    questions = list({q.id: q for week in reversed(picked) for q in reversed(picked[week])}
                     .values())[::-1]  # each id once, at its first place
    bar = tqdm(questions, desc="questions", unit="q", file=sys.stderr, disable=not progress or None)
    for q in bar:
        urls = dict.fromkeys(str(r.get("url", "") or "").strip() for r in results[q.week].get(q.id, []))
        mine = [corpus[u] for u in urls if u in corpus]
        rows.setdefault(q.week, []).append(question_row(q, mine))
    parts = {"tune": [r for w in tune_weeks for r in rows.get(w, [])],
             "measure": [r for w in measure_weeks for r in rows.get(w, [])]}
    feed = [a.feed() for a in sorted(corpus.values(), key=lambda a: a.id)]
    stats = _part_stats(parts)
    stats.update(weeks=len(picked), tune_weeks=len(tune_weeks), measure_weeks=len(measure_weeks),
                 articles=len(feed))
    notes = [
        f"Weeks (tune): {', '.join(map(iso_week, tune_weeks))}",
        f"Weeks (measure): {', '.join(map(iso_week, measure_weeks))}",
        "Source: github realtimeqa/realtimeqa_public, past/2023-2026 only (past/2022 and "
        "backnumber/ are reserved). The articles are third-party news: do not redistribute.",
        "Answerable when the correct choice (whole words, or all its content words in one "
        "sentence) is in an article of the question's own search results; else tagged "
        "answer-not-in-corpus. Wrong choices are 'distractors'.",
    ]
    return Built("realtimeqa", out, parts, feed, stats, command, notes)


def _part_stats(parts: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for part, rows in parts.items():
        stats[f"{part}_questions"] = len(rows)
        stats[f"{part}_answerable"] = sum(bool(r["answerable"]) for r in rows)
    stats["questions"] = sum(len(r) for r in parts.values())
    stats["answerable"] = sum(bool(x["answerable"]) for r in parts.values() for x in r)
    return stats


# ---------------------------------------------------------------- SQuAD


def read_squad(path: Path, what: str) -> list[dict[str, Any]]:
    """The articles of a SQuAD JSON file."""
    if not path.is_file():
        raise DatasetError(f"{path}: not found; pass {what} the SQuAD JSON file "
                           f"(e.g. {SHARED}/squad-v1.1-dev/dev-v1.1.json)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not readable SQuAD JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise DatasetError(f"{path}: not SQuAD JSON (expected an object with a 'data' list)")
    return list(data["data"])


def read_reserved(path: Path) -> set[str]:
    """Titles of a reserved-titles file: one per line, '#' comments and blank lines ignored."""
    if not path.is_file():
        raise DatasetError(f"{path}: not found; pass --reserved the reserved-titles.txt beside "
                           f"the SQuAD file (e.g. {SHARED}/squad-v1.1-dev/reserved-titles.txt)")
    return splits.read_reserved(path)


def squad_rows(article: dict[str, Any],
               unanswerable_tag: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(corpus documents, question rows) of one SQuAD article, ids as load_squad makes them."""
    title = str(article["title"])
    docs: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for p_i, para in enumerate(article["paragraphs"]):
        source = squad_source(title, p_i)
        docs.append({"id": source, "title": title.replace("_", " "), "text": para["context"]})
        for qa in para["qas"]:
            impossible = bool(qa.get("is_impossible", False))
            answers = list(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
            answerable = not impossible and bool(answers)
            row: dict[str, Any] = {"id": str(qa["id"]), "question": str(qa["question"]).strip(),
                                   "answers": answers if answerable else [],
                                   "answerable": answerable}
            if answerable:
                row["sources"] = [source]
            else:
                row["tags"] = [unanswerable_tag]
            rows.append(row)
    return docs, rows


def _limit(rows: list[dict[str, Any]], limit: int | None, seed: int) -> list[dict[str, Any]]:
    if limit is None or limit >= len(rows):
        return rows
    picked = sorted(random.Random(seed).sample(range(len(rows)), limit))
    return [rows[i] for i in picked]


def build_squad_split(path: Path, out: Path, what: str, reserved: set[str], tune_articles: int,
                      seed: int, limit: int | None, unanswerable_tag: str, name: str,
                      command: str) -> Built:
    """Every paragraph as the corpus; the non-reserved articles split by article (seeded)."""
    articles = read_squad(path, what)
    corpus: list[dict[str, Any]] = []
    by_title: dict[str, list[dict[str, Any]]] = {}
    try:
        for article in articles:
            docs, rows = squad_rows(article, unanswerable_tag)
            corpus += docs
            by_title[str(article["title"])] = rows
    except (KeyError, TypeError) as exc:
        raise DatasetError(f"{path}: an article is not SQuAD (missing {exc})") from exc
    unknown = reserved - set(by_title)
    if unknown:
        log.warning("reserved titles not in %s: %s", path, ", ".join(sorted(unknown)))
    usable = sorted(set(by_title) - reserved)
    if limit is not None and limit < 1:
        raise DatasetError("--limit must be at least 1")
    if not 0 < tune_articles < len(usable):
        raise DatasetError(f"{path}: {len(usable)} usable articles; --tune-articles must be "
                           f"between 1 and {len(usable) - 1}")
    hard = {t for t in usable if any(not r["answerable"] for r in by_title[t])}
    # one split definition for the builders and the training scripts (eval/splits.py)
    tune, measure = split_titles(usable, set(), seed, len(usable) - tune_articles, hard)
    split = {"tune": tune, "measure": measure}
    parts = {part: _limit([r for t in titles for r in by_title[t]], limit, seed)
             for part, titles in split.items()}
    written = {r["id"] for rows in parts.values() for r in rows}
    leaked = {r["id"] for t in reserved & set(by_title) for r in by_title[t]} & written
    if leaked:  # an explicit check, kept under python -O
        raise AssertionError(f"questions of reserved articles would be written: {sorted(leaked)[:5]}")
    stats = _part_stats(parts)
    stats.update(tune_articles=len(split["tune"]), measure_articles=len(split["measure"]),
                 reserved_articles=len(reserved & set(by_title)), paragraphs=len(corpus))
    notes = [f"Articles (tune): {', '.join(split['tune'])}",
             f"Articles (measure): {', '.join(split['measure'])}",
             f"Source: {path.name} (CC BY-SA 4.0). The corpus holds every paragraph"
             + (", reserved articles' paragraphs as distractors only." if reserved else ".")]
    return Built(name, out, parts, corpus, stats, command, notes)


# ---------------------------------------------------------------- WikiQA

WIKIQA_COLUMNS = ["QuestionID", "Question", "DocumentID", "DocumentTitle", "SentenceID",
                  "Sentence", "Label"]


def read_wikiqa(path: Path) -> list[dict[str, str]]:
    """The rows of a WikiQA .tsv.gz file."""
    if not path.is_file():
        raise DatasetError(f"{path}: not found; pass --dir the folder holding {path.name} "
                           f"(e.g. {SHARED}/wikiqa) and --split dev or train")
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            if reader.fieldnames is None or not set(WIKIQA_COLUMNS) <= set(reader.fieldnames):
                raise DatasetError(f"{path}: expected the columns {', '.join(WIKIQA_COLUMNS)}")
            return list(reader)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not a readable WikiQA .tsv.gz ({exc})") from exc


def _sentence_order(sentence_id: str) -> tuple[int, str]:
    tail = sentence_id.rsplit("-", 1)[-1]
    return (int(tail), sentence_id) if tail.isdigit() else (sys.maxsize, sentence_id)


def wikiqa_doc_id(document_id: str) -> str:
    return f"wikiqa-{document_id}"


def build_wikiqa(folder: Path, split: str, out: Path, command: str = "") -> Built:
    """One document per WikiQA summary; questions answerable when a sentence is labelled 1."""
    path = folder / f"WikiQA-{split}.tsv.gz"
    rows = read_wikiqa(path)
    docs: dict[str, tuple[str, dict[str, str]]] = {}
    questions: dict[str, dict[str, Any]] = {}
    for lineno, line in enumerate(rows, 2):
        if any(line.get(c) is None for c in WIKIQA_COLUMNS):
            raise DatasetError(f"{path}:{lineno}: expected {len(WIKIQA_COLUMNS)} tab-separated columns")
        doc_id = wikiqa_doc_id(line["DocumentID"])
        docs.setdefault(doc_id, (line["DocumentTitle"], {}))[1][line["SentenceID"]] = line["Sentence"]
        q = questions.setdefault(line["QuestionID"], {"question": line["Question"], "doc": doc_id,
                                                      "gold": []})
        if line["Label"].strip() == "1":
            q["gold"].append(line["Sentence"].strip())
    corpus = [{"id": doc_id, "title": title,
               "text": " ".join(s.strip() for _, s in sorted(sents.items(),
                                                             key=lambda kv: _sentence_order(kv[0]))
                                if s.strip())}
              for doc_id, (title, sents) in docs.items()]
    out_rows = []
    for qid, q in questions.items():
        gold = list(dict.fromkeys(g for g in q["gold"] if g))
        labels: dict[str, Any] = (
            {"answers": gold, "answerable": True, "evidence": gold, "sources": [q["doc"]],
             "tags": ["wikiqa"]} if gold
            else {"answers": [], "answerable": False, "tags": ["wikiqa", "no-answer"]})
        out_rows.append({"id": qid, "question": q["question"].strip(), **labels})
    parts = {"questions": out_rows}
    stats = _part_stats({"questions": out_rows})
    stats = {"questions": stats["questions"], "answerable": stats["answerable"],
             "no_answer": stats["questions"] - stats["answerable"], "documents": len(corpus),
             "sentences": len(rows)}
    notes = [f"Source: {path.name}, Microsoft Research WikiQA (Microsoft Research Data License: "
             "evaluate and calibrate with it; do not train shipped weights on it).",
             "answers = evidence = the sentences labelled 1; no such sentence: tagged no-answer."]
    return Built(f"wikiqa-{split}", out, parts, corpus, stats, command, notes)


# ---------------------------------------------------------------- CLI


def _default_out(name: str) -> Path:
    return Path.home() / ".cache" / "citewise" / "datasets" / name


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval.external",
                                description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="name", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--out", type=Path, default=None,
                        help="output folder, outside the project (default "
                             "~/.cache/citewise/datasets/NAME)")
        sp.add_argument("--seed", type=int, default=0, help="sampling and split seed (0)")
        sp.add_argument("--no-progress", action="store_true", help="no progress bars")

    rt = sub.add_parser("realtimeqa", help="RealTime QA weeks of past/2023-2026")
    rt.add_argument("--repo", type=Path, required=True,
                    help="a checkout, export or bare git mirror of realtimeqa/realtimeqa_public")
    rt.add_argument("--weeks", type=int, default=None,
                    help=f"weeks to sample (default: enough for {MIN_QUESTIONS} questions)")
    rt.add_argument("--max-results-per-question", type=int, default=None, metavar="K",
                    help="search results kept per question (default: all)")
    sq = sub.add_parser("squad", help="SQuAD v1.1 dev, non-reserved articles")
    sq.add_argument("--squad", type=Path, default=SHARED / "squad-v1.1-dev" / "dev-v1.1.json")
    sq.add_argument("--reserved", type=Path,
                    default=SHARED / "squad-v1.1-dev" / "reserved-titles.txt")
    sq.add_argument("--tune-articles", type=int, default=24)
    sq.add_argument("--limit", type=int, default=None, metavar="N",
                    help="N questions per part, drawn with --seed")
    wq = sub.add_parser("wikiqa", help="WikiQA answer triggering")
    wq.add_argument("--dir", type=Path, default=SHARED / "wikiqa")
    wq.add_argument("--split", choices=["dev", "train"], default="dev")
    s2 = sub.add_parser("squad2", help="SQuAD 2.0 train subset (10 articles)")
    s2.add_argument("--squad2", type=Path,
                    default=SHARED / "squad-v2.0-train-subset" / "train-v2.0-subset.json")
    s2.add_argument("--tune-articles", type=int, default=7)
    s2.add_argument("--limit", type=int, default=None, metavar="N",
                    help="N questions per part, drawn with --seed")
    tq = sub.add_parser("tatqa", help="TAT-QA dev: report excerpts with tables, as files")
    tq.add_argument("--tatqa", type=Path, default=SHARED / "tatqa" / "tatqa_dataset_dev.json")
    tq.add_argument("--format", choices=tatqa.FORMATS, default="md",
                    help="document format of the excerpts (md)")
    tq.add_argument("--limit", type=int, default=None, metavar="N",
                    help="N questions per part, drawn with --seed")
    for sp in (rt, sq, wq, s2, tq):
        common(sp)
    return p


def build(args: argparse.Namespace, command: str) -> Built:
    """Build the set the parsed arguments name."""
    name = {"wikiqa": f"wikiqa-{getattr(args, 'split', '')}",
            "tatqa": f"tatqa-{getattr(args, 'format', '')}"}.get(args.name, args.name)
    out = check_out(args.out or _default_out(name))
    if args.name == "realtimeqa":
        return build_realtimeqa(args.repo, out, args.seed, args.weeks,
                                args.max_results_per_question, command, not args.no_progress)
    if args.name == "squad":
        return build_squad_split(args.squad, out, "--squad", read_reserved(args.reserved),
                                 args.tune_articles, args.seed, args.limit, "unanswerable",
                                 "squad", command)
    if args.name == "squad2":
        return build_squad_split(args.squad2, out, "--squad2", set(), args.tune_articles,
                                 args.seed, args.limit, "squad2-unanswerable", "squad2", command)
    if args.name == "tatqa":
        return build_tatqa(args.tatqa, args.format, out, args.seed, args.limit, command)
    return build_wikiqa(args.dir, args.split, out, command)


def build_tatqa(path: Path, fmt: str, out: Path, seed: int = 0, limit: int | None = None,
                command: str = "") -> Built:
    """TAT-QA dev excerpts as document files; see eval/tatqa.py."""
    parts, files, stats = tatqa.build_parts(tatqa.read_tatqa(path), fmt, seed)
    if limit is not None:
        parts = {k: _limit(v, limit, seed) for k, v in parts.items()}
        wanted = {s for rows in parts.values() for r in rows for s in r["sources"]}
        files = {k: v for k, v in files.items() if k in wanted}
        stats = tatqa.part_stats(parts, files, fmt)
    notes = [f"Source: {path.name}, TAT-QA (Zhu et al., ACL 2021; CC BY 4.0), dev split only.",
             "Span and multi-span questions; ask each over its own document (--restrict).",
             "Tags: table / text / table-text (where the answer is), multi-span (every "
             "reference must be in the answer)."]
    return Built(f"tatqa-{fmt}", out, parts, [], stats, command, notes, files)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``python -m eval.external NAME ...``; 0 when written, 2 on bad input."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    command = f"cd {shlex.quote(str(Path.cwd()))} && " + shlex.join(
        ["python", "-m", "eval.external", *argv])
    try:
        built = build(args, command)
        write_built(built)
    except DatasetError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write(summary(built) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
