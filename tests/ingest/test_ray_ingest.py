"""`citewise ingest --ray`: a real two-node Ray cluster and a real `chroma run` on 127.0.0.1.

The Ray store must equal a local ingest of the same files, and answer the golden set the same.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from citewise import Citewise
from eval.bench.ray import snapshot, store_differences
from ingest.ray_pipeline import RAY_MISSING, import_ray, ray_ingest
from rag.config import Settings
from rag.errors import ConfigError
from tests.conftest import ROOT, SAMPLE_DIR

GOLDEN = ROOT / "eval" / "golden" / "sample_article.jsonl"


def _extra_docs(folder: Path) -> Path:
    """A few small documents of other kinds, and one corrupt file."""
    folder.mkdir()
    (folder / "harbour.md").write_text(
        "# Harbour report\n\nThe harbour authority counted 412 ferry crossings in March. "
        "Repairs to the north pier cost 1.2 million euros.\n\n## Outlook\n\nThe authority "
        "expects the new berth to open in June 2027, after dredging is finished.\n",
        encoding="utf-8")
    (folder / "notes.txt").write_text(
        "Lake survey notes.\n\nVolunteers measured the water temperature at 14 degrees on the "
        "first of May. The survey team found three nesting pairs of grebes near the reeds.\n",
        encoding="utf-8")
    feed = [{"id": "valley-1", "title": "Valley bridge reopens", "published": "2026-05-02",
             "text": "The valley footbridge reopened on Saturday after eight weeks of work. "
                     "The council said the repairs cost 86,000 pounds."},
            {"id": "valley-2", "title": "Solar array switched on", "published": "2026-06-11",
             "text": "The school's solar array produced 41 kilowatt-hours on its first day. "
                     "Pupils will track the output on a display in the hall."}]
    (folder / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in feed),
                                       encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n this is not a PDF body \x00\x01\x02")
    return folder


def test_without_ray_installed_the_error_says_how(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ConfigError) as err:
        import_ray()
    assert str(err.value) == RAY_MISSING and "pip install 'citewise[ray]'" in RAY_MISSING


def test_embedded_store_is_refused_before_anything_is_created(tmp_path, capsys):
    from ui.cli import main

    code = main(["ingest", str(SAMPLE_DIR), "--ray", "--store", str(tmp_path / "store")])
    assert code == ConfigError.exit_code
    err = capsys.readouterr().err
    assert "writes to a Chroma server" in err and "--chroma-url" in err
    assert not (tmp_path / "store").exists()


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    """A Chroma server and a Ray cluster (head + one worker node, 1 CPU each)."""
    import ray

    from eval.bench.local_cluster import chroma_server, ray_cluster, wait_for_nodes

    with chroma_server(tmp_path_factory.mktemp("chroma")) as url, ray_cluster() as address:
        ray.init(address=address, logging_level=logging.WARNING)
        try:
            ray.data.DataContext.get_current().enable_progress_bars = False
            wait_for_nodes(ray, 2)
            yield url, address
        finally:
            ray.shutdown()


def _answers(cw: Citewise, questions: list[str]) -> list[tuple[str, list[tuple]]]:
    out = []
    for q in questions:
        ans = cw.ask(q)
        out.append((ans.answer, [(c.source, c.start, c.end, c.quote) for c in ans.citations]))
    return out


@pytest.mark.slow
def test_ray_ingest_equals_local_ingest_and_resumes(services, tmp_path, embedder, capsys):
    url, address = services
    paths = [SAMPLE_DIR, _extra_docs(tmp_path / "extra")]
    settings = Settings(store=tmp_path / "ray-cache", chroma_url=url, collection="ray-store",
                        ray_embed_actors=2, ray_batch_size=2, ray_actor_cpus=0.5)
    ray_cw = Citewise(settings, embedder=embedder)

    # a job killed after its first write: what it wrote is complete and stays
    def kill_after_first_write(docs: int, chunks: int) -> None:
        if chunks:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ray_ingest(ray_cw.index, settings, paths, address=address,
                   progress=kill_after_first_write)
    written = {d.source: d.chunks for d in ray_cw.documents()}
    assert 0 < len(written) < 5

    # re-running finishes the job: what was written is skipped by content hash
    report = ray_ingest(ray_cw.index, settings, paths, address=address)
    assert sorted(report.unchanged) == sorted(written)
    assert report.failed == [(str(paths[1] / "broken.pdf"), report.failed[0][1])]
    assert "broken.pdf" in report.failed[0][0] and report.failed[0][1]

    local_cw = Citewise(Settings(store=tmp_path / "local", chroma_url=url,
                                 collection="local-store"), embedder=embedder)
    local = local_cw.ingest(paths)
    assert local.failed == report.failed
    assert sorted(local.added) == sorted(report.added + report.unchanged)
    assert len(local.added) == 5  # the article, harbour.md, notes.txt, two feed items
    assert report.chunks_embedded == local.chunks_embedded - sum(written.values())

    assert store_differences(snapshot(local_cw.index), snapshot(ray_cw.index)) == []

    questions = [json.loads(line)["question"] for line in GOLDEN.read_text().splitlines()
                 if line.strip()]
    assert _answers(ray_cw, questions) == _answers(local_cw, questions)

    # a third run, through the command line with --prune after a file is deleted: embeds
    # nothing, removes the gone document, keeps the one whose file failed, and says so
    from ui.cli import main

    (paths[1] / "notes.txt").unlink()
    capsys.readouterr()
    code = main(["ingest", *map(str, paths), "--ray", address, "--chroma-url", url,
                 "--collection", "ray-store", "--store", str(tmp_path / "ray-cache"),
                 "--ray-embed-actors", "1", "--prune"])
    out = capsys.readouterr().out
    assert code == 1  # broken.pdf failed, as locally
    assert "added 0, updated 0, unchanged 4, removed 1, failed 1 — 0 chunks embedded" in out
    assert f"FAILED {paths[1] / 'broken.pdf'}" in out
    assert "notes.txt" not in {d.source for d in ray_cw.documents()}
