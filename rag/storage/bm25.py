"""A persisted, incrementally updated BM25 index over the stored chunks.

Chunks are cut into terms once when added (rag/language/textrules.py: ``index_terms``); adding or removing chunks updates term statistics in
place, so a small change to a large corpus costs little. The index is saved next to the store
with the store's ``generation`` so a stale copy is detected and rebuilt.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from rag.language.textrules import index_terms

log = logging.getLogger(__name__)


class BM25Index:
    """Okapi BM25 with postings kept as growable COO arrays and a lazily built CSC matrix."""

    FORMAT = 1

    def __init__(self, k1: float = 0.9, b: float = 0.4) -> None:
        # k1/b: Anserini's defaults, which give the published BEIR BM25 anchors.
        self.k1, self.b = k1, b
        self.vocab: dict[str, int] = {}
        self.ids: list[str] = []
        self.row_of: dict[str, int] = {}
        self.alive = np.zeros(0, dtype=bool)
        self.lengths = np.zeros(0, dtype=np.float32)
        self._rows: list[np.ndarray] = []
        self._cols: list[np.ndarray] = []
        self._tfs: list[np.ndarray] = []
        self._matrix = None  # scipy.sparse.csc_matrix, built on demand
        self.generation = ""

    # ---- updates -------------------------------------------------------------------------
    def add(self, ids: Iterable[str], texts: Iterable[str]) -> None:
        rows, cols, tfs, lengths, new_ids = [], [], [], [], []
        base = len(self.ids)
        for chunk_id, text in zip(ids, texts, strict=True):
            if chunk_id in self.row_of and self.alive[self.row_of[chunk_id]]:
                continue
            counts = Counter(index_terms(text))
            row = base + len(new_ids)
            new_ids.append(chunk_id)
            lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                col = self.vocab.setdefault(term, len(self.vocab))
                rows.append(row)
                cols.append(col)
                tfs.append(tf)
        if not new_ids:
            return
        for i, chunk_id in enumerate(new_ids):
            self.row_of[chunk_id] = base + i
        self.ids.extend(new_ids)
        self.alive = np.concatenate([self.alive, np.ones(len(new_ids), dtype=bool)])
        self.lengths = np.concatenate([self.lengths, np.asarray(lengths, dtype=np.float32)])
        self._rows.append(np.asarray(rows, dtype=np.int32))
        self._cols.append(np.asarray(cols, dtype=np.int32))
        self._tfs.append(np.asarray(tfs, dtype=np.float32))
        self._matrix = None

    def remove(self, ids: Iterable[str]) -> None:
        for chunk_id in ids:
            row = self.row_of.pop(chunk_id, None)
            if row is not None:
                self.alive[row] = False
        self._matrix = None
        if len(self.ids) > 1000 and self.alive.sum() < 0.5 * len(self.ids):
            self._compact()

    def __len__(self) -> int:
        return int(self.alive.sum())

    def __contains__(self, chunk_id: str) -> bool:
        return chunk_id in self.row_of

    # ---- search --------------------------------------------------------------------------
    def _csc(self):
        if self._matrix is None:
            from scipy.sparse import csc_matrix

            rows, cols, tfs = self._arrays()
            self._matrix = csc_matrix(
                (tfs, (rows, cols)), shape=(len(self.ids), max(len(self.vocab), 1))
            )
        return self._matrix

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if len(self._rows) > 1:
            self._rows = [np.concatenate(self._rows)]
            self._cols = [np.concatenate(self._cols)]
            self._tfs = [np.concatenate(self._tfs)]
        if not self._rows:
            empty_i, empty_f = np.zeros(0, np.int32), np.zeros(0, np.float32)
            return empty_i, empty_i, empty_f
        return self._rows[0], self._cols[0], self._tfs[0]

    def search(
        self, query: str, k: int = 50, allowed: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, score); ``allowed`` restricts to a set of chunk ids (filters)."""
        n_alive = int(self.alive.sum())
        if n_alive == 0:
            return []
        terms = [self.vocab[t] for t in set(index_terms(query)) if t in self.vocab]
        if not terms:
            return []
        matrix = self._csc()
        alive_f = self.alive.astype(np.float32)
        avg_len = float((self.lengths * alive_f).sum() / n_alive) or 1.0
        norm = self.k1 * (1 - self.b + self.b * self.lengths / avg_len)
        scores = np.zeros(len(self.ids), dtype=np.float32)
        for col in terms:
            lo, hi = matrix.indptr[col], matrix.indptr[col + 1]
            rows = matrix.indices[lo:hi]
            live = self.alive[rows]
            rows = rows[live]
            if rows.size == 0:
                continue
            tf = matrix.data[lo:hi][live]
            idf = np.log(1 + (n_alive - rows.size + 0.5) / (rows.size + 0.5))
            scores[rows] += idf * tf * (self.k1 + 1) / (tf + norm[rows])
        if allowed is not None:
            mask = np.zeros(len(self.ids), dtype=bool)
            for chunk_id in allowed:
                row = self.row_of.get(chunk_id)
                if row is not None:
                    mask[row] = True
            scores[~mask] = 0
        candidates = np.flatnonzero(scores > 0)
        if candidates.size > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in order]

    # ---- persistence ---------------------------------------------------------------------
    def _compact(self) -> None:
        keep = [(i, self.ids[i]) for i in range(len(self.ids)) if self.alive[i]]
        rows, cols, tfs = self._arrays()
        new_row = -np.ones(len(self.ids), dtype=np.int64)
        for new, (old, _) in enumerate(keep):
            new_row[old] = new
        sel = new_row[rows] >= 0
        self._rows = [new_row[rows[sel]].astype(np.int32)]
        self._cols = [cols[sel]]
        self._tfs = [tfs[sel]]
        self.lengths = self.lengths[[old for old, _ in keep]] if keep else np.zeros(0, np.float32)
        self.ids = [cid for _, cid in keep]
        self.row_of = {cid: i for i, cid in enumerate(self.ids)}
        self.alive = np.ones(len(self.ids), dtype=bool)
        self._matrix = None

    def save(self, path: Path) -> None:
        """Write atomically: a crash leaves the old file or the new one, never half of one."""
        self._compact()
        path.parent.mkdir(parents=True, exist_ok=True)
        rows, cols, tfs = self._arrays()
        tmp = path.with_suffix(".tmp.npz")
        meta = json.dumps(
            {"format": self.FORMAT, "generation": self.generation, "k1": self.k1, "b": self.b,
             "ids": self.ids, "vocab": list(self.vocab)}
        )
        try:
            with tmp.open("wb") as fh:
                np.savez(fh, rows=rows, cols=cols, tfs=tfs, lengths=self.lengths,
                         meta=np.frombuffer(meta.encode("utf-8"), dtype=np.uint8))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a half-written file would only waste the space left
            raise

    @classmethod
    def load(cls, path: Path) -> BM25Index | None:
        """The saved index, or None when missing or unreadable (the caller rebuilds)."""
        try:
            with np.load(path) as data:
                meta = json.loads(bytes(data["meta"]).decode("utf-8"))
                if meta.get("format") != cls.FORMAT:
                    return None
                index = cls(meta["k1"], meta["b"])
                index.generation = meta["generation"]
                index.ids = meta["ids"]
                index.vocab = {t: i for i, t in enumerate(meta["vocab"])}
                index.row_of = {cid: i for i, cid in enumerate(index.ids)}
                index.alive = np.ones(len(index.ids), dtype=bool)
                index.lengths = data["lengths"]
                index._rows, index._cols, index._tfs = [data["rows"]], [data["cols"]], [data["tfs"]]
                return index
        except (OSError, ValueError, KeyError) as exc:
            if path.exists():
                log.warning("BM25 index at %s unreadable (%s); rebuilding", path, exc)
            return None
