"""The index: chunks and documents in Chroma, plus the BM25 index kept in step.

This is the one place where raw Chroma dicts become citewise records. Chroma is the single
source of truth (so a Chroma server can be shared by several processes); the BM25 index is a
derived cache in the store directory, stamped with the collection's ``generation``.

Write protocol per batch of documents (crash-safe without transactions):
1. add the new chunks, 2. upsert the document records (the commit point), 3. delete the chunks
the old versions used. A crash leaves only unreferenced chunks, which reads ignore and
``repair()`` deletes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np

from rag.errors import IndexMismatchError, NotFoundError, StoreError
from rag.language.aliases import RULE as ALIASES_RULE
from rag.language.aliases import document_aliases
from rag.language.aliases import merge as merge_aliases
from rag.language.tables import tables_from_json, tables_json
from rag.language.voice import voice_names
from rag.records import Chunk, Document, DocumentInfo, Filters
from rag.sentence_vectors import SentenceVectors
from rag.storage.bm25 import BM25Index
from rag.storage.embeddings import Embedder

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA = 1
WRITE_LOCK_TTL = 120.0  # seconds a replica's write lock outlives its last sign of life
WRITE_LOCK_WAIT = 600.0  # how long a writer waits for another replica's write to finish
_DOC_VECTOR = [1.0]  # document records are fetched by id, never searched
READ_PAGE = 5000  # records per Chroma get() when reading a whole collection


def date_key(iso: str) -> int:
    """YYYY-MM-DD -> 20251028 so Chroma can range-filter dates; 0 when unknown."""
    digits = iso[:10].replace("-", "")
    return int(digits) if len(digits) == 8 and digits.isdigit() else 0


@dataclass
class DocRecord:
    """A stored document's metadata and the ids of its chunks (text fetched on demand)."""

    source: str
    title: str
    url: str
    published: str
    authors: list[str]
    content_hash: str
    ingested_at: str
    chunk_ids: set[str] = field(default_factory=set)
    pages: list[int] = field(default_factory=list)
    path: str = ""
    aliases: dict[str, str] = field(default_factory=dict)  # acronym -> long form (rag/language/aliases.py)
    aliases_current: bool = True  # made by rag/language/aliases.py's present rule
    voice: list[str] = field(default_factory=list)  # whom "we" means in it (rag/language/voice.py)
    dated_by: str = ""  # where ``published`` came from (Document.dated_by)

    def info(self) -> DocumentInfo:
        return DocumentInfo(self.source, self.title, self.url, self.published, self.authors,
                            len(self.chunk_ids), self.ingested_at, self.content_hash,
                            self.dated_by)


def _record_from_chroma(source: str, meta: dict[str, Any]) -> DocRecord:
    # a table of acronyms made by an older rule is not read (see Index.upgrade_aliases)
    current = meta.get("aliases_rule") == ALIASES_RULE
    return DocRecord(
        source=source,
        title=str(meta.get("title", "")),
        url=str(meta.get("url", "")),
        published=str(meta.get("published", "")),
        authors=json.loads(meta.get("authors", "[]")),
        content_hash=str(meta.get("content_hash", "")),
        ingested_at=str(meta.get("ingested_at", "")),
        chunk_ids=set(json.loads(meta.get("chunk_ids", "[]"))),
        pages=json.loads(meta.get("pages", "[]")),
        path=str(meta.get("path", "")),
        aliases=json.loads(meta.get("aliases", "{}")) if current else {},
        aliases_current=current,
        voice=json.loads(meta.get("voice", "[]")),
        dated_by=str(meta.get("dated_by", "")),
    )


def _chunk_from_chroma(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    page = meta.get("page")
    sections = [(int(o), str(t)) for o, t in json.loads(meta["sections"])] if meta.get(
        "sections") else []
    tables = tables_from_json(str(meta["tables"])) if meta.get("tables") else []
    return Chunk(chunk_id, str(meta["source"]), int(meta["ordinal"]), int(meta["start"]),
                 int(meta["end"]), text, int(page) if page else None,
                 SentenceVectors.from_metadata(meta), sections, tables)


def _disk_full(exc: BaseException) -> bool:
    """ENOSPC, or SQLite's "database or disk is full" as Chroma reports it."""
    return getattr(exc, "errno", None) == errno.ENOSPC or "disk is full" in str(exc).lower()


DISK_FULL_ADVICE = ("Free some space (or point CITEWISE_STORE at a bigger disk) and run the "
                    "command again; documents stored before are intact.")


def _unreachable(exc: BaseException) -> bool:
    """A Chroma server that cannot be reached: httpx's transport errors (refused, timeout)."""
    import httpx

    return isinstance(exc, httpx.TransportError)


@contextlib.contextmanager
def _chroma_errors(action: str) -> Iterator[None]:
    """Turn transport failures into a StoreError that says what to do."""
    try:
        yield
    except (ConnectionError, TimeoutError, OSError) as exc:
        if _disk_full(exc):
            raise StoreError(f"The disk is full while {action}: {exc}. {DISK_FULL_ADVICE}") from exc
        raise StoreError(f"Chroma is unreachable while {action}: {exc}. Check that the Chroma "
                         "server is running (CITEWISE_CHROMA_URL) and try again.") from exc
    except Exception as exc:  # chromadb raises many types; keep ours and re-raise others typed
        if exc.__class__.__module__.startswith(("chromadb", "httpx", "httpcore")):
            if _unreachable(exc):
                raise StoreError(f"Chroma is unreachable while {action}: {exc}. Check that the "
                                 "Chroma server is running (CITEWISE_CHROMA_URL) and try "
                                 "again.") from exc
            if _disk_full(exc):
                raise StoreError(f"The disk holding the store is full while {action} ({exc}). "
                                 f"{DISK_FULL_ADVICE}") from exc
            raise StoreError(f"Chroma failed while {action}: {exc}. Try again; if it persists, "
                             "check the Chroma server logs or the store directory.") from exc
        raise


class Index:
    """Chunks and documents in Chroma, with a BM25 index kept in step."""

    def __init__(self, client: Any, embedder: Embedder, collection: str = "citewise",
                 cache_dir: Path | None = None, shared: bool = False) -> None:
        self.client = client
        # shared: other processes (replicas) write to the same Chroma server, so writes take a
        # lock kept in Chroma itself, not only the file lock in cache_dir
        self.shared = shared
        self._claims_col: Any = None
        self._write_token: str | None = None
        self.embedder = embedder
        self.name = collection
        self.cache_dir = cache_dir
        self._lock = threading.RLock()
        self._bm25: BM25Index | None = None
        self._records: dict[str, DocRecord] | None = None
        # what is made from the records (chunk owners, the acronym table, the listing), by name,
        # for the records object it was made from
        self._derived: tuple[dict[str, DocRecord] | None, dict[str, Any]] = (None, {})
        self._records_generation = ""
        self._checked_at = 0.0
        self._generation = ""
        with _chroma_errors("opening the collection"):
            self.chunks = client.get_or_create_collection(
                collection,
                embedding_function=None,
                metadata=self._fresh_metadata(),
                configuration={"hnsw": {"space": "cosine"}},
            )
            self.docs = client.get_or_create_collection(f"{collection}-docs", embedding_function=None)
        self._check_model(self.chunks.metadata or {})
        self._generation = str((self.chunks.metadata or {}).get("generation", ""))

    # ---- collection metadata ---------------------------------------------------------------
    def _fresh_metadata(self) -> dict[str, Any]:
        return {"citewise_schema": SCHEMA, "embedding_model": self.embedder.name,
                "dimension": self.embedder.dimension, "generation": uuid.uuid4().hex}

    def _check_model(self, meta: dict[str, Any]) -> None:
        model, dim = meta.get("embedding_model"), meta.get("dimension")
        if model is None:
            return
        if model != self.embedder.name or int(dim or 0) != self.embedder.dimension:
            same = f"CITEWISE_EMBEDDING_MODEL={model}"
            if str(model).endswith("@int8") != self.embedder.name.endswith("@int8"):
                # the int8 variant's vectors differ: the backend is what to set
                same = ("CITEWISE_EMBEDDING_BACKEND="
                        + ("onnx-int8" if str(model).endswith("@int8") else "onnx"))
            raise IndexMismatchError(
                f"The collection {self.name!r} was built with embedding model {model!r} "
                f"(dimension {dim}), but {self.embedder.name!r} (dimension "
                f"{self.embedder.dimension}) is configured. Use the same model "
                f"({same}), or re-index into a new collection or store: "
                "`citewise ingest PATH --collection NEW` (or delete the store directory and "
                "ingest again)."
            )

    def current_generation(self, max_age: float = 0.5) -> str:
        """The collection's write generation, re-read at most every ``max_age`` seconds."""
        now = time.monotonic()
        if now - self._checked_at >= max_age:
            with _chroma_errors("reading the collection"):
                meta = self.client.get_collection(self.name, embedding_function=None).metadata or {}
            self._generation = str(meta.get("generation", ""))
            self._checked_at = now
        return self._generation

    def _set_generation(self, generation: str) -> None:
        meta = dict(self.chunks.metadata or {})
        meta.update({"embedding_model": self.embedder.name, "dimension": self.embedder.dimension,
                     "citewise_schema": SCHEMA, "generation": generation})
        with _chroma_errors("updating the collection"):
            self.chunks.modify(metadata=meta)
        self._generation = generation
        self._checked_at = time.monotonic()

    # ---- documents --------------------------------------------------------------------------
    def records(self) -> dict[str, DocRecord]:
        """All document records, cached until the generation changes."""
        generation = self.current_generation()
        with self._lock:
            if self._records is None or self._records_generation != generation:
                got = self.get_all(self.docs, ["metadatas"], "listing documents")
                self._records = {i: _record_from_chroma(i, m)
                                 for i, m in zip(got["ids"], got["metadatas"], strict=True)}
                self._records_generation = generation
            return self._records

    def _from_records(self, name: str, make: Callable[[dict[str, DocRecord]], T]) -> T:
        """What ``make`` builds from the records, built once per rebuild of the records (any
        write, here or by another process) rather than on every ask."""
        records = self.records()
        with self._lock:
            if self._derived[0] is not records:
                self._derived = (records, {})
            made = self._derived[1]
            if name not in made:
                made[name] = make(records)
            return cast(T, made[name])

    def chunk_sources(self) -> dict[str, str]:
        """Chunk id -> the source of its document. Read-only."""
        return self._from_records("owners", lambda records: {
            cid: source for source, rec in records.items() for cid in rec.chunk_ids})

    def aliases(self) -> dict[str, str]:
        """Acronyms the stored documents define (recorded at ingest), merged (for 1,800 news
        documents ~0.5 ms, once per rebuild of the records). Read-only."""
        return self._from_records("aliases", lambda records: merge_aliases(
            r.aliases for r in records.values()))

    def documents(self) -> list[DocumentInfo]:
        """Every stored document, by source (for 1,800 news documents ~3 ms, once per rebuild
        of the records: a server's feedback log fingerprints every answer with the listing)."""
        return list(self._from_records("listing", lambda records: sorted(
            (r.info() for r in records.values()), key=lambda d: d.source)))

    def document(self, source: str) -> Document:
        """The stored document with its cleaned text; NotFoundError when absent."""
        with _chroma_errors("reading a document"):
            got = self.docs.get(ids=[source], include=["metadatas", "documents"])
        if not got["ids"]:
            raise NotFoundError(f"No document {source!r} in the store; `citewise docs` lists them.")
        rec = _record_from_chroma(source, got["metadatas"][0])
        return Document(source, got["documents"][0], rec.title, rec.url, rec.published,
                        rec.authors, rec.pages, rec.path, rec.ingested_at)

    def sources_matching(self, filters: Filters) -> set[str]:
        """Source ids that pass the metadata filters."""
        lo, hi = date_key(filters.date_from or ""), date_key(filters.date_to or "")
        keep = set()
        for rec in self.records().values():
            if filters.sources and rec.source not in filters.sources:
                continue
            day = date_key(rec.published)
            if (lo and (not day or day < lo)) or (hi and (not day or day > hi)):
                continue
            keep.add(rec.source)
        return keep

    # ---- writes -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Exclusive write session: bumps the generation first, so a crash mid-way leaves a
        generation no BM25 file matches (it is rebuilt), and again when done, so what any
        process cached during the write is stale; saves BM25 at the end."""
        lock_file = None
        if self.cache_dir is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            lock_file = (self.cache_dir / f"{self.name}.lock").open("w")
            fcntl.flock(lock_file, fcntl.LOCK_EX)
        if self.shared:
            self._acquire_shared_write_lock()
        try:
            with self._lock:
                bm25 = self.bm25()
                generation = uuid.uuid4().hex
                self._set_generation(generation)
                bm25.generation = generation  # in memory only: the file keeps the old stamp
                try:
                    self.repair()
                    self.upgrade_aliases()
                    yield
                except BaseException:
                    # a write failed midway: the in-memory BM25 (stamped with the current
                    # generation) may lack chunks Chroma now holds; drop it so it is rebuilt
                    self._bm25 = None
                    self._records = None
                    raise
                # and again at the end: a replica that read the records mid-write (under the
                # first stamp, without this write's documents) must see a change to re-read
                generation = uuid.uuid4().hex
                self._set_generation(generation)
                bm25.generation = generation
                self._records = None
                self._save_bm25(bm25)
        finally:
            if self.shared:
                self._release_shared_write_lock()
            if lock_file is not None:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
                lock_file.close()

    # ---- claims shared by every process on the same Chroma ----------------------------------
    def _claims(self) -> Any:
        if self._claims_col is None:
            with _chroma_errors("opening the claims collection"):
                self._claims_col = self.client.get_or_create_collection(
                    f"{self.name}-claims", embedding_function=None)
        return self._claims_col

    def try_claim(self, key: str, ttl: float) -> str | None:
        """Claim ``key`` for ``ttl`` seconds; a token when this caller got it, else None.

        Chroma's ``add`` keeps the first record of an id and ignores later ones, so of several
        processes adding the same id at once exactly one reads its own token back. An expired
        claim is deleted only while it still names its old owner, then claimed afresh."""
        col = self._claims()
        for _ in range(2):
            token, now = uuid.uuid4().hex, time.time()
            with _chroma_errors("claiming"):
                col.add(ids=[key], embeddings=[_DOC_VECTOR],
                        metadatas=[{"owner": token, "expires": now + ttl}])
                got = col.get(ids=[key], include=["metadatas"])
            meta = got["metadatas"][0] if got["ids"] else {}
            if meta.get("owner") == token:
                return token
            if float(meta.get("expires", 0.0)) >= now:
                return None
            with _chroma_errors("claiming"):  # expired: remove it unless someone renewed it
                col.delete(ids=[key], where={"owner": str(meta.get("owner", ""))})
        return None

    def renew_claim(self, key: str, token: str, ttl: float) -> bool:
        """Extend a claim ``token`` still holds; False when it lapsed to another owner."""
        with _chroma_errors("renewing a claim"):
            got = self._claims().get(ids=[key], include=["metadatas"])
            if got["ids"] and got["metadatas"][0].get("owner") == token:
                self._claims().update(ids=[key], metadatas=[{"owner": token,
                                                             "expires": time.time() + ttl}])
                return True
        return False

    def release_claim(self, key: str, token: str) -> None:
        with _chroma_errors("releasing a claim"):
            self._claims().delete(ids=[key], where={"owner": token})

    def prune_claims(self) -> None:
        """Drop expired claims (Slack event ids, stale locks) so the collection stays small."""
        with _chroma_errors("pruning claims"):
            self._claims().delete(where={"expires": {"$lt": time.time()}})

    def _acquire_shared_write_lock(self) -> None:
        key = f"write-lock:{self.name}"
        deadline = time.monotonic() + WRITE_LOCK_WAIT
        while (token := self.try_claim(key, WRITE_LOCK_TTL)) is None:
            if time.monotonic() > deadline:
                raise StoreError(
                    f"Another citewise process has been writing to {self.name!r} for over "
                    f"{WRITE_LOCK_WAIT:.0f} s. Wait for it to finish and try again; a lock left "
                    f"by a killed process expires {WRITE_LOCK_TTL:.0f} s after its last write.")
            time.sleep(0.2)
        self._write_token = token

    def _renew_shared_write_lock(self) -> None:
        if self.shared and self._write_token:
            self.renew_claim(f"write-lock:{self.name}", self._write_token, WRITE_LOCK_TTL)

    def _release_shared_write_lock(self) -> None:
        token, self._write_token = self._write_token, None
        if token:
            try:
                self.release_claim(f"write-lock:{self.name}", token)
            except StoreError as exc:  # it expires by itself
                log.warning("could not release the shared write lock: %s", exc)

    def write_documents(self, items: Sequence[tuple[Document, list[Chunk], np.ndarray]]) -> None:
        """Store documents with their chunks and embeddings, replacing older versions."""
        if not items:
            return
        self._renew_shared_write_lock()
        old = self._stored_chunk_ids([doc.source for doc, _, _ in items])
        new_ids: set[str] = set()
        add_ids, add_vecs, add_docs, add_meta = [], [], [], []
        for doc, chunks, vectors in items:
            published_day = date_key(doc.published)
            for chunk, vec in zip(chunks, vectors, strict=True):
                new_ids.add(chunk.id)
                if chunk.id in old.get(doc.source, ()):
                    continue
                meta = {"source": doc.source, "ordinal": chunk.ordinal, "start": chunk.start,
                        "end": chunk.end, "published_day": published_day}
                if chunk.page:
                    meta["page"] = chunk.page
                if chunk.sections:
                    meta["sections"] = json.dumps(chunk.sections, ensure_ascii=False)
                if chunk.tables:
                    meta["tables"] = tables_json(chunk.tables)
                if chunk.sentence_vectors is not None:
                    meta.update(chunk.sentence_vectors.to_metadata())
                add_ids.append(chunk.id)
                add_vecs.append(vec)
                add_docs.append(chunk.text)
                add_meta.append(meta)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self._batched(self.chunks.upsert, ids=add_ids, embeddings=add_vecs, documents=add_docs,
                      metadatas=add_meta)
        self._batched(
            self.docs.upsert,
            ids=[doc.source for doc, _, _ in items],
            embeddings=[_DOC_VECTOR] * len(items),
            documents=[doc.text for doc, _, _ in items],
            metadatas=[self._doc_meta(doc, chunks, now) for doc, chunks, _ in items],
        )
        stale = sorted({cid for ids in old.values() for cid in ids} - new_ids)
        self._batched(self.chunks.delete, ids=stale)
        bm25 = self.bm25()
        bm25.remove(stale)
        bm25.add(add_ids, add_docs)
        self._records = None

    def delete_documents(self, sources: Sequence[str]) -> None:
        """Remove documents: their record first (the commit point), then their chunks."""
        self._renew_shared_write_lock()
        old = self._stored_chunk_ids(list(sources))
        self._batched(self.docs.delete, ids=list(sources))
        stale = sorted({cid for ids in old.values() for cid in ids})
        self._batched(self.chunks.delete, ids=stale)
        self.bm25().remove(stale)
        self._records = None

    def repair(self) -> int:
        """Delete chunks no document record references (left by a crash); returns how many."""
        all_ids = set(self.get_all(self.chunks, [], "checking the store")["ids"])
        self._records = None
        referenced = set().union(*(r.chunk_ids for r in self.records().values())) if all_ids else set()
        orphans = sorted(all_ids - referenced)
        if orphans:
            log.warning("removing %d chunks left by an interrupted write", len(orphans))
            self._batched(self.chunks.delete, ids=orphans)
            self.bm25().remove(orphans)
        return len(orphans)

    def upgrade_aliases(self) -> int:
        """Make each document's acronym table again with the present rule where an older one
        made it (rag/language/aliases.py: RULE); runs in every write session, so the next
        ingest, upload or feed refresh of a store written before mends it. Returns how many."""
        old = sorted(s for s, r in self.records().items() if not r.aliases_current)
        for i in range(0, len(old), 200):
            with _chroma_errors("reading documents"):
                got = self.docs.get(ids=old[i : i + 200], include=["metadatas", "documents"])
            metas = [{**meta, "aliases": json.dumps(document_aliases(text or "")),
                      "aliases_rule": ALIASES_RULE}
                     for meta, text in zip(got["metadatas"], got["documents"], strict=True)]
            self._batched(self.docs.update, ids=list(got["ids"]), metadatas=metas)
        if old:
            log.info("acronyms of %d documents made again with the present rule", len(old))
            self._records = None
        return len(old)

    def _doc_meta(self, doc: Document, chunks: list[Chunk], now: str) -> dict[str, Any]:
        return {"title": doc.title, "url": doc.url, "published": doc.published,
                "published_day": date_key(doc.published), "authors": json.dumps(doc.authors),
                "content_hash": doc.content_hash, "ingested_at": now,
                "chunk_ids": json.dumps([c.id for c in chunks]), "n_chunks": len(chunks),
                "pages": json.dumps(doc.pages), "path": doc.path,
                "aliases": json.dumps(document_aliases(doc.text)), "aliases_rule": ALIASES_RULE,
                "voice": json.dumps(voice_names(doc), ensure_ascii=False),
                "dated_by": doc.dated_by}

    def _stored_chunk_ids(self, sources: list[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for i in range(0, len(sources), 1000):
            with _chroma_errors("reading documents"):
                got = self.docs.get(ids=sources[i : i + 1000], include=["metadatas"])
            for source, meta in zip(got["ids"], got["metadatas"], strict=True):
                out[source] = set(json.loads(meta.get("chunk_ids", "[]")))
        return out

    def _batched(self, method: Any, **columns: list[Any]) -> None:
        n = len(columns["ids"])
        step = 2000
        for i in range(0, n, step):
            part: dict[str, Any] = {k: v[i : i + step] for k, v in columns.items()}
            if "embeddings" in part:
                part["embeddings"] = np.asarray(part["embeddings"], dtype=np.float32)
            with _chroma_errors("writing"):
                method(**part)

    # ---- reads ------------------------------------------------------------------------------
    @staticmethod
    def get_all(collection: Any, include: list[str], what: str) -> dict[str, list[Any]]:
        """Every record of a collection, read in pages: one unbounded ``get`` fails past ~32k
        records ("too many SQL variables" from Chroma's SQLite)."""
        out: dict[str, list[Any]] = {"ids": [], **{k: [] for k in include}}
        offset = 0
        while True:
            with _chroma_errors(what):
                got = collection.get(include=include, limit=READ_PAGE, offset=offset)
            for key in out:
                values = got.get(key)
                out[key].extend([] if values is None else list(values))
            if len(got["ids"]) < READ_PAGE:
                return out
            offset += READ_PAGE

    def count(self) -> int:
        with _chroma_errors("counting chunks"):
            return int(self.chunks.count())

    def dense_ids(self, vector: np.ndarray, k: int,
                  sources: set[str] | None = None) -> list[tuple[str, float]]:
        """Ids of the nearest chunks with their cosine similarity (1 - distance). Ids only:
        fusion needs no text, and reading the text and metadata of every candidate cost more
        than the search (sentence vectors ride there); ``get_chunks`` reads the few kept."""
        if sources is not None and not sources:
            return []
        where = {"source": {"$in": sorted(sources)}} if sources is not None else None
        # no count() first: Chroma returns what there is when asked for more (an empty
        # collection gives none), and the count cost ~6 ms an ask
        with _chroma_errors("searching"):
            got = self.chunks.query(query_embeddings=np.asarray([vector], dtype=np.float32),
                                    n_results=max(k, 1), where=where, include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(got["ids"][0], got["distances"][0], strict=True)]

    def get_chunks(self, ids: list[str]) -> dict[str, Chunk]:
        if not ids:
            return {}
        with _chroma_errors("reading chunks"):
            got = self.chunks.get(ids=ids, include=["documents", "metadatas"])
        return {i: _chunk_from_chroma(i, d, m)
                for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)}

    # ---- BM25 ---------------------------------------------------------------------------------
    def _bm25_path(self) -> Path | None:
        return self.cache_dir / f"{self.name}.bm25.npz" if self.cache_dir else None

    def _save_bm25(self, bm25: BM25Index) -> None:
        """Save the BM25 cache. It is derived from Chroma: when it cannot be written (a full
        disk), the old file keeps its old generation and is rebuilt by the next reader, so the
        documents just written stay correct and this is only a warning."""
        path = self._bm25_path()
        if path is None:
            return
        try:
            bm25.save(path)
        except OSError as exc:
            log.warning("could not save the keyword index to %s (%s); it will be rebuilt on the "
                        "next start.%s", path, exc.strerror or exc,
                        f" {DISK_FULL_ADVICE}" if _disk_full(exc) else "")

    def bm25(self) -> BM25Index:
        """The BM25 index matching the store: in memory, else from disk, else rebuilt."""
        generation = self.current_generation()
        with self._lock:
            if self._bm25 is not None and self._bm25.generation == generation:
                return self._bm25
            path = self._bm25_path()
            loaded = BM25Index.load(path) if path else None
            if loaded is not None and loaded.generation == generation:
                self._bm25 = loaded
                return loaded
            self._bm25 = self._rebuild_bm25(generation)
            return self._bm25

    def _rebuild_bm25(self, generation: str) -> BM25Index:
        started = time.perf_counter()
        bm25 = BM25Index()
        total = self.count()
        for offset in range(0, total, 5000):
            with _chroma_errors("rebuilding the keyword index"):
                got = self.chunks.get(include=["documents"], limit=5000, offset=offset)
            bm25.add(got["ids"], got["documents"])
        bm25.generation = generation
        log.info("rebuilt BM25 over %d chunks in %.1fs", len(bm25), time.perf_counter() - started)
        self._save_bm25(bm25)
        return bm25
