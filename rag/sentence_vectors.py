"""Sentence vectors pooled out of the chunk's own forward pass at ingest.

Why: the extractive answerer compares the question with candidate sentences, and embedding
them at question time was two thirds of a warm ask (BENCHMARKS.md, "Sentence vectors from
ingest"). The forward pass that embeds a chunk already computes a vector for every token;
mean-pooling the tokens of one sentence gives that sentence a vector at no extra model cost.
The vectors travel with their chunk (float16, base64, in its Chroma metadata), so they are
written and deleted atomically with it. A chunk without them (a store from before, or a model
without token outputs) falls back to embedding its sentences when asked.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SPANS_KEY = "sv_spans"  # "dimension|start:end,start:end", offsets in the chunk
VECTORS_KEY = "sv"  # base64 of float16 rows, one per span


@dataclass(frozen=True)
class SentenceVectors:
    """Unit vectors for spans of one chunk's text (offsets relative to the chunk)."""

    spans: tuple[tuple[int, int], ...]
    vectors: np.ndarray = field(repr=False)  # (len(spans), dim), float32
    _rows: dict[tuple[int, int], int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rows", {span: i for i, span in enumerate(self.spans)})

    def get(self, start: int, end: int) -> np.ndarray | None:
        row = self._rows.get((start, end))
        return None if row is None else self.vectors[row]

    def to_metadata(self) -> dict[str, str]:
        blob = np.ascontiguousarray(self.vectors, dtype=np.float16).tobytes()
        spans = ",".join(f"{s}:{e}" for s, e in self.spans)
        return {SPANS_KEY: f"{self.vectors.shape[1]}|{spans}",
                VECTORS_KEY: base64.b64encode(blob).decode("ascii")}

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any]) -> SentenceVectors | None:
        """None when the chunk has none or they don't parse (then the answerer embeds)."""
        spans_text, blob = meta.get(SPANS_KEY), meta.get(VECTORS_KEY)
        if not spans_text or not blob:
            return None
        try:
            dim_text, _, pairs = str(spans_text).partition("|")
            spans = tuple((int(s), int(e)) for s, e in (p.split(":") for p in pairs.split(",")))
            dim = int(dim_text)
            flat = np.frombuffer(base64.b64decode(str(blob), validate=True), dtype=np.float16)
            if flat.size != len(spans) * dim:
                raise ValueError(f"{flat.size} values for {len(spans)} spans of dimension {dim}")
            vectors = flat.reshape(len(spans), dim).astype(np.float32)
        except (ValueError, binascii.Error) as exc:
            log.warning("ignoring unreadable sentence vectors (%s); they will be recomputed", exc)
            return None
        return cls(spans, vectors)


def pool(token_vectors: np.ndarray, offsets: Sequence[tuple[int, int]],
         spans: Sequence[tuple[int, int]]) -> SentenceVectors | None:
    """Mean of the token vectors overlapping each span, normalised: what mean-pooling models
    (all-MiniLM-L6-v2) do over a whole input, restricted to one sentence. Spans without a token
    (cut off by the model window) are left out."""
    if len(offsets) != len(token_vectors):
        return None
    offs = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    starts, ends = offs[:, 0], offs[:, 1]
    real = ends > starts  # special tokens have (0, 0)
    kept, rows = [], []
    for s, e in spans:
        mask = real & (starts < e) & (ends > s)
        if not mask.any():
            continue
        vec = token_vectors[mask].mean(axis=0)
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:
            continue
        kept.append((int(s), int(e)))
        rows.append(vec / norm)
    if not kept:
        return None
    return SentenceVectors(tuple(kept), np.asarray(rows, dtype=np.float32))
