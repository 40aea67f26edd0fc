"""Hybrid retrieval: dense (Chroma) + BM25, fused by weighted reciprocal rank fusion.

One step per function: filters -> allowed sources, dense and sparse candidates, ``fuse``,
then ``read_hits`` reads chunks best first in ``growing_batches``, drops chunks no document
record owns (``committed``: the crash-safety guard) and near-duplicates (``NearDuplicates``).

`HybridSearcher` does the work and returns typed Hits; `CitewiseRetriever`
(rag/retrieval/langchain_retriever.py) wraps it as a LangChain BaseRetriever so citewise composes into
other LangChain apps.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from rag.language.text import normalize
from rag.records import Chunk, Filters, Hit
from rag.retrieval.asof import AsOf
from rag.retrieval.rerank import Reranker
from rag.storage.embeddings import Embedder
from rag.storage.store import DocRecord, Index

log = logging.getLogger(__name__)


@dataclass
class FusionParams:
    """Defaults picked by measurement (BENCHMARKS.md, "Retrieval fusion"): swept over
    rrf_k {10, 30, 60} x candidates {50, 100} x sparse weight {0.5..2} on SQuAD v1.1 dev
    (2,000 questions) and SciFact test (300). rrf_k=10 with 100 candidates and equal weights
    is best on SQuAD (hit@5 0.957 vs 0.880 dense, 0.927 BM25) and within 0.002 of the best
    SciFact nDCG@10 (0.713 vs 0.654 dense, 0.670 BM25)."""

    candidates: int = 100  # per retriever, before fusion
    rrf_k: int = 10
    dense_weight: float = 1.0
    sparse_weight: float = 1.0
    dedupe_threshold: float = 0.9  # word-shingle Jaccard above which chunks are near-duplicates
    # the question's time window (rag/retrieval/asof.py): the dense and BM25 candidates published inside
    # it, ranked among themselves, are fused in with this weight each (BENCHMARKS.md, "Answers
    # as of a date")
    window_weight: float = 1.0


def _shingles(text: str) -> set[tuple[str, ...]]:
    toks = re.findall(r"\w+", normalize(text))
    return {tuple(toks[i : i + 3]) for i in range(max(len(toks) - 2, 1))}


def _near_duplicate(a: set, b: set, threshold: float) -> bool:
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= threshold


Ranking = list[tuple[str, float]]  # (chunk id, score), best first


@dataclass
class Fused:
    """Chunk ids by fused score, with each id's rank and score in either retriever."""

    ranked: list[str]
    scores: dict[str, float]
    dense_at: dict[str, tuple[int, float]]
    sparse_at: dict[str, tuple[int, float]]


def fuse(dense: Ranking, sparse: Ranking, p: FusionParams,
         extra: Sequence[tuple[Ranking, float]] = ()) -> Fused:
    """Weighted reciprocal rank fusion; ties broken by chunk id, so results are stable.
    ``extra`` rankings (with their weights) add to the score without being the hit's ranks."""
    dense_at = {cid: (rank, sim) for rank, (cid, sim) in enumerate(dense, 1)}
    sparse_at = {cid: (rank, score) for rank, (cid, score) in enumerate(sparse, 1)}
    fused: dict[str, float] = {}
    for cid, (rank, _) in dense_at.items():
        fused[cid] = fused.get(cid, 0.0) + p.dense_weight / (p.rrf_k + rank)
    for cid, (rank, _) in sparse_at.items():
        fused[cid] = fused.get(cid, 0.0) + p.sparse_weight / (p.rrf_k + rank)
    for ranking, weight in extra:
        for rank, (cid, _) in enumerate(ranking, 1):
            fused[cid] = fused.get(cid, 0.0) + weight / (p.rrf_k + rank)
    ranked = sorted(fused, key=lambda cid: (-fused[cid], cid))
    return Fused(ranked, fused, dense_at, sparse_at)


def growing_batches(ids: list[str], k: int) -> Iterator[list[str]]:
    """``ids`` in batches of 2k (at least 10), each twice the last: most questions need only
    the first k, a corpus full of syndicated copies needs more reads."""
    first, batch = 0, max(2 * k, 10)
    while first < len(ids):
        yield ids[first : first + batch]
        first, batch = first + batch, batch * 2


class NearDuplicates:
    """Remembers kept chunks' word shingles; a chunk too similar to one of them is a copy."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._kept: list[set] = []

    def is_copy(self, text: str) -> bool:
        """True for a near-duplicate of a kept chunk; otherwise keeps ``text`` and says False."""
        sh = _shingles(text)
        if any(_near_duplicate(sh, other, self.threshold) for other in self._kept):
            return True
        self._kept.append(sh)
        return False


def committed(cid: str, chunk: Chunk | None, records: dict[str, DocRecord]) -> DocRecord | None:
    """The document record that owns ``chunk``, or None for a chunk that must never be cited:
    gone from Chroma (still in BM25), or left by an interrupted write (its document record does
    not list it)."""
    if chunk is None:
        return None
    rec = records.get(chunk.source)
    return rec if rec is not None and cid in rec.chunk_ids else None


class HybridSearcher:
    """Finds the chunks that best match a query, within optional metadata filters."""

    def __init__(self, index: Index, embedder: Embedder, params: FusionParams | None = None,
                 aliases: Mapping[str, str] | None = None,
                 reranker: Reranker | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.params = params or FusionParams()
        #: orders the first fused passages again (rag/retrieval/rerank.py); None: fused order
        self.reranker = reranker
        #: a user's short names (CITEWISE_ALIASES_FILE), beside those each document defines
        self.aliases = dict(aliases or {})

    def search(self, query: str, k: int = 5, filters: Filters | None = None,
               when: AsOf | None = None) -> list[Hit]:
        """The best ``k`` hits. With ``when`` (the question's as-of day and time window) no
        document published after the day is read, and the candidates published inside the
        window are ranked again among themselves and fused in: a preference, not a filter."""
        records = self.index.records()
        sources = self.filtered_sources(filters)
        if sources is not None and not sources:
            return []
        n = max(self.params.candidates, k)
        dense = self.dense(query, n, sources)
        sparse = self.sparse(query, n, sources, records)
        extra: list[tuple[Ranking, float]] = []
        inside = when.inside(records) if when is not None else set()
        if inside and self.params.window_weight > 0:
            owner = self.index.chunk_sources()
            extra = [([c for c in ranking if owner.get(c[0]) in inside], self.params.window_weight)
                     for ranking in (dense, sparse)]
        fused = fuse(dense, sparse, self.params, extra)
        if self.reranker is None:
            return self.read_hits(fused, records, k, when)
        hits = self.read_hits(fused, records, max(k, self.reranker.depth), when)
        return self.reranker.run(hits, self.embedder.embed_query(query))[:k]

    def filtered_sources(self, filters: Filters | None) -> set[str] | None:
        """The sources the filters allow; None when there is no filter."""
        if filters is None or filters.is_empty():
            return None
        return set(self.index.sources_matching(filters))

    def dense(self, query: str, n: int, sources: set[str] | None) -> Ranking:
        if self.params.dense_weight <= 0:
            return []
        return self.index.dense_ids(self.embedder.embed_query(query), n, sources)

    def sparse(self, query: str, n: int, sources: set[str] | None,
               records: dict[str, DocRecord]) -> Ranking:
        if self.params.sparse_weight <= 0:
            return []
        allowed = None
        if sources is not None:
            allowed = set().union(*(records[s].chunk_ids for s in sources if s in records))
        return self.index.bm25().search(query, n, allowed)

    def read_hits(self, fused: Fused, records: dict[str, DocRecord], k: int,
                  when: AsOf | None = None) -> list[Hit]:
        """The first ``k`` committed, non-duplicate chunks, read best first in growing batches;
        none of a document published after ``when``'s day."""
        out: list[Hit] = []
        copies = NearDuplicates(self.params.dedupe_threshold)
        for ids in growing_batches(fused.ranked, k):
            chunks = self.index.get_chunks(ids)
            for cid in ids:
                chunk = chunks.get(cid)
                rec = committed(cid, chunk, records)
                if chunk is None or rec is None or (when is not None and not when.allows(
                        rec.published)) or copies.is_copy(chunk.text):
                    continue
                out.append(self._hit(chunk, rec, cid, fused))
                if len(out) >= k:
                    return out
        return out

    def _hit(self, chunk: Chunk, rec: DocRecord, cid: str, fused: Fused) -> Hit:
        aliases = {**self.aliases, **rec.aliases} if self.aliases else rec.aliases
        hit = Hit(chunk, fused.scores[cid], title=rec.title, url=rec.url,
                  published=rec.published, aliases=aliases, voice=rec.voice)
        if cid in fused.dense_at:
            hit.dense_rank, hit.dense_score = fused.dense_at[cid]
        if cid in fused.sparse_at:
            hit.sparse_rank, hit.sparse_score = fused.sparse_at[cid]
        return hit
