"""Evaluation records in RAGAS vocabulary.

An :class:`EvalSample` is one question of a dataset (``id``, ``question``, ``references``,
``answerable``, ``sources``, ``evidence``, ``history``, graded ``relevance`` for BEIR, the wrong
choices of a multiple-choice question as ``distractors``) plus,
once the harness has run it, what the pipeline produced (``contexts``, ``answer``,
``citations``, ``abstained``, ``latency_ms``) and the quote check of every citation.
Metrics (eval/metrics.py) are pure functions over lists of these records.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rag.language.textrules import strip_markers
from rag.records import Turn


@dataclass
class EvalContext:
    """One retrieved passage, in rank order (``Answer.to_dict()["contexts"][i]``)."""

    source: str
    text: str = ""
    title: str = ""
    score: float = 0.0
    start: int = 0
    end: int = 0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalContext:
        return cls(
            source=str(d.get("source", "")),
            text=str(d.get("text", "")),
            title=str(d.get("title", "") or ""),
            score=float(d.get("score", 0.0) or 0.0),
            start=int(d.get("start", 0) or 0),
            end=int(d.get("end", 0) or 0),
        )


@dataclass
class EvalCitation:
    """One citation of an answer: ``[n]`` in the text points to ``quote`` = doc[start:end]."""

    n: int
    source: str
    quote: str
    start: int
    end: int
    title: str = ""
    table: str = ""  # a quoted table row's caption and column headings, shown with the quote

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalCitation:
        return cls(
            n=int(d["n"]),
            source=str(d.get("source", "")),
            quote=str(d.get("quote", "")),
            start=int(d.get("start", 0) or 0),
            end=int(d.get("end", 0) or 0),
            title=str(d.get("title", "") or ""),
            table=str(d.get("table", "") or ""),
        )

    @property
    def passage(self) -> str:
        """What the reader is shown for this citation: the quote, and for a table row the
        headings that say what its cells are ("2019 | 2018" over "| Revenue | 601 | 510 |")."""
        return f"{self.quote}\n{self.table}" if self.table else self.quote


@dataclass
class EvalSample:
    """A dataset question and, after a run, the pipeline's answer to it."""

    id: str
    question: str
    references: list[str] = field(default_factory=list)  # acceptable answers ("answers" in JSONL)
    answerable: bool = True
    sources: list[str] = field(default_factory=list)  # ids of documents that hold the answer
    evidence: list[str] = field(default_factory=list)  # quotes that support the answer
    history: list[Turn] = field(default_factory=list)  # earlier turns, for follow-ups
    relevance: dict[str, int] = field(default_factory=dict)  # graded qrels (BEIR): source -> grade
    tags: list[str] = field(default_factory=list)  # e.g. "paraphrase", "followup"
    # the wrong choices of a multiple-choice question (RealTime QA): an answer that names one
    # of them is not credited (eval/metrics.py choice_credit); empty for other questions
    distractors: list[str] = field(default_factory=list)
    # near-miss variants (eval/nearmiss.py): kind, original_id, original_question, replaced,
    # replacement; empty for dataset questions
    near_miss: dict[str, str] = field(default_factory=dict)
    as_of: str = ""  # the day it is asked (YYYY-MM-DD); "" = today
    # --- filled by the harness ---
    answer: str = ""  # with [n] markers
    abstained: bool = False
    contexts: list[EvalContext] = field(default_factory=list)  # what the answerer saw, ranked
    ranking: list[str] = field(default_factory=list)  # deeper ranked source ids (retrieval runs)
    citations: list[EvalCitation] = field(default_factory=list)
    quote_valid: list[bool] = field(default_factory=list)  # one per citation
    latency_ms: float | None = None
    standalone_question: str = ""
    error: str = ""  # set when the pipeline raised on this question
    removed_sentences: int = 0  # generated sentences the citation verifier removed (LLM mode)
    note: str = ""  # the answer's note, e.g. that the LLM failed and the answer is extractive

    @property
    def reference(self) -> str:
        """The first reference answer (RAGAS' single ``reference``), or ""."""
        return self.references[0] if self.references else ""

    @property
    def retrieved_contexts(self) -> list[str]:
        """RAGAS name for the context texts."""
        return [c.text for c in self.contexts]

    @property
    def answer_text(self) -> str:
        """The answer without its ``[n]`` citation markers."""
        return strip_markers(self.answer)

    @property
    def has_gold(self) -> bool:
        """Whether retrieval can be scored for this question."""
        return self.answerable and bool(self.sources or self.evidence or self.relevance)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["history"] = [{"question": t.question, "answer": t.answer} for t in self.history]
        return d
