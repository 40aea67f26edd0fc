"""50 concurrent API clients for a minute against the real server, while documents are being
uploaded and ingested into the same store: no 5xx, answers stay right, latency is reported and
memory does not grow.

Figures go to test-output/reliability/load.json (and the test's stdout).
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.reliability.conftest import OUTPUT, run_server
from tests.ui.conftest import SAMPLE_DIR

pytestmark = pytest.mark.slow

DURATION_S = 60.0  # the load phase; memory is compared between WARMUP_S and the end
WARMUP_S = 10.0
CLIENTS = 50
UPLOAD_EVERY_S = 2.0
SAMPLE = "microsoft-openai-partnership.txt"
KNOWN = "What stake does Microsoft hold in OpenAI Group PBC?"

#: (question, source the first citation must come from, text the answer must contain)
QUESTIONS = [
    (KNOWN, SAMPLE, ("27 per cent", "135 billion")),
    ("How much Azure capacity has OpenAI contracted to purchase?", SAMPLE, ("250 billion",)),
    ("Until when does Microsoft keep its IP rights for models and products?", SAMPLE, ("2032",)),
    ("How many lighthouses does the harbour authority run?", "harbour.txt", ("17 lighthouses",)),
    ("What is the boiling point of tungsten?", None, ()),  # not in the documents: abstain
]


@dataclass
class Tally:
    """What the clients saw, shared by all threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def record(self, status: int, seconds: float, wrong: str | None = None) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.latencies.append(seconds)
            if wrong:
                self.wrong.append(wrong)


VOCAB = ("Microsoft OpenAI Azure capacity harbour pilots ships stake rights models products "
         "lighthouse coast kestrels ridge tally partnership revenue share board nonprofit "
         "compute cloud agreement investors AGI panel").split()


def _check(body: dict, source: str | None, expect: tuple[str, ...]) -> str | None:
    """Why an answer is wrong, or None (``source`` "": any well-formed answer)."""
    if source == "":
        ok = isinstance(body.get("answer"), str) and all(c["quote"] for c in body["citations"])
        return None if ok else f"malformed answer {body}"
    if source is None:
        return None if body["abstained"] else f"answered an unanswerable question: {body['answer']}"
    if body["abstained"] or not body["citations"]:
        return f"abstained on {body['question']!r}"
    if body["citations"][0]["source"] != source:
        return f"{body['question']!r} cited {body['citations'][0]['source']}"
    if not any(e in body["answer"] for e in expect):
        return f"{body['question']!r} answered {body['answer']!r}"
    return None


def _client(url: str, tally: Tally, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=120) as http:
        while not stop.is_set():
            pick = rng.random()
            t0 = time.perf_counter()
            try:
                if pick < 0.05:
                    r = http.get("/api/documents")
                    tally.record(r.status_code, time.perf_counter() - t0)
                    continue
                question, source, expect = rng.choice(QUESTIONS)
                if pick > 0.7:  # a question nobody asked before: no cached query vector
                    words = rng.sample(VOCAB, 4)
                    question, source, expect = (f"What did the {words[0]} say about "
                                                f"{' '.join(words[1:])} in {rng.randint(1900, 2100)}?",
                                                "", ())
                if pick < 0.15:  # the streaming endpoint: the final event is the answer
                    r = http.post("/api/ask/stream", json={"question": question})
                    wrong = None
                    if r.status_code == 200:
                        final = [b for b in r.text.split("\n\n") if b.startswith("event: answer")]
                        wrong = (_check(json.loads(final[-1].split("data: ", 1)[1]), source,
                                        expect) if final else "stream without an answer")
                else:
                    r = http.post("/api/ask", json={"question": question})
                    wrong = _check(r.json(), source, expect) if r.status_code == 200 else None
                tally.record(r.status_code, time.perf_counter() - t0, wrong)
            except httpx.HTTPError as exc:
                with tally.lock:
                    tally.errors.append(f"{type(exc).__name__}: {exc}")


def _uploader(url: str, tally: Tally, stop: threading.Event, uploaded: list[str]) -> None:
    """Upload a new document every few seconds; each must be answerable right after."""
    with httpx.Client(base_url=url, timeout=300) as http:
        n = 0
        while not stop.is_set():
            n += 1
            name = f"load-note-{n:03d}.txt"
            count = 1000 + n * 37
            text = (f"Load note {n}\n\nThe tally of load note {n} counted {count} kestrels on "
                    f"the northern ridge.\n")
            r = http.post("/api/documents", files=[("files", (name, text.encode(), "text/plain"))])
            if r.status_code >= 500 or r.status_code != 200:
                with tally.lock:
                    tally.errors.append(f"upload {name}: {r.status_code} {r.text[:200]}")
            else:
                uploaded.append(name)
                t0 = time.perf_counter()
                a = http.post("/api/ask", json={
                    "question": f"How many kestrels did the tally of load note {n} count?"})
                wrong = _check(a.json(), name, (f"{count:,}", str(count))) \
                    if a.status_code == 200 else None
                tally.record(a.status_code, time.perf_counter() - t0, wrong)
            stop.wait(UPLOAD_EVERY_S)


def test_fifty_clients_for_a_minute_with_ingest_running(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_DIR, corpus)
    (corpus / "harbour.txt").write_text(
        "Harbour report\n\nThe harbour authority runs 17 lighthouses along the coast, and "
        "its pilots guided 3,200 ships last year.\n", encoding="utf-8")
    with run_server(tmp_path / "store", corpus) as server:
        with httpx.Client(base_url=server.url, timeout=120) as http:  # first answers load caches
            for question, source, expect in QUESTIONS:
                r = http.post("/api/ask", json={"question": question})
                assert r.status_code == 200 and _check(r.json(), source, expect) is None, r.text
        tally, stop = Tally(), threading.Event()
        uploaded: list[str] = []
        threads = [threading.Thread(target=_client, args=(server.url, tally, stop, i), daemon=True)
                   for i in range(CLIENTS)]
        threads.append(threading.Thread(target=_uploader, daemon=True,
                                        args=(server.url, tally, stop, uploaded)))
        rss: list[tuple[float, int]] = []
        started = time.monotonic()
        for t in threads:
            t.start()
        while (elapsed := time.monotonic() - started) < DURATION_S:
            rss.append((round(elapsed, 1), server.rss_kb()))
            time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join(timeout=180)
        rss.append((round(time.monotonic() - started, 1), server.rss_kb()))
        wall = time.monotonic() - started
        assert not any(t.is_alive() for t in threads), "clients hung"
        listed = {d["source"] for d in httpx.get(server.url + "/api/documents", timeout=60).json()}
        healthy = httpx.get(server.url + "/healthz", timeout=60).status_code
        log_tail = server.log_tail()

    lat = sorted(tally.latencies)
    warm = next(kb for t, kb in rss if t >= WARMUP_S)
    end = rss[-1][1]
    figures = {
        "clients": CLIENTS, "duration_s": DURATION_S, "wall_s": round(wall, 1),
        "requests": sum(tally.statuses.values()),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "server_5xx": sum(v for k, v in tally.statuses.items() if k >= 500),
        "transport_errors": len(tally.errors), "wrong_answers": len(tally.wrong),
        "throughput_rps": round(len(lat) / wall, 1),
        "latency_s": {"p50": round(statistics.median(lat), 3),
                      "p95": round(lat[int(0.95 * (len(lat) - 1))], 3),
                      "max": round(lat[-1], 3)},
        "documents_uploaded": len(uploaded),
        "rss_mb": {"after_warmup": round(warm / 1024, 1), "end": round(end / 1024, 1),
                   "growth_pct": round(100 * (end - warm) / warm, 1)},
        "rss_series_mb": [(t, round(kb / 1024, 1)) for t, kb in rss],
    }
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "load.json").write_text(json.dumps(figures, indent=1))
    print(json.dumps({k: v for k, v in figures.items() if k != "rss_series_mb"}))

    assert figures["server_5xx"] == 0, (figures["statuses"], log_tail)
    assert tally.errors == [], tally.errors[:5]
    assert set(tally.statuses) == {200}, figures["statuses"]
    assert tally.wrong == [], tally.wrong[:5]
    assert figures["requests"] >= CLIENTS * 2, figures  # every client was served, repeatedly
    assert len(uploaded) >= 5 and set(uploaded) <= listed, (uploaded, listed)
    assert healthy == 200
    assert figures["rss_mb"]["growth_pct"] <= 10.0, figures["rss_mb"]
