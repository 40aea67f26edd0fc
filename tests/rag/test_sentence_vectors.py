"""Sentence vectors pooled at ingest: pooling, storage, and what the answerer does with them."""

from __future__ import annotations

import numpy as np
import pytest

from rag.answer.extractive import ExtractiveGenerator
from rag.language.text import quote_spans
from rag.records import Chunk, Hit
from rag.sentence_vectors import SPANS_KEY, VECTORS_KEY, SentenceVectors, pool


def test_pool_averages_the_tokens_inside_each_span_and_skips_special_tokens():
    tokens = np.array([[9.0, 9.0], [1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [9.0, 9.0]])
    offsets = [(0, 0), (0, 3), (4, 7), (9, 12), (0, 0)]  # [CLS] ... [SEP]
    sv = pool(tokens, offsets, [(0, 8), (9, 12), (20, 25)])
    assert sv is not None
    assert sv.spans == ((0, 8), (9, 12))  # (20, 25) has no token: left out
    np.testing.assert_allclose(sv.get(0, 8), [1.0, 0.0])
    np.testing.assert_allclose(sv.get(9, 12), [0.0, 1.0])
    assert sv.get(20, 25) is None
    assert pool(tokens, offsets[:-1], [(0, 8)]) is None  # offsets that don't match the tokens


def test_metadata_round_trip_and_damaged_metadata_is_ignored():
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(3, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    sv = SentenceVectors(((0, 10), (11, 30), (31, 40)), vecs)
    back = SentenceVectors.from_metadata(sv.to_metadata())
    assert back is not None and back.spans == sv.spans
    assert float((back.get(11, 30) * vecs[1]).sum()) > 0.9999  # float16 keeps cosine
    meta = sv.to_metadata()
    assert SentenceVectors.from_metadata({}) is None
    assert SentenceVectors.from_metadata({**meta, VECTORS_KEY: "not base64!"}) is None
    assert meta[SPANS_KEY] == "384|0:10,11:30,31:40"
    assert SentenceVectors.from_metadata({**meta, SPANS_KEY: "384|0:10,11:30"}) is None  # 3 rows
    assert SentenceVectors.from_metadata({**meta, SPANS_KEY: "x:y"}) is None


TEXT = ("Microsoft holds a 27 per cent stake in OpenAI Group PBC. The stake is valued at "
        "$135 billion. • Azure API exclusivity lasts until AGI is verified by a panel.")


def test_ingest_pass_gives_chunk_vectors_unchanged_and_sentence_vectors_close_to_their_own(embedder):
    spans = quote_spans(TEXT)
    vectors, pooled = embedder.embed_with_sentences([TEXT, "Short."], [spans, quote_spans("Short.")])
    np.testing.assert_allclose(vectors, embedder.embed_documents([TEXT, "Short."]), atol=1e-5)
    sv = pooled[0]
    assert sv is not None and sv.spans == tuple(spans)
    own = embedder.embed_documents([TEXT[s:e] for s, e in spans])
    for (s, e), vec in zip(spans, own, strict=True):
        assert float(sv.get(s, e) @ vec) > 0.6  # the sentence, in its context


class CountingEmbedder:
    """Wraps the real model and counts the sentences embedded at question time."""

    def __init__(self, inner) -> None:
        self.inner, self.documents = inner, 0
        self.name, self.dimension, self.max_tokens = inner.name, inner.dimension, inner.max_tokens

    def embed_documents(self, texts):
        self.documents += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def _hit(text: str, sv: SentenceVectors | None) -> Hit:
    return Hit(Chunk("c1", "a.txt", 0, 0, len(text), text, sentence_vectors=sv), 1.0, title="T")


@pytest.mark.parametrize("stored", [True, False])
def test_answerer_embeds_only_the_best_few_when_sentence_vectors_are_stored(embedder, stored):
    # fillers that keep to the question's constraints (Microsoft's stake): a sentence that
    # breaks one is never refined at all
    text = " ".join([TEXT] + [f"Filler sentence number {i} says Microsoft's stake is like the weather."
                              for i in range(12)])
    spans = quote_spans(text)
    sv = embedder.embed_with_sentences([text], [spans])[1][0] if stored else None
    counting = CountingEmbedder(embedder)
    gen = ExtractiveGenerator(counting, max_embedded=8, max_refined=3, max_lexical=0)
    answer = gen.generate("How much is Microsoft's stake valued at?", [_hit(text, sv)])
    assert "$135 billion" in answer.answer and not answer.abstained
    assert counting.documents == (3 if stored else 8)
    assert answer.citations[0].quote == text[answer.citations[0].start : answer.citations[0].end]


def test_ingested_chunks_carry_sentence_vectors_for_every_quotable_sentence(sample_citewise):
    index = sample_citewise.index
    ids = [cid for rec in index.records().values() for cid in rec.chunk_ids]
    chunks = index.get_chunks(ids)
    assert chunks
    for chunk in chunks.values():
        assert chunk.sentence_vectors is not None, chunk.id
        assert chunk.sentence_vectors.spans == tuple(quote_spans(chunk.text))
