"""Which question checks veto a sentence and which only weigh.

The checks of rag/answer/constraints.py - one class per kind (``NameCheck``, ``NumberCheck``,
...), registered in ``CHECKS`` and built from the question only when it states that constraint -
report failures by kind (``"entity:amazon"``); ``Constraints.check(..., skip=...)`` runs without
some of them. A kind in
``VETO_KINDS`` removes a sentence from the candidates on its own; the others only weigh: their
count is the learned scorer's feature ``soft_failed`` (rag/answer/scorer.py). Which kinds veto is
measured, not chosen: ``python -m eval.train.vetoes`` reports, on the external development sets, the
right answers each check vetoes and the wrong ones it stops, and a kind vetoes only at a measured
precision of at least 0.95 (BENCHMARKS.md, "The checks as measured evidence").
"""

from __future__ import annotations

from rag.answer.constraints import Check

ANSWER_TYPE = "answer_type"  # rag/answer/answer_types.py: the asked-for kind of answer, as a check
# Every kind of failure rag/answer/constraints.py reports, and the answer type.
CHECK_KINDS = frozenset({
    "entity", "number", "time", "ordinal", "count", "focus", "verb", "event", "month", "measure",
    "negation", "measured", "expansion", "unspecified", "possessed", "role", ANSWER_TYPE,
})
# Measured on the tune parts of SQuAD v1.1, SQuAD 2.0 and WikiQA train with their near-miss
# variants (1,758 questions; BENCHMARKS.md "The checks as measured evidence"). Only the number
# check reaches precision 0.95 (83 wrong answers stopped, 3 right ones vetoed). The checks that
# veto more right answers than they stop wrong ones only weigh: ordinal 12/14, unspecified 2/8,
# measured 1/3, focus 1/1. Count (8 stopped, 9 vetoed) is a wash there and keeps its veto: as a
# weight it let "How many employees does OpenAI have?" be answered with a stake. The rest
# (entity 0.81, answer type 0.86, time 0.89, possessed 0.75, ...) still veto: as features of
# today's scorer they cost the golden sets' abstention recall 0.90 -> 0.48 (the scorer learns a
# weak weight for them from SQuAD, whose questions often name things in other words than the
# passage).
WEIGH_KINDS = frozenset({"ordinal", "unspecified", "measured", "focus"})
VETO_KINDS = CHECK_KINDS - WEIGH_KINDS
# The scorer weighs the rest in three groups (rag/answer/scorer.py): who or what the sentence is about,
# whether it has the asked-for kind of answer, and everything else the question states.
SUBJECT_KINDS = frozenset({"entity", "role", "possessed"})


def soft_groups(kinds: frozenset[str], veto: frozenset[str] = VETO_KINDS) -> tuple[int, int, int]:
    """Failed checks that only weigh: (subject, answer type, other)."""
    soft = kinds - veto
    subject = len(soft & SUBJECT_KINDS)
    typed = int(ANSWER_TYPE in soft)
    return subject, typed, len(soft) - subject - typed


def failure_kind(failure: str) -> str:
    """``"entity:amazon"`` -> ``"entity"``."""
    return failure.split(":", 1)[0]


def failed_kinds(check: Check, typed: bool = True) -> frozenset[str]:
    """The kinds of the checks a sentence fails; ``typed``: it has the asked-for kind of
    answer."""
    kinds = {failure_kind(f) for f in check.failed}
    if not typed:
        kinds.add(ANSWER_TYPE)
    return frozenset(kinds)
