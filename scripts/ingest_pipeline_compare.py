"""The pipelined ingest next to batch-by-batch and to the raw encode of the same chunks
(BENCHMARKS.md, "Pipelined ingest"), one process, one run.

    python scripts/ingest_pipeline_compare.py FEED.jsonl

FEED is a JSONL news feed (one article per line). Each ingest goes into a fresh store; the raw
encode embeds the same chunks (with sentence vectors, as ingest does) and nothing else.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import chromadb

from ingest.chunking import chunk_document
from ingest.loaders import Document, iter_documents
from ingest.pipeline import Ingestor, embed_chunks
from rag.config import Settings
from rag.records import IngestReport
from rag.storage.embedders import make_embedder
from rag.storage.store import Index


class Sequential:
    parallel_tokens = False

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def ingest(feed: Path, embedder: object) -> float:
    tmp = Path(tempfile.mkdtemp(prefix="cw-pipe-"))
    index = Index(client=chromadb.PersistentClient(path=str(tmp / "chroma")),
                  embedder=embedder, cache_dir=tmp)  # type: ignore[arg-type]
    started = time.perf_counter()
    with index.writing():
        Ingestor(index).run(iter_documents([feed]), IngestReport())
    return time.perf_counter() - started


def raw_encode(feed: Path, embedder: object) -> tuple[float, int]:
    docs = [d for d in iter_documents([feed]) if isinstance(d, Document)]
    chunks = [chunk_document(d, embedder, 200, 30) for d in docs]  # type: ignore[arg-type]
    started = time.perf_counter()
    for first in range(0, len(chunks), 16):
        embed_chunks(embedder, chunks[first:first + 16])  # type: ignore[arg-type]
    return time.perf_counter() - started, sum(len(c) for c in chunks)


def main(feed: str) -> None:
    embedder = make_embedder(Settings())
    path = Path(feed)
    seq = ingest(path, Sequential(embedder))
    piped = ingest(path, embedder)
    raw, n = raw_encode(path, embedder)
    print(f"| {n} chunks | batch by batch {seq:.1f} s | pipelined {piped:.1f} s | raw encode "
          f"{raw:.1f} s | ratio pipelined / raw {piped / raw:.2f} | batch by batch / raw "
          f"{seq / raw:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1])
