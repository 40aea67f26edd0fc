"""Sweep the hybrid retriever's fusion parameters on a dataset, to pick defaults by measurement.

The store must already hold the dataset's documents (``citewise eval DATASET --store S`` ingests
them). Dense and BM25 rankings are computed once per question; fusion variants are scored
offline (document-level hit@5, MRR@10, nDCG@10, recall@100), so the sweep takes seconds.

    python -m eval.sweep_fusion ../shared/datasets/beir-scifact --store /tmp/sf
    python -m eval.sweep_fusion ../shared/datasets/squad-v1.1-dev/dev-v1.1.json --store /tmp/sq \\
        --limit 2000
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import sys
from pathlib import Path

from eval.datasets import load_dataset
from rag.config import Settings
from rag.pipeline import Citewise

DEPTH = 100


def fuse(dense: list[str], sparse: list[str], source_of: dict[str, str], w_dense: float,
         w_sparse: float, rrf_k: int, candidates: int) -> list[str]:
    """Weighted reciprocal rank fusion of two chunk rankings -> ranked distinct source ids."""
    score: dict[str, float] = {}
    for ranking, weight in ((dense, w_dense), (sparse, w_sparse)):
        for rank, cid in enumerate(ranking[:candidates], 1):
            score[cid] = score.get(cid, 0.0) + weight / (rrf_k + rank)
    out: list[str] = []
    for cid in sorted(score, key=lambda c: -score[c]):
        if source_of[cid] not in out:
            out.append(source_of[cid])
    return out


def scores(ranked: list[str], relevance: dict[str, int]) -> tuple[float, float, float, float]:
    hit5 = float(any(s in relevance for s in ranked[:5]))
    mrr = next((1 / (i + 1) for i, s in enumerate(ranked[:10]) if s in relevance), 0.0)
    dcg = sum(relevance.get(s, 0) / math.log2(i + 2) for i, s in enumerate(ranked[:10]))
    ideal = sorted(relevance.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal)) or 1.0
    recall = len(set(ranked[:100]) & set(relevance)) / max(len(relevance), 1)
    return hit5, mrr, dcg / idcg, recall


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.sweep_fusion", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", type=Path)
    p.add_argument("--store", type=Path, required=True)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    data = load_dataset(args.dataset)
    samples = [s for s in data.samples if s.relevance or s.sources]
    if args.limit:
        random.Random(args.seed).shuffle(samples)
        samples = samples[: args.limit]
    cw = Citewise(Settings(store=args.store))
    index, bm25 = cw.index, cw.index.bm25()
    source_of: dict[str, str] = {}
    runs = []
    vectors = cw.embedder.embed_documents([s.question for s in samples])
    for sample, vec in zip(samples, vectors, strict=True):
        dense = index.dense_search(vec, DEPTH)
        for chunk, _ in dense:
            source_of[chunk.id] = chunk.source
        sparse = [cid for cid, _ in bm25.search(sample.question, DEPTH)]
        relevance = sample.relevance or {s: 1 for s in sample.sources}
        runs.append(([c.id for c, _ in dense], sparse, relevance))
    unknown = list({cid for _, sparse, _ in runs for cid in sparse} - set(source_of))
    for i in range(0, len(unknown), 2000):
        for cid, chunk in index.get_chunks(unknown[i : i + 2000]).items():
            source_of[cid] = chunk.source

    def table(w_dense: float, w_sparse: float, rrf_k: int, cand: int) -> str:
        totals = [0.0] * 4
        for dense, sparse, rel in runs:
            ranked = fuse(dense, sparse, source_of, w_dense, w_sparse, rrf_k, cand)
            totals = [a + b for a, b in zip(totals, scores(ranked, rel), strict=True)]
        return " | ".join(f"{t / len(runs):.4f}" for t in totals)

    out = sys.stdout
    out.write(f"{data.name}: {len(runs)} questions\n\n")
    out.write("| dense w | BM25 w | rrf_k | candidates | hit@5 | MRR@10 | nDCG@10 | recall@100 |\n")
    out.write("|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    out.write(f"| 1 | 0 | - | {DEPTH} | {table(1, 0, 60, DEPTH)} |\n")
    out.write(f"| 0 | 1 | - | {DEPTH} | {table(0, 1, 60, DEPTH)} |\n")
    for ws, k, cand in itertools.product([0.5, 1.0, 1.5], [10, 30, 60], [50, 100]):
        out.write(f"| 1 | {ws} | {k} | {cand} | {table(1.0, ws, k, cand)} |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
