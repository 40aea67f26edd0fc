"""The embedding model on onnxruntime gives sentence-transformers' vectors, token counts and
offsets exactly, and an ask needs no torch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from rag.errors import ModelError
from rag.storage.embedders import load_onnx_embedder
from rag.storage.embeddings import SentenceTransformerEmbedder
from rag.storage.embeddings_onnx import (
    MANIFEST,
    OnnxEmbedder,
    export,
    exportable,
    model_location,
    padding_batches,
)
from tests.conftest import ROOT

TEXTS = [
    "The ferry leaves pier 4 at 7:15 on weekdays.",
    "Microsoft holds a 27 per cent stake in OpenAI Group PBC, valued at $135 billion. " * 30,
    "short",
    "Ünïcödé tëxt — with dashes… and “quotes”; 2,500 km² at 3.5%.",
]


@pytest.fixture(scope="module")
def both() -> tuple[SentenceTransformerEmbedder, OnnxEmbedder]:
    return SentenceTransformerEmbedder(""), load_onnx_embedder("", 64)


def test_the_same_vectors_as_torch(both):
    torch_, onnx_ = both
    a, b = torch_.embed_documents(TEXTS), onnx_.embed_documents(TEXTS)
    assert a.shape == b.shape == (4, 384)
    assert np.min(np.sum(a * b, axis=1)) > 0.99999
    q = "Who owns OpenAI?"
    assert float(torch_._embed_one(q) @ onnx_.embed_query(q)) > 0.99999


def test_the_same_tokens_and_sentence_vectors(both):
    torch_, onnx_ = both
    assert torch_.count_tokens(TEXTS) == onnx_.count_tokens(TEXTS)
    for text in TEXTS:
        assert torch_.token_offsets(text) == onnx_.token_offsets(text)
    spans = [[(0, 10), (11, 30)], [(0, 50), (100, 200), (5000, 5100)], [(0, 5)], [(0, 12)]]
    va, pa = torch_.embed_with_sentences(TEXTS, spans)
    vb, pb = onnx_.embed_with_sentences(TEXTS, spans)
    assert np.min(np.sum(va * vb, axis=1)) > 0.99999
    for x, y in zip(pa, pb, strict=True):
        assert x.spans == y.spans  # the span past the 256-token window is left out by both
        assert np.min(np.sum(x.vectors * y.vectors, axis=1)) > 0.99999


def test_batches_are_cut_where_padding_would_cost_more_than_the_text():
    lengths = [60, 15, 45, 20, 40, 30, 25, 200, 198, 195]
    batches = padding_batches(lengths, 4)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert [lengths[b[0]] for b in batches] == sorted((lengths[b[0]] for b in batches),
                                                      reverse=True)  # longest first
    for b in batches:
        assert len(b) <= 4
        assert lengths[b[0]] * len(b) <= 1.25 * sum(lengths[i] for i in b)
    assert batches[0][:3] == [7, 8, 9]  # like lengths share a batch
    assert len(padding_batches([100] * 130, 64)) == 3  # an ingest's batches stay whole
    assert padding_batches([], 64) == []


def test_cut_batches_give_the_same_vectors(both):
    """Short and long texts together (an ask's refined sentences) are embedded in several
    batches; each text's vector is what it gets alone."""
    _, onnx_ = both
    texts = [TEXTS[0], TEXTS[1], "short", TEXTS[3], "Another sentence of middling length here."]
    together = onnx_.embed_documents(texts)
    alone = np.stack([onnx_.embed_documents([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


def test_only_mean_pooling_models_are_exported(tmp_path):
    assert exportable(model_location("")[1])
    folder = tmp_path / "cls-model"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "modules.json").write_text(json.dumps([
        {"type": "sentence_transformers.models.Transformer"},
        {"type": "sentence_transformers.models.Pooling"}]))
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(
        {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}))
    assert not exportable(folder)
    with pytest.raises(ModelError, match="CITEWISE_EMBEDDING_BACKEND=torch"):
        export(str(folder))


def test_a_tampered_export_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CITEWISE_CACHE", str(tmp_path))
    out = export("")
    assert (out / MANIFEST).exists() and str(out).startswith(str(tmp_path))
    with open(out / "model.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ModelError, match="sha256"):
        OnnxEmbedder("").load()


@pytest.mark.slow
def test_a_served_ask_never_imports_torch(tmp_path):
    """The server's whole ask path (app, retrieval, reader, answer) on onnxruntime."""
    script = textwrap.dedent(f"""
        import sys
        from fastapi.testclient import TestClient
        from citewise import Citewise
        from rag.config import Settings
        from ui.server import create_app
        settings = Settings(store={str(tmp_path / "store")!r})
        cw = Citewise.from_settings(settings)
        cw.ingest([{str(ROOT / "sample_data")!r}])
        with TestClient(create_app(cw, settings)) as c:
            r = c.post("/api/ask", json={{"question": "What stake does Microsoft hold?"}})
            assert r.status_code == 200 and r.json()["citations"], r.text
        print(sorted(m for m in ("torch", "transformers", "sentence_transformers")
                     if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_int8_variant_is_a_model_of_its_own(tmp_path):
    """Quantized vectors are close but not the same: a store keeps the variant it was built
    with and says which backend to set."""
    import chromadb

    from rag.errors import IndexMismatchError
    from rag.storage.store import Index

    fp32, int8 = load_onnx_embedder("", 64), load_onnx_embedder("", 64, True)
    assert int8.name == "all-MiniLM-L6-v2@int8" and int8.dimension == 384
    a, b = fp32.embed_documents(TEXTS), int8.embed_documents(TEXTS)
    cos = np.sum(a * b, axis=1)
    assert cos.min() > 0.95 and cos.min() < 0.99999  # close, and not the same vectors
    assert fp32.count_tokens(TEXTS) == int8.count_tokens(TEXTS)
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"))
    Index(client=client, embedder=fp32, cache_dir=tmp_path)
    with pytest.raises(IndexMismatchError, match="CITEWISE_EMBEDDING_BACKEND=onnx\\)"):
        Index(client=client, embedder=int8, cache_dir=tmp_path)


@pytest.mark.parametrize("arena", [False, True])
def test_releasing_memory_keeps_the_vectors_with_or_without_an_arena(monkeypatch, arena):
    import rag.storage.embeddings_onnx as module

    opened = module.session_options

    def options(threads=None):
        o = opened(threads)
        o.enable_cpu_mem_arena = arena
        return o

    monkeypatch.setattr(module, "session_options", options)
    embedder = OnnxEmbedder("", 64)  # not the process's shared one: a session of its own
    texts = ["The heron census counted 412 herons.", "word " * 150]
    before = embedder.embed_documents(texts)
    assert embedder._session.get_session_options().enable_cpu_mem_arena is arena
    embedder.release_memory()  # with an arena (citewise's): a tiny pass that shrinks it
    assert np.allclose(before, embedder.embed_documents(texts), atol=1e-6)
    OnnxEmbedder("").release_memory()  # nothing loaded: nothing to release, no error


def test_an_asks_small_runs_shrink_the_arena_and_an_ingests_batches_keep_it():
    import rag.storage.embeddings_onnx as module

    embedder = OnnxEmbedder("", 64)  # a session of its own
    embedder.load()
    session = embedder._session
    seen: list[object] = []

    class Recording:
        def run(self, outputs, feed, options=None):
            seen.append(options)
            return session.run(outputs, feed, options)

        def get_session_options(self):
            return session.get_session_options()

    embedder._session = Recording()
    question = embedder.embed_query("How many herons did the census count?")
    small = embedder.embed_documents(["The census counted 412 herons."] * module.SHRINK_AT_MOST)
    large = embedder.embed_documents(["The census counted 412 herons."] * 40)
    shrink, small_run, large_run = seen[0], seen[1], seen[-1]
    assert shrink is not None and small_run is shrink
    assert shrink.get_run_config_entry("memory.enable_memory_arena_shrinkage") == "cpu:0"
    assert large_run is None  # an ingest's batch keeps what it allocated
    # the vectors do not depend on it
    embedder._session = session
    assert np.allclose(question, embedder.embed_query("How many herons did the census count?"),
                       atol=1e-6)
    assert np.allclose(small, large[: len(small)], atol=1e-5)
