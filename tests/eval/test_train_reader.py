"""The reader's training recipe (eval/train_reader.py) and the shared splits (eval/splits.py)."""

from __future__ import annotations

import json
import random

import pytest

from eval.splits import read_reserved, split_titles
from eval.train_reader import Pair, sentences_of, squad_pairs

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
    from eval.train_reader import train, write_manifest
    from rag.reader import Reader, pair_text

    pairs = [Pair("Who founded Acme?", pair_text("Acme was founded by Jane Roe."), 1, "positive"),
             Pair("Who founded Acme?", pair_text("Acme sells tools."), 0, "same_paragraph")] * 4
    info = {"training": train(pairs, tmp_path, epochs=1, batch_size=4, lr=5e-5, seed=0,
                              threads=2)}
    write_manifest(tmp_path, info)
    manifest = json.loads((tmp_path / "reader.json").read_text())
    assert manifest["training"]["seed"] == 0 and len(manifest["sha256"]) == 64
    reader = Reader(tmp_path)
    assert reader.score("Who founded Acme?", [p.text for p in pairs[:2]]).shape == (2,)
