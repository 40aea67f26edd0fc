"""``citewise bench``: ingest and query speed, side by side in one run, written to BENCHMARKS.md.

On the same corpus (SQuAD v1.1 dev paragraphs as a JSONL news feed) and the same model:

1. the limit: raw ``SentenceTransformer.encode`` on exactly the chunks citewise produces;
2. citewise's fresh ingest end to end (load, clean, chunk, embed, write Chroma and BM25);
3. re-ingest of the unchanged corpus;
4. the LangChain RAG tutorial pipeline (RecursiveCharacterTextSplitter 1000/200,
   ``Chroma.from_documents``, top-4 similarity) with a HuggingFaceEmbeddings-equivalent
   wrapper of the same model (langchain-huggingface itself needs huggingface_hub<2, which
   conflicts with sentence-transformers 6), compared on tokens embedded and hit@5;
5. warm ``ask`` latency (extractive) at the corpus size and at synthetic scale-ups
   (copies of the corpus's chunks under distinct ids, reusing their vectors, clearly labelled);
6. the server: peak RSS and N concurrent ``/api/ask`` clients.

``--quick`` runs everything on a small slice so CI can check the bench still works.
Timings are printed and appended to BENCHMARKS.md (``--write``); tests never assert on them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from eval.datasets import load_squad, write_feed
from rag.config import Settings
from rag.errors import InputError

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
SQUAD = ROOT.parent / "shared" / "datasets" / "squad-v1.1-dev" / "dev-v1.1.json"


@dataclass
class BenchResult:
    """Figures of one bench run, in the order of BENCHMARKS.md's table."""

    corpus: str
    documents: int = 0
    chunks: int = 0
    tokens: int = 0
    rows: list[tuple[str, str]] = field(default_factory=list)  # (measure, value)
    settings: dict[str, Any] = field(default_factory=dict)  # what was measured
    figures: dict[str, Any] = field(default_factory=dict)

    def add(self, key: str, label: str, value: float, fmt: str = "{:.1f}") -> None:
        self.figures[key] = round(float(value), 4)
        self.rows.append((label, fmt.format(value)))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else float("nan")


def _rss_mb(pid: int | None = None) -> float:
    """Resident set size in MB (VmRSS) of a process; peak (VmHWM) of this one when pid is None."""
    key = "VmHWM" if pid is None else "VmRSS"
    path = Path(f"/proc/{pid or 'self'}/status")
    for line in path.read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------------- corpus


def squad_corpus(path: Path, paragraphs: int | None, questions: int, seed: int,
                 workdir: Path) -> tuple[Path, list[tuple[str, str]], int]:
    """(feed path, [(question, gold source)], documents): SQuAD paragraphs as a JSONL feed."""
    data = load_squad(path)
    feed = data.feed[:paragraphs] if paragraphs else data.feed
    keep = {d["source"] for d in feed}
    qs = [(s.question, s.sources[0]) for s in data.samples if s.sources and s.sources[0] in keep]
    random.Random(seed).shuffle(qs)
    feed_path = write_feed(feed, workdir / "corpus" / "squad-paragraphs.jsonl")
    return feed_path, qs[:questions], len(feed)


def feed_corpus(feed: Path, questions: Path | None, n: int, seed: int
                ) -> tuple[Path, list[tuple[str, str]], int]:
    """(feed path, [(question, gold source)], documents) for a JSONL corpus of one's own (a
    news feed: `id`, `text`), with questions (JSONL: `question`, `sources`) when given."""
    docs = sum(1 for line in feed.open(encoding="utf-8") if line.strip())
    qs: list[tuple[str, str]] = []
    if questions is not None:
        for line in questions.read_text(encoding="utf-8").splitlines():
            if line.strip() and (row := json.loads(line)).get("sources"):
                qs.append((row["question"], str(row["sources"][0])))
    random.Random(seed).shuffle(qs)
    return feed, qs[:n], docs


# ---------------------------------------------------------------------------------- steps


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def measure_encode_limit(embedder: Any, texts: list[str], res: BenchResult) -> float:
    """The backend's own batch encode over exactly our chunks, with citewise's batch size (for
    the torch backend SentenceTransformer.encode, for onnx the session run): the limit an ingest
    with that backend is compared to."""
    embedder.embed_documents(texts[:64])  # warm-up
    _, secs = _timed(lambda: embedder.embed_documents(texts))
    res.add("encode_chunks_per_s", "1. raw encode (same backend): chunks/s", len(texts) / secs)
    res.add("encode_tokens_per_s", "1. raw encode (same backend): tokens/s", res.tokens / secs,
            "{:.0f}")
    res.add("encode_secs", "1. raw encode (same backend): wall time (s)", secs)
    return secs


def tutorial_pipeline(model_path: str, feed: Path, questions: list[tuple[str, str]],
                      workdir: Path, res: BenchResult) -> float:
    """The LangChain RAG tutorial's ingest and retrieval on the same documents and questions
    (eval/bench/peer.py); returns its ingest wall time."""
    from eval.bench.peer import run_peer

    peer = run_peer(model_path, feed, questions, workdir)
    res.add("tutorial_chunks", "4. tutorial: chunks", peer.chunks, "{:.0f}")
    res.add("tutorial_tokens_embedded", "4. tutorial: tokens embedded (within the 256 window)",
            peer.tokens_embedded, "{:.0f}")
    res.add("tutorial_truncated_share", "4. tutorial: chunks truncated by the model window",
            peer.truncated / max(peer.chunks, 1), "{:.1%}")
    res.add("tutorial_ingest_secs", "4. tutorial: ingest wall time (s)", peer.ingest_secs)
    res.add("tutorial_hit@4", "4. tutorial: hit@4 (its top-4)", peer.hit4, "{:.3f}")
    res.add("tutorial_hit@5", "4. tutorial: hit@5", peer.hit5, "{:.3f}")
    return peer.ingest_secs


def clear_answer_caches(cw: Any) -> None:
    """Forget cached question and sentence vectors: every size is measured on the same
    questions, and a repeat would otherwise skip the model and flatter the larger stores."""
    for owner, name in ((cw.embedder, "_query_cache"), (cw.generator, "_cache")):
        cache = getattr(owner, name, None)
        if cache is not None:
            cache.clear()


def ask_latency(cw: Any, questions: list[tuple[str, str]], label: str, key: str,
                res: BenchResult) -> float:
    """Warm extractive ask latency; returns hit@5 of the gold paragraph among the contexts."""
    for q, _ in questions[:5]:
        cw.ask(q)  # warm up lazy imports and the model
    clear_answer_caches(cw)
    lat, hits = [], 0
    for q, gold in questions:
        t = time.perf_counter()
        ans = cw.ask(q)
        lat.append((time.perf_counter() - t) * 1000)
        hits += gold in {h.chunk.source for h in ans.contexts[:5]}
    label += ", vector caches cleared"
    res.add(f"{key}_p50_ms", f"5. warm ask p50 (ms), {label}", percentile(lat, 50))
    res.add(f"{key}_p95_ms", f"5. warm ask p95 (ms), {label}", percentile(lat, 95))
    res.add(f"{key}_p99_ms", f"5. warm ask p99 (ms), {label}", percentile(lat, 99))
    return hits / max(len(questions), 1)


def scale_up(cw: Any, target_chunks: int, progress: Callable[[str], None]) -> int:
    """Synthetic scale-up: copies of every stored document under distinct ids, reusing the
    original chunks' vectors and sentence vectors (a copy chunks exactly like its original), until the store holds
    about ``target_chunks``. Near-duplicate collapsing keeps answers the same; the timing
    includes it."""
    from dataclasses import replace

    from ingest.chunking import chunk_document
    from rag.sentence_vectors import SentenceVectors

    index = cw.index
    got = index.get_all(index.chunks, ["embeddings", "documents", "metadatas"], "reading chunks")
    vectors = {text: np.asarray(vec, dtype=np.float32)
               for text, vec, meta in zip(got["documents"], got["embeddings"], got["metadatas"],
                                          strict=True) if "~copy" not in str(meta.get("source"))}
    sentence_vectors = {text: SentenceVectors.from_metadata(meta)
                        for text, meta in zip(got["documents"], got["metadatas"], strict=True)}
    originals = [index.document(s) for s in sorted(index.records()) if "~copy" not in s]
    per_copy = sum(1 for m in got["metadatas"] if "~copy" not in str(m.get("source")))
    copy = 1 + max((int(s.rsplit("~copy", 1)[1]) for s in index.records() if "~copy" in s),
                   default=0)
    have = int(index.count())
    while have + per_copy // 2 < target_chunks:
        batch = []
        with index.writing():
            for doc in originals:
                clone = replace(doc, source=f"{doc.source}~copy{copy}")
                chunks = [replace(c, sentence_vectors=sentence_vectors.get(c.text))
                          for c in chunk_document(clone, index.embedder, cw.settings.chunk_tokens,
                                                  cw.settings.chunk_overlap)]
                batch.append((clone, chunks, np.stack([vectors[c.text] for c in chunks])))
                if len(batch) >= 500:
                    index.write_documents(batch)
                    batch = []
            if batch:
                index.write_documents(batch)
        have = int(index.count())
        progress(f"scale-up: {have} chunks")
        copy += 1
    index.bm25()  # load (or rebuild) once before timing
    return have


def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    """Wait (at most ``timeout`` s) until a started `citewise serve` answers /healthz; a
    RuntimeError with its stderr (when piped) if it exits first."""
    import httpx

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
            raise RuntimeError(f"server exited: {err}")
        time.sleep(0.5)


def cli_ask(settings: Settings, question: str, res: BenchResult) -> None:
    """Wall time of `citewise ask` as a new process on the bench's store (start, load, answer,
    exit): what a person at a terminal waits."""
    env = {**os.environ, **settings.to_env()}
    cmd = [sys.executable, "-m", "ui.cli", "ask", question]
    subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, timeout=300)  # warm the disk
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, timeout=300)
    secs = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"citewise ask failed: {proc.stderr.decode()[-2000:]}")
    res.add("cli_ask_secs", "7. `citewise ask` as a new process (s; goal ≤ 2)", secs, "{:.2f}")


def serve_load(settings: Settings, questions: list[tuple[str, str]], clients: int,
               seconds: float, res: BenchResult, asks: int = 0) -> None:
    """Start ``citewise serve`` with these settings; ``asks`` questions from one client (latency
    over HTTP, RSS after them), then N clients for ``seconds``; read its RSS."""
    import httpx

    port = _free_port()
    env = {**os.environ, **settings.to_env(), "CITEWISE_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        with httpx.Client(timeout=30) as c:
            for q, _ in questions[:5]:
                c.post(f"{base}/api/ask", json={"question": q})
        idle_rss = _rss_mb(proc.pid)
        if asks:
            one: list[float] = []
            with httpx.Client(timeout=60) as c:
                for i in range(asks):
                    t = time.perf_counter()
                    c.post(f"{base}/api/ask", json={"question": questions[i % len(questions)][0]})
                    if i < len(questions):  # a repeated question is answered from caches
                        one.append((time.perf_counter() - t) * 1000)
            label = f"one client, {len(one)} distinct questions"
            res.add("serve_one_p50_ms", f"6. /api/ask over HTTP, {label}: p50 (ms; goal ≤ 60)",
                    percentile(one, 50))
            res.add("serve_one_p95_ms", f"6. /api/ask over HTTP, {label}: p95 (ms; goal ≤ 150)",
                    percentile(one, 95))
            res.add("serve_rss_after_asks_mb",
                    f"6. server RSS after {asks} asks (MB; goal ≤ 450)", _rss_mb(proc.pid),
                    "{:.0f}")
        lat: list[float] = []
        errors = 0
        lock = threading.Lock()
        stop = time.time() + seconds
        peak = [idle_rss]

        def client(i: int) -> None:
            nonlocal errors
            rng = random.Random(i)
            with httpx.Client(timeout=60) as c:
                while time.time() < stop:
                    q = rng.choice(questions)[0]
                    t = time.perf_counter()
                    try:
                        r = c.post(f"{base}/api/ask", json={"question": q})
                        ok = r.status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    with lock:
                        lat.append((time.perf_counter() - t) * 1000)
                        errors += not ok

        def watch() -> None:
            while time.time() < stop:
                peak[0] = max(peak[0], _rss_mb(proc.pid))
                time.sleep(0.5)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        threads.append(threading.Thread(target=watch))
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        res.add("serve_rss_idle_mb", "6. server RSS after warm-up (MB)", idle_rss, "{:.0f}")
        res.add("serve_rss_peak_mb", f"6. server peak RSS under {clients} clients (MB)",
                peak[0], "{:.0f}")
        res.add("serve_requests", f"6. /api/ask requests in {seconds:.0f} s, {clients} clients "
                f"(the {len(questions)} questions repeat: partly answered from caches)",
                len(lat), "{:.0f}")
        res.add("serve_asks_per_s", f"6. asks/s, {clients} clients", len(lat) / seconds)
        res.add("serve_errors", "6. errors (non-200 or transport)", errors, "{:.0f}")
        res.add("serve_p50_ms", "6. /api/ask p50 under load (ms)", percentile(lat, 50))
        res.add("serve_p95_ms", "6. /api/ask p95 under load (ms)", percentile(lat, 95))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


# ---------------------------------------------------------------------------------- driver


def _bench_settings(settings: Settings, args: argparse.Namespace, workdir: Path) -> Settings:
    """The settings the bench runs with: the user's (generator, embedding model, chunking, ...),
    on ``--store`` when given (it must be empty: the bench measures a fresh ingest), else on a
    temporary embedded store."""
    store = getattr(args, "store", None)
    if store is None:
        return settings.model_copy(update={"store": workdir / "store", "chroma_url": None})
    if settings.chroma_url or (Path(store).is_dir() and any(Path(store).iterdir())):
        raise InputError(f"citewise bench measures a fresh ingest, so --store must be a new or "
                         f"empty folder ({store} is not empty), and CITEWISE_CHROMA_URL unset.")
    return settings.updated(store=Path(store))


def run_bench(args: argparse.Namespace, settings: Settings | None = None) -> BenchResult:
    from citewise import Citewise
    from ingest.chunking import chunk_document
    from ingest.loaders import LoadFailure, iter_documents
    from rag.storage.embedders import make_embedder
    from rag.storage.embeddings import load_embedder

    def say(msg: str) -> None:
        sys.stderr.write(f"[bench] {msg}\n")
        sys.stderr.flush()

    quick = args.quick
    paragraphs = 60 if quick else args.paragraphs
    n_questions = 30 if quick else args.questions
    workdir = Path(tempfile.mkdtemp(prefix="citewise-bench-"))
    try:
        if args.feed is not None:
            feed, questions, n_docs = feed_corpus(args.feed, args.questions_file, n_questions,
                                                  args.seed)
            res = BenchResult(corpus=f"{args.feed.name} ({n_docs} docs)")
        else:
            feed, questions, n_docs = squad_corpus(args.squad, paragraphs, n_questions,
                                                   args.seed, workdir)
            res = BenchResult(corpus=f"SQuAD v1.1 dev paragraphs as a JSONL feed ({n_docs} docs)")
        res.documents = n_docs
        settings = _bench_settings(settings or Settings(), args, workdir)
        say(f"settings: store {settings.store}, generator {settings.generator}, embedding model "
            f"{settings.embedding_model}")
        res.settings = {"generator": settings.generator,
                        "embedding_model": settings.embedding_model,
                        "embedding_backend": settings.embedding_backend,
                        "chunk_tokens": settings.chunk_tokens, "k": settings.k}
        embedder = make_embedder(settings)  # the backend citewise runs with (onnx by default)

        say("chunking the corpus as citewise does ...")
        texts = []
        for doc in iter_documents([feed], max_bytes=int(settings.max_file_mb * 2**20)):
            if isinstance(doc, LoadFailure):
                continue  # the ingest row reports it; the raw encode reads the same documents
            texts += [c.text for c in chunk_document(doc, embedder, settings.chunk_tokens,
                                                     settings.chunk_overlap)]
        res.chunks = len(texts)
        res.tokens = sum(embedder.count_tokens(texts)) + 2 * len(texts)  # + [CLS] and [SEP]
        res.add("chunks", "corpus: citewise chunks", res.chunks, "{:.0f}")
        res.add("tokens", "corpus: tokens embedded by citewise (with [CLS]/[SEP])", res.tokens,
                "{:.0f}")

        say(f"1. raw encode of {len(texts)} chunks ...")
        encode_secs = measure_encode_limit(embedder, texts, res)

        say("2. fresh ingest, end to end ...")
        cw = Citewise(settings, embedder=embedder)
        report, secs = _timed(lambda: cw.ingest([feed]))
        res.add("ingest_chunks_per_s", "2. citewise fresh ingest: chunks/s",
                report.chunks_embedded / secs)
        res.add("ingest_tokens_per_s", "2. citewise fresh ingest: tokens/s", res.tokens / secs,
                "{:.0f}")
        res.add("ingest_secs", "2. citewise fresh ingest: wall time (s)", secs)
        res.add("ingest_vs_encode", "2. ingest throughput / raw encode (goal ≥ 0.90)",
                encode_secs / secs, "{:.2f}")

        say("3. re-ingest, unchanged ...")
        report2, secs2 = _timed(lambda: cw.ingest([feed]))
        res.add("reingest_secs", "3. unchanged re-ingest: wall time (s)", secs2, "{:.2f}")
        res.add("reingest_share", "3. re-ingest / fresh ingest (goal ≤ 5%)", secs2 / secs,
                "{:.1%}")
        res.add("reingest_embedded", "3. chunks embedded by the re-ingest", report2.chunks_embedded,
                "{:.0f}")

        if not args.no_peer:
            say("4. LangChain tutorial pipeline ...")
            peer_secs = tutorial_pipeline(load_embedder(settings.embedding_model).location, feed,
                                          questions, workdir, res)
            res.add("citewise_tokens_share", "4. citewise tokens embedded / tutorial's (goal ≤ 0.8)",
                    res.tokens / max(res.figures["tutorial_tokens_embedded"], 1), "{:.2f}")
            res.add("ingest_vs_peer", "4. citewise fresh ingest / tutorial's, wall (goal ≤ 0.50)",
                    secs / peer_secs, "{:.2f}")

        say("5. warm ask latency ...")
        hit5 = ask_latency(cw, questions, f"{cw.index.count()} chunks", "ask", res)
        res.add("citewise_hit@5", "4. citewise hit@5 (same questions, k=5)", hit5, "{:.3f}")

        if args.clients:
            clients = 5 if quick else args.clients
            seconds = 3.0 if quick else args.seconds
            asks = 20 if quick else args.asks
            say(f"6. server: {asks} asks by one client, then {clients} concurrent clients for "
                f"{seconds:.0f} s ...")
            serve_load(settings, questions, clients, seconds, res, asks)

        say("7. `citewise ask` as a new process ...")
        cli_ask(settings, questions[0][0] if questions else "What is this about?", res)

        for target in ([] if quick else args.scale):
            total = scale_up(cw, target, say)
            label = f"{total} chunks (synthetic: corpus copies, distinct ids)"
            ask_latency(cw, questions, label, f"ask_{target // 1000}k", res)
        res.add("bench_peak_rss_mb", "bench process peak RSS (MB)", _rss_mb(), "{:.0f}")
        return res
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def machine() -> str:
    import chromadb
    import sentence_transformers
    import torch

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
            f"Python {platform.python_version()}, torch {torch.__version__}, "
            f"sentence-transformers {sentence_transformers.__version__}, "
            f"chromadb {chromadb.__version__}")


def markdown(res: BenchResult, args: argparse.Namespace) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = "quick" if args.quick else "full"
    lines = [f"### {when} — {mode} run", "", f"- machine: {machine()}",
             f"- corpus: {res.corpus}; {len(res.rows)} figures; questions: "
             + ("SQuAD dev" if args.feed is None else
                args.questions_file.name if args.questions_file else "none")
             + f", seed {args.seed}"]
    if res.settings:
        lines.append("- settings: " + ", ".join(f"{k} {v}" for k, v in res.settings.items()))
    lines += ["", "| measure | value |", "|---|---:|"]
    lines += [f"| {label} | {value} |" for label, value in res.rows]
    return "\n".join(lines) + "\n"


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--squad", type=Path, default=SQUAD, help="SQuAD v1.1 dev JSON")
    p.add_argument("--feed", type=Path, default=None, metavar="JSONL",
                   help="a corpus of one's own instead of SQuAD (JSONL news feed: id, text), "
                   "e.g. the RealTime QA development corpus of `python -m eval.external`")
    p.add_argument("--questions-file", type=Path, default=None, metavar="JSONL",
                   help="with --feed: questions (question, sources) for hit@5 and latency")
    p.add_argument("--no-peer", action="store_true",
                   help="skip the LangChain tutorial pipeline (it needs the 'peer' extra)")
    p.add_argument("--asks", type=int, default=200,
                   help="asks by one client over HTTP before the concurrent load")
    p.add_argument("--paragraphs", type=int, default=None, help="first N paragraphs (all)")
    p.add_argument("--questions", type=int, default=300, help="questions for hit@5 and latency")
    p.add_argument("--scale", type=int, nargs="*", default=[20_000, 100_000],
                   help="chunk counts for the synthetic latency scale-up")
    p.add_argument("--clients", type=int, default=50, help="concurrent /api/ask clients (0: skip)")
    p.add_argument("--seconds", type=float, default=30.0, help="duration of the load test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="small slice, to check the bench runs")
    p.add_argument("--write", type=Path, default=None, metavar="FILE",
                   help="append the results to this Markdown file (e.g. BENCHMARKS.md)")
    p.add_argument("--json", type=Path, default=None, metavar="FILE", help="figures as JSON")
    return p


def run_from_args(args: argparse.Namespace, settings: Settings | None = None) -> int:
    """``citewise bench`` with the settings its flags and environment give (store, generator,
    embedding model, chunking, k, ...)."""
    if args.feed is not None and not args.feed.exists():
        sys.stderr.write(f"error: {args.feed} not found; pass --feed PATH to a JSONL corpus\n")
        return 2
    if args.feed is None and not args.squad.exists():
        sys.stderr.write(f"error: {args.squad} not found; pass --squad PATH to SQuAD v1.1 dev "
                         "JSON (dev-v1.1.json)\n")
        return 2
    res = run_bench(args, settings)
    text = markdown(res, args)
    sys.stdout.write(text)
    if args.write:
        with args.write.open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res.figures, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING)
    p = add_arguments(argparse.ArgumentParser(prog="citewise bench", description=__doc__))
    return run_from_args(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
