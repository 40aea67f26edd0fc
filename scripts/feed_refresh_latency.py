"""What a feed refresh costs the people asking meanwhile (BENCHMARKS.md, "Feeds").

    PYTHONPATH=. python scripts/feed_refresh_latency.py [PAGES] [--squad ../shared/datasets/squad-v1.1-dev/dev-v1.1.json]

One process, one real Citewise over sample_data (as `citewise serve --refresh-feeds` is), a feed
of PAGES new pages (SQuAD v1.1 dev paragraphs of its non-reserved articles, one page each)
served on 127.0.0.1. The golden set's questions are asked in turn, as one user would, before
the refresh (idle), while the refresh fetches and ingests the pages on another thread, and after
it (idle again), all in one run; then one unchanged poll is timed. Prints p50/p95/max ask
latency per phase, the refresh's wall time and pages per second.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

from citewise import Citewise
from rag.config import Settings
from tests.ingest.feed_server import FeedServer, Route, page, rss

ROOT = Path(__file__).resolve().parents[1]


def _pages(squad: Path, reserved: Path, n: int) -> list[tuple[str, str]]:
    skip = set(reserved.read_text(encoding="utf-8").split("\n"))
    out = []
    for article in json.loads(squad.read_text(encoding="utf-8"))["data"]:
        if article["title"] in skip:
            continue
        for i, para in enumerate(article["paragraphs"]):
            out.append((f"{article['title'].replace('_', ' ')} ({i + 1})", para["context"]))
            if len(out) == n:
                return out
    return out


def _stats(name: str, ms: list[float]) -> str:
    v = sorted(ms)
    return (f"| {name} | {len(v)} | {statistics.median(v):.1f} | {v[int(len(v) * 0.95)]:.1f} | "
            f"{v[-1]:.1f} |")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("pages", nargs="?", type=int, default=200)
    p.add_argument("--squad", type=Path,
                   default=ROOT.parent / "shared/datasets/squad-v1.1-dev/dev-v1.1.json")
    args = p.parse_args()
    reserved = args.squad.parent / "reserved-titles.txt"
    questions = [json.loads(line)["question"] for line in
                 (ROOT / "eval/golden/sample_article.jsonl").read_text().splitlines() if line]

    server = FeedServer().start()
    items = []
    for n, (title, text) in enumerate(_pages(args.squad, reserved, args.pages)):
        path = f"/p/{n}"
        server.routes[path] = Route(page(title, text))
        items.append({"link": server.url(path), "title": title,
                      "date": "Mon, 02 Mar 2026 08:00:00 GMT"})
    server.routes["/rss"] = Route(rss(items), content_type="application/rss+xml", etag='"1"')

    store = tempfile.mkdtemp(prefix="cw-feedbench-")
    cw = Citewise.from_settings(Settings(store=store, feed_allow_private="127.0.0.1",
                                         feed_max_items=args.pages))
    cw.ingest([ROOT / "sample_data"])
    cw.warm()
    for q in questions[:5]:  # warm-up
        cw.ask(q)

    def ask_while(cond: threading.Event | None, count: int | None) -> list[float]:
        times, i = [], 0
        while (cond is not None and not cond.is_set()) or (count is not None and i < count):
            t = time.perf_counter()
            cw.ask(questions[i % len(questions)])
            times.append((time.perf_counter() - t) * 1000)
            i += 1
        return times

    before = ask_while(None, 60)
    done = threading.Event()
    result: dict[str, float] = {}

    def refresh() -> None:
        t = time.perf_counter()
        run = cw.ingest_feeds([server.url("/rss")])
        result["seconds"] = time.perf_counter() - t
        result["added"] = len(run.report.added)
        result["chunks"] = run.report.chunks_embedded
        done.set()

    worker = threading.Thread(target=refresh)
    worker.start()
    during = ask_while(done, None)
    worker.join()
    after = ask_while(None, 60)
    t = time.perf_counter()
    run = cw.refresh_feeds()
    unchanged_ms = (time.perf_counter() - t) * 1000
    server.stop()

    print(f"store: sample article + {result['added']:.0f} feed pages "
          f"({result['chunks']:.0f} chunks embedded by the refresh)")
    print("| phase | asks | p50 ms | p95 ms | max ms |\n|---|---:|---:|---:|---:|")
    print(_stats("idle, before the refresh", before))
    print(_stats("during the refresh", during))
    print(_stats("idle, after the refresh", after))
    print(f"refresh: {result['seconds']:.1f} s for {result['added']:.0f} pages "
          f"({result['added'] / result['seconds']:.1f} pages/s) while asks ran; "
          f"an unchanged poll: {unchanged_ms:.0f} ms, {run.requests} request(s), "
          f"{run.report.chunks_embedded} chunks embedded")


if __name__ == "__main__":
    main()
