"""onnxruntime's memory arena on or off per session: memory after asks, or an ingest's time
(BENCHMARKS.md, "The reader without a memory arena").

    python scripts/arena_memory.py ask STORE QUESTIONS.jsonl [N]   # four arena combinations
    python scripts/arena_memory.py ingest FEED.jsonl                # the embedder's arena on/off

``ask``: for each combination of the embedder's and the reader's arena, a fresh process opens
STORE, asks the first N questions (default 60; each with its ``as_of``), trims malloc and prints
its resident memory and the mean wall time per ask. ``ingest``: a fresh process per run ingests
FEED into an empty store with the embedder's arena on, off, on, off and prints the seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rss_mb() -> int:
    """This process's resident memory now (not its peak)."""
    import os

    from eval.bench.run import _rss_mb as rss_of

    return round(rss_of(os.getpid()))


def _set_arenas(embedder: bool, reader: bool) -> None:
    import rag.answer.reader as reader_module
    import rag.storage.embeddings_onnx as embedder_module
    from rag.onnx_runtime import session_options

    def options(forced: bool):  # type: ignore[no-untyped-def]
        def opened(threads: int | None = None, arena: bool = True):  # type: ignore[no-untyped-def]
            return session_options(threads, arena=forced)
        return opened

    embedder_module.session_options = options(embedder)  # type: ignore[assignment]
    reader_module.session_options = options(reader)  # type: ignore[assignment]


def ask_child(embedder: bool, reader: bool, store: str, questions: str, n: int) -> None:
    _set_arenas(embedder, reader)
    from citewise import Citewise
    from citewise.memory import limit_arenas, trim
    from rag.config import Settings

    limit_arenas()
    app = Citewise.from_settings(Settings(store=store))
    app.warm()
    rows = [json.loads(line) for line in Path(questions).read_text().splitlines() if line][:n]
    started = time.perf_counter()
    for row in rows:
        app.ask(row["question"], as_of=row.get("as_of") or None)
    per_ask = (time.perf_counter() - started) * 1000 / max(len(rows), 1)
    trim()
    print(f"| {'on' if embedder else 'off'} | {'on' if reader else 'off'} | {_rss_mb()} | "
          f"{per_ask:.0f} |")


def ingest_child(embedder: bool, feed: str) -> None:
    _set_arenas(embedder, False)
    from citewise import Citewise
    from rag.config import Settings

    app = Citewise(Settings(store=tempfile.mkdtemp()))
    app.embedder.embed_documents(["warm up"])
    started = time.perf_counter()
    report = app.ingest([feed])
    print(f"embedder arena {'on' if embedder else 'off'}: {time.perf_counter() - started:.1f} s "
          f"({report.chunks_embedded} chunks), RSS {_rss_mb()} MiB")


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "--child":
        kind, args = argv[1], argv[2:]
        on = {"on": True, "off": False}
        if kind == "ask":
            ask_child(on[args[0]], on[args[1]], args[2], args[3], int(args[4]))
        else:
            ingest_child(on[args[0]], args[1])
        return 0
    run = [sys.executable, __file__, "--child"]
    if argv[:1] == ["ask"] and len(argv) >= 3:
        n = argv[3] if len(argv) > 3 else "60"
        print("| embedder arena | reader arena | RSS MiB after the asks | ms per ask |")
        print("|---|---|---:|---:|")
        for emb, rd in (("on", "on"), ("on", "off"), ("off", "on"), ("off", "off")):
            subprocess.run([*run, "ask", emb, rd, argv[1], argv[2], n], check=True, cwd=ROOT)
        return 0
    if argv[:1] == ["ingest"] and len(argv) == 2:
        for emb in ("on", "off", "on", "off"):
            subprocess.run([*run, "ingest", emb, argv[1]], check=True, cwd=ROOT)
        return 0
    sys.stderr.write(__doc__ or "")
    return 2


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
