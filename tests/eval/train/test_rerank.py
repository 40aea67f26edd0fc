"""Fitting the passage re-ranker (eval/train/rerank.py) on a small real store."""

from __future__ import annotations

import json

import numpy as np

from eval.train.rerank import Ranked, fit, hits_at, main
from rag.retrieval.rerank import FEATURES, RerankModel


def ranked(labels: list[bool], signal: list[float]) -> Ranked:
    rows = np.zeros((len(labels), len(FEATURES)))
    rows[:, FEATURES.index("sentence")] = signal
    rows[:, FEATURES.index("fused_rank")] = [1 / (10 + r) for r in range(1, len(labels) + 1)]
    return Ranked(rows, np.asarray(labels))


def test_fit_learns_the_feature_that_marks_the_gold_passage_and_hits_count_it():
    rng = np.random.default_rng(0)
    questions = []
    for _ in range(60):
        gold = int(rng.integers(0, 8))
        labels = [i == gold for i in range(8)]
        signal = [1.0 if i == gold else float(rng.uniform(0, 0.6)) for i in range(8)]
        questions.append(ranked(labels, signal))
    model = fit(questions, depth=8, seed=0)
    assert model.weights[FEATURES.index("sentence")] > 1.0
    fused, reranked = hits_at(questions, None), hits_at(questions, model)
    assert reranked == {"hit@1": 1.0, "hit@3": 1.0, "hit@5": 1.0}
    assert fused["hit@1"] < 0.5 and fused["hit@5"] < 1.0


def test_main_fits_on_a_store_and_writes_a_model_the_searcher_loads(tmp_path, citewise_over):
    from tests.rag.retrieval.test_rerank import DOCS

    cw = citewise_over(DOCS)
    store = cw.settings.store
    questions = tmp_path / "q.jsonl"
    rows = [
        {"id": "1", "question": "How long did ash fall on the villages?", "answers": ["three days"],
         "evidence": ["Ash fell on villages across North Sulawesi for three days."]},
        {"id": "2", "question": "How many piers were damaged?", "answers": ["forty"],
         "evidence": ["The port authority counted forty damaged piers."]},
        {"id": "3", "question": "When was the budget passed?", "answers": ["Tuesday"],
         "evidence": ["The city council passed the budget on Tuesday."]},
        {"id": "4", "question": "Who won the cup?", "answers": [], "answerable": False},
    ]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "rerank.json"
    spec = f"toy={questions}:{store}"
    assert main(["--set", spec, "--test-set", spec, "--depth", "5", "--out", str(out)]) == 0
    model = RerankModel.load(out)
    assert model.depth == 5 and model.trained is not None
    figures = model.trained["figures"]
    assert figures["fitted: toy"]["questions"] == 3  # the unanswerable one has no gold passage
    assert figures["held out: toy"]["fused"]["hit@5"] == 1.0


def test_main_refuses_a_depth_below_what_the_answerer_reads(tmp_path, capsys):
    assert main(["--set", f"x={tmp_path / 'q.jsonl'}:{tmp_path}", "--depth", "3"]) == 2
    assert "--depth" in capsys.readouterr().err
