"""A served citewise's memory and speed over distinct questions, for two checkouts side by side
(BENCHMARKS.md, "A server's memory").

    python scripts/serve_memory.py STORE QUESTIONS.jsonl N [TREE ...]

For each TREE (a checkout of this repository; default: this one), in turn: ``citewise serve``
from that tree's code on STORE, N distinct questions asked over HTTP by one client, the
server's resident memory after warm-up, after N/2 and after N asks, and the p50/p95 of the
asks. QUESTIONS is a citewise JSONL set (``question`` per line); the first N are asked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.bench.run import _free_port, _rss_mb, wait_healthy  # noqa: E402


def measure(tree: Path, store: str, qs: list[str]) -> tuple[float, float, float, float, float]:
    env = {**os.environ, "CITEWISE_STORE": store, "PYTHONPATH": str(tree)}
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve", "--port", str(port)],
                              env=env, cwd=tree, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, server)
        times: list[float] = []
        with httpx.Client(timeout=120) as c:
            c.post(url + "/api/ask", json={"question": "What is this about?"}).raise_for_status()
            warm = _rss_mb(server.pid)
            half = warm
            for i, q in enumerate(qs, 1):
                t = time.perf_counter()
                c.post(url + "/api/ask", json={"question": q}).raise_for_status()
                times.append((time.perf_counter() - t) * 1000)
                if i == len(qs) // 2:
                    half = _rss_mb(server.pid)
        time.sleep(12)  # one trim interval, as a server between asks
        end = _rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    times.sort()
    return warm, half, end, times[len(times) // 2], times[int(len(times) * 0.95)]


def main(store: str, questions: str, n: int, trees: list[Path]) -> None:
    qs = [json.loads(x)["question"] for x in Path(questions).read_text().splitlines()
          if x.strip()][:n]
    print(f"| checkout | RSS after warm-up MiB | after {len(qs) // 2} asks | after {len(qs)} "
          "asks | /api/ask p50 ms | p95 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for tree in trees:
        warm, half, end, p50, p95 = measure(tree, store, qs)
        print(f"| {tree} | {warm:.0f} | {half:.0f} | {end:.0f} | {p50:.0f} | {p95:.0f} |",
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]),
         [Path(t).resolve() for t in sys.argv[4:]] or [ROOT])
