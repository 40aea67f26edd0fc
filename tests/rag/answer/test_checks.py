"""Checks that veto and checks that weigh (rag/answer/checks.py)."""

from __future__ import annotations

from rag.answer.checks import ANSWER_TYPE, CHECK_KINDS, VETO_KINDS, failed_kinds, failure_kind
from rag.answer.constraints import Check
from rag.answer.question import parse


def test_failures_are_read_by_kind_with_the_answer_type_as_one_more():
    check = Check(ok=False, failed=("entity:amazon", "number:2015", "negation"))
    assert failure_kind("entity:amazon") == "entity"
    assert failed_kinds(check) == {"entity", "number", "negation"}
    assert failed_kinds(Check.passed(), typed=False) == {ANSWER_TYPE}


def test_every_kind_the_constraints_report_is_known():
    cons = parse("How many stores did Amazon open in 2015 before the merger?")
    kinds = failed_kinds(cons.check("Walmart opened many shops.", ""))
    assert kinds and kinds <= CHECK_KINDS
    assert VETO_KINDS <= CHECK_KINDS
