"""Does a passage support an answer sentence? Judges for the faithfulness metrics.

:class:`DeterministicJudge` (the default; offline, no randomness) decides in this order:

1. **Exact quote** - the sentence (without ``[n]`` markers, case/quote/whitespace folded) occurs
   in the passage: supported.
2. **Facts** - every number (``135``, ``27``, ``2,032`` -> ``2032``), year and name of the
   sentence must occur in the passage; one missing fact makes the sentence unsupported,
   whatever the wording overlap.
3. **Lexical support** - share of the sentence's content words found in the passage >=
   ``LEXICAL_THRESHOLD`` (0.70): supported.
4. **Embedding support** - when an embedder is given: the highest cosine similarity between the
   sentence and the passage or any of its sentences >= ``EMBEDDING_THRESHOLD`` (0.75): supported.

Otherwise unsupported. Numbers, names and content words are the answerer's own
(rag/language/textrules.py), so "a name" means the same here as in the answer; the verdict is not: the
judge never runs the answerer's support or constraint checks (rag/answer/support.py,
rag/answer/constraints.py), since a judge that did could only agree with the answer it grades.

:class:`LLMJudge` is the RAGAS-style alternative used when an LLM is configured: the sentence is
split into atomic claims and each claim is checked against the passage; the sentence is
supported when every claim is.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from rag.language.text import normalize, sentence_spans
from rag.language.textrules import content_terms, names, numbers, strip_markers

log = logging.getLogger(__name__)

LEXICAL_THRESHOLD = 0.70
EMBEDDING_THRESHOLD = 0.75


@dataclass(frozen=True)
class Verdict:
    """A judge's decision and why (``reason``: empty, quote, facts, lexical, embedding, none)."""

    supported: bool
    reason: str
    score: float = 0.0
    missing: tuple[str, ...] = ()


class Judge(Protocol):
    """What the faithfulness metrics need: does ``passage`` support ``sentence``?"""

    name: str

    def supports(self, sentence: str, passage: str) -> bool: ...


def _fold(text: str) -> str:
    return " ".join(normalize(text).split())


def missing_facts(sentence: str, passage: str) -> tuple[str, ...]:
    """Numbers and names of ``sentence`` that ``passage`` does not contain."""
    text = strip_markers(sentence)
    passage_numbers = numbers(passage)
    folded = _fold(passage)
    missing = [n for n in sorted(numbers(text)) if n not in passage_numbers]
    missing += [name for name in sorted(names(text))
                if not re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", folded)]
    return tuple(missing)


def lexical_support(sentence: str, passage: str) -> float:
    """Share of the sentence's stemmed content words that occur in the passage."""
    terms = content_terms(strip_markers(sentence))
    if not terms:
        return 1.0
    have = set(content_terms(passage))
    return sum(t in have for t in terms) / len(terms)


class DeterministicJudge:
    """Offline, deterministic support check (see the module docstring for the rules)."""

    def __init__(
        self,
        embedder: Any = None,
        lexical_threshold: float = LEXICAL_THRESHOLD,
        embedding_threshold: float = EMBEDDING_THRESHOLD,
    ) -> None:
        self.embedder = embedder
        self.lexical_threshold = lexical_threshold
        self.embedding_threshold = embedding_threshold
        self.name = "deterministic" + ("+embedding" if embedder is not None else "")
        self._cache: dict[tuple[str, str], Verdict] = {}
        self._vectors: dict[str, np.ndarray] = {}

    def supports(self, sentence: str, passage: str) -> bool:
        return self.judge(sentence, passage).supported

    def judge(self, sentence: str, passage: str) -> Verdict:
        """The verdict with its reason; cached per (sentence, passage)."""
        key = (sentence, passage)
        if key not in self._cache:
            self._cache[key] = self._judge(sentence, passage)
        return self._cache[key]

    def _judge(self, sentence: str, passage: str) -> Verdict:
        claim = _fold(strip_markers(sentence)).rstrip(" .!?;:")
        if not claim:
            return Verdict(True, "empty", 1.0)
        if not passage.strip():
            return Verdict(False, "none", 0.0)
        if claim in _fold(passage):
            return Verdict(True, "quote", 1.0)
        missing = missing_facts(sentence, passage)
        if missing:
            return Verdict(False, "facts", 0.0, missing)
        lexical = round(lexical_support(sentence, passage), 4)
        if lexical >= self.lexical_threshold:
            return Verdict(True, "lexical", lexical)
        if self.embedder is not None:
            cosine = self._embedding_support(strip_markers(sentence), passage)
            if cosine >= self.embedding_threshold:
                return Verdict(True, "embedding", cosine)
            return Verdict(False, "none", max(lexical, cosine))
        return Verdict(False, "none", lexical)

    def _embed(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if todo:
            for t, v in zip(todo, self.embedder.embed_documents(todo), strict=True):
                self._vectors[t] = np.asarray(v, dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])

    def _embedding_support(self, sentence: str, passage: str) -> float:
        parts = [passage] + [passage[s:e] for s, e in sentence_spans(passage)]
        vectors = self._embed([sentence, *parts])
        q, m = vectors[0], vectors[1:]
        norms = np.linalg.norm(m, axis=1) * max(float(np.linalg.norm(q)), 1e-12)
        cosines = (m @ q) / np.maximum(norms, 1e-12)
        return round(float(cosines.max()), 4)


_CLAIMS_PROMPT = (
    "Split the statement into short, self-contained factual claims, one per line, "
    "without numbering or commentary.\n\nStatement: {sentence}\n\nClaims:"
)
_VERIFY_PROMPT = (
    "Context:\n{passage}\n\nClaim: {claim}\n\n"
    "Can the claim be directly inferred from the context alone? Answer with one word: yes or no."
)


class LLMJudge:
    """RAGAS-style claim checking with a LangChain chat model (temperature 0 recommended)."""

    name = "llm"

    def __init__(self, chat_model: Any, fallback: DeterministicJudge | None = None) -> None:
        self.model = chat_model
        self.fallback = fallback or DeterministicJudge()
        self._cache: dict[tuple[str, str], bool] = {}

    def _ask(self, prompt: str) -> str:
        reply = self.model.invoke(prompt)
        return str(getattr(reply, "content", reply)).strip()

    def claims(self, sentence: str) -> list[str]:
        """Atomic claims of the sentence, as the model splits them."""
        text = self._ask(_CLAIMS_PROMPT.format(sentence=strip_markers(sentence)))
        out = [line.strip(" -•*\t") for line in text.splitlines()]
        return [c for c in out if c] or [strip_markers(sentence)]

    def supports(self, sentence: str, passage: str) -> bool:
        key = (sentence, passage)
        if key in self._cache:
            return self._cache[key]
        quick = self.fallback.judge(sentence, passage)
        if quick.reason in {"quote", "empty"} or not passage.strip():
            result = quick.supported
        else:
            try:
                result = all(
                    self._ask(_VERIFY_PROMPT.format(passage=passage, claim=c)).lower().startswith("yes")
                    for c in self.claims(sentence)
                )
            except Exception as exc:  # noqa: BLE001 - an LLM failure must not lose the run
                log.warning("LLM judge failed (%s); using the deterministic verdict", exc)
                result = quick.supported
        self._cache[key] = result
        return result


def make_judge(settings: Any = None, embedder: Any = None, chat_model: Any = None) -> Judge:
    """The LLM judge when a chat model is given or an LLM is configured, else the deterministic one."""
    deterministic = DeterministicJudge(embedder=embedder)
    if chat_model is None and settings is not None and str(getattr(settings, "llm_model", "") or ""):
        chat_model = _chat_model_from_settings(settings)
    if chat_model is not None:
        return LLMJudge(chat_model, fallback=deterministic)
    return deterministic


def _chat_model_from_settings(settings: Any) -> Any:
    """Build the configured LangChain chat model via the project's LLM module, when present."""
    for module_name, func in (("rag.answer.llm", "chat_model"), ("rag.answer.llm", "make_chat_model"),
                              ("rag.llm_generator", "chat_model"), ("rag.chat", "chat_model")):
        try:
            module = __import__(module_name, fromlist=[func])
        except ImportError:
            continue
        factory = getattr(module, func, None)
        if callable(factory):
            try:
                return factory(settings)
            except Exception as exc:  # noqa: BLE001
                log.warning("cannot build the LLM judge (%s); using the deterministic judge", exc)
                return None
    log.warning("an LLM is configured but no chat-model factory was found; "
                "using the deterministic judge")
    return None
