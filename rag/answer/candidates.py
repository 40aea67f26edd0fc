"""A candidate answer sentence and the parts of its score: what the extractive answerer builds,
the scorer turns into features and eval.train.vetoes measures. Its own module so the answerer and the
scorer both import it instead of each other."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rag.answer.constraints import Check
from rag.language.tables import Row
from rag.records import Hit

# The hand-set blend that picks which sentences the reader reads (rag/answer/extractive.py):
# Score = W_COS * cosine + W_LEX * lexical + W_RANK * rank prior. Without an embedder, lexical
# stands in for cosine.
W_COS = 0.6
W_LEX = 0.4
W_RANK = 0.05
# The reader's logit for a sentence it did not read: a logit no answer gets.
READER_FLOOR = -8.0


@dataclass
class ScoredSentence:
    """A candidate answer sentence with its document offsets and the parts of its score."""

    hit: Hit
    rank: int  # of its (best) hit, 0-based
    start: int  # document offsets: quote == document.text[start:end]
    end: int
    quote: str
    terms: list[str]  # of ``text``
    headline: bool
    typed: bool  # has the kind of answer the question asks for
    check: Check = field(default_factory=Check.passed)  # keeps to the question's constraints
    cosine: float = 0.0
    lexical: float = 0.0
    coverage: float = 0.0  # plain share of the question's content words it contains
    rank_prior: float = 0.0  # 1 - rank / number of passages
    novelty: float = 0.0  # share of its content words the question doesn't have
    asked: float = 0.5  # names the noun a which/what question asks for: 1, doesn't: 0, none: 0.5
    score: float = 0.0  # the answer scorer's probability, or the hand-set score without one
    vector: np.ndarray | None = field(default=None, repr=False)  # stored at ingest, if any
    before: str = ""  # the sentence before it in its passage: the reader's context
    reader: float = READER_FLOOR  # the reader's logit, when it read this sentence
    soft_failed: tuple[int, int, int] = (0, 0, 0)  # failed checks that only weigh, by group
    failed_kinds: frozenset[str] = frozenset()  # kinds of the checks it fails
    # What is read, matched and embedded: the quote itself, or for a table row the row with
    # its column headings ("Team — Monthly: $15; Annual: $150"); the quote stays exact.
    text: str = ""
    row: Row | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.text:
            self.text = self.quote

    @property
    def cheap(self) -> float:
        """The hand-set blend of cosine, words and rank: which sentences the reader reads."""
        return W_COS * self.cosine + W_LEX * self.lexical + W_RANK * self.rank_prior
