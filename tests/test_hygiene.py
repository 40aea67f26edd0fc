"""Patterns that make a test unable to catch what it names, kept out of the suite.

* a ``pytest.raises`` block with more than one statement: once the first raises, the rest
  never run, so their errors are never checked;
* ``isinstance(obj, P)`` on a runtime-checkable protocol: it asks only whether members with
  those names exist (use tests.protocols.assert_implements);
* ``skipif`` marks: a test that skips wherever its condition (a machine path, a dataset) is
  absent checks nothing on a fresh machine.
"""

from __future__ import annotations

import ast
from pathlib import Path

from rag.answer import generator
from rag.storage import embeddings

TESTS = Path(__file__).resolve().parent
PROTOCOLS = {name for module in (embeddings, generator) for name, obj in vars(module).items()
             if getattr(obj, "_is_runtime_protocol", False)}


def _trees() -> list[tuple[Path, ast.AST]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(TESTS.rglob("*.py"))]


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(TESTS.parent)}:{getattr(node, 'lineno', 0)}"


def test_the_protocols_are_found():
    assert {"Embedder", "SentencePoolingEmbedder", "Generator"} <= PROTOCOLS


def test_one_statement_per_pytest_raises():
    bad = [_where(path, node) for path, tree in _trees() for node in ast.walk(tree)
           if isinstance(node, ast.With) and len(node.body) > 1
           and any(ast.unparse(item.context_expr).startswith("pytest.raises(")
                   for item in node.items)]
    assert not bad, f"a pytest.raises block runs only up to its first raise: {bad}"


def test_no_isinstance_against_runtime_protocols():
    bad = [_where(path, node) for path, tree in _trees() for node in ast.walk(tree)
           if isinstance(node, ast.Call) and ast.unparse(node.func) == "isinstance"
           and len(node.args) == 2
           and any(n.id in PROTOCOLS for n in ast.walk(node.args[1]) if isinstance(n, ast.Name))]
    assert not bad, f"use tests.protocols.assert_implements: {bad}"


def test_no_conditional_skips():
    bad = [_where(path, node) for path, tree in _trees() for node in ast.walk(tree)
           if isinstance(node, ast.Attribute) and node.attr == "skipif"]
    assert not bad, f"a test that skips where its data is absent checks nothing in CI: {bad}"
