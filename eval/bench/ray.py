"""Ray ingest vs local ingest on the same files: wall time, chunks/s and store equality.

    python -m eval.bench.ray [--docs 300] [--write BENCHMARKS.md]

starts a `chroma run` and a two-node Ray cluster on 127.0.0.1 (eval/bench/local_cluster.py), ingests
the corpus locally into one collection and with `--ray` into another, compares the two stores
(``store_differences``: the test in tests/ingest/test_ray_ingest.py uses the same check) and
prints (or appends) a Markdown table. Both runs load the model fresh, as a CLI run would.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from rag.sentence_vectors import SPANS_KEY, VECTORS_KEY, SentenceVectors
from rag.storage.store import Index

log = logging.getLogger(__name__)

SCIFACT = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "beir-scifact" / "corpus.jsonl"
SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
VOLATILE_DOC_KEYS = ("ingested_at",)  # the time of the write, different by design


@dataclass
class Snapshot:
    """Everything stored for a collection, keyed by id, in comparable form."""

    docs: dict[str, tuple[str, dict[str, Any]]]
    chunks: dict[str, tuple[str, dict[str, Any], np.ndarray, np.ndarray | None]]


def snapshot(index: Index) -> Snapshot:
    docs = Index.get_all(index.docs, ["documents", "metadatas"], "reading documents")
    chunks = Index.get_all(index.chunks, ["documents", "metadatas", "embeddings"], "reading chunks")
    out = Snapshot({}, {})
    for i, text, meta in zip(docs["ids"], docs["documents"], docs["metadatas"], strict=True):
        out.docs[i] = (text, {k: v for k, v in meta.items() if k not in VOLATILE_DOC_KEYS})
    for i, text, meta, vec in zip(chunks["ids"], chunks["documents"], chunks["metadatas"],
                                  chunks["embeddings"], strict=True):
        sv = SentenceVectors.from_metadata(meta)
        plain = {k: v for k, v in meta.items() if k not in (SPANS_KEY, VECTORS_KEY)}
        if sv is not None:
            plain["sentence_spans"] = list(sv.spans)
        out.chunks[i] = (text, plain, np.asarray(vec, dtype=np.float32),
                         None if sv is None else sv.vectors)
    return out


def store_differences(a: Snapshot, b: Snapshot, atol: float = 1e-5) -> list[str]:
    """What differs between two stores (empty when equal): ids, texts and metadata exactly,
    chunk vectors within ``atol``, sentence vectors within one float16 step (they are stored
    as float16)."""
    diffs: list[str] = []
    if set(a.docs) != set(b.docs):
        diffs.append(f"document ids differ: {sorted(set(a.docs) ^ set(b.docs))}")
    if set(a.chunks) != set(b.chunks):
        diffs.append(f"chunk ids differ: {len(set(a.chunks) ^ set(b.chunks))} not in both")
    for i in sorted(set(a.docs) & set(b.docs)):
        if a.docs[i] != b.docs[i]:
            diffs.append(f"document {i}: text or metadata differ")
    for i in sorted(set(a.chunks) & set(b.chunks)):
        (ta, ma, va, sa), (tb, mb, vb, sb) = a.chunks[i], b.chunks[i]
        if ta != tb or ma != mb:
            diffs.append(f"chunk {i}: text or metadata differ")
        if va.shape != vb.shape or not np.allclose(va, vb, rtol=0, atol=atol):
            diffs.append(f"chunk {i}: vectors differ by {float(np.max(np.abs(va - vb))):.2e}")
        if (sa is None) != (sb is None) or (sa is not None and sb is not None and not np.allclose(
                sa, sb, rtol=2**-10, atol=2**-14)):
            diffs.append(f"chunk {i}: sentence vectors differ")
    return diffs


def max_vector_gap(a: Snapshot, b: Snapshot) -> float:
    both = sorted(set(a.chunks) & set(b.chunks))
    return max((float(np.max(np.abs(a.chunks[i][2] - b.chunks[i][2]))) for i in both), default=0.0)


def make_corpus(target: Path, n_docs: int, scifact: Path = SCIFACT) -> list[Path]:
    """The sample article plus ``n_docs`` SciFact abstracts, one .txt file each (many files,
    so reading spreads over the cluster as it would for a real archive)."""
    target.mkdir(parents=True, exist_ok=True)
    with scifact.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if n >= n_docs:
                break
            row = json.loads(line)
            (target / f"scifact-{row['_id']}.txt").write_text(
                f"{row['title']}\n\n{row['text']}\n", encoding="utf-8")
    return [SAMPLE, target]


def run(n_docs: int, actors: int, batch_size: int, actor_cpus: float,
        scifact: Path = SCIFACT) -> dict[str, Any]:
    import ray

    from citewise import Citewise
    from eval.bench.local_cluster import chroma_server, ray_cluster, wait_for_nodes
    from ingest.ray_pipeline import ray_ingest
    from rag.config import Settings

    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        work = Path(tmp)
        paths = make_corpus(work / "corpus", n_docs, scifact)
        with chroma_server(work / "chroma") as url, ray_cluster() as address:
            base: dict[str, Any] = dict(chroma_url=url, ray_embed_actors=actors,
                                        ray_batch_size=batch_size, ray_actor_cpus=actor_cpus)
            local_cw = Citewise(Settings(store=work / "local", collection="bench-local", **base))
            started = time.perf_counter()
            local = local_cw.ingest(paths)
            local_s = time.perf_counter() - started
            ray.init(address=address, logging_level=logging.WARNING)
            try:
                wait_for_nodes(ray, 2)
                settings = Settings(store=work / "ray", collection="bench-ray", **base)
                ray_cw = Citewise(settings)
                started = time.perf_counter()
                remote = ray_ingest(ray_cw.index, settings, paths, address=address)
                ray_s = time.perf_counter() - started
                started = time.perf_counter()
                again = ray_ingest(ray_cw.index, settings, paths, address=address)
                again_s = time.perf_counter() - started
            finally:
                ray.shutdown()
            a, b = snapshot(local_cw.index), snapshot(ray_cw.index)
            diffs = store_differences(a, b)
    return {"docs": len(local.added), "chunks": local.chunks_embedded,
            "local_s": local_s, "ray_s": ray_s, "again_s": again_s,
            "again_embedded": again.chunks_embedded, "ray_chunks": remote.chunks_embedded,
            "equal": not diffs, "diffs": diffs[:5], "gap": max_vector_gap(a, b),
            "n_docs": n_docs, "actors": actors, "batch_size": batch_size,
            "actor_cpus": actor_cpus}


def to_markdown(r: dict[str, Any], load: str, load_after: str) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    def rate(seconds: float) -> str:
        return f"{r['chunks'] / seconds:.1f}" if seconds else "-"

    return "\n".join([
        f"### {when} — Ray ingest vs local ingest (issue 15)",
        "",
        f"- machine: {platform.system()} {platform.machine()}, 2 cores, Python "
        f"{platform.python_version()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')} "
        f"(the local run's torch threads; each Ray actor gets 1); shared with other jobs while "
        f"measured (load average {load} before, {load_after} after), so the times are "
        "indicative only",
        f"- corpus: the sample article + {r['n_docs']} SciFact abstracts as .txt files "
        f"({r['docs']} documents, {r['chunks']} chunks); Chroma server and a two-node Ray "
        f"cluster (head + 1 worker, 1 CPU each) on 127.0.0.1; {r['actors']} embedding actors "
        f"({r['actor_cpus']} CPU each), {r['batch_size']} documents per batch",
        "- rerun: `python -m eval.bench.ray --docs "
        f"{r['n_docs']} --actors {r['actors']} --batch-size {r['batch_size']} --write BENCHMARKS.md`",
        "",
        "| run | wall time | chunks embedded | chunks/s |",
        "|---|---|---|---|",
        f"| local `citewise ingest` (one process) | {r['local_s']:.1f} s | {r['chunks']} | "
        f"{rate(r['local_s'])} |",
        f"| `citewise ingest --ray` (cold actors: model load per actor included) | "
        f"{r['ray_s']:.1f} s | {r['ray_chunks']} | {rate(r['ray_s'])} |",
        f"| `--ray` again, unchanged (content-hash skip) | {r['again_s']:.1f} s | "
        f"{r['again_embedded']} | - |",
        "",
        f"Store equality: {'equal' if r['equal'] else 'DIFFERENT: ' + '; '.join(r['diffs'])} "
        f"(same document and chunk ids, texts and metadata; largest chunk-vector difference "
        f"{r['gap']:.1e}).",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.bench.ray", description=__doc__)
    parser.add_argument("--docs", type=int, default=300, help="SciFact abstracts to add")
    parser.add_argument("--actors", type=int, default=2, help="embedding actors")
    parser.add_argument("--batch-size", type=int, default=16, help="documents per batch")
    parser.add_argument("--actor-cpus", type=float, default=0.5, help="CPUs per embed actor")
    parser.add_argument("--scifact", type=Path, default=SCIFACT, help="BEIR SciFact corpus.jsonl")
    parser.add_argument("--write", type=Path, help="append the rows to this Markdown file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    result = run(args.docs, args.actors, args.batch_size, args.actor_cpus, args.scifact)
    text = to_markdown(result, load, ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    sys.stdout.write(text + "\n")  # the command's output
    if args.write:
        with args.write.open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)
    return 0 if result["equal"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
