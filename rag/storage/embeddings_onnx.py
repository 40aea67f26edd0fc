"""The embedding model on onnxruntime: the same vectors as sentence-transformers, without torch.

Why: a question's vector is one forward pass of a 22M-parameter model, yet loading torch and
sentence-transformers takes seconds and hundreds of MB; onnxruntime and ``tokenizers`` (both
already needed by the reader) do the same pass in half the time. The model is exported once,
from its local weights, by ``python -m rag.storage.embeddings_onnx`` (``make install`` runs it; nothing
is downloaded) or on first use, into the cache folder with a manifest holding its sha256.

Only sentence-transformers models made of a Transformer, mean Pooling and Normalize (the
bundled all-MiniLM-L6-v2, all-mpnet-base-v2, most sentence-transformers models) are exported;
any other model stays on the torch backend. The vectors equal the torch backend's (cosine
1.000000 in tests/rag/storage/test_embeddings_onnx.py), so a store built with one is read by the other.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.bundled import BUNDLED_SHA256, bundled_model_path, check_weights, sha256_file
from rag.errors import ModelError
from rag.onnx_runtime import session_options, shrink_run_options
from rag.sentence_vectors import SentenceVectors, pool
from rag.storage.embeddings import BUNDLED_ALIASES, ENCODE_CONCURRENCY, _LocalTokens

log = logging.getLogger(__name__)
# a batch may be padded to at most this many times the text it holds (padding_batches)
PADDING_SLACK = 1.25

MANIFEST = "manifest.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# A run of at most this many texts (an ask's question, its refined sentences) hands what it
# took from the memory arena back as it ends (BENCHMARKS.md, "A server without the chat"); an
# ingest's 64-chunk batches keep theirs, since allocating them again each time made an ingest
# 40% slower ("The reader without a memory arena").
SHRINK_AT_MOST = 8


def cache_root() -> Path:
    base = os.environ.get("CITEWISE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "citewise")
    return Path(base) / "onnx"


def model_location(model: str) -> tuple[str, Path]:
    """(name, folder) of a sentence-transformers model given by name or path."""
    if model in BUNDLED_ALIASES:
        from rag.config import BUNDLED_MODEL

        return BUNDLED_MODEL, bundled_model_path(verify=False)
    return model, Path(model)


def exportable(folder: Path) -> bool:
    """A Transformer + mean Pooling (+ Normalize) sentence-transformers folder."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return (kinds in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"])
            and bool(pooling.get("pooling_mode_mean_tokens"))
            and not any(pooling.get(k) for k in ("pooling_mode_cls_token",
                                                 "pooling_mode_max_tokens")))


def _weights(folder: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).exists():
            return folder / name
    raise ModelError(f"No model weights (model.safetensors) in {folder}.")


def export_dir(name: str, folder: Path) -> Path:
    """Where the export of these weights lives: named after the weights file (path, size and
    time), so new weights at the same path are exported again."""
    weights = _weights(folder)
    key = hashlib.sha256(f"{weights.resolve()}:{weights.stat().st_size}:"
                         f"{weights.stat().st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_root() / f"{name.replace('/', '--')}-{key}"


def export(model: str) -> Path:
    """Export ``model`` to ONNX (fp32) from its local files; returns the folder. Uses torch and
    transformers, which are installed for ingest; run once per model and machine."""
    name, folder = model_location(model)
    if not exportable(folder):
        raise ModelError(f"{name}: only sentence-transformers folders of Transformer, mean "
                         "Pooling and Normalize can run on onnxruntime; use "
                         "CITEWISE_EMBEDDING_BACKEND=torch for this model.")
    if name == model_location("")[0]:
        check_weights(_weights(folder), BUNDLED_SHA256)
    out = export_dir(name, folder)
    if (out / MANIFEST).exists():
        return out
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    started = time.perf_counter()
    tok = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    net = transformers.AutoModel.from_pretrained(str(folder), local_files_only=True)
    net.eval()

    class TokenVectors(torch.nn.Module):  # type: ignore[misc]  # named inputs, hidden state out
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.net(input_ids=input_ids, attention_mask=attention_mask,
                            token_type_ids=token_type_ids).last_hidden_state

    enc = tok(["a first text", "and a second, longer one"], padding=True, return_tensors="pt")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on BERT's shape arithmetic
        staged = Path(tmp)
        with torch.no_grad():
            torch.onnx.export(
                TokenVectors(), tuple(enc[n] for n in INPUTS), str(staged / "model.onnx"),
                input_names=list(INPUTS), output_names=["token_embeddings"], opset_version=17,
                dynamo=False, dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in INPUTS},
                                            "token_embeddings": {0: "batch", 1: "tokens"}})
        tok.backend_tokenizer.save(str(staged / "tokenizer.json"))
        config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        normalize = (folder / "modules.json").read_text(encoding="utf-8").count("Normalize") > 0
        manifest = {"model": name, "source": str(folder), "onnx": "model.onnx",
                    "sha256": sha256_file(staged / "model.onnx"),
                    "max_seq_length": int(config["max_seq_length"]),
                    "dimension": int(net.config.hidden_size), "normalize": normalize,
                    "pad_id": int(tok.pad_token_id or 0)}
        (staged / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        try:
            staged.rename(out)  # whole or not at all: another process may export at once
        except OSError:
            if not (out / MANIFEST).exists():
                raise
    log.info("exported %s to ONNX in %.1fs: %s", name, time.perf_counter() - started, out)
    return out


INT8 = "model-int8.onnx"


def export_int8(model: str) -> Path:
    """The fp32 export quantized to int8 (dynamic, per channel) beside it; its sha256 is
    recorded in ``int8.json``. Needs the ``onnx`` package (``pip install citewise[train]``)."""
    out = export(model)
    if (out / "int8.json").exists():
        return out
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise ModelError("The int8 embedding model is made with the onnx package: pip install "
                         "'citewise[train]', or use CITEWISE_EMBEDDING_BACKEND=onnx.") from exc
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        staged = Path(tmp) / INT8
        quantize_dynamic(str(out / "model.onnx"), str(staged), per_channel=True,
                         weight_type=QuantType.QInt8)
        os.replace(staged, out / INT8)
    (out / "int8.json").write_text(json.dumps({"onnx": INT8, "sha256": sha256_file(out / INT8)})
                                   + "\n", encoding="utf-8")
    return out


class OnnxEmbedder(_LocalTokens):
    """A sentence-transformers model (Transformer, mean pooling, normalize) on onnxruntime."""

    backend = "onnx"
    #: chunking's token counts (one tokenizer) may run while a batch encodes (another one)
    parallel_tokens = True

    def __init__(self, model: str = "", batch_size: int = 64, int8: bool = False) -> None:
        super().__init__()
        self.name, self.folder = model_location(model)
        self.int8 = int8
        if int8:  # other vectors: a store made with fp32 (or torch) refuses it, and back
            self.name += "@int8"
        self.batch_size = batch_size
        config = json.loads((self.folder / "sentence_bert_config.json").read_text("utf-8"))
        pooling = json.loads((self.folder / "1_Pooling" / "config.json").read_text("utf-8"))
        self.dimension = int(pooling["word_embedding_dimension"])
        self.max_tokens = int(config["max_seq_length"])
        self._session: Any = None
        self._tok: Any = None
        self._plain: Any = None
        self._normalize = True
        self._load_lock = threading.Lock()
        self._encode_gate = threading.BoundedSemaphore(ENCODE_CONCURRENCY)
        self._shrink: Any = None  # shrink_run_options() once loaded, when the session has an arena

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def load(self) -> OnnxEmbedder:
        with self._load_lock:
            if self._session is None:
                self._session, self._tok, self._plain, self._normalize = self._open()
                if self._session.get_session_options().enable_cpu_mem_arena:
                    self._shrink = shrink_run_options()
        return self

    def _open(self) -> tuple[Any, Any, Any, bool]:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        started = time.perf_counter()
        source = "" if self.folder == model_location("")[1] else str(self.folder)
        out = export_int8(source) if self.int8 else export(source)
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        if self.int8:
            manifest.update(json.loads((out / "int8.json").read_text(encoding="utf-8")))
        if sha256_file(out / manifest["onnx"]) != manifest["sha256"]:
            raise ModelError(f"{out / manifest['onnx']} does not match its recorded sha256; "
                             f"delete {out} and it is exported again.")
        session = ort.InferenceSession(str(out / manifest["onnx"]), session_options(),
                                       providers=["CPUExecutionProvider"])
        tok = Tokenizer.from_file(str(out / "tokenizer.json"))
        tok.enable_truncation(max_length=self.max_tokens)
        tok.enable_padding(pad_id=int(manifest["pad_id"]))
        plain = Tokenizer.from_file(str(out / "tokenizer.json"))
        plain.no_truncation()
        plain.no_padding()
        log.info("loaded embedding model %s on onnxruntime (dim %d) in %.2fs", self.name,
                 self.dimension, time.perf_counter() - started)
        return session, tok, plain, bool(manifest["normalize"])

    # ---- tokens (chunking) -----------------------------------------------------------------
    def count_tokens(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        self.load()
        return [len(e.ids) for e in self._plain.encode_batch(texts, add_special_tokens=False)]

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        self.load()
        return [tuple(o) for o in self._plain.encode(text, add_special_tokens=False).offsets]

    def release_memory(self) -> None:
        """Hand back what large batches left in onnxruntime's memory arena: one tiny forward
        pass that shrinks the arena as it ends. Called when an ingest is done, so a server that
        took an upload (or a feed poll) does not keep an ingest's peak: six 64-chunk batches
        left RSS at 1,135 MB, 259 MB after this (BENCHMARKS.md). A session opened without an
        arena has nothing to shrink (asking would fail): malloc got its buffers back."""
        if self._shrink is None:  # not loaded, or no arena
            return
        one = np.zeros((1, 1), dtype=np.int64)
        with self._encode_gate:
            self._session.run(None, {"input_ids": one, "attention_mask": np.ones_like(one),
                                     "token_type_ids": one}, self._shrink)

    # ---- vectors ----------------------------------------------------------------------------
    def _forward(self, batch: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        """Token vectors, attention mask and encodings of one batch."""
        encs = self._tok.encode_batch(list(batch))
        feed = {"input_ids": np.array([e.ids for e in encs], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encs], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encs], dtype=np.int64)}
        options = self._shrink if len(batch) <= SHRINK_AT_MOST else None
        with self._encode_gate:
            tokens = self._session.run(None, feed, options)[0]
        return tokens, feed["attention_mask"], encs

    def _pool(self, tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
        m = mask[..., None].astype(np.float32)
        vectors = (tokens * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        if self._normalize:
            vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        return np.asarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.load()
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for idx in padding_batches([len(t) for t in texts], self.batch_size):
            tokens, mask, _ = self._forward([texts[i] for i in idx])
            out[idx] = self._pool(tokens, mask)
        return out

    def embed_with_sentences(
        self, texts: list[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[SentenceVectors | None]]:
        """Chunk vectors plus the given spans' vectors pooled from the same pass."""
        self.load()
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled: list[SentenceVectors | None] = [None] * len(texts)
        for idx in padding_batches([len(t) for t in texts], self.batch_size):
            tokens, mask, encs = self._forward([texts[i] for i in idx])
            vectors[idx] = self._pool(tokens, mask)
            for row, i in enumerate(idx):
                n = int(mask[row].sum())
                pooled[i] = pool(tokens[row, :n], encs[row].offsets[:n], spans[i])
        return vectors, pooled

    def _embed_one(self, text: str) -> np.ndarray:
        self.load()
        tokens, mask, _ = self._forward([text])
        return np.asarray(self._pool(tokens, mask)[0], dtype=np.float32)


def padding_batches(lengths: Sequence[int], size: int, slack: float = PADDING_SLACK
                    ) -> list[list[int]]:
    """Indices in batches of at most ``size``, longest first, a batch cut where padding to its
    first (longest) text would cost more than ``slack`` times the text it holds. A batch is
    padded to its longest text and every padded position costs a full forward pass: the seven
    sentences an ask refines (15 to 60 tokens) ran 25% faster one by one than in one batch,
    with the same vectors (BENCHMARKS.md, "Batches cut where padding costs")."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    held = 0
    for i in order:
        batch = batches[-1] if batches else None
        if batch is not None and len(batch) < size \
                and lengths[batch[0]] * (len(batch) + 1) <= slack * (held + lengths[i]):
            batch.append(i)
            held += lengths[i]
        else:
            batches.append([i])
            held = lengths[i]
    return batches


def main(argv: list[str] | None = None) -> int:
    """``python -m rag.storage.embeddings_onnx [MODEL]``: export once (make install runs it)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = sys.argv[1:] if argv is None else argv
    out = export(args[0] if args else "")
    sys.stdout.write(f"{out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
