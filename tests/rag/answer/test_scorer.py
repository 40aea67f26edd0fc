"""The learned answer scorer: a versioned file whose features match the code (rag/answer/scorer.py)."""

from __future__ import annotations

import json

import pytest

from rag.answer.scorer import FEATURES, AnswerScorer, has_bundled
from rag.errors import ConfigError


def test_the_bundled_scorer_matches_the_features_the_code_computes():
    assert has_bundled()
    scorer = AnswerScorer.load()
    assert len(scorer.weights) == len(FEATURES)
    assert 0.0 < scorer.threshold < 1.0
    assert scorer.version


def test_probability_rises_with_similarity_and_falls_with_missing_names():
    scorer = AnswerScorer.load()
    base = dict.fromkeys(FEATURES, 0.5)

    def p(**changes: float) -> float:
        return scorer.probability([{**base, **changes}[f] for f in FEATURES])

    assert p(cosine=0.9) > p(cosine=0.3)
    assert p(scope_missing=2.0) < p(scope_missing=0.0)


def test_a_scorer_for_other_features_is_refused_with_how_to_fix(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"features": ["cosine"], "weights": [1.0], "bias": 0.0,
                                "threshold": 0.5}))
    with pytest.raises(ConfigError, match=r"python -m eval\.train\.scorer"):
        AnswerScorer.load(path)
    path.write_text("not json")
    with pytest.raises(ConfigError, match="not an answer scorer"):
        AnswerScorer.load(path)
