"""Sweep the hybrid retriever's fusion parameters on a dataset, to pick defaults by measurement.

The store must already hold the dataset's documents (``citewise eval DATASET --store S`` ingests
them). Every variant runs the product's own retriever, ``rag.retrieval.retriever.HybridSearcher`` with its
``FusionParams`` (fusion, orphan guard and near-duplicate collapse included), so the sweep tunes
what ships, not a copy. Each question's dense and BM25 candidates and chunk reads are memoised
across the variants (``_Memo``), so a variant costs only its fusion and de-duplication.

Scores are document-level over the distinct sources of the first ``--k`` hits (default 10):
hit@5, MRR@10, nDCG@10, recall@k.

    python -m eval.train.sweep_fusion ../shared/datasets/beir-scifact --store /tmp/sf
    python -m eval.train.sweep_fusion ../shared/datasets/squad-v1.1-dev/dev-v1.1.json --store /tmp/sq \\
        --limit 2000
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np

from citewise import Citewise
from eval.datasets import load_dataset
from rag.config import Settings
from rag.records import Chunk, Filters
from rag.retrieval.retriever import FusionParams, HybridSearcher
from rag.storage.store import DocRecord, Index

DEPTH = 100  # candidates per retriever the sweep goes up to


class _MemoBM25:
    """The store's BM25 index with unfiltered searches memoised (the sweep never filters)."""

    def __init__(self, bm25: Any) -> None:
        self._bm25 = bm25
        self.memo: dict[tuple[str, int], list[tuple[str, float]]] = {}

    def search(self, query: str, k: int = 50,
               allowed: set[str] | None = None) -> list[tuple[str, float]]:
        if allowed is not None:
            found: list[tuple[str, float]] = self._bm25.search(query, k, allowed)
            return found
        key = (query, k)
        if key not in self.memo:
            self.memo[key] = self._bm25.search(query, k)
        return self.memo[key]


class _Memo:
    """The index as HybridSearcher sees it, with the reads that do not depend on the fusion
    parameters memoised: every variant asks for the same candidates and chunks. ``clear()``
    between questions keeps memory to one question's candidates."""

    def __init__(self, index: Index) -> None:
        self._index = index
        self._records = index.records()
        self._bm25 = _MemoBM25(index.bm25())
        self._dense: dict[tuple[bytes, int], list[tuple[str, float]]] = {}
        self._chunks: dict[str, Chunk] = {}

    def clear(self) -> None:
        self._dense.clear()
        self._chunks.clear()
        self._bm25.memo.clear()

    def records(self) -> dict[str, DocRecord]:
        return self._records

    def sources_matching(self, filters: Filters) -> set[str]:
        return self._index.sources_matching(filters)

    def bm25(self) -> _MemoBM25:
        return self._bm25

    def dense_ids(self, vector: np.ndarray, k: int,
                  sources: set[str] | None = None) -> list[tuple[str, float]]:
        if sources is not None:
            return self._index.dense_ids(vector, k, sources)
        key = (np.asarray(vector, dtype=np.float32).tobytes(), k)
        if key not in self._dense:
            self._dense[key] = self._index.dense_ids(vector, k)
        return self._dense[key]

    def get_chunks(self, ids: list[str]) -> dict[str, Chunk]:
        missing = [i for i in ids if i not in self._chunks]
        self._chunks.update(self._index.get_chunks(missing))
        return {i: self._chunks[i] for i in ids if i in self._chunks}


def scores(ranked: list[str], relevance: dict[str, int]) -> tuple[float, float, float, float]:
    """hit@5, MRR@10, nDCG@10 and recall over the whole ranked list of sources."""
    hit5 = float(any(s in relevance for s in ranked[:5]))
    mrr = next((1 / (i + 1) for i, s in enumerate(ranked[:10]) if s in relevance), 0.0)
    dcg = sum(relevance.get(s, 0) / math.log2(i + 2) for i, s in enumerate(ranked[:10]))
    ideal = sorted(relevance.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal)) or 1.0
    recall = len(set(ranked) & set(relevance)) / max(len(relevance), 1)
    return hit5, mrr, dcg / idcg, recall


def variants() -> list[tuple[str, FusionParams]]:
    """Table rows: dense only, BM25 only, then the weighted-RRF grid."""
    rows = [("| 1 | 0 | - | " + str(DEPTH), FusionParams(candidates=DEPTH, sparse_weight=0.0)),
            ("| 0 | 1 | - | " + str(DEPTH), FusionParams(candidates=DEPTH, dense_weight=0.0))]
    for ws, k, cand in itertools.product([0.5, 1.0, 1.5], [10, 30, 60], [50, 100]):
        rows.append((f"| 1 | {ws} | {k} | {cand}",
                     FusionParams(candidates=cand, rrf_k=k, dense_weight=1.0, sparse_weight=ws)))
    return rows


def sweep(cw: Citewise, samples: list[Any], k: int = 10) -> list[tuple[str, list[float]]]:
    """Mean (hit@5, MRR@10, nDCG@10, recall@k) per variant, each run by the live retriever."""
    memo = _Memo(cw.index)
    rows = [(label, HybridSearcher(memo, cw.embedder, params))  # type: ignore[arg-type]
            for label, params in variants()]
    totals = [[0.0] * 4 for _ in rows]
    for sample in samples:
        memo.clear()
        relevance = sample.relevance or {s: 1 for s in sample.sources}
        for total, (_, searcher) in zip(totals, rows, strict=True):
            ranked: list[str] = []
            for hit in searcher.search(sample.question, k):
                if hit.chunk.source not in ranked:
                    ranked.append(hit.chunk.source)
            for i, value in enumerate(scores(ranked, relevance)):
                total[i] += value
    n = max(len(samples), 1)
    return [(label, [t / n for t in total]) for (label, _), total in zip(rows, totals, strict=True)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.train.sweep_fusion", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", type=Path)
    p.add_argument("--store", type=Path, required=True)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--k", type=int, default=10, help="hits asked of the retriever per question")
    args = p.parse_args(argv)

    data = load_dataset(args.dataset)
    samples = [s for s in data.samples if s.relevance or s.sources]
    if args.limit:
        random.Random(args.seed).shuffle(samples)
        samples = samples[: args.limit]
    cw = Citewise(Settings(store=args.store))
    out = sys.stdout
    out.write(f"{data.name}: {len(samples)} questions, {args.k} hits each\n\n")
    out.write("| dense w | BM25 w | rrf_k | candidates | hit@5 | MRR@10 | nDCG@10 | "
              f"recall@{args.k} |\n")
    out.write("|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for label, means in sweep(cw, samples, args.k):
        out.write(f"{label} | " + " | ".join(f"{m:.4f}" for m in means) + " |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
