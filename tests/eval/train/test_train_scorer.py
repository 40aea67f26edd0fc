"""The scorer's training: question-level decisions and the threshold search (pure parts)."""

from __future__ import annotations

import numpy as np

from eval.train.scorer import Example, _best_threshold, _decide


def ex(kind: str, scores: list[float], labels: list[int]) -> tuple[Example, np.ndarray]:
    e = Example(kind, x=[[0.0]] * len(scores), y=labels, legacy=scores)
    return e, np.asarray(scores)


def test_decide_counts_answers_abstentions_and_correct_picks():
    rows = [ex("answerable", [0.9, 0.2], [1, 0]), ex("answerable", [0.3], [1]),
            ex("answerable", [0.8, 0.95], [1, 0]), ex("near_miss", [0.7], [0]),
            ex("other_doc", [], [])]
    examples, scores = [r[0] for r in rows], [r[1] for r in rows]
    m = _decide(examples, scores, 0.5)
    assert m["false_abstention"] == round(1 / 3, 4)
    assert m["answer_correct"] == round(1 / 3, 4)  # the third answered with the wrong sentence
    assert m["abstention_near_miss"] == 0.0
    assert m["abstention_other_doc"] == 1.0


def test_threshold_keeps_false_abstention_bounded():
    rows = [ex("answerable", [0.6], [1]) for _ in range(9)] + [ex("answerable", [0.2], [1])]
    rows += [ex("near_miss", [0.4], [0]) for _ in range(10)]
    examples, scores = [r[0] for r in rows], [r[1] for r in rows]
    t = _best_threshold(examples, scores)
    assert 0.4 < t <= 0.6  # abstains on the near misses, answers the nine
