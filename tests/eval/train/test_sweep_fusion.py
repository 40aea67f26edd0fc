"""The fusion sweep runs the live retriever (with its near-duplicate collapse), not a copy."""

from __future__ import annotations

import json

from eval.datasets import load_dataset
from eval.train.sweep_fusion import DEPTH, sweep, variants
from rag.retrieval.retriever import HybridSearcher

FILLER = ("The colony is counted every spring by volunteers who walk the same paths each year, "
          "note every animal they see, and compare the totals with the years before. ")
WIRE = ("Quokkas live on Rottnest Island off Western Australia. " + FILLER * 4
        + "They weigh about three kilograms and feed on leaves, grasses and bark at night.")


def test_sweep_scores_what_the_retriever_returns_after_collapsing_near_duplicates(
        make_citewise, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "wire.txt").write_text("Quokka report\n\n" + WIRE, encoding="utf-8")
    # a syndicated copy, one word apart: a near-duplicate, not a byte-identical one
    (corpus / "copy.txt").write_text("Quokka report\n\n" + WIRE.replace("at night", "at dusk"),
                                     encoding="utf-8")
    (corpus / "rail.txt").write_text("Railway news\n\nThe new railway line to Perth opens in "
                                     "March with six stations.", encoding="utf-8")
    cw = make_citewise()
    assert cw.ingest([corpus]).ok
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in [
        {"id": "q1", "question": "Where do quokkas live?", "answers": ["Rottnest Island"],
         "sources": ["copy.txt", "wire.txt"]},
        {"id": "q2", "question": "When does the railway line to Perth open?",
         "answers": ["March"], "sources": ["rail.txt"]},
    ]) + "\n", encoding="utf-8")
    samples = load_dataset(questions).samples

    rows = sweep(cw, samples, k=10)
    assert [label for label, _ in rows] == [label for label, _ in variants()]
    for (label, (hit5, mrr, _, recall)), (_, params) in zip(rows, variants(), strict=True):
        assert params.candidates <= DEPTH
        # the product's retriever shows one of the two quokka copies, never both: q1 recalls
        # 1 of its 2 sources, q2 all of its one
        assert hit5 == 1.0 and mrr == 1.0 and recall == 0.75, (label, hit5, mrr, recall)
        live = HybridSearcher(cw.index, cw.embedder, params).search(samples[0].question, 10)
        assert len({h.chunk.source for h in live} & {"wire.txt", "copy.txt"}) == 1
