"""Read a store the way an auditor would: raw Chroma collections and the BM25 file, no repairs.

``snapshot`` runs in a fork-server child (one process per store, as Chroma's embedded mode
wants) and returns plain JSON, so tests can compare a crashed-and-recovered store with a
clean one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def snapshot(store: str, collection: str = "citewise", questions: list[str] | None = None
             ) -> dict[str, Any]:
    """Everything that must agree in a consistent store, read without writing anything.

    Returns documents (source -> content hash, chunk ids), the chunk ids Chroma holds, orphans
    (chunks no document references), half-indexed documents (references to missing chunks or
    chunks whose text is not the document's text at their offsets), the collection's
    generation and the BM25 file's generation and ids. With ``questions``, also opens the store
    with the real Citewise facade and answers them (this may rebuild the BM25 cache, so it is
    done last).
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from rag.storage.bm25 import BM25Index

    root = Path(store)
    out: dict[str, Any] = {"exists": (root / "chroma").exists()}
    if not out["exists"]:
        return out
    client = chromadb.PersistentClient(path=str(root / "chroma"),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    names = {c.name for c in client.list_collections()}
    out["collections"] = sorted(names)
    if collection not in names:
        return out
    chunks = client.get_collection(collection)
    docs = client.get_collection(f"{collection}-docs")
    got = chunks.get(include=["documents", "metadatas"])
    chunk_rows = {i: (d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"],
                                                strict=True)}
    got = docs.get(include=["documents", "metadatas"])
    documents: dict[str, Any] = {}
    referenced: set[str] = set()
    half: dict[str, str] = {}
    for source, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
        ids = json.loads(meta.get("chunk_ids", "[]"))
        referenced.update(ids)
        documents[source] = {"hash": meta.get("content_hash"), "chunks": sorted(ids),
                             "text_sha": hashlib.sha256(text.encode()).hexdigest()[:16],
                             "title": meta.get("title", "")}
        for cid in ids:
            row = chunk_rows.get(cid)
            if row is None:
                half[source] = f"chunk {cid} is missing"
                break
            ctext, cmeta = row
            if cmeta.get("source") != source or text[cmeta["start"]:cmeta["end"]] != ctext:
                half[source] = f"chunk {cid} does not match the document text"
                break
    out.update(
        documents=documents,
        chunk_ids=sorted(chunk_rows),
        orphans=sorted(set(chunk_rows) - referenced),
        half_indexed=half,
        generation=str((chunks.metadata or {}).get("generation", "")),
        embedding_model=(chunks.metadata or {}).get("embedding_model"),
    )
    bm25 = BM25Index.load(root / f"{collection}.bm25.npz")
    out["bm25"] = None if bm25 is None else {
        "generation": bm25.generation,
        "ids": sorted(cid for cid, row in bm25.row_of.items() if bm25.alive[row]),
    }
    del client
    if questions:
        out["answers"] = ask(store, questions, collection)
    return out


def ask(store: str, questions: list[str], collection: str = "citewise") -> list[dict[str, Any]]:
    """Answer questions with the real facade over the store: one {question, answer, abstained,
    sources, quotes} per question, then {bm25_matches_chroma, documents} from its index."""
    from citewise import Citewise
    from rag.config import Settings

    cw = Citewise(Settings(store=Path(store), collection=collection))
    answers = []
    for q in questions:
        a = cw.ask(q)
        answers.append({"question": q, "answer": a.answer, "abstained": a.abstained,
                        "sources": [c.source for c in a.citations],
                        "quotes": [c.quote for c in a.citations]})
    # the retriever's view must agree with the raw one: its BM25 holds exactly Chroma's chunks
    index = cw.index
    live = set(index.chunks.get(include=[])["ids"])
    bm25 = index.bm25()
    alive = {cid for cid, row in bm25.row_of.items() if bm25.alive[row]}
    answers.append({"bm25_matches_chroma": alive == live, "documents": len(index.documents())})
    return answers


def problems(snap: dict[str, Any], *, allow_orphans: bool = False) -> list[str]:
    """Human-readable consistency violations of a snapshot (empty when consistent)."""
    found: list[str] = []
    if not snap.get("exists") or "documents" not in snap:
        return found  # nothing written yet is consistent
    if snap["half_indexed"]:
        found.append(f"half-indexed documents: {snap['half_indexed']}")
    if snap["orphans"] and not allow_orphans:
        found.append(f"{len(snap['orphans'])} orphan chunks")
    bm25 = snap["bm25"]
    if bm25 is not None and bm25["generation"] == snap["generation"]:
        # a BM25 file stamped with the current generation is trusted: it must be exact
        if bm25["ids"] != snap["chunk_ids"]:
            extra = set(bm25["ids"]) - set(snap["chunk_ids"])
            lacking = set(snap["chunk_ids"]) - set(bm25["ids"])
            found.append(f"BM25 disagrees with Chroma: {len(extra)} extra, {len(lacking)} missing")
    return found
