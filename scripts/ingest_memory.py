"""RSS of one process around an ingest, with the embedder's arena release on or off.

    python scripts/ingest_memory.py on|off CORPUS.jsonl

Builds a Citewise over a new temporary store, ingests CORPUS (a JSONL news feed or a folder),
asks two questions, and prints RSS before and after, the ingest wall time and the chunks
embedded as one JSON line. ``off`` makes OnnxEmbedder.release_memory a no-op (the behaviour
before it existed), for a side-by-side comparison (BENCHMARKS.md, "An ingest's memory handed
back").
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path


def rss_mib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
    return 0


def main(mode: str, corpus: str) -> None:
    from rag.storage.embeddings_onnx import OnnxEmbedder

    if mode == "off":
        OnnxEmbedder.release_memory = lambda self: None  # type: ignore[method-assign]
    from citewise import Citewise
    from rag.config import Settings

    cw = Citewise(Settings(store=Path(tempfile.mkdtemp(prefix="ingest-memory-"))))
    cw.warm()
    before = rss_mib()
    started = time.perf_counter()
    report = cw.ingest([Path(corpus)])
    wall = time.perf_counter() - started
    after = rss_mib()
    for question in ("Who won the election?", "What did the court decide?"):
        cw.ask(question)
    sys.stdout.write(json.dumps({
        "mode": mode, "rss_before": before, "rss_after_ingest": after,
        "rss_after_asks": rss_mib(), "ingest_s": round(wall, 1),
        "chunks": report.chunks_embedded}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
