"""Which question checks veto a sentence and which only weigh.

The checks of rag/constraints.py report failures by kind (``"entity:amazon"``). A kind in
``VETO_KINDS`` removes a sentence from the candidates on its own; the others only weigh: their
count is the learned scorer's feature ``soft_failed`` (rag/scorer.py). Which kinds veto is
measured, not chosen: ``python -m eval.vetoes`` reports, on the external development sets, the
right answers each check vetoes and the wrong ones it stops, and a kind vetoes only at a measured
precision of at least 0.95 (BENCHMARKS.md, "The checks as measured evidence").
"""

from __future__ import annotations

from rag.constraints import Check

# Every kind of failure rag/constraints.py reports.
CHECK_KINDS = frozenset({
    "entity", "number", "time", "ordinal", "count", "focus", "verb", "event", "month", "measure",
    "negation", "measured", "expansion", "unspecified", "possessed", "role",
})
VETO_KINDS = CHECK_KINDS


def failure_kind(failure: str) -> str:
    """``"entity:amazon"`` -> ``"entity"``."""
    return failure.split(":", 1)[0]


def vetoed(check: Check, veto: frozenset[str] = VETO_KINDS) -> bool:
    """A failure of a vetoing kind."""
    return any(failure_kind(f) in veto for f in check.failed)


def soft_failures(check: Check, veto: frozenset[str] = VETO_KINDS) -> int:
    """Failed checks that only weigh."""
    return len({failure_kind(f) for f in check.failed} - veto)
