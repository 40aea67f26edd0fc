"""External development sets (eval/external.py) built from tiny synthetic copies of each source."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from eval import external as X
from eval.datasets import DatasetError, load_jsonl

ROOT = Path(__file__).resolve().parents[2]


def jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def art(url: str, text: str, title: str = "T") -> dict:
    return {"url": url, "title": title, "text": text}


# ---------------------------------------------------------------- RealTime QA fixture


def write_week(repo: Path, week: str, questions: list[dict], results: dict[str, list[dict]]) -> None:
    folder = repo / "past" / week[:4]
    qa = []
    for i, q in enumerate(questions):
        qa.append({"question_id": f"{week}_{i}", "question_date": week, "question_source": "CNN",
                   "question_sentence": q["q"], "choices": q["choices"],
                   "answer": [str(q["answer"])], "evidence": "quiz text, not an article"})
    jsonl(folder / f"{week}_qa.jsonl", qa)
    jsonl(folder / f"{week}_gcs.jsonl",
          [{"question_id": f"{week}_{i}", "search_result": results.get(str(i), [])}
           for i in range(len(questions))])


@pytest.fixture
def rtqa(tmp_path: Path) -> Path:
    repo = tmp_path / "realtimeqa_public"
    shared = art("https://news.example/shared", "Owl flew away. Rabbit stayed home.")
    write_week(repo, "20230106", [
        {"q": "Whose copyright expired?", "choices": ["Owl", "Eeyore", "Roo", "Tigger"], "answer": 3},
        {"q": "Who is most at risk?", "choices": ["children under 5", "adults", "None of the above"],
         "answer": 0},
        {"q": "Which one is it?", "choices": ["A", "B", "None of the above"], "answer": 2},  # NOTA
        {"q": "No choices?", "choices": [], "answer": 0},
    ], {"0": [art("https://news.example/pooh", "Tigger entered the public domain this week. "
                  "Mickey did too."), shared],
        "1": [art("https://news.example/flu", "Flu cases rose among children younger than 5 "
                  "in December."), art("https://news.example/empty", "   ")]})
    write_week(repo, "20230113", [
        {"q": "Which city hosted it?", "choices": ["Boston", "Denver"], "answer": 1},
        {"q": "What did the rabbit do?", "choices": ["Stayed home", "Left"], "answer": 0},
    ], {"0": [art("https://news.example/other", "Boston saw snow.")],
        "1": [art("https://news.example/other2", "Nothing here."), shared]})  # shared: once
    write_week(repo, "20230120", [
        {"q": "Which is not a planet?", "choices": ["Pluto", "Mars"], "answer": 0},
    ], {"0": [art("https://news.example/space", "Pluto was reclassified. Mars is a planet.")]})
    write_week(repo, "20230127", [
        {"q": "Which team won?", "choices": ["Reds", "Blues"], "answer": 1},
    ], {"0": [art("https://news.example/sport", "The Blues won the cup on Sunday.")]})
    # reserved: must never be read (broken on purpose)
    (repo / "past" / "2022").mkdir(parents=True)
    (repo / "past" / "2022" / "20221230_qa.jsonl").write_text("{not json", encoding="utf-8")
    (repo / "past" / "2022" / "20221230_gcs.jsonl").write_text("{not json", encoding="utf-8")
    (repo / "backnumber").mkdir()
    (repo / "backnumber" / "20221230_qa.jsonl").write_text("{not json", encoding="utf-8")
    return repo


@pytest.fixture
def no_reserved_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    original = X.RepoReader.read

    def spy(self: X.RepoReader, rel: str) -> str:
        seen.append(rel)
        return original(self, rel)

    monkeypatch.setattr(X.RepoReader, "read", spy)
    return seen


def build_rtqa(repo: Path, out: Path, **kw) -> X.Built:
    built = X.build_realtimeqa(repo, out, progress=False, **kw)
    X.write_built(built)
    return built


def all_rows(built: X.Built) -> dict[str, dict]:
    return {r["id"]: r for rows in built.parts.values() for r in rows}


def test_realtimeqa_counts_corpus_and_split_by_week(rtqa, tmp_path, no_reserved_reads):
    out = tmp_path / "out"
    built = build_rtqa(rtqa, out)
    rows = all_rows(built)
    # NOTA-correct and choice-less questions are skipped
    assert sorted(rows) == ["20230106_0", "20230106_1", "20230113_0", "20230113_1", "20230120_0",
                            "20230127_0"]
    weeks = {p: {r["id"][:8] for r in part} for p, part in built.parts.items()}
    assert len(weeks["tune"]) == 2 and len(weeks["measure"]) == 2
    assert not weeks["tune"] & weeks["measure"]
    assert built.stats["weeks"] == 4 and built.stats["questions"] == 6
    # corpus: deduplicated by url, the empty article skipped, stable ids, the week's date
    corpus = read(out / "corpus.jsonl")
    urls = [d["url"] for d in corpus]
    assert len(urls) == len(set(urls)) == 7 and "https://news.example/empty" not in urls
    shared = next(d for d in corpus if d["url"] == "https://news.example/shared")
    assert shared["id"] == "rtqa-" + hashlib.sha1(b"https://news.example/shared").hexdigest()[:12]
    assert shared["published"] == "2023-01-06" and set(shared) == {"id", "title", "url", "text",
                                                                   "published"}
    assert built.stats["articles"] == 7
    # the files load as citewise datasets; the README names counts and the command
    for part in ("tune", "measure"):
        assert len(load_jsonl(out / f"{part}.jsonl").samples) == built.stats[f"{part}_questions"]
    readme = (out / "README.txt").read_text(encoding="utf-8")
    assert "questions: 6" in readme and "articles: 7" in readme and "weeks: 4" in readme
    assert not any(r.startswith(("past/2022", "backnumber")) for r in no_reserved_reads)


def test_realtimeqa_answerability(rtqa, tmp_path):
    rows = all_rows(build_rtqa(rtqa, tmp_path / "out"))
    pooh = rows["20230106_0"]
    assert pooh["answerable"] and pooh["answers"] == ["Tigger"]
    assert pooh["sources"] == [X.article_id("https://news.example/pooh")]
    assert pooh["evidence"] == ["Tigger entered the public domain this week."]
    assert pooh["distractors"] == ["Owl", "Eeyore", "Roo"]
    assert pooh["as_of"] == "2023-01-06"  # the quiz's "this week" is its own week
    # all content words of the choice inside one sentence
    kids = rows["20230106_1"]
    assert kids["answerable"] and kids["sources"] == [X.article_id("https://news.example/flu")]
    assert kids["distractors"] == ["adults"]  # "none of the above" is never a distractor
    # the answer is in no article of the question's own results
    denver = rows["20230113_0"]
    assert not denver["answerable"] and denver["answers"] == []
    assert "answer-not-in-corpus" in denver["tags"] and denver["distractors"] == ["Boston"]
    # an article shared with another question counts for this one too
    assert rows["20230113_1"]["answerable"]
    assert "negation" in rows["20230120_0"]["tags"]


def test_realtimeqa_is_deterministic_and_weeks_and_results_are_options(rtqa, tmp_path):
    a, b = build_rtqa(rtqa, tmp_path / "a", seed=3), build_rtqa(rtqa, tmp_path / "b", seed=3)
    for name in ("tune.jsonl", "measure.jsonl", "corpus.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert a.parts == b.parts
    two = build_rtqa(rtqa, tmp_path / "c", weeks=2)
    assert two.stats["weeks"] == 2 and two.stats["tune_weeks"] == 1
    one = build_rtqa(rtqa, tmp_path / "d", max_results=1)  # the shared article is 2nd: gone
    assert "https://news.example/shared" not in {d["url"] for d in one.corpus}
    assert len(one.corpus) == 6 and not all_rows(one)["20230113_1"]["answerable"]
    with pytest.raises(DatasetError, match="--weeks"):
        X.build_realtimeqa(rtqa, tmp_path / "e", weeks=1, progress=False)


def test_realtimeqa_reads_a_bare_git_mirror(rtqa, tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    env = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(rtqa)], check=True)
    subprocess.run(["git", "-C", str(rtqa), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(rtqa), *env, "commit", "-qm", "x"], check=True)
    bare = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(rtqa), str(bare)], check=True)
    reader = X.RepoReader(bare)
    assert reader.bare and reader.list("past/2023")
    from_git = build_rtqa(bare, tmp_path / "g")
    from_dir = build_rtqa(rtqa, tmp_path / "f")
    assert from_git.parts == from_dir.parts and from_git.corpus == from_dir.corpus


def test_realtimeqa_refuses_reserved_paths_and_an_out_inside_the_project(rtqa, tmp_path):
    reader = X.RepoReader(rtqa)
    for rel in ("past/2022", "past/2022/20221230_qa.jsonl", "backnumber/20221230_qa.jsonl"):
        with pytest.raises(DatasetError, match="reserved"):
            reader.read(rel)
    with pytest.raises(DatasetError, match="reserved"):
        reader.list("past/2022")
    inside = ROOT / "eval" / "external-test-out"
    code = X.main(["realtimeqa", "--repo", str(rtqa), "--out", str(inside), "--no-progress"])
    assert code == 2 and not inside.exists()
    assert X.main(["realtimeqa", "--repo", str(tmp_path / "nope"), "--out",
                   str(tmp_path / "o")]) == 2


def test_realtimeqa_without_weeks_names_the_fix(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="--repo"):
        X.build_realtimeqa(tmp_path / "empty", tmp_path / "o", progress=False)


# ---------------------------------------------------------------- SQuAD


def squad_json(path: Path, titles: list[str], impossible: set[str] = frozenset()) -> Path:
    data = []
    for t in titles:
        paragraphs = []
        for p in range(2):
            qas = [{"id": f"{t}-{p}-{i}", "question": f"What about {t} {p} {i}?",
                    "answers": [{"text": f"{t} answer", "answer_start": 0}]} for i in range(2)]
            if t in impossible:
                qas.append({"id": f"{t}-{p}-x", "question": "Impossible?", "answers": [],
                            "is_impossible": True})
            paragraphs.append({"context": f"{t} answer is here, paragraph {p}.", "qas": qas})
        data.append({"title": t, "paragraphs": paragraphs})
    path.write_text(json.dumps({"version": "1.1", "data": data}), encoding="utf-8")
    return path


TITLES = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta", "Eta", "Theta"]


def test_squad_split_by_article_never_writes_reserved_questions(tmp_path):
    squad = squad_json(tmp_path / "dev.json", TITLES)
    reserved = tmp_path / "reserved-titles.txt"
    reserved.write_text("# reserved\nBeta\n\nEta\n", encoding="utf-8")
    out = tmp_path / "out"
    code = X.main(["squad", "--squad", str(squad), "--reserved", str(reserved), "--out", str(out),
                   "--tune-articles", "4"])
    assert code == 0
    parts = {p: read(out / f"{p}.jsonl") for p in ("tune", "measure")}
    articles = {p: {r["id"].split("-")[0] for r in rows} for p, rows in parts.items()}
    assert len(articles["tune"]) == 4 and len(articles["measure"]) == 2
    assert not articles["tune"] & articles["measure"]
    assert not (articles["tune"] | articles["measure"]) & {"Beta", "Eta"}
    corpus = read(out / "corpus.jsonl")
    assert len(corpus) == 16 and {"Beta#0", "Eta#1"} <= {d["id"] for d in corpus}
    row = parts["tune"][0]
    assert row["sources"] == [row["id"].rsplit("-", 2)[0] + "#" + row["id"].split("-")[1]]
    assert load_jsonl(out / "tune.jsonl").samples[0].references


def test_squad_limit_is_per_part_and_seeded(tmp_path):
    squad = squad_json(tmp_path / "dev.json", TITLES)
    reserved = tmp_path / "r.txt"
    reserved.write_text("Beta\n", encoding="utf-8")
    a = X.build_squad_split(squad, tmp_path / "a", "--squad", X.read_reserved(reserved), 5, 1, 3,
                            "unanswerable", "squad", "")
    b = X.build_squad_split(squad, tmp_path / "b", "--squad", X.read_reserved(reserved), 5, 1, 3,
                            "unanswerable", "squad", "")
    assert [len(r) for r in a.parts.values()] == [3, 3] and a.parts == b.parts


def test_squad_missing_files_name_the_flag(tmp_path):
    squad = squad_json(tmp_path / "dev.json", TITLES)
    with pytest.raises(DatasetError, match="--reserved"):
        X.read_reserved(tmp_path / "missing.txt")
    assert X.main(["squad", "--squad", str(tmp_path / "none.json"), "--reserved", str(squad),
                   "--out", str(tmp_path / "o")]) == 2


def test_squad2_tags_unanswerable_and_spreads_them_over_both_parts(tmp_path):
    path = squad_json(tmp_path / "train.json", TITLES[:5], impossible={"Gamma", "Delta"})
    built = X.build_squad_split(path, tmp_path / "o", "--squad2", set(), 3, 0, None,
                                "squad2-unanswerable", "squad2", "")
    for part in built.parts.values():
        impossible = [r for r in part if not r["answerable"]]
        assert impossible and all(r["tags"] == ["squad2-unanswerable"] and r["answers"] == []
                                  for r in impossible)
    assert built.stats["questions"] == 5 * 4 + 2 * 2 and len(built.corpus) == 10


# ---------------------------------------------------------------- WikiQA


def wikiqa_gz(folder: Path, split: str = "dev") -> Path:
    rows = [
        ["QuestionID", "Question", "DocumentID", "DocumentTitle", "SentenceID", "Sentence", "Label"],
        ["Q1", "how are glands formed", "D1", "Gland", "D1-0", "A gland is an organ .", "0"],
        ["Q1", "how are glands formed", "D1", "Gland", "D1-10", "Tenth sentence .", "0"],
        ["Q1", "how are glands formed", "D1", "Gland", "D1-2", "Glands form by budding .", "1"],
        ["Q2", "what is a gland made of", "D1", "Gland", "D1-0", "A gland is an organ .", "0"],
        ["Q2", "what is a gland made of", "D1", "Gland", "D1-10", "Tenth sentence .", "0"],
        ["Q2", "what is a gland made of", "D1", "Gland", "D1-2", "Glands form by budding .", "0"],
        ["Q3", 'who wrote "it"', "D3", "It (novel)", "D3-0", 'It is a novel by "Stephen King" .', "1"],
    ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"WikiQA-{split}.tsv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("".join("\t".join(r) + "\n" for r in rows))
    return path


def test_wikiqa_documents_and_answer_triggering_labels(tmp_path):
    wikiqa_gz(tmp_path / "wikiqa")
    out = tmp_path / "out"
    assert X.main(["wikiqa", "--dir", str(tmp_path / "wikiqa"), "--split", "dev", "--out",
                   str(out)]) == 0
    corpus = {d["id"]: d for d in read(out / "corpus.jsonl")}
    assert corpus["wikiqa-D1"]["text"] == ("A gland is an organ . Glands form by budding . "
                                           "Tenth sentence .")
    assert corpus["wikiqa-D1"]["title"] == "Gland" and len(corpus) == 2
    rows = {r["id"]: r for r in read(out / "questions.jsonl")}
    assert rows["Q1"]["answerable"] and rows["Q1"]["answers"] == ["Glands form by budding ."]
    assert rows["Q1"]["evidence"] == rows["Q1"]["answers"] and rows["Q1"]["sources"] == ["wikiqa-D1"]
    assert not rows["Q2"]["answerable"] and rows["Q2"]["tags"] == ["wikiqa", "no-answer"]
    assert rows["Q3"]["answers"] == ['It is a novel by "Stephen King" .']  # quotes kept as text
    assert all("wikiqa" in r["tags"] for r in rows.values())
    samples = load_jsonl(out / "questions.jsonl").samples
    assert [s.answerable for s in samples] == [True, False, True]


def test_wikiqa_missing_split_names_the_flags(tmp_path):
    with pytest.raises(DatasetError, match="--dir"):
        X.build_wikiqa(tmp_path, "train", tmp_path / "o")


def tatqa_json(path: Path) -> Path:
    def excerpt(uid: str) -> dict:
        return {
            "table": {"uid": uid, "table": [["", "2019", "2018"], ["Revenue", "$1,073.3", "$1,095.0"],
                                            ["Net income | adjusted", "106.4", "70.5"]]},
            "paragraphs": [{"uid": "p", "order": 1, "text": "We sell <b>pumps</b> worldwide."}],
            "questions": [
                {"uid": f"{uid}-q1", "question": "What was revenue in 2019?", "answer": ["$1,073.3"],
                 "answer_type": "span", "answer_from": "table"},
                {"uid": f"{uid}-q2", "question": "What were revenue in 2019 and 2018?",
                 "answer": ["$1,073.3", "$1,095.0"], "answer_type": "multi-span",
                 "answer_from": "table"},
                {"uid": f"{uid}-q3", "question": "What is the change?", "answer": -21.7,
                 "answer_type": "arithmetic", "answer_from": "table"},
            ]}

    path.write_text(json.dumps([excerpt(f"t{i}") for i in range(6)]), encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["md", "html", "docx", "pdf"])
def test_tatqa_documents_questions_and_split(tmp_path, fmt):
    src = tatqa_json(tmp_path / "tatqa_dataset_dev.json")
    out = tmp_path / "out"
    assert X.main(["tatqa", "--tatqa", str(src), "--format", fmt, "--out", str(out)]) == 0
    files = sorted(p.name for p in (out / "corpus").iterdir())
    assert files == [f"tatqa-t{i}.{fmt}" for i in range(6)]
    tune, measure = read(out / "tune.jsonl"), read(out / "measure.jsonl")
    assert len(tune) + len(measure) == 12  # arithmetic left out
    assert {r["sources"][0] for r in tune}.isdisjoint({r["sources"][0] for r in measure})
    multi = next(r for r in tune + measure if r["id"].endswith("q2"))
    assert multi["tags"] == ["tatqa", "table", "multi-span"] and len(multi["answers"]) == 2
    assert "--restrict" in (out / "README.txt").read_text()
    if fmt == "md":
        text = (out / "corpus" / "tatqa-t0.md").read_text()
        assert "| Net income \\| adjusted | 106.4 | 70.5 |" in text  # a bar in a cell, escaped
    if fmt == "html":
        page = (out / "corpus" / "tatqa-t0.html").read_text()
        assert "<th>2019</th>" in page and "&lt;b&gt;pumps&lt;/b&gt;" in page


def test_tatqa_refuses_the_test_split(tmp_path):
    src = tatqa_json(tmp_path / "tatqa_dataset_test.json")
    assert X.main(["tatqa", "--tatqa", str(src), "--out", str(tmp_path / "out")]) == 2
