"""The reader: a cross-encoder that scores how well one sentence answers a question.

A bi-encoder compares a question and a sentence embedded apart; the reader reads them together
(question, then the sentence with the sentence before it and its title as context), so it sees
that "green lit for a new season" answers "renewed?" and that a sentence sharing every word of
the question but naming no answer does not. It was trained by the project from the bundled
all-MiniLM-L6-v2 weights (``python -m eval.train.reader``; data, seed and figures in
BENCHMARKS.md) and ships next to this module as an int8 ONNX model run by onnxruntime: no torch,
no download. The file's sha256 is recorded in ``reader/reader.json`` and checked before loading.

The reader ranks; it does not decide alone. Its score is one feature of the answer scorer
(rag/answer/scorer.py), beside the rule checks, trained and calibrated on the development sets.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from rag.bundled import sha256_file
from rag.errors import ModelError
from rag.onnx_runtime import session_options

log = logging.getLogger(__name__)

READER_DIR = "reader"
MANIFEST = "reader.json"
CONTEXT_CHARS = 300  # of the sentence before the candidate, kept as context
CACHE_SIZE = 5000  # (question, candidate) scores kept between asks (~0.6 KB each)
QUESTION_WORDS = 32  # a longer question keeps its last words: a news quiz's preamble comes first


def pair_text(sentence: str, before: str = "", title: str = "") -> str:
    """The second segment the reader reads: the candidate first (it must never be truncated
    away), then its title and the sentence before it, which say what "it" or "the company" is.
    Training (eval/train/reader.py) and inference build it here, identically."""
    before = " ".join(before.split())[-CONTEXT_CHARS:]
    context = " ".join(p for p in (title.strip(), before) if p)
    sentence = " ".join(sentence.split())
    return f"{sentence} [SEP] {context}" if context else sentence


def question_text(question: str) -> str:
    """The question as the reader reads it: at most its last ``QUESTION_WORDS`` words, so the
    candidate always fits ("X happened this week. [...] Who is next in line?" keeps its ask)."""
    words = question.split()
    return " ".join(words[-QUESTION_WORDS:])


@dataclass(frozen=True)
class Manifest:
    """What ``reader.json`` records about the shipped model."""

    model: str  # file name of the ONNX model, next to the manifest
    tokenizer: str  # file name of the tokenizer (tokenizers' JSON)
    sha256: str
    max_length: int
    version: str

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(model=str(data["model"]), tokenizer=str(data["tokenizer"]),
                       sha256=str(data["sha256"]), max_length=int(data["max_length"]),
                       version=str(data.get("version", "")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"{path}: not a reader manifest ({exc}); reinstall citewise or "
                             "retrain with `python -m eval.train.reader`.") from exc


class Reader:
    """Scores (question, candidate) pairs with the ONNX cross-encoder; higher is better (a logit).

    Batched: one forward pass per question for all its candidates. Scores are cached by
    (question, candidate text), since the same passages come back question after question.
    """

    def __init__(self, folder: str | Path | None = None, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        root = Path(folder) if folder is not None else bundled_folder()
        self.manifest = Manifest.read(root)
        model_path = root / self.manifest.model
        if not model_path.is_file():
            raise ModelError(f"reader model missing at {model_path}; reinstall citewise.")
        actual = sha256_file(model_path)
        if actual != self.manifest.sha256:
            raise ModelError(f"reader model at {model_path} has sha256 {actual}, expected "
                             f"{self.manifest.sha256}: the file is corrupt or was replaced; "
                             "reinstall citewise (or retrain with `python -m eval.train.reader`).")
        # no arena: small batches of many shapes, an ask at a time (rag/onnx_runtime.py)
        self._session = ort.InferenceSession(str(model_path), session_options(threads, arena=False),
                                             providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(root / self.manifest.tokenizer))
        # longest_first: a pair never fails to fit, however long either side is
        self._tokenizer.enable_truncation(max_length=self.manifest.max_length,
                                          strategy="longest_first")
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._cache: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """One logit per text (``pair_text`` output), in order."""
        out = np.zeros(len(texts), dtype=np.float32)
        with self._lock:
            todo = []
            for i, t in enumerate(texts):
                hit = self._cache.get((question, t))
                if hit is None:
                    todo.append(i)
                else:
                    out[i] = hit
        if todo:
            logits = self._run(question, [texts[i] for i in todo])
            with self._lock:
                for i, v in zip(todo, logits, strict=True):
                    out[i] = v
                    self._cache[(question, texts[i])] = float(v)
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return out

    def _run(self, question: str, texts: Sequence[str]) -> np.ndarray:
        asked = question_text(question)
        encs = self._tokenizer.encode_batch([(asked, t) for t in texts])
        feeds: dict[str, Any] = {
            "input_ids": np.asarray([e.ids for e in encs], dtype=np.int64),
            "attention_mask": np.asarray([e.attention_mask for e in encs], dtype=np.int64),
        }
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.asarray([e.type_ids for e in encs], dtype=np.int64)
        (logits,) = self._session.run(None, feeds)
        return np.asarray(logits, dtype=np.float32).reshape(len(texts))


def bundled_folder() -> Path:
    return Path(str(resources.files("rag.answer").joinpath(READER_DIR)))


def has_bundled() -> bool:
    return (bundled_folder() / MANIFEST).is_file()


_LOAD_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _bundled() -> Reader:
    with _LOAD_LOCK:
        return Reader()


def bundled_reader() -> Reader | None:
    """The shipped reader, loaded once per process; None (with a warning) when it can't load."""
    if not has_bundled():
        return None
    try:
        return _bundled()
    except ModelError as exc:
        log.warning("%s; answering without the reader", exc)
        return None
