"""Shared fixtures: the real embedding model (loaded once) and small stores in temp dirs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "sample_data"
SAMPLE_ARTICLE = SAMPLE_DIR / "microsoft-openai-partnership.txt"


@pytest.fixture(scope="session")
def embedder():
    """The embedder the default settings give (onnxruntime; tests/rag/storage/test_embeddings_onnx.py
    checks it against sentence-transformers on torch)."""
    from rag.config import Settings
    from rag.storage.embedders import make_embedder

    return make_embedder(Settings())


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    """A private copy of the sample corpus that a test may change."""
    target = tmp_path / "corpus"
    shutil.copytree(SAMPLE_DIR, target)
    return target


@pytest.fixture
def make_citewise(tmp_path: Path, embedder) -> Callable[..., object]:
    """Build a Citewise on a fresh persistent store under tmp_path."""
    from citewise import Citewise
    from rag.config import Settings

    def build(store: Path | None = None, client=None, **overrides):
        settings = Settings(store=store or tmp_path / "store", **overrides)
        return Citewise(settings, client=client, embedder=embedder)

    return build


@pytest.fixture
def citewise_over(tmp_path: Path, make_citewise) -> Callable[[dict[str, str]], object]:
    """A Citewise with the given files (name -> text) ingested from a folder under tmp_path."""

    def build(files: dict[str, str]):
        folder = tmp_path / "docs"
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        cw = make_citewise()
        report = cw.ingest([folder])
        assert report.ok, report.failed
        return cw

    return build


@pytest.fixture(scope="session")
def sample_citewise(tmp_path_factory, embedder):
    """A store with the sample article ingested, shared by read-only tests."""
    from citewise import Citewise
    from rag.config import Settings

    store = tmp_path_factory.mktemp("sample-store")
    cw = Citewise(Settings(store=store), embedder=embedder)
    report = cw.ingest([SAMPLE_DIR])
    assert report.ok, report.failed
    return cw
