"""Incremental ingestion: files -> cleaned documents -> chunks -> embeddings -> the index.

Unchanged documents (same content hash) embed nothing; changed ones replace their chunks
atomically; ``prune`` removes documents whose files are gone so they can never be cited.
Embedding is batched across documents, because per-document batches starve the encoder.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from ingest.chunking import chunk_document
from ingest.loaders import LoadFailure, iter_documents
from rag.errors import CitewiseError
from rag.language.text import quote_spans
from rag.records import Chunk, Document, IngestReport
from rag.sentence_vectors import SentenceVectors
from rag.storage.embeddings import Embedder, SentencePoolingEmbedder
from rag.storage.store import Index

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (documents seen, chunks embedded)
#: a batch with its chunk vectors and token counts, ready to write
Embedded = tuple[list[tuple[Document, list[Chunk]]], list[np.ndarray], list[int]]


class Ingestor:
    """Turns documents into indexed chunks; one instance per ingest run."""

    def __init__(self, index: Index, chunk_tokens: int = 200, overlap_tokens: int = 30,
                 batch_chunks: int = 256) -> None:
        self.index = index
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens
        self.batch_chunks = batch_chunks

    def run(self, items: Iterable[Document | LoadFailure], report: IngestReport,
            progress: Progress | None = None) -> set[str]:
        """Index every loaded document; returns the source ids seen (for pruning).

        Pipelined: while one batch is embedded on a worker thread (the model's forward pass
        releases the GIL), the next documents are loaded, cleaned and chunked here; batches are
        written here, in order, under the store's write lock. At most one batch is embedding
        while the next one fills, so memory is bounded by two batches."""
        from concurrent.futures import Future, ThreadPoolExecutor

        seen: set[str] = set()
        in_flight: Future[Embedded] | None = None
        # an embedder whose tokenizer one thread may use while another encodes
        # (OnnxEmbedder.parallel_tokens); others embed each batch here, in turn
        pipelined = bool(getattr(self.index.embedder, "parallel_tokens", False))
        # leaving the block waits for the batch embedding, also on an error or ^C
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="citewise-embed") as worker:
            for pending in self._batches(items, report, seen, progress):
                if in_flight is not None:
                    self._write(in_flight.result(), report)
                    in_flight = None
                if pipelined:
                    in_flight = worker.submit(self._embed, pending)
                else:
                    self._write(self._embed(pending), report)
            if in_flight is not None:
                self._write(in_flight.result(), report)
        if report.chunks_embedded:
            self._release_memory()
        if progress:
            progress(len(seen), report.chunks_embedded)
        return seen

    def embed_all(self, items: Iterable[Document | LoadFailure], report: IngestReport,
                  progress: Progress | None = None) -> list[Embedded]:
        """Admit, chunk and embed every item, writing nothing: for a caller that holds the
        store's write session only while writing (a feed poll: asks that read the store meanwhile
        wait for the writes, not for the model)."""
        embedded = [self._embed(pending)
                    for pending in self._batches(items, report, set(), progress)]
        if embedded:
            self._release_memory()
        return embedded

    def _release_memory(self) -> None:
        """Batches were embedded: an embedder that keeps their memory for reuse hands it back
        (OnnxEmbedder.release_memory), so a long-running server does not keep an ingest's peak;
        an ingest that embedded nothing (unchanged files, an unchanged feed poll) skips it."""
        release = getattr(self.index.embedder, "release_memory", None)
        if callable(release):
            release()

    def _batches(self, items: Iterable[Document | LoadFailure], report: IngestReport,
                 seen: set[str], progress: Progress | None
                 ) -> Iterator[list[tuple[Document, list[Chunk]]]]:
        """The documents to (re-)embed, chunked, in batches of about ``batch_chunks`` chunks
        (admit records failures, duplicates and unchanged ones in ``report``)."""
        stored = {s: r.content_hash for s, r in self.index.records().items()}
        pending: list[tuple[Document, list[Chunk]]] = []
        pending_chunks = 0
        for item in items:
            doc = admit(item, stored, seen, report)
            if doc is not None:
                chunks = chunk_document(doc, self.index.embedder, self.chunk_tokens,
                                        self.overlap_tokens)
                pending.append((doc, chunks))
                pending_chunks += len(chunks)
                if pending_chunks >= self.batch_chunks:
                    yield pending
                    pending, pending_chunks = [], 0
            if progress and not isinstance(item, LoadFailure):
                progress(len(seen), report.chunks_embedded)
        if pending:
            yield pending

    def write_all(self, batches: list[Embedded], report: IngestReport) -> None:
        """Write what ``embed_all`` made; call inside ``Index.writing()``."""
        for batch in batches:
            self._write(batch, report)

    def _embed(self, pending: list[tuple[Document, list[Chunk]]]) -> Embedded:
        vectors, tokens = embed_chunks(self.index.embedder, [chunks for _, chunks in pending])
        return pending, vectors, tokens

    def _write(self, embedded: Embedded, report: IngestReport) -> None:
        pending, vectors, tokens = embedded
        report.chunks_embedded += sum(len(chunks) for _, chunks in pending)
        report.tokens_embedded += sum(tokens)
        self.index.write_documents([(doc, chunks, v) for (doc, chunks), v
                                    in zip(pending, vectors, strict=True)])


def admit(item: Document | LoadFailure, stored: dict[str, str], seen: set[str],
          report: IngestReport) -> Document | None:
    """Record ``item`` in the report; the document when it must be (re-)embedded, else None
    (a failure, a duplicate source id, or unchanged: the same content hash is stored)."""
    if isinstance(item, LoadFailure):
        report.failed.append((item.where, item.reason))
        log.info("skipped %s: %s", item.where, item.reason)  # the report says it, once
        return None
    if item.source in seen:
        report.failed.append((item.path or item.source, f"duplicate source id {item.source!r}"))
        return None
    seen.add(item.source)
    if item.path:
        item.path = str(Path(item.path).resolve())
    if stored.get(item.source) == item.content_hash:
        report.unchanged.append(item.source)
        return None
    (report.updated if item.source in stored else report.added).append(item.source)
    return item


def embed_chunks(embedder: Embedder,
                 docs_chunks: list[list[Chunk]]) -> tuple[list[np.ndarray], list[int]]:
    """Embed the chunks of several documents in one batch (per-document batches starve the
    encoder); sets each chunk's sentence vectors when the embedder pools them. Returns, per
    document, its chunks' vectors and the tokens embedded."""
    chunks = [c for doc_chunks in docs_chunks for c in doc_chunks]
    # A chunk that continues a table is embedded after the table's headings (Chunk.index_prefix)
    prefixes = [c.index_prefix + "\n" if c.index_prefix else "" for c in chunks]
    texts = [p + c.text for p, c in zip(prefixes, chunks, strict=True)]
    if not texts:
        return [np.zeros((0, embedder.dimension), dtype=np.float32) for _ in docs_chunks], [
            0 for _ in docs_chunks]
    if isinstance(embedder, SentencePoolingEmbedder):
        spans = [[(s + len(p), e + len(p)) for s, e in quote_spans(c.text)]
                 for p, c in zip(prefixes, chunks, strict=True)]
        vectors, pooled = embedder.embed_with_sentences(texts, spans)
        for chunk, p, sv in zip(chunks, prefixes, pooled, strict=True):
            if sv is not None and p:  # back to offsets in the chunk's own text
                sv = SentenceVectors(tuple((s - len(p), e - len(p)) for s, e in sv.spans),
                                     sv.vectors)
            chunk.sentence_vectors = sv
    else:
        vectors = embedder.embed_documents(texts)
    counts = embedder.count_tokens(texts)
    out, tokens, pos = [], [], 0
    for doc_chunks in docs_chunks:
        out.append(vectors[pos : pos + len(doc_chunks)])
        tokens.append(sum(counts[pos : pos + len(doc_chunks)]))
        pos += len(doc_chunks)
    return out, tokens


def _under(path: str, roots: list[Path]) -> bool:
    if not path:
        return False
    p = Path(path).resolve()
    return any(p == r or r in p.parents for r in roots)


def ingest_paths(index: Index, paths: list[Path], *, prune: bool = False,
                 max_bytes: int = 25 * 2**20, chunk_tokens: int = 200, overlap_tokens: int = 30,
                 progress: Progress | None = None) -> IngestReport:
    """Ingest files and folders; with ``prune``, drop stored documents that came from these
    paths but are gone now."""
    started = time.perf_counter()
    report = IngestReport()
    roots = [Path(p).resolve() for p in paths]
    with index.writing():
        seen = Ingestor(index, chunk_tokens, overlap_tokens).run(
            iter_documents(paths, max_bytes=max_bytes), report, progress)
        if prune:
            prune_gone(index, roots, seen, report)
    report.seconds = time.perf_counter() - started
    return report


def prune_gone(index: Index, roots: list[Path], seen: set[str], report: IngestReport) -> None:
    """Delete stored documents from under ``roots`` that this run did not see (their files are
    gone); a file that failed to load keeps its stored version."""
    failed_paths = {str(Path(w.rsplit(":", 1)[0]).resolve()) for w, _ in report.failed}
    gone = [s for s, r in index.records().items()
            if s not in seen and _under(r.path, roots) and r.path not in failed_paths]
    if gone:
        index.delete_documents(gone)
        report.removed.extend(sorted(gone))


def remove_sources(index: Index, sources: list[str]) -> list[str]:
    """Delete documents by source id; returns those that existed."""
    records = index.records()
    present = [s for s in sources if s in records]
    if present:
        with index.writing():
            index.delete_documents(present)
    return present


__all__ = ["CitewiseError", "Ingestor", "admit", "embed_chunks", "ingest_paths", "prune_gone",
           "remove_sources"]
