"""Dataset loading: the JSONL format with file:line errors, SQuAD and BEIR adapters, the golden set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.datasets import (
    DatasetError,
    load_beir,
    load_dataset,
    load_jsonl,
    load_squad,
    squad_source,
    write_feed,
)
from eval.metrics import _fold, squad_normalize

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "eval" / "golden" / "sample_article.jsonl"
ARTICLE = ROOT / "sample_data" / "microsoft-openai-partnership.txt"


def write_lines(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n",
                    encoding="utf-8")
    return path


# ---------------------------------------------------------------- JSONL


def test_jsonl_loads_every_field(tmp_path: Path):
    path = write_lines(tmp_path / "q.jsonl", [
        {"id": "a", "question": " When? ", "answers": ["2019"], "answerable": True,
         "evidence": ["began in 2019"], "sources": "doc.txt",
         "history": [{"question": "Who?", "answer": "Microsoft"}], "tags": ["direct"]},
        "",
        {"id": 7, "question": "Google's stake?", "answers": [], "answerable": False},
        {"id": "c", "question": "Inferred answerable", "answers": ["x"]},
    ])
    ds = load_jsonl(path)
    a, b, c = ds.samples
    assert (a.id, a.question, a.references, a.sources, a.evidence) == (
        "a", "When?", ["2019"], ["doc.txt"], ["began in 2019"])
    assert a.history[0].question == "Who?" and a.history[0].answer == "Microsoft"
    assert a.reference == "2019" and a.has_gold
    assert b.id == "7" and not b.answerable and b.tags == ["unanswerable"]
    assert c.answerable
    assert ds.kind == "jsonl" and len(ds.sha256) == 64 and ds.unanswerable == 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "invalid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"question": "q", "answers": []}', "'id' is required"),
        ('{"id": "x", "question": "  ", "answers": []}', "'question' is required"),
        ('{"id": "x", "question": "q"}', "'answers' is required"),
        ('{"id": "x", "question": "q", "answers": "yes", "answerable": "yes"}', "true or false"),
        ('{"id": "x", "question": "q", "answers": [], "answerable": true}', "at least one"),
        ('{"id": "x", "question": "q", "answers": ["a"], "answerable": false}', "must have 'answers': []"),
        ('{"id": "x", "question": "q", "answers": [1]}', "list of strings"),
        ('{"id": "x", "question": "q", "answers": [], "history": ["hi"]}', "history[0]"),
        ('{"id": "x", "question": "q", "answers": [], "anwsers": []}', "unknown field(s) anwsers"),
    ],
)
def test_jsonl_errors_name_file_and_line(tmp_path: Path, line: str, message: str):
    path = write_lines(tmp_path / "bad.jsonl", ['{"id": "ok", "question": "q", "answers": []}', line])
    with pytest.raises(DatasetError) as err:
        load_jsonl(path)
    assert f"{path}:2:" in str(err.value)
    assert message in str(err.value)


def test_jsonl_duplicate_ids_and_empty_file(tmp_path: Path):
    row = {"id": "x", "question": "q", "answers": []}
    with pytest.raises(DatasetError, match=r":2: duplicate id 'x' \(first on line 1\)"):
        load_jsonl(write_lines(tmp_path / "dup.jsonl", [row, row]))
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(DatasetError, match="no questions"):
        load_jsonl(tmp_path / "empty.jsonl")
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset(tmp_path / "missing.jsonl")


# ---------------------------------------------------------------- SQuAD


def _squad(tmp_path: Path, version: str = "1.1") -> Path:
    qas = [{"id": "q1", "question": "Who won?", "answers": [
        {"text": "Denver Broncos", "answer_start": 0}, {"text": "Denver Broncos", "answer_start": 0},
        {"text": "Broncos", "answer_start": 7}]}]
    if version == "2.0":
        qas.append({"id": "q2", "question": "Who lost badly?", "answers": [], "is_impossible": True})
    data = {"version": version, "data": [{"title": "Super_Bowl_50", "paragraphs": [
        {"context": "Denver Broncos won.", "qas": qas},
        {"context": "Second paragraph.", "qas": []}]}]}
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_squad_adapter_yields_samples_and_a_feed(tmp_path: Path):
    ds = load_dataset(_squad(tmp_path))
    assert ds.kind == "squad" and not ds.retrieval_only
    (s,) = ds.samples
    assert s.references == ["Denver Broncos", "Broncos"] and s.sources == ["Super_Bowl_50#0"]
    assert [d["id"] for d in ds.feed] == ["Super_Bowl_50#0", "Super_Bowl_50#1"]
    assert ds.feed[0]["title"] == "Super Bowl 50" and ds.feed[0]["text"] == "Denver Broncos won."
    assert squad_source("T", 3) == "T#3"
    feed = write_feed(ds.feed, tmp_path / "out" / "feed.jsonl")
    lines = feed.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[1]) == ds.feed[1]


def test_squad_v2_impossible_questions_are_unanswerable(tmp_path: Path):
    ds = load_squad(_squad(tmp_path, "2.0"))
    impossible = ds.samples[1]
    assert not impossible.answerable and impossible.references == [] and impossible.sources == []


def test_squad_adapter_rejects_other_json(tmp_path: Path):
    (tmp_path / "x.json").write_text('{"rows": []}')
    with pytest.raises(DatasetError, match="not SQuAD JSON"):
        load_dataset(tmp_path / "x.json")
    (tmp_path / "y.json").write_text('{"data": [{"title": "t"}]}')
    with pytest.raises(DatasetError, match=r"data\[0\]"):
        load_squad(tmp_path / "y.json")


# ---------------------------------------------------------------- BEIR


def _beir(tmp_path: Path, tsv: bool = True) -> Path:
    folder = tmp_path / "beir"
    folder.mkdir()
    write_lines(folder / "corpus.jsonl", [
        {"_id": "d1", "title": "One", "text": "First abstract."},
        {"_id": "d2", "title": "Two", "text": "Second abstract."},
        {"_id": "d3", "title": "", "text": ""},  # empty: not ingested
    ])
    if tsv:
        (folder / "queries.test.tsv").write_text("1\tfirst query\n2\tunjudged query\n3\tthird\n")
        (folder / "qrels.test.txt").write_text("1 0 d1 1\n3 0 d2 2\n3 0 d1 0\n")
    else:
        write_lines(folder / "queries.jsonl", [{"_id": "1", "text": "first query"}])
        (folder / "qrels").mkdir()
        (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n")
    return folder


def test_beir_adapter_trec_qrels(tmp_path: Path):
    ds = load_dataset(_beir(tmp_path))
    assert ds.kind == "beir" and ds.retrieval_only
    assert [d["id"] for d in ds.feed] == ["d1", "d2"]
    assert [s.id for s in ds.samples] == ["1", "3"]  # unjudged query 2 dropped
    assert ds.samples[1].relevance == {"d2": 2, "d1": 0} and ds.samples[1].sources == ["d2"]


def test_beir_adapter_standard_layout(tmp_path: Path):
    ds = load_beir(_beir(tmp_path, tsv=False))
    assert ds.samples[0].question == "first query" and ds.samples[0].relevance == {"d1": 1}


def test_beir_adapter_missing_parts(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="missing corpus.jsonl, queries, qrels"):
        load_beir(tmp_path / "empty")


# ---------------------------------------------------------------- the golden set


def test_golden_set_is_valid_and_grounded_in_the_article():
    ds = load_jsonl(GOLDEN)
    article = ARTICLE.read_text(encoding="utf-8")
    folded, normalised = _fold(article), f" {squad_normalize(article)} "
    tags = [t for s in ds.samples for t in s.tags]
    assert len(ds.samples) >= 40
    assert ds.unanswerable >= 10
    assert tags.count("paraphrase") >= 8
    assert sum(bool(s.history) for s in ds.samples) >= 5
    for s in ds.samples:
        for quote in s.evidence:
            assert _fold(quote) in folded, (s.id, quote)
        for answer in s.references:
            assert f" {squad_normalize(answer)} " in normalised, (s.id, answer)
        if s.answerable:
            assert s.evidence, s.id


def test_distractors_are_an_optional_list_of_strings(tmp_path):
    path = write_lines(tmp_path / "mc.jsonl", [
        {"id": 1, "question": "Who?", "answers": ["Tigger"], "distractors": ["Owl", " "]},
        {"id": 2, "question": "Who else?", "answers": ["Roo"]},
    ])
    samples = load_jsonl(path).samples
    assert samples[0].distractors == ["Owl"] and samples[1].distractors == []
    assert samples[0].to_dict()["distractors"] == ["Owl"]
    bad = write_lines(tmp_path / "bad.jsonl", [{"id": 1, "question": "q", "answers": ["a"],
                                                 "distractors": [1]}])
    with pytest.raises(DatasetError, match="distractors"):
        load_jsonl(bad)
