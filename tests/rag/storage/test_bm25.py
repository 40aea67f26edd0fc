"""BM25: scoring order, incremental add/remove, persistence with a generation stamp."""

from __future__ import annotations

from rag.storage.bm25 import BM25Index


def test_ranking_and_incremental_updates(tmp_path):
    bm = BM25Index()
    bm.add(["a", "b", "c"], ["Microsoft holds a stake in OpenAI", "OpenAI buys Azure services",
                            "cats and dogs"])
    assert bm.search("microsoft stake", 2)[0][0] == "a"
    assert bm.search("unrelated zebra") == []
    bm.remove(["a"])
    assert [i for i, _ in bm.search("openai")] == ["b"]
    bm.add(["d"], ["Microsoft stake again"])
    assert bm.search("microsoft")[0][0] == "d"
    assert bm.search("openai", allowed={"d"}) == []
    bm.generation = "g1"
    path = tmp_path / "x.npz"
    bm.save(path)
    loaded = BM25Index.load(path)
    assert loaded is not None and loaded.generation == "g1" and len(loaded) == 3
    assert loaded.search("azure")[0][0] == "b"


def test_corrupt_file_loads_as_none(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"not numpy")
    assert BM25Index.load(path) is None
