"""The first passages of a search, ordered again by a small learned model.

Why: reciprocal rank fusion keeps only each retriever's rank, so a passage BM25 scores far above
the rest, or one holding a single sentence very close to the question, ranks like any other.
The answerer reads the first ``k`` passages and weighs their order, so the order matters. A
logistic regression over nine numbers the search already has (fused rank, dense cosine and its
gap to the best, BM25 score as a share of the best, each retriever's rank, and the best and
second-best cosine of the passage's sentences with the question, from the sentence vectors
stored at ingest) scores the first ``depth`` passages; no model runs. Fitted on the tune parts
of the external sets by ``python -m eval.train.rerank`` (BENCHMARKS.md, "Passages ordered
again"). A passage without stored sentence vectors leaves the fused order as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, cast

import numpy as np

from rag.errors import ModelError
from rag.records import Hit

MODEL_FILE = "rerank.json"
UNRANKED = 200  # the rank given a passage one retriever did not return

#: the model's inputs, in order; ``features`` computes them
FEATURES = (
    "fused_rank",  # 1 / (10 + rank after fusion)
    "dense",  # cosine of question and passage
    "bm25_share",  # BM25 score / the best among the passages ranked
    "dense_rank",  # 1 / (10 + rank in the dense list)
    "bm25_rank",  # 1 / (10 + rank in the BM25 list)
    "sentence",  # best cosine of one of its sentences with the question
    "sentence_gap",  # that, minus the best over the passages ranked
    "second_sentence",  # second-best sentence cosine (the best when it has one sentence)
    "dense_gap",  # passage cosine minus the best over the passages ranked
)


def _unit(vec: Sequence[float] | np.ndarray) -> np.ndarray:
    v = np.asarray(vec, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def sentence_cosines(hit: Hit, query: np.ndarray) -> np.ndarray | None:
    """Cosines of the passage's stored sentence vectors with the (unit) query, best first;
    None when the passage has none or they don't match the query's dimension."""
    sv = hit.chunk.sentence_vectors
    if sv is None or not len(sv.spans) or sv.vectors.shape[1] != query.shape[0]:
        return None
    return np.sort(sv.vectors @ query)[::-1]


def features(hits: Sequence[Hit], query: Sequence[float] | np.ndarray) -> np.ndarray | None:
    """One row of ``FEATURES`` per hit, in the hits' (fused) order; None when a hit has no
    sentence vectors (a store from before them, or an embedder without token outputs)."""
    q = _unit(query)
    found = [sentence_cosines(h, q) for h in hits]
    if not hits or any(c is None for c in found):
        return None
    cosines = cast(list[np.ndarray], found)
    best_bm25 = max((h.sparse_score or 0.0) for h in hits) or 1.0
    best_dense = max((h.dense_score or 0.0) for h in hits)
    best_sentence = max(float(c[0]) for c in cosines)
    rows = []
    for rank, (h, c) in enumerate(zip(hits, cosines, strict=True), start=1):
        dense = h.dense_score or 0.0
        top = float(c[0])
        rows.append([
            1.0 / (10 + rank),
            dense,
            (h.sparse_score or 0.0) / best_bm25,
            1.0 / (10 + (h.dense_rank or UNRANKED)),
            1.0 / (10 + (h.sparse_rank or UNRANKED)),
            top,
            top - best_sentence,
            float(c[1]) if len(c) > 1 else top,
            dense - best_dense,
        ])
    return np.asarray(rows, dtype=np.float64)


@dataclass(frozen=True)
class RerankModel:
    """The fitted weights (``rerank.json``): a score per passage, higher first."""

    weights: tuple[float, ...]
    bias: float
    depth: int  # how many fused passages it orders (at least ``k``)
    version: str = ""
    trained: Mapping[str, Any] | None = None  # data, seed and figures, as the trainer wrote them

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> RerankModel:
        try:
            names = tuple(data["features"])
            weights = tuple(float(w) for w in data["weights"])
            model = cls(weights=weights, bias=float(data["bias"]), depth=int(data["depth"]),
                        version=str(data.get("version", "")), trained=data.get("trained"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{where}: not a re-ranking model ({exc}); reinstall citewise or "
                             "refit with `python -m eval.train.rerank`.") from exc
        if names != FEATURES or len(weights) != len(FEATURES) or model.depth < 1:
            raise ModelError(f"{where}: its features {list(names)} are not this version's "
                             f"{list(FEATURES)}; refit with `python -m eval.train.rerank`.")
        return model

    @classmethod
    def load(cls, path: str | Path | None = None) -> RerankModel:
        """The model at ``path``, or the one shipped with citewise."""
        if path is not None:
            try:
                return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")), str(path))
            except (OSError, ValueError) as exc:
                raise ModelError(f"cannot read the re-ranking model {path}: {exc}") from exc
        ref = resources.files("rag.retrieval").joinpath(MODEL_FILE)
        return cls.from_dict(json.loads(ref.read_text(encoding="utf-8")), f"rag/retrieval/{MODEL_FILE}")

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "features": list(FEATURES), "weights": list(self.weights),
                "bias": self.bias, "depth": self.depth, "trained": dict(self.trained or {})}

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return rows @ np.asarray(self.weights, dtype=np.float64) + self.bias

    def order(self, rows: np.ndarray) -> list[int]:
        """Row indices best first; ties keep the given (fused) order."""
        scores = self.scores(rows)
        return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


class Reranker:
    """Orders the first ``model.depth`` hits of a search by the model's score."""

    def __init__(self, model: RerankModel | None = None) -> None:
        self.model = model or RerankModel.load()

    @property
    def depth(self) -> int:
        return self.model.depth

    def run(self, hits: list[Hit], query: Sequence[float] | np.ndarray) -> list[Hit]:
        """``hits`` ordered by score (ties keep the fused order); unchanged without vectors."""
        rows = features(hits, query)
        if rows is None:
            return hits
        return [hits[i] for i in self.model.order(rows)]
