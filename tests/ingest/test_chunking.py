"""Chunks stay inside the model window and their offsets resolve to the exact text."""

from __future__ import annotations

from ingest.chunking import chunk_document
from rag.records import Document
from tests.conftest import SAMPLE_ARTICLE


def test_offsets_resolve_and_fit_window(embedder):
    text = SAMPLE_ARTICLE.read_text(encoding="utf-8")
    doc = Document("a", text)
    chunks = chunk_document(doc, embedder, max_tokens=120, overlap_tokens=30)
    assert len(chunks) > 3
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert embedder.count_tokens([c.text])[0] <= 120
    # every sentence of the article lies inside some chunk
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert "OpenAI has contracted to purchase $250 billion of Azure services." in "".join(
        c.text for c in chunks
    )
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_overlap_repeats_whole_sentences_only(embedder):
    sentences = [f"Sentence number {i} talks about topic {i} in some detail." for i in range(60)]
    doc = Document("s", " ".join(sentences))
    chunks = chunk_document(doc, embedder, max_tokens=64, overlap_tokens=16)
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert nxt.start < prev.end  # overlap exists
        assert doc.text[nxt.start : nxt.start + 9] == "Sentence "  # starts on a sentence
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_overlong_sentence_is_cut_on_token_boundaries(embedder):
    doc = Document("long", " ".join(["tokenization"] * 900) + ".")
    chunks = chunk_document(doc, embedder, max_tokens=200, overlap_tokens=0)
    assert len(chunks) >= 5
    assert all(embedder.count_tokens([c.text])[0] <= 200 for c in chunks)
    assert chunks[-1].end == len(doc.text)


def test_ids_are_content_derived_and_unique(embedder):
    doc = Document("d", "Same sentence here. Same sentence here. Same sentence here.")
    a = chunk_document(doc, embedder, max_tokens=8, overlap_tokens=0)
    b = chunk_document(doc, embedder, max_tokens=8, overlap_tokens=0)
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a)


def test_pdf_pages_follow_offsets(embedder):
    doc = Document("p.pdf", "Page one text here.\n\nPage two text here.", pages=[0, 21])
    chunks = chunk_document(doc, embedder, max_tokens=6, overlap_tokens=0)
    assert chunks[0].page == 1 and chunks[-1].page == 2
