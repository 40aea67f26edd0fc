"""What recording answers for feedback costs, and the OpenAI-compatible route beside
``/api/ask`` (BENCHMARKS.md, "Feedback and the tool endpoints").

    python scripts/endpoint_latency.py [N]

One process, one real Citewise over sample_data, two apps over it (feedback recording on and
off) asked the same questions in turn, so the ratio is measured side by side; the first 5 asks
of each are warm-up. Prints p50/p95 per route and the cost of one ``Recorder.record`` alone.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from citewise import Citewise
from rag.config import Settings
from ui.feedback import Recorder
from ui.server import create_app

QUESTIONS = [
    "What stake does Microsoft hold in OpenAI Group PBC?",
    "Who verifies when OpenAI declares AGI?",
    "How much Azure capacity has OpenAI contracted to purchase?",
    "Until when does Microsoft keep its IP rights for models and products?",
]


def _ms(call: Callable[[], object]) -> float:
    t = time.perf_counter()
    call()
    return (time.perf_counter() - t) * 1000


def _row(name: str, values: list[float]) -> str:
    v = sorted(values[5:])
    return f"| {name} | {statistics.median(v):.1f} | {v[int(len(v) * 0.95)]:.1f} |"


def main(n: int = 60) -> None:
    store = tempfile.mkdtemp(prefix="cw-endpoints-")
    cw = Citewise.from_settings(Settings(store=store))
    cw.ingest(["sample_data"])
    cw.warm()
    off = TestClient(create_app(cw, Settings(store=store, feedback=False)))
    on = TestClient(create_app(cw, Settings(store=store, feedback=True)))
    times: dict[str, list[float]] = {"/api/ask, feedback off": [], "/api/ask, feedback on": [],
                                     "/v1/chat/completions, feedback off": []}
    with off, on:
        for i in range(n):
            q = QUESTIONS[i % len(QUESTIONS)]
            # which app goes first alternates, so neither always meets warm caches
            for name, app in ((("off", off), ("on", on)) if i % 2 else (("on", on), ("off", off))):
                times[f"/api/ask, feedback {name}"].append(_ms(
                    lambda app=app, q=q: app.post("/api/ask", json={"question": q}).raise_for_status()))
            times["/v1/chat/completions, feedback off"].append(_ms(lambda q=q: off.post(
                "/v1/chat/completions", json={"model": "citewise", "messages": [
                    {"role": "user", "content": q}]}).raise_for_status()))
    recorder = Recorder(cw, Settings(store=store))
    answer = cw.ask(QUESTIONS[0])
    alone = [_ms(lambda: recorder.record(answer, None, "bench")) for _ in range(105)]
    print("| route | p50 ms | p95 ms |\n|---|---:|---:|")
    for name, values in times.items():
        print(_row(name, values))
    print(_row("Recorder.record alone", alone))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
