"""Sentence-aware chunking with exact character offsets.

Every chunk fits the embedding model's window, measured with the model's own tokenizer: text
past the window would be silently truncated and its tail never found.
"""

from __future__ import annotations

from rag.language.tables import tables_json
from rag.language.text import sentence_spans
from rag.records import Chunk, Document
from rag.storage.embeddings import Embedder


def _split_long(doc: Document, start: int, end: int, embedder: Embedder, limit: int) -> list[tuple[int, int]]:
    """Cut one over-long sentence on token boundaries into windows of at most ``limit`` tokens."""
    offsets = embedder.token_offsets(doc.text[start:end])
    pieces = []
    for i in range(0, len(offsets), limit):
        window = offsets[i : i + limit]
        pieces.append((start + window[0][0], start + window[-1][1]))
    return pieces


def _units(doc: Document, embedder: Embedder, limit: int) -> list[tuple[int, int, int]]:
    """Sentences as (start, end, tokens), long ones already cut to fit."""
    spans = sentence_spans(doc.text)
    counts = embedder.count_tokens([doc.text[s:e] for s, e in spans])
    units: list[tuple[int, int, int]] = []
    for (s, e), n in zip(spans, counts, strict=True):
        if n <= limit:
            units.append((s, e, n))
            continue
        pieces = _split_long(doc, s, e, embedder, limit)
        for (ps, pe), pn in zip(pieces, embedder.count_tokens([doc.text[a:b] for a, b in pieces]), strict=True):
            units.append((ps, pe, pn))
    return units


def chunk_document(
    doc: Document, embedder: Embedder, max_tokens: int = 200, overlap_tokens: int = 30
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most ``max_tokens``; repeat up to ``overlap_tokens``
    of whole trailing sentences at the start of the next chunk so no answer straddles a cut."""
    limit = min(max_tokens, embedder.max_tokens - 2)  # [CLS] and [SEP]
    units = _units(doc, embedder, limit)
    groups: list[list[tuple[int, int, int]]] = []
    current: list[tuple[int, int, int]] = []
    size = 0
    for unit in units:
        if current and size + unit[2] > limit:
            groups.append(current)
            carry: list[tuple[int, int, int]] = []
            carried = 0
            for prev in reversed(current):
                if carried + prev[2] > overlap_tokens or carried + prev[2] + unit[2] > limit:
                    break
                carry.insert(0, prev)
                carried += prev[2]
            if len(carry) == len(current):
                carry = []  # never repeat a whole chunk
            current, size = carry, carried
        current.append(unit)
        size += unit[2]
    if current:
        groups.append(current)
    return _to_chunks(doc, groups, embedder, limit)


def _to_chunks(
    doc: Document, groups: list[list[tuple[int, int, int]]], embedder: Embedder, limit: int
) -> list[Chunk]:
    spans = [(g[0][0], g[-1][1]) for g in groups]
    counts = embedder.count_tokens([doc.text[s:e] for s, e in spans])
    chunks: list[Chunk] = []
    tables = doc.tables
    for (s, e), n, group in zip(spans, counts, groups, strict=True):
        if n > limit and len(group) > 1:  # joins can add a token or two: split the group in half
            half = len(group) // 2
            chunks.extend(_to_chunks(doc, [group[:half], group[half:]], embedder, limit))
            continue
        text = doc.text[s:e]
        overlapping = [t for t in tables if t.start < e and t.end > s]
        # the tables are part of what is stored, so they are part of the id
        keyed = text + tables_json(overlapping) if overlapping else text
        chunks.append(
            Chunk(Chunk.make_id(doc.source, s, e, keyed), doc.source, 0, s, e, text,
                  doc.page_at(s), sections=doc.sections_for(s, e), tables=overlapping)
        )
    for i, chunk in enumerate(chunks):
        chunk.ordinal = i
    return chunks
