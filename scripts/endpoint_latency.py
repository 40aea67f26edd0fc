"""What sign-in and recording answers for feedback cost, and the OpenAI-compatible route
beside ``/api/ask`` (BENCHMARKS.md, "Feedback and the tool endpoints", "Sign-in and roles").

    python scripts/endpoint_latency.py [N]

One process, one real Citewise over sample_data, three apps over it (plain: no sign-in, no
feedback; feedback on; sign-in with a Bearer token on) asked the same questions in turn, in
rotating order, so the differences are measured side by side; the first 5 asks of each are
warm-up. Prints p50/p95 per route and the cost of one ``Recorder.record`` alone.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from citewise import Citewise
from citewise.access import AccessStore
from rag.config import Settings
from ui.auth import auth_path
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
    base = Settings(store=store, rate_ask="100000/minute")  # measure, don't limit
    off = TestClient(create_app(cw, base.updated(feedback=False)))
    on = TestClient(create_app(cw, base.updated(feedback=True)))
    signed = base.updated(feedback=False, auth="token")
    token = AccessStore(auth_path(signed)).create_token("bench", "reader")[1]
    auth = TestClient(create_app(cw, signed), headers={"Authorization": f"Bearer {token}"})
    apps = {"feedback off": off, "feedback on": on, "sign-in (token), feedback off": auth}
    times: dict[str, list[float]] = {f"/api/ask, {name}": [] for name in apps}
    times["/v1/chat/completions, feedback off"] = []
    with off, on, auth:
        for i in range(n):
            q = QUESTIONS[i % len(QUESTIONS)]
            order = list(apps.items())
            order = order[i % 3:] + order[:i % 3]  # none always meets the warmest caches
            for name, app in order:
                times[f"/api/ask, {name}"].append(_ms(
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
