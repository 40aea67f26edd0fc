"""The learned passage re-ranker (rag/retrieval/rerank.py): features, order, model file, wiring."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.errors import ModelError
from rag.records import Chunk, Hit
from rag.retrieval.rerank import FEATURES, Reranker, RerankModel, features
from rag.sentence_vectors import SentenceVectors


def unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def hit(name: str, sentences: list[np.ndarray] | None, dense: float | None = 0.5,
        bm25: float | None = 10.0, dense_rank: int | None = 1, bm25_rank: int | None = 1) -> Hit:
    text = ". ".join(f"{name} sentence {i}" for i in range(len(sentences or [None])))
    sv = None
    if sentences is not None:
        spans, start = [], 0
        for i in range(len(sentences)):
            piece = f"{name} sentence {i}"
            spans.append((start, start + len(piece)))
            start += len(piece) + 2
        sv = SentenceVectors(tuple(spans), np.vstack(sentences))
    chunk = Chunk(id=name, source=name, ordinal=0, start=0, end=len(text), text=text,
                  sentence_vectors=sv)
    return Hit(chunk, 0.1, dense_rank=dense_rank, sparse_rank=bm25_rank, dense_score=dense,
               sparse_score=bm25)


def model(**weights: float) -> RerankModel:
    return RerankModel(weights=tuple(weights.get(f, 0.0) for f in FEATURES), bias=0.0, depth=10)


def test_features_describe_each_passage_against_the_best_one():
    q = unit(1, 0, 0)
    hits = [hit("a", [unit(1, 1, 0), unit(0, 1, 0)], dense=0.6, bm25=20.0, bm25_rank=2),
            hit("b", [unit(1, 0, 0)], dense=0.4, bm25=None, dense_rank=3, bm25_rank=None)]
    rows = features(hits, q * 3)  # the query is made a unit vector first
    assert rows is not None and rows.shape == (2, len(FEATURES))
    a, b = ({n: float(v) for n, v in zip(FEATURES, row, strict=True)} for row in rows)
    assert a["fused_rank"] == pytest.approx(1 / 11) and b["fused_rank"] == pytest.approx(1 / 12)
    assert a["bm25_share"] == 1.0 and b["bm25_share"] == 0.0  # no BM25 score: nothing
    assert a["bm25_rank"] == pytest.approx(1 / 12) and b["bm25_rank"] == pytest.approx(1 / 210)
    assert a["sentence"] == pytest.approx(2 ** -0.5, abs=1e-3)  # float16 storage
    assert a["second_sentence"] == pytest.approx(0.0, abs=1e-3)
    assert b["sentence"] == pytest.approx(1.0, abs=1e-3) == b["second_sentence"]
    assert b["sentence_gap"] == 0.0 and a["sentence_gap"] == pytest.approx(2 ** -0.5 - 1, abs=1e-3)
    assert a["dense_gap"] == 0.0 and b["dense_gap"] == pytest.approx(-0.2)


def test_the_model_orders_passages_and_ties_keep_the_fused_order():
    q = unit(1, 0)
    hits = [hit("far", [unit(0, 1)]), hit("near", [unit(1, 0)]), hit("mid", [unit(1, 1)]),
            hit("near2", [unit(1, 0)])]
    ordered = Reranker(model(sentence=1.0)).run(hits, q)
    assert [h.chunk.id for h in ordered] == ["near", "near2", "mid", "far"]
    assert Reranker(model()).run(hits, q) == hits  # every score equal: as fused


def test_a_passage_without_sentence_vectors_leaves_the_fused_order():
    q = unit(1, 0)
    hits = [hit("far", [unit(0, 1)]), hit("old", None), hit("near", [unit(1, 0)])]
    assert features(hits, q) is None
    assert Reranker(model(sentence=1.0)).run(hits, q) == hits
    other_dim = [hit("far", [unit(0, 1, 0)]), hit("near", [unit(1, 0, 0)])]
    assert Reranker(model(sentence=1.0)).run(other_dim, q) == other_dim


def test_the_shipped_model_loads_and_a_wrong_file_says_how_to_refit(tmp_path):
    shipped = RerankModel.load()
    assert shipped.depth >= 5 and len(shipped.weights) == len(FEATURES)
    assert shipped.trained and shipped.trained["figures"]  # its figures travel with it
    assert RerankModel.from_dict(shipped.to_dict(), "x") == shipped
    stale = shipped.to_dict() | {"features": list(FEATURES[:-1]), "weights": [1.0] * 8}
    bad = tmp_path / "rerank.json"
    bad.write_text(json.dumps(stale), encoding="utf-8")
    with pytest.raises(ModelError, match="eval.train.rerank"):
        RerankModel.load(bad)
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="rerank.json"):
        RerankModel.load(bad)


DOCS = {
    "volcano.txt": "The eruption of Mount Ruang forced thousands to leave their homes. "
                   "Ash fell on villages across North Sulawesi for three days. "
                   "Officials said the volcano could erupt again within weeks.",
    "harbor.txt": "The harbor reopened after the storm. Fishing boats returned on Monday. "
                  "The port authority counted forty damaged piers.",
    "budget.txt": "The city council passed the budget on Tuesday. It spends more on roads. "
                  "Critics said the budget ignores the harbor and the volcano monitoring office.",
}


def test_search_orders_the_first_fused_passages_by_the_model(citewise_over):
    cw = citewise_over(DOCS)
    searcher = cw.searcher
    question = "How long did ash fall after the volcano erupted?"
    reranker = Reranker()  # the shipped model
    fused = cw.search(question, k=reranker.depth)
    query = cw.embedder.embed_query(question)
    expected = reranker.run(fused, query)[:2]
    searcher.reranker = reranker
    got = cw.search(question, k=2)
    assert [h.chunk.id for h in got] == [h.chunk.id for h in expected]
    assert features(fused, query) is not None  # ingest stored the sentence vectors it reads
    assert len(fused) == 3
    searcher.reranker = Reranker(model(fused_rank=-1.0))  # last fused first
    assert [h.chunk.id for h in cw.search(question, k=2)] == [h.chunk.id for h in fused[::-1][:2]]


def test_it_is_off_unless_the_setting_turns_it_on(make_citewise, tmp_path):
    assert make_citewise().searcher.reranker is None
    assert isinstance(make_citewise(tmp_path / "s2", rerank=True).searcher.reranker, Reranker)
