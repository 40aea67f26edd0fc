"""Warm ask latency on a real-text store (BENCHMARKS.md, "warm ask on real text").

    python scripts/ask_latency.py STORE ../shared/datasets/beir-scifact/queries.test.tsv 150
    python scripts/ask_latency.py STORE ~/.cache/citewise/datasets/realtimeqa/tune.jsonl 150

QUESTIONS is a BEIR queries TSV (id TAB text) or a citewise JSONL question set.

Asks N queries twice in one process after one warm-up question: first as new questions, then
repeated. Wall and CPU time per ask are printed, CPU time because a shared machine's wall time
measures its other jobs too.
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
import time

from citewise import Citewise
from rag.config import Settings


def main(store: str, queries: str, n: int) -> None:
    app = Citewise(Settings(store=store))
    with open(queries, encoding="utf-8") as fh:
        if queries.endswith(".jsonl"):
            qs = [json.loads(line)["question"] for line in fh if line.strip()][:n]
        else:
            qs = [row[1] for row in csv.reader(fh, delimiter="\t")][1:][:n]
    app.ask("warm-up question")
    for name in ("new questions", "repeated"):
        wall: list[float] = []
        cpu: list[float] = []
        for q in qs:
            w, c = time.perf_counter(), time.process_time()
            app.ask(q)
            wall.append((time.perf_counter() - w) * 1000)
            cpu.append((time.process_time() - c) * 1000)
        wall.sort()
        cpu.sort()
        p95 = int(0.95 * (len(qs) - 1))
        sys.stdout.write(f"{name}: wall p50 {statistics.median(wall):.1f} p95 {wall[p95]:.1f} | "
                         f"cpu p50 {statistics.median(cpu):.1f} p95 {cpu[p95]:.1f} ms\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
