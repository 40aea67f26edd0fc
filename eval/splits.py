"""Tune / measure splits of the external sets, by article: one definition for every user.

The reader's training (eval/train/reader.py), the scorer's training and the development-set
builders (eval/external.py) must agree on which articles are tuned on and which are only
measured on; they all call :func:`split_titles`. Reserved SQuAD articles are in neither part.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SQUAD_MEASURE_ARTICLES = 8  # of the 32 non-reserved SQuAD v1.1 dev articles
SQUAD2_MEASURE_ARTICLES = 3  # of the 10 articles of the SQuAD 2.0 train subset


def hard_titles(data: dict[str, Any]) -> set[str]:
    """Titles of the SQuAD-format articles that have unanswerable questions."""
    return {str(a["title"]) for a in data["data"]
            if any(q.get("is_impossible") for p in a["paragraphs"] for q in p["qas"])}


def read_reserved(path: str | Path) -> set[str]:
    """Titles listed one per line; '#' starts a comment."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return {s for line in lines if (s := line.split("#", 1)[0].strip())}


def split_titles(titles: Iterable[str], reserved: set[str], seed: int = 0,
                 measure: int = SQUAD_MEASURE_ARTICLES,
                 hard: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """(tune, measure) article titles, reserved ones left out; seeded, order-independent.

    Stratified by ``hard`` (articles with unanswerable questions, in SQuAD 2.0 only two of ten):
    each part gets its share of them, at least one when there are two or more, so the measure
    part can measure abstention."""
    pool = sorted({t for t in titles if t not in reserved})
    rng = random.Random(f"split:{seed}")
    hard_set = set(hard)
    groups = [[t for t in pool if t in hard_set], [t for t in pool if t not in hard_set]]
    want = round(len(groups[0]) * measure / len(pool)) if pool else 0
    if len(groups[0]) >= 2:
        want = min(max(want, 1), len(groups[0]) - 1)
    want = min(max(want, measure - len(groups[1])), len(groups[0]))
    chosen: list[str] = []
    for group, n in ((groups[0], want), (groups[1], measure - want)):
        rng.shuffle(group)
        chosen += group[:n]
    return sorted(set(pool) - set(chosen)), sorted(chosen)
