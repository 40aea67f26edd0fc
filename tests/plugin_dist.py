"""A real installed plugin for tests: a module plus a ``*.dist-info`` folder with
``entry_points.txt``, in a temporary directory put on ``sys.path`` - what ``pip install`` of a
third-party package leaves behind, found by ``importlib.metadata.entry_points`` as any other."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.plugins import refresh_all


def install(site: Path, dist: str, module: str, source: str,
            entry_points: dict[str, dict[str, str]]) -> None:
    """Write ``module.py`` and ``dist-0.1.dist-info`` (METADATA, entry_points.txt) under site."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n",
                                   encoding="utf-8")
    lines = []
    for group, entries in entry_points.items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in entries.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on sys.path to install plugins into; every registry forgets them after.
    Use as a fixture body: ``yield from plugin_site(tmp_path, monkeypatch)``."""
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    refresh_all()
    yield site
    for name in [m for m in sys.modules if m.startswith("citewise_toy")]:
        del sys.modules[name]
    refresh_all()
