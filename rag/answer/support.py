"""Is a sentence supported by a passage? A deterministic check, no LLM.

Used by the LLM verifier (a generated sentence must be backed by the passage it cites). Its
words (content terms, names, numbers) are rag/language/textrules.py's, shared with the rest of citewise;
the eval judge (eval/judge.py) reads words the same way but keeps its own verdict. Three
signals:

* lexical: share of the sentence's content words (stemmed, stop words removed) found in the
  passage;
* key tokens: numbers, years and names in the sentence (and its first word, which may be a
  name) must all occur in the passage, since a wrong figure or name with otherwise matching
  words is the typical unsupported claim;
* embedding cosine (optional): catches paraphrases that share few words.

Decision: supported when no key token is missing, negation agrees with the closest passage
sentence, and the score (lexical alone, or the mean of lexical and cosine when an embedder is
given) is at least ``SUPPORT_THRESHOLD`` = 0.55, with at least ``MIN_LEXICAL`` = 0.6 of its
content words in the passage. Chosen on the pairs of tests/rag/answer/test_support.py
(sample article, all-MiniLM-L6-v2): faithful paraphrases have lexical 0.8-1.0 and cosine to the
closest sentence 0.63-0.95 (score >= 0.71); claims from elsewhere have lexical <= 0.33 and cosine
0.52-0.62 (score <= 0.43). An exact quote scores 1.0.

Limits: this checks grounding, not entailment. A claim that reuses the passage's words and
figures but reverses their sense without a negation ("lost value") passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from rag.language.text import normalize, sentence_spans
from rag.language.textrules import STOPWORDS_ALL, content_terms, names, numbers
from rag.storage.embeddings import Embedder

SUPPORT_THRESHOLD = 0.55
# At least this share of a sentence's content words must be in the passage, whatever the cosine:
# a claim that adds ~half its content ("... will be transferred to a third party") is not
# grounded even when it reuses the passage's topic words (found by the LLM-mode golden eval).
# Faithful paraphrases measure 0.8-1.0 (tests/rag/answer/test_support.py), exact quotes 1.0.
MIN_LEXICAL = 0.6


def key_tokens(text: str) -> set[str]:
    """Numbers and names: what must not change between a source and a claim about it."""
    return numbers(text) | names(text)


_NEGATION = re.compile(r"\b(?:not|no|never|none|nor|neither|without|cannot|n't|no longer)\b|n't\b")


def _negated(text: str) -> bool:
    return bool(_NEGATION.search(normalize(text)))


@dataclass
class Support:
    """The parts of a support score, so a caller can say why a sentence failed."""

    score: float
    lexical: float
    cosine: float | None = None
    missing: set[str] = field(default_factory=set)  # key tokens absent from the passage
    negation_mismatch: bool = False  # negated in one and not in the closest passage sentence

    def passes(self, threshold: float = SUPPORT_THRESHOLD) -> bool:
        """No key token missing, negation agrees, enough content words, score >= threshold."""
        return (
            not self.missing
            and not self.negation_mismatch
            and self.lexical >= MIN_LEXICAL
            and self.score >= threshold
        )

    @property
    def supported(self) -> bool:
        return self.passes()


def support(sentence: str, passage: str, embedder: Embedder | None = None) -> Support:
    """Score ``sentence`` against ``passage``; a missing key token zeroes the score.

    Lexical overlap is measured against the whole passage (a claim may combine two of its
    sentences); negation and cosine against its closest sentence, where they are sharpest.
    """
    terms = set(content_terms(sentence))
    passage_terms = set(content_terms(passage))
    lexical = len(terms & passage_terms) / len(terms) if terms else 0.0
    norm_passage = normalize(passage)
    passage_numbers = numbers(passage)
    missing = {n for n in numbers(sentence) if n not in passage_numbers}
    missing |= {n for n in names(sentence) if not re.search(rf"\b{re.escape(n)}", norm_passage)}
    # The first word may be a name too ("Google holds ..."): it must at least occur in the passage.
    first = re.match(r"\W*([A-Z]\w+)", sentence)
    if first and first.group(1).lower() not in STOPWORDS_ALL:
        stem = content_terms(first.group(1))
        if stem and stem[0] not in passage_terms:
            missing.add(first.group(1).lower())
    units = [passage[s:e] for s, e in sentence_spans(passage)] or [passage]
    closest = max(units, key=lambda u: len(terms.intersection(content_terms(u))))
    mismatch = _negated(sentence) != _negated(closest)
    cosine = None
    score = lexical
    if embedder is not None:
        texts = [sentence, *units] + ([passage] if len(units) > 1 else [])
        vecs = np.asarray(embedder.embed_documents(texts), dtype=np.float32)
        cosine = float(np.clip((vecs[1:] @ vecs[0]).max(), 0.0, 1.0))
        score = (lexical + cosine) / 2
    if missing or mismatch:
        score = 0.0
    return Support(score=score, lexical=lexical, cosine=cosine, missing=missing,
                   negation_mismatch=mismatch)


def support_score(sentence: str, passage: str, embedder: Embedder | None = None) -> float:
    """0..1; 0 when a number or name of the sentence is absent from the passage."""
    return support(sentence, passage, embedder).score


def is_supported(
    sentence: str,
    passage: str,
    embedder: Embedder | None = None,
    threshold: float = SUPPORT_THRESHOLD,
) -> bool:
    """True when the passage backs the sentence (all key tokens present, score >= threshold)."""
    return support(sentence, passage, embedder).passes(threshold)
