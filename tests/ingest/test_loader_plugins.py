"""A loader from another package, registered through a real entry point, is used by ingest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.loaders import LoadFailure, iter_documents, supported_extensions
from rag.records import Document
from tests import plugin_dist
from tests.plugin_dist import install


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from plugin_dist.plugin_site(tmp_path, monkeypatch)


TOY = '''
from rag.records import Document


def load(path, source, max_bytes):
    """A .toy file: first line the title, the rest the text."""
    title, _, text = path.read_text(encoding="utf-8").partition("\\n")
    return Document(source=source, text=text.strip(), title=title.strip())
'''


def test_a_toy_loader_from_an_entry_point_is_picked_up_by_ingest(plugin_site: Path,
                                                                   tmp_path: Path,
                                                                   make_citewise) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notes.toy").write_text("Toy notes\nThe toy loader read this sentence.\n")
    (corpus / "plain.txt").write_text("A plain text file is still loaded.\n")
    assert ".toy" not in supported_extensions()
    assert [d.source for d in iter_documents([corpus])] == ["plain.txt"]  # walk skips .toy

    install(plugin_site, "citewise-toy", "citewise_toy", TOY,
            {"citewise.loaders": {".toy": "citewise_toy:load"}})
    from rag.plugins import refresh_all

    refresh_all()  # as a new process would: discovery happens on the first lookup
    assert ".toy" in supported_extensions()
    docs = list(iter_documents([corpus]))
    assert all(isinstance(d, Document) for d in docs), docs
    toy = next(d for d in docs if d.source == "notes.toy")
    assert (toy.title, toy.text) == ("Toy notes", "The toy loader read this sentence.")
    assert toy.path == str(corpus / "notes.toy")

    cw = make_citewise()
    report = cw.ingest([corpus])
    assert report.ok and sorted(report.added) == ["notes.toy", "plain.txt"], report
    assert {d.source: d.title for d in cw.documents()}["notes.toy"] == "Toy notes"


def test_a_broken_loader_plugin_fails_its_files_by_name(plugin_site: Path, tmp_path: Path) -> None:
    install(plugin_site, "citewise-toy-broken", "citewise_toy_broken",
            "raise ImportError('needs the toyparser package')\n",
            {"citewise.loaders": {"toy": "citewise_toy_broken:load"}})  # no dot: '.toy'
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.toy").write_text("text")
    (docs / "b.txt").write_text("Another file loads.")
    items = list(iter_documents([docs]))
    [failure] = [i for i in items if isinstance(i, LoadFailure)]
    assert failure.where.endswith("a.toy")
    assert "'toy'" in failure.reason and "citewise-toy-broken" in failure.reason
    assert "needs the toyparser package" in failure.reason
    assert "pip uninstall citewise-toy-broken" in failure.reason
    assert [i.source for i in items if isinstance(i, Document)] == ["b.txt"]


def test_an_empty_document_from_a_plugin_is_a_failure(plugin_site: Path, tmp_path: Path) -> None:
    install(plugin_site, "citewise-toy-empty", "citewise_toy_empty",
            "from rag.records import Document\n"
            "def load(path, source, max_bytes):\n"
            "    return Document(source=source, text='   ')\n",
            {"citewise.loaders": {".toy": "citewise_toy_empty:load"}})
    (tmp_path / "a.toy").write_text("x")
    [item] = iter_documents([tmp_path / "a.toy"])
    assert isinstance(item, LoadFailure) and "empty document" in item.reason
