"""The answer scorer: how likely a candidate sentence is to answer the question, learned.

A logistic regression over features the extractive answerer already computes (embedding
cosine, idf-weighted overlap, retrieval rank, answer type, the question's constraints) and the
reader's score (rag/answer/reader.py, a cross-encoder). It is
trained by ``python -m eval.train.scorer`` on SQuAD v1.1 dev (answerable questions; near-miss
variants from eval/nearmiss.py; questions asked of a store without their article), split by
article, and stored as a small JSON file next to this module (``answer_scorer.json``: feature
names, weights, the abstention threshold and the held-out figures). Inference is a dot product:
no scikit-learn at run time.

Only sentences that keep to the question's constraints and have the asked-for kind of answer are
scored at all (rag/answer/constraints.py, rag/answer/answer_types.py): the scorer ranks and decides abstention
among the eligible, it never overrides a broken constraint.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import ConfigError

if TYPE_CHECKING:
    from rag.answer.candidates import ScoredSentence

MODEL_FILE = "answer_scorer.json"
FEATURES: tuple[str, ...] = (
    "cosine",  # question vs sentence (all-MiniLM-L6-v2)
    "lexical",  # idf-weighted share of the question's content words in the sentence
    "coverage",  # plain share of the question's content words in the sentence
    "rank",  # 1 - retrieval rank / k of the sentence's passage
    "headline",  # a headline, byline or label rather than a sentence
    "typed_question",  # the question asks for a kind of answer (who, when, how much ...)
    "entities",  # number of names the question gives (0..3)
    "anaphoric",  # a name was found only through the preceding sentences
    "length",  # log of the sentence's words
    "novelty",  # share of the sentence's content words the question doesn't have
    "yesno",  # the question is a yes/no question (an echo of it can answer it)
    "scope_missing",  # names scoping the question found nowhere in the passage (0..2)
    "asked_noun",  # names the noun a which/what question asks for (1), doesn't (0), none (0.5)
    "reader",  # the cross-encoder's logit (rag/answer/reader.py); READER_FLOOR when it didn't read it
    # question checks it fails that only weigh (rag/answer/checks.py: VETO_KINDS), in three groups
    "soft_subject",  # another subject: a name, holder or possession the question has is missing
    "soft_type",  # not the asked-for kind of answer (rag/answer/answer_types.py)
    "soft_other",  # anything else the question states (time, ordinal, count, wording ...)
)


def feature_vector(c: ScoredSentence, typed_question: bool, coverage: float,
                   yesno: bool = False) -> list[float]:
    """The features of one candidate, in ``FEATURES`` order."""
    return [
        c.cosine,
        c.lexical,
        coverage,
        c.rank_prior,
        1.0 if c.headline else 0.0,
        1.0 if typed_question else 0.0,
        float(min(c.check.entities_total, 3)),
        1.0 if c.check.anaphoric else 0.0,
        math.log1p(len(c.text.split())),
        c.novelty,
        1.0 if yesno else 0.0,
        float(min(c.check.scope_missing, 2)),
        c.asked,
        c.reader,
        *(float(v) for v in c.soft_failed),
    ]


@dataclass(frozen=True)
class AnswerScorer:
    """Weights over ``FEATURES`` and the probability below which the answerer abstains."""

    weights: tuple[float, ...]
    bias: float
    threshold: float
    features: tuple[str, ...] = FEATURES
    version: str = ""

    def probability(self, x: Sequence[float]) -> float:
        z = self.bias + sum(w * v for w, v in zip(self.weights, x, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def to_dict(self, **extra: object) -> dict[str, object]:
        return {"version": self.version, "features": list(self.features),
                "weights": list(self.weights), "bias": self.bias,
                "threshold": self.threshold, **extra}

    @classmethod
    def from_dict(cls, data: dict[str, object], where: str) -> AnswerScorer:
        feats: tuple[object, ...] = tuple(data.get("features", ()))  # type: ignore[arg-type]
        if feats != FEATURES:
            raise ConfigError(f"{where}: the answer scorer was trained on features {feats}, this "
                              f"citewise computes {FEATURES}; retrain with "
                              "`python -m eval.train.scorer`.")
        return cls(weights=tuple(float(w) for w in data["weights"]),  # type: ignore[attr-defined]
                   bias=float(data["bias"]),  # type: ignore[arg-type]
                   threshold=float(data["threshold"]),  # type: ignore[arg-type]
                   version=str(data.get("version", "")))

    @classmethod
    def load(cls, path: str | Path | None = None) -> AnswerScorer:
        """The bundled scorer, or the one at ``path``."""
        if path is None:
            return _bundled()
        p = Path(path)
        try:
            return cls.from_dict(json.loads(p.read_text(encoding="utf-8")), str(p))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{p}: not an answer scorer file ({exc}); retrain with "
                              "`python -m eval.train.scorer`.") from exc


@lru_cache(maxsize=1)
def _bundled() -> AnswerScorer:
    ref = resources.files("rag.answer").joinpath(MODEL_FILE)
    return AnswerScorer.from_dict(json.loads(ref.read_text(encoding="utf-8")), f"rag/{MODEL_FILE}")


def has_bundled() -> bool:
    return resources.files("rag.answer").joinpath(MODEL_FILE).is_file()
