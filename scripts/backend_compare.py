"""The embedding backends side by side (BENCHMARKS.md, "The embedding model on onnxruntime").

    python scripts/backend_compare.py STORE QUESTIONS.jsonl [N]

In one run, for ``torch`` and ``onnx`` in turn: ``citewise ask`` as a new process (3 times,
median wall), a query's embedding in process (median of 50), and ``citewise serve`` on STORE
asked N questions over HTTP by one client (p50/p95, then its resident memory). QUESTIONS is a
citewise JSONL set (``question`` per line).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from eval.bench.run import _rss_mb, wait_healthy

CLI = str(Path(sys.executable).parent / "citewise")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(store: str, questions: str, n: int = 200) -> None:
    qs = [json.loads(x)["question"] for x in Path(questions).read_text().splitlines()
          if x.strip()][:n]
    rows = []
    for backend in ("torch", "onnx"):
        env = {**os.environ, "CITEWISE_EMBEDDING_BACKEND": backend, "CITEWISE_STORE": store}
        walls = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run([CLI, "ask", qs[0]], env=env, check=True, capture_output=True)
            walls.append(time.perf_counter() - t)
        probe = subprocess.run([sys.executable, "-c", (
            "import time, statistics\n"
            "from rag.config import Settings\nfrom rag.storage.embedders import make_embedder\n"
            f"e = make_embedder(Settings(embedding_backend={backend!r}))\n"
            "e._embed_one('warm up'); ts = []\n"
            "for i in range(50):\n"
            "    t = time.perf_counter(); e._embed_one(f'who owns the ferry {i}?')\n"
            "    ts.append((time.perf_counter() - t) * 1000)\n"
            "print(statistics.median(ts))")], env=env, check=True, capture_output=True, text=True)
        port = _port()
        server = subprocess.Popen([CLI, "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, server)
            start_rss = _rss_mb(server.pid)
            times = []
            with httpx.Client(timeout=60) as c:
                for q in qs:
                    t = time.perf_counter()
                    c.post(url + "/api/ask", json={"question": q}).raise_for_status()
                    times.append((time.perf_counter() - t) * 1000)
            rss = _rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        times.sort()
        rows.append((backend, statistics.median(walls), float(probe.stdout.strip()), start_rss,
                     rss, statistics.median(times), times[int(len(times) * 0.95)]))
    print("| backend | `citewise ask` wall s | query embed ms | serve RSS at start MiB | "
          f"RSS after {len(qs)} asks MiB | /api/ask p50 ms | p95 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.2f} | {r[2]:.1f} | {r[3]:.0f} | {r[4]:.0f} | {r[5]:.0f} | "
              f"{r[6]:.0f} |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 200)
