"""Imports point down: rag/ < ingest/ < citewise/ < eval/, ui/ (ARCHITECTURE.md, "Import graph").

Every module is parsed, not imported, so an import inside a function (the lazy kind that once let
the application object live in rag/ and reach up into ingest/) counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: package -> the first-party packages it must never import
FORBIDDEN = {
    "rag": {"ingest", "citewise", "ui", "eval"},
    "ingest": {"citewise", "ui", "eval"},
    "citewise": {"ui", "eval"},
}


def imported_modules(source: str) -> list[tuple[int, str]]:
    """(line, module) for every absolute import, ``importlib.import_module("x")`` and
    ``__import__("x")`` in ``source``, wherever it appears."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def violations(package: str, path: Path, source: str) -> list[str]:
    banned = FORBIDDEN[package]
    return [f"{path}:{line} imports {module}" for line, module in imported_modules(source)
            if module.split(".")[0] in banned]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_down(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules found under {package}/"
    problems = [v for f in files
                for v in violations(package, f.relative_to(ROOT), f.read_text(encoding="utf-8"))]
    assert not problems, "imports that point up:\n" + "\n".join(problems)


@pytest.mark.parametrize("source", [
    "import ingest.pipeline\n",
    "def f():\n    from ingest.pipeline import ingest_paths\n",
    "from citewise import Citewise\n",
    "import importlib\nimportlib.import_module('ui.cli')\n",
    "__import__('eval.harness')\n",
])
def test_the_check_catches_an_upward_import(source: str) -> None:
    assert violations("rag", Path("rag/x.py"), source)


def test_the_check_allows_imports_downwards_and_third_party() -> None:
    source = "import os\nfrom rag.records import Answer\nfrom chromadb import HttpClient\n"
    assert violations("ingest", Path("ingest/x.py"), source) == []
