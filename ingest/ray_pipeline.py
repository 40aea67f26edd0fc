"""Distributed ingest on Ray Data: `citewise ingest PATH --ray [ADDRESS]`.

The local ingest's steps become Ray Data stages, each reusing the local code:
read (``loaders.load_safely``: load + clean, as tasks; also marks documents whose content hash
is already stored), chunk (``chunking.chunk_document`` in a small actor pool: the tokenizer
loads once per actor) and embed (``pipeline.embed_chunks`` in an actor pool, one model per
actor, ``ray_batch_size`` documents per call). The driver consumes the stream in input order
and writes through ``Index.write_documents`` inside ``Index.writing()``, so the report, the
content-hash skip, duplicate detection (``pipeline.admit``), the atomic per-document replace
and ``--prune`` are the local ingest's own. A killed job leaves every written document complete;
re-running skips them by hash and embeds only the rest.

Why a Chroma server: the job's workers run on other machines and the store it fills is the one
every replica serves from; an embedded store is a directory only one local process may open.
Every Ray node needs citewise installed (`pip install 'citewise[ray]'`) and the files at the same
path (a shared filesystem), as Ray workers read them by path.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ingest.chunking import chunk_document
from ingest.loaders import LoadFailure, iter_files, load_safely
from ingest.pipeline import admit, embed_chunks, prune_gone
from rag.config import Settings
from rag.errors import CitewiseError, ConfigError
from rag.records import Chunk, Document, IngestReport
from rag.storage.embedders import make_embedder
from rag.storage.store import Index

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (documents seen, chunks embedded)

RAY_MISSING = ("Ray is not installed, so `--ray` cannot run. Install the extra with "
               "pip install 'citewise[ray]' (here and on every Ray node), or ingest without --ray.")
NEEDS_SERVER = ("`citewise ingest --ray` writes to a Chroma server, but the store is an embedded "
                "directory ({store}) that Ray workers cannot share. Start one (`chroma run --path "
                "DIR --host 0.0.0.0`) and pass --chroma-url http://HOST:8000 (or set "
                "CITEWISE_CHROMA_URL), or ingest without --ray.")
# row kinds flowing through the stages
FAILED, UNCHANGED, LOADED, CHUNKED, EMBEDDED = "failed", "unchanged", "loaded", "chunked", "embedded"
READ_BATCH = 4  # files per read task
WORKER_ENV = {"TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1",
              "ANONYMIZED_TELEMETRY": "False", "RAY_DISABLE_IMPORT_WARNING": "1"}


def import_ray() -> Any:
    """The ray module with Ray Data, or a ConfigError that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401  (the [data] part of the extra)
    except ImportError as exc:
        raise ConfigError(RAY_MISSING) from exc
    return ray


def _rows(kinds: list[str], blobs: list[Any]) -> dict[str, np.ndarray]:
    """A batch of (kind, pickled payload) rows; object arrays keep the bytes intact."""
    blob_col = np.empty(len(blobs), dtype=object)
    blob_col[:] = [pickle.dumps(b, protocol=pickle.HIGHEST_PROTOCOL) for b in blobs]
    return {"kind": np.asarray(kinds, dtype=object), "blob": blob_col}


def _unpack(batch: dict[str, np.ndarray]) -> list[tuple[str, Any]]:
    return [(str(k), pickle.loads(b)) for k, b in zip(batch["kind"], batch["blob"], strict=True)]


def read_files(batch: dict[str, np.ndarray], stored: dict[str, str],
               max_bytes: int) -> dict[str, np.ndarray]:
    """Stage 1 (tasks): load and clean files; a document whose hash is stored goes on as
    UNCHANGED (never chunked nor embedded), a bad file as FAILED with its name and reason."""
    kinds, blobs = [], []
    for path, given, source in zip(batch["path"], batch["given"], batch["source"], strict=True):
        for item in load_safely(Path(str(path)), str(source), max_bytes):
            if isinstance(item, LoadFailure):
                if item.where.startswith(str(path)):  # name the file as the user gave it
                    item.where = str(given) + item.where[len(str(path)):]
                kinds.append(FAILED)
            else:
                kinds.append(UNCHANGED if stored.get(item.source) == item.content_hash else LOADED)
            blobs.append(item)
    return _rows(kinds, blobs)


class _WithEmbedder:
    """An actor holding the configured embedder, built once from the driver's settings."""

    def __init__(self, settings: dict[str, Any]) -> None:
        os.environ.update(WORKER_ENV)
        self.settings = Settings(**settings)
        self.embedder = make_embedder(self.settings)


class ChunkStage(_WithEmbedder):
    """Stage 2 (actors): cut LOADED documents into chunks with the model's tokenizer."""

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        kinds, blobs = [], []
        for kind, obj in _unpack(batch):
            if kind == LOADED:
                obj = (obj, chunk_document(obj, self.embedder, self.settings.chunk_tokens,
                                           self.settings.chunk_overlap))
                kind = CHUNKED
            kinds.append(kind)
            blobs.append(obj)
        return _rows(kinds, blobs)


class EmbedStage(_WithEmbedder):
    """Stage 3 (actor pool, one model each): embed every chunk of the batch's documents in one
    call, as the local ingest batches across documents."""

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = _unpack(batch)
        todo = [i for i, (kind, _) in enumerate(rows) if kind == CHUNKED]
        vectors, tokens = embed_chunks(self.embedder, [rows[i][1][1] for i in todo])
        for i, vecs, n in zip(todo, vectors, tokens, strict=True):
            doc, chunks = rows[i][1]
            rows[i] = (EMBEDDED, (doc, chunks, np.asarray(vecs, dtype=np.float32), n))
        return _rows([k for k, _ in rows], [o for _, o in rows])


def build_dataset(ray: Any, files: list[tuple[Path, str]], stored: dict[str, str],
                  settings: Settings, max_bytes: int) -> Any:
    """The read -> chunk -> embed plan over ``files``; lazy until iterated, in input order."""
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # first of two same-source files wins, as locally
    conf = settings.model_dump(mode="json")
    # workers have their own working directory: they get absolute paths
    ds = ray.data.from_items([{"path": str(p.absolute()), "given": str(p), "source": s}
                              for p, s in files],
                             override_num_blocks=max(1, min(len(files), 64)))
    ds = ds.map_batches(read_files, batch_size=READ_BATCH, batch_format="numpy",
                        fn_kwargs={"stored": stored, "max_bytes": max_bytes}, num_cpus=0.25)
    ds = ds.map_batches(ChunkStage, batch_size=settings.ray_batch_size, batch_format="numpy",
                        fn_constructor_kwargs={"settings": conf},
                        compute=ray.data.ActorPoolStrategy(
                            min_size=1, max_size=settings.ray_embed_actors), num_cpus=0.25)
    return ds.map_batches(EmbedStage, batch_size=settings.ray_batch_size, batch_format="numpy",
                          fn_constructor_kwargs={"settings": conf},
                          compute=ray.data.ActorPoolStrategy(size=settings.ray_embed_actors),
                          num_cpus=settings.ray_actor_cpus)


def connect(ray: Any, address: str | None) -> None:
    """Join the cluster at ``address`` (None: RAY_ADDRESS, a running local one, or a new one)."""
    if ray.is_initialized():
        return
    try:
        ray.init(address=address or None, logging_level=logging.WARNING,
                 runtime_env={"env_vars": WORKER_ENV}, configure_logging=True)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ConfigError(f"Cannot connect to the Ray cluster at {address or 'auto'}: {exc}. Start "
                          "it (`ray start --head`) or give its address: --ray HOST:6379.") from exc


def preflight(settings: Settings) -> None:
    """Refuse before anything is opened: no Chroma server configured, or Ray missing."""
    if not settings.chroma_url:
        raise ConfigError(NEEDS_SERVER.format(store=settings.store))
    import_ray()


def ray_ingest(index: Index, settings: Settings, paths: list[Path], *, address: str | None = None,
               prune: bool = False, progress: Progress | None = None) -> IngestReport:
    """Ingest ``paths`` on a Ray cluster into the Chroma server behind ``index``; the same
    report and store as ``ingest_paths`` would give."""
    preflight(settings)
    ray = import_ray()
    started = time.perf_counter()
    report = IngestReport()
    roots = [Path(p).resolve() for p in paths]
    max_bytes = int(settings.max_file_mb * 2**20)
    with index.writing():
        stored = {s: r.content_hash for s, r in index.records().items()}
        seen: set[str] = set()
        files: list[tuple[Path, str]] = []
        for item in iter_files(paths):
            if isinstance(item, LoadFailure):
                admit(item, stored, seen, report)
            else:
                files.append(item)
        if files:
            connect(ray, address)
            ds = build_dataset(ray, files, stored, settings, max_bytes)
            for batch in ds.iter_batches(batch_size=settings.ray_batch_size, batch_format="numpy",
                                         prefetch_batches=1):
                _write(index, _unpack(batch), stored, seen, report)
                if progress:
                    progress(len(seen), report.chunks_embedded)
        if prune:
            prune_gone(index, roots, seen, report)
    report.seconds = time.perf_counter() - started
    return report


def _write(index: Index, rows: list[tuple[str, Any]], stored: dict[str, str], seen: set[str],
           report: IngestReport) -> None:
    """Account for one batch of results in order and store its new documents in one write."""
    items: list[tuple[Document, list[Chunk], np.ndarray]] = []
    for kind, obj in rows:
        item = obj[0] if kind == EMBEDDED else obj
        doc = admit(item, stored, seen, report)
        if doc is None:
            continue
        if kind != EMBEDDED:  # cannot happen: the read stage compared the same hashes
            raise CitewiseError(f"{doc.source}: reached the writer without vectors ({kind}); "
                                "please report it, and re-run the ingest.")
        _, chunks, vectors, tokens = obj
        items.append((doc, chunks, vectors))
        report.chunks_embedded += len(chunks)
        report.tokens_embedded += tokens
    index.write_documents(items)
