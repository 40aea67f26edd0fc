"""The embedder the settings name: a remote server, the model on onnxruntime (the default) or
on torch. Apart from rag/storage/embeddings.py so the two backends' modules don't import each
other: both import the shared pieces from there, this picks one."""

from __future__ import annotations

from functools import lru_cache

from rag.config import BUNDLED_MODEL, Settings
from rag.storage.embeddings import Embedder, load_embedder, load_remote_embedder


def make_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for: remote when an embedding server URL is set."""
    if settings.embeddings_url:
        return load_remote_embedder(
            settings.embeddings_url, settings.embedding_model, settings.embeddings_api_key,
            settings.embed_batch_size, settings.embeddings_concurrency,
            settings.embeddings_timeout, settings.embeddings_max_retries,
            settings.embeddings_tokenizer)
    if settings.embedding_backend in ("onnx", "onnx-int8"):
        from rag.storage.embeddings_onnx import exportable, model_location

        if exportable(model_location(settings.embedding_model)[1]):
            return load_onnx_embedder(settings.embedding_model, settings.embed_batch_size,
                                      settings.embedding_backend == "onnx-int8")
    return load_embedder(settings.embedding_model, settings.embed_batch_size)


@lru_cache(maxsize=4)
def load_onnx_embedder(model: str = BUNDLED_MODEL, batch_size: int = 64,
                       int8: bool = False) -> Embedder:
    """The onnxruntime embedder of ``model``, once per process (loads on first use)."""
    from rag.storage.embeddings_onnx import OnnxEmbedder

    return OnnxEmbedder(model, batch_size=batch_size, int8=int8)
