"""Imports point down: rag/ < ingest/ < citewise/ < eval/, ui/ (ARCHITECTURE.md, "Import graph"),
and inside rag/: records and settings (rag/*.py) and the language primitives < storage <
retrieval < the answer step, with no two modules importing each other.

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


#: layer of rag/ -> the layers of rag/ it must never import; "rag" is the modules at its root
#: (records, settings, errors, plugins), which everything may import
RAG_LAYERS = ("rag", "rag.language", "rag.storage", "rag.retrieval", "rag.answer")
RAG_FORBIDDEN = {
    "rag": {"rag.storage", "rag.retrieval", "rag.answer"},
    "rag.language": {"rag.storage", "rag.retrieval", "rag.answer"},
    "rag.storage": {"rag.retrieval", "rag.answer"},
    "rag.retrieval": {"rag.answer"},
    "rag.answer": set(),
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


def _rag_modules() -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / "rag").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _layer(module: str) -> str:
    parts = module.split(".")
    candidate = ".".join(parts[:2])
    return candidate if candidate in RAG_LAYERS else "rag"


def rag_violations(module: str, source: str) -> list[str]:
    banned = RAG_FORBIDDEN[_layer(module)]
    return [f"{module}:{line} imports {target}" for line, target in imported_modules(source)
            if target.startswith("rag.") and _layer(target) in banned]


def test_rag_layers_point_down() -> None:
    problems = [v for module, path in _rag_modules().items()
                for v in rag_violations(module, path.read_text(encoding="utf-8"))]
    assert not problems, "rag/ imports that point up a layer:\n" + "\n".join(problems)


def test_no_two_rag_modules_import_each_other() -> None:
    modules = _rag_modules()
    graph = {m: {t for _, t in imported_modules(p.read_text(encoding="utf-8")) if t in modules}
             for m, p in modules.items()}
    pairs = sorted({tuple(sorted((a, b))) for a, targets in graph.items() for b in targets
                    if a != b and a in graph.get(b, set())})
    assert not pairs, f"modules that import each other: {pairs}"


@pytest.mark.parametrize(("module", "source"), [
    ("rag.storage.store", "from rag.answer.constraints import parse\n"),
    ("rag.records", "def f():\n    from rag.retrieval.retriever import HybridSearcher\n"),
    ("rag.language.text", "import rag.storage.bm25\n"),
    ("rag.retrieval.retriever", "from rag.answer.extractive import ExtractiveGenerator\n"),
])
def test_the_rag_check_catches_an_upward_import(module: str, source: str) -> None:
    assert rag_violations(module, source)


def test_the_rag_check_allows_imports_downwards() -> None:
    assert rag_violations("rag.answer.extractive",
                          "from rag.retrieval.asof import AsOf\nfrom rag.records import Hit\n") == []
    assert rag_violations("rag.storage.store", "from rag.language.voice import voice_names\n") == []
