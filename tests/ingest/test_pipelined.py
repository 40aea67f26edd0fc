"""The pipelined ingest (the next batch is chunked while one is embedded and written) stores
exactly what the batch-by-batch ingest stores, and an error in the worker stops the run with
nothing half-written."""

from __future__ import annotations

import shutil
from pathlib import Path

import chromadb
import pytest

from eval.bench.ray import snapshot, store_differences
from ingest.loaders import iter_documents
from ingest.pipeline import Ingestor
from rag.records import IngestReport
from rag.storage.store import Index
from tests.conftest import SAMPLE_DIR


class Sequential:
    """The same embedder, declared unsafe to tokenize beside an encode: batch by batch."""

    parallel_tokens = False

    def __init__(self, inner) -> None:
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(SAMPLE_DIR, folder)
    for i in range(12):
        (folder / f"note-{i}.md").write_text(
            f"# Note {i}\n\n" + " ".join(f"The ferry {i} carried {j * 7} passengers on day {j}."
                                         for j in range(40)), encoding="utf-8")
    return folder


def _ingest(tmp_path: Path, name: str, embedder, corpus: Path) -> Index:
    index = Index(client=chromadb.PersistentClient(path=str(tmp_path / name)),
                  embedder=embedder, cache_dir=tmp_path / name)
    report = IngestReport()
    with index.writing():
        Ingestor(index, batch_chunks=16).run(iter_documents([corpus]), report)
    assert report.ok and len(report.added) == 13
    return index


def test_pipelined_equals_batch_by_batch(tmp_path, embedder):
    assert embedder.parallel_tokens  # the default backend pipelines
    corpus = _corpus(tmp_path)
    piped = _ingest(tmp_path, "piped", embedder, corpus)
    plain = _ingest(tmp_path, "plain", Sequential(embedder), corpus)
    assert store_differences(snapshot(piped), snapshot(plain)) == []
    assert len(snapshot(piped).chunks) > 16 * 2  # two full batches went through the worker


def test_an_error_in_the_worker_stops_the_run(tmp_path, embedder):
    corpus = _corpus(tmp_path)
    calls = {"n": 0}

    class Failing(Sequential):
        parallel_tokens = True

        def embed_with_sentences(self, texts, spans):
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("the encoder fell over")
            return self._inner.embed_with_sentences(texts, spans)

    index = Index(client=chromadb.PersistentClient(path=str(tmp_path / "s")),
                  embedder=Failing(embedder), cache_dir=tmp_path / "s")
    with pytest.raises(RuntimeError, match="fell over"), index.writing():
        Ingestor(index, batch_chunks=16).run(iter_documents([corpus]), IngestReport())
    stored = snapshot(index)
    for source in stored.docs:  # whole documents only: each has all its chunks
        n = stored.docs[source][1].get("chunks")
        assert n is None or sum(1 for c in stored.chunks.values()
                                if c[1].get("source") == source) == n


def test_an_ingest_hands_back_the_embedders_batch_memory_once(citewise_over, embedder,
                                                               monkeypatch):
    calls = []
    monkeypatch.setattr(type(embedder), "release_memory", lambda self: calls.append(1),
                        raising=False)
    cw = citewise_over({"a.txt": "Alpha one. " * 40, "b.txt": "Beta two. " * 40})
    assert calls == [1] and len(cw.documents()) == 2
