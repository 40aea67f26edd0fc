"""The reader's training recipe (eval/train/reader.py) and the shared splits (eval/splits.py)."""

from __future__ import annotations

import json
import random

import pytest

from eval.splits import read_reserved, split_titles
from eval.train.reader import Pair, sentences_of, squad_pairs

CONTEXT = ("Acme Corp is a maker of garden tools. It was founded by Jane Roe in 1990. "
           "Its head office is in Dayton, Ohio. The firm employs 400 people.")


def squad(impossible: bool = False) -> dict:
    qas = [{"id": "q1", "question": "Who founded Acme Corp?",
            "answers": [{"text": "Jane Roe", "answer_start": CONTEXT.index("Jane Roe")}]},
           {"id": "q2", "question": "Where is the head office of Acme?",
            "answers": [{"text": "Dayton, Ohio", "answer_start": CONTEXT.index("Dayton")}]}]
    if impossible:
        qas.append({"id": "q3", "question": "Who founded Beta Corp?", "answers": [],
                    "is_impossible": True})
    return {"data": [{"title": "Acme_Corp", "paragraphs": [
        {"context": CONTEXT, "qas": qas},
        {"context": "Acme Corp was sold in 2001. Jane Roe founded another firm later.",
         "qas": []}]}]}


def test_the_answer_sentence_is_the_positive_and_its_neighbours_negatives():
    pairs, gold, samples, corpus = squad_pairs(squad(), {"Acme_Corp"}, random.Random(0))
    pos = [p for p in pairs if p.label == 1]
    assert [p.question for p in pos] == ["Who founded Acme Corp?",
                                         "Where is the head office of Acme?"]
    assert pos[0].text.startswith("It was founded by Jane Roe in 1990. [SEP] Acme Corp")
    assert "maker of garden tools" in pos[0].text  # the sentence before is its context
    negs = [p for p in pairs if p.question == "Who founded Acme Corp?" and p.label == 0]
    assert {p.kind for p in negs} == {"same_paragraph", "other_paragraph"}
    assert all("founded by Jane Roe in 1990" not in p.text.split(" [SEP] ")[0] for p in negs)
    assert gold["q1"].text == "It was founded by Jane Roe in 1990."
    assert [s.sources for s in samples] == [["Acme_Corp#0"], ["Acme_Corp#0"]]
    assert set(corpus) == {"Acme_Corp#0", "Acme_Corp#1"}


def test_unanswerable_questions_give_only_negatives():
    pairs, gold, _, _ = squad_pairs(squad(impossible=True), {"Acme_Corp"}, random.Random(0))
    q3 = [p for p in pairs if p.question == "Who founded Beta Corp?"]
    assert len(q3) == 2 and all(p.label == 0 and p.kind == "unanswerable" for p in q3)
    assert "q3" not in gold


def test_other_titles_are_not_read():
    pairs, *_ = squad_pairs(squad(), {"Something_else"}, random.Random(0))
    assert pairs == []


def test_sentences_carry_the_one_before():
    sents = sentences_of(CONTEXT, "Acme")
    assert [s.before for _, _, s in sents][:2] == ["", "Acme Corp is a maker of garden tools."]
    assert all(CONTEXT[a:b] == s.text for a, b, s in sents)


def test_splits_are_disjoint_seeded_and_never_hold_reserved_titles(tmp_path):
    titles = [f"T{i}" for i in range(40)]
    reserved_file = tmp_path / "reserved.txt"
    reserved_file.write_text("# comment\nT1\nT2  # inline\n\n")
    reserved = read_reserved(reserved_file)
    assert reserved == {"T1", "T2"}
    tune, measure = split_titles(titles, reserved, seed=0)
    assert len(measure) == 8 and len(tune) == 30
    assert not set(tune) & set(measure)
    assert not (set(tune) | set(measure)) & reserved
    assert split_titles(list(reversed(titles)), reserved, seed=0) == (tune, measure)
    assert split_titles(titles, reserved, seed=1) != (tune, measure)


@pytest.mark.slow
def test_a_tiny_training_run_exports_a_reader_that_loads(tmp_path):
    from eval.train.reader import train, write_manifest
    from rag.answer.reader import Reader, pair_text

    pairs = [Pair("Who founded Acme?", pair_text("Acme was founded by Jane Roe."), 1, "positive"),
             Pair("Who founded Acme?", pair_text("Acme sells tools."), 0, "same_paragraph")] * 4
    info = {"training": train(pairs, tmp_path, epochs=1, batch_size=4, lr=5e-5, seed=0,
                              threads=2)}
    write_manifest(tmp_path, info)
    manifest = json.loads((tmp_path / "reader.json").read_text())
    assert manifest["training"]["seed"] == 0 and len(manifest["sha256"]) == 64
    reader = Reader(tmp_path)
    assert reader.score("Who founded Acme?", [p.text for p in pairs[:2]]).shape == (2,)


# ---------------------------------------------------------------- news (RealTime QA) pairs


def news_sentences(text: str, title: str = "News") -> list:
    return [s for _, _, s in sentences_of(text, title)]


def test_a_news_question_gets_the_naming_sentence_as_positive_and_a_distractor_as_negative():
    from eval.train.reader import news_question_pairs

    text = ("Laura made landfall in Louisiana on Thursday. Officials in Texas prepared shelters for "
            "the hurricane. The storm hit hardest in Louisiana towns. Power was out for days.")
    pairs = news_question_pairs("Which state did the hurricane hit hardest this week?",
                                "Louisiana", ["Texas", "Florida"], news_sentences(text))
    assert [(p.label, p.kind) for p in pairs] == [(1, "positive"), (0, "distractor"),
                                                  (0, "same_results")]
    assert pairs[0].text.startswith("The storm hit hardest in Louisiana towns.")
    assert pairs[1].text.startswith("Officials in Texas")
    assert "Louisiana" not in pairs[2].text.split(" [SEP] ")[0]


def test_a_news_question_can_give_more_positives_and_sentences_that_only_repeat_it():
    from eval.train.reader import news_question_pairs

    text = ("The hurricane hit Louisiana hardest on Thursday. The hurricane hit the coast hardest "
            "in years, officials said. Officials in Texas prepared shelters for the hurricane. "
            "Louisiana towns lost power as the storm hit. The hurricane hit hardest at night. "
            "Texas and Louisiana both declared emergencies as the hurricane hit.")
    pairs = news_question_pairs("Which state did the hurricane hit hardest?", "Louisiana",
                                ["Texas"], news_sentences(text), positives=2, negatives=2)
    kinds = [(p.label, p.kind) for p in pairs]
    assert kinds == [(1, "positive"), (1, "positive"), (0, "distractor"), (0, "same_results"),
                     (0, "same_results")]
    firsts = [p.text.split(" [SEP] ")[0] for p in pairs]
    # a sentence naming the right choice beside a wrong one is no positive (nor a negative)
    assert not any(f.startswith("Texas and Louisiana") for f in firsts)
    assert firsts[3].startswith("The hurricane hit the coast hardest")
    assert firsts[4].startswith("The hurricane hit hardest at night")


def test_a_news_question_whose_answer_is_not_named_gives_no_pairs():
    from eval.train.reader import news_question_pairs

    text = "Officials in Texas prepared shelters. Power was out for days."
    assert news_question_pairs("Which state did the hurricane hit?", "Louisiana", ["Texas"],
                               news_sentences(text)) == []


def test_realtimeqa_pairs_never_read_the_excluded_or_reserved_weeks(tmp_path, monkeypatch):
    from eval import external as X
    from eval.train.reader import excluded_weeks, realtimeqa_pairs
    from tests.eval.test_external import art, jsonl, write_week

    repo = tmp_path / "realtimeqa_public"
    write_week(repo, "20230106", [
        {"q": "Which team won the cup on Sunday?", "choices": ["Reds", "Blues"], "answer": 1}],
        {"0": [art("https://news.example/a", "The Blues won the cup on Sunday. The Reds lost.")]})
    write_week(repo, "20230113", [
        {"q": "Which city saw snow?", "choices": ["Boston", "Denver"], "answer": 0}],
        {"0": [art("https://news.example/b", "Boston saw snow. Denver stayed dry.")]})
    (repo / "past" / "2022").mkdir(parents=True)
    (repo / "past" / "2022" / "20221230_qa.jsonl").write_text("{not json", encoding="utf-8")
    (repo / "past" / "2022" / "20221230_gcs.jsonl").write_text("{not json", encoding="utf-8")
    measure = tmp_path / "measure.jsonl"
    jsonl(measure, [{"id": "20230113_0", "question": "Which city saw snow?",
                     "notes": "week 2023-01-13; correct choice: Boston; CNN"}])
    seen: list[str] = []
    original = X.RepoReader.read
    monkeypatch.setattr(X.RepoReader, "read", lambda self, rel: seen.append(rel) or original(self, rel))

    exclude = excluded_weeks([measure])
    pairs, info = realtimeqa_pairs(repo, exclude, progress=False)

    assert exclude == {"20230113"}
    assert {p.question for p in pairs} == {"Which team won the cup on Sunday?"}
    assert info["realtimeqa_weeks"] == 1 and info["realtimeqa_questions"] == 1
    assert seen and all("20230113" not in rel and "2022" not in rel for rel in seen)


def test_news_pairs_are_added_to_the_capped_squad_pairs(tmp_path):
    from eval.train.reader import build_pairs

    squad_file = tmp_path / "squad.json"
    squad_file.write_text(json.dumps(squad()), encoding="utf-8")
    reserved = tmp_path / "reserved.txt"
    reserved.write_text("")
    news = [Pair("Which team won?", "The Blues won.", 1, "positive")] * 3
    without, _ = build_pairs(squad_file, reserved, None, seed=0, max_pairs=2)
    pairs, info = build_pairs(squad_file, reserved, None, seed=0, max_pairs=2, news=news)
    assert len(without) <= 2 and len(pairs) == len(without) + 3
    assert info["kinds"]["positive"] >= 3


def _report_excerpt(uid: str, city: str, staff: str) -> dict:
    return {
        "table": {"uid": uid, "table": [["", "2019", "2018"], ["Revenue", "$1,073.3", "$1,095.0"],
                                        ["Operating costs", "$812.0", "$799.4"]]},
        "paragraphs": [
            {"uid": "p1", "order": 1, "text": f"We sell pumps from our head office in {city}."},
            {"uid": "p2", "order": 2, "text": f"At year end we employed {staff} people in all."},
            {"uid": "p3", "order": 3, "text": "Revenue fell because of weaker demand in Europe."}],
        "questions": [
            {"uid": f"{uid}-q1", "question": "How many people did the company employ at year end?",
             "answer": [staff], "answer_type": "span", "answer_from": "text"},
            {"uid": f"{uid}-q2", "question": "What was the revenue in 2018?",
             "answer": ["$1,095.0"], "answer_type": "span", "answer_from": "table"},
            {"uid": f"{uid}-q4", "question": "What does the company sell worldwide?",
             "answer": ["pumps"], "answer_type": "span", "answer_from": "text"},
            {"uid": f"{uid}-q3", "question": "Which years does the table show?",
             "answer": ["2019", "2018"], "answer_type": "multi-span", "answer_from": "table"},
        ]}


@pytest.mark.slow
def test_tatqa_pairs_read_tune_excerpts_only_through_the_answerers_units(tmp_path, make_citewise):
    from eval.tatqa import build_parts, read_tatqa
    from eval.train.reader import tatqa_pairs

    cities = ["Dayton", "Leeds", "Lyon", "Graz", "Turin", "Porto"]
    src = tmp_path / "tatqa_dataset_dev.json"
    src.write_text(json.dumps([_report_excerpt(f"t{i}", c, f"{1200 + 37 * i:,}")
                               for i, c in enumerate(cities)]), encoding="utf-8")
    parts, files, _ = build_parts(read_tatqa(src), "md", 0)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, data in files.items():
        (corpus / name).write_bytes(data)
    store = tmp_path / "store"
    cw = make_citewise(store=store)
    assert cw.ingest([corpus]).ok
    pairs, info = tatqa_pairs(src, store, seed=0, progress=False)
    tune_ids = {r["question"] + r["sources"][0] for r in parts["tune"]}
    tune_sources = {r["sources"][0] for r in parts["tune"]}
    assert info["tatqa_tune_excerpts"] == len(tune_sources) == 3
    # a bare year says nothing about which unit holds it: "Which years ...?" gives no pair
    assert {p.question for p in pairs if p.kind != "tatqa_near_miss"} == {
        "How many people did the company employ at year end?", "What was the revenue in 2018?",
        "What does the company sell worldwide?"}
    assert info["tatqa_tune_questions"] == 3 * len(tune_sources) and len(tune_ids) == 12
    staff = {f"{1200 + 37 * i:,}" for i, c in enumerate(cities)
             if f"tatqa-t{i}.md" in tune_sources}
    measure_staff = {f"{1200 + 37 * i:,}" for i in range(6)} - staff
    employ = [p for p in pairs if p.question.startswith("How many people")]
    for p in employ:
        said = p.text.split(" [SEP] ")[0]
        assert not any(s in p.text for s in measure_staff)  # never a measure excerpt
        assert (p.label == 1) == any(s in said for s in staff), p
    # negatives are the units the answerer could still quote (a vetoed one is never read)
    assert {p.kind for p in pairs} >= {"tatqa_positive", "tatqa_other_unit"}
    assert all(p.label == 0 for p in pairs if p.kind == "tatqa_other_unit")
    revenue = [p for p in pairs if p.question == "What was the revenue in 2018?" and p.label]
    assert revenue and all("Revenue" in p.text and "1,095.0" in p.text for p in revenue)


def test_tatqa_pairs_need_the_excerpts_in_the_store(tmp_path, make_citewise):
    from eval.train.reader import tatqa_pairs

    src = tmp_path / "tatqa_dataset_dev.json"
    src.write_text(json.dumps([_report_excerpt(f"t{i}", "Leeds", "1,200") for i in range(2)]),
                   encoding="utf-8")
    make_citewise(store=tmp_path / "empty")
    with pytest.raises(SystemExit, match="ingest the excerpts first"):
        tatqa_pairs(src, tmp_path / "empty", seed=0, progress=False)
