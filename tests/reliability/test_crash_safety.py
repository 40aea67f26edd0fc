"""kill -9 during ``citewise ingest``, then run it again: the store is consistent every time.

Each trial starts ``citewise ingest CORPUS --prune`` (the real CLI entry point, in a process
forked from a server that already holds the model, see forkserver.py) and SIGKILLs it. Most
kills land a random time after the start of a randomly chosen store write (the child logs its
writes; kills land inside or just after chunk upserts, document-record commits, stale-chunk and
prune deletes, the generation bump and the BM25 save); the rest at a random moment of the run.
A third of the trials ingest into an empty store, the others update a store holding an older
version of the corpus (changed, deleted and new documents). Some trials kill the recovery too.

After the kill the store must already be readable and consistent (at most unreferenced chunks,
never a half-indexed document, never a BM25 file that claims to be current but is not); after
the re-run it must equal a clean ingest exactly: same documents, same chunk ids, no orphans,
BM25 and Chroma holding the same chunks, and questions answered from the right documents.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.forkserver import ForkServer
from tests.reliability.storecheck import problems

pytestmark = pytest.mark.slow

SEED = 20251125
TRIALS = 24  # at least; more until MIN_KILLS runs died by SIGKILL (a run may finish first)
MIN_KILLS = 20
MAX_TRIALS = 36
N_DOCS = 220
N_FEED = 60
SNAPSHOT = "tests.reliability.storecheck:snapshot"
WORDS = ("amber basalt cedar dune ember fjord glacier harbor island juniper kestrel lagoon "
         "meadow nectar orchard prairie quarry ridge savanna tundra").split()


def _doc_text(i: int, version: int, rng: random.Random) -> str:
    a, b = rng.choice(WORDS), rng.choice(WORDS)
    return f"The survey code of report {i} is {1000 + i * 7 + version * 3}, filed by {a} {b}.\n"


def write_corpus(root: Path, version: int) -> dict[str, int]:
    """Version 1, or version 2: every 8th file changed, every 12th deleted, 25 new files, and
    every 6th feed line changed.

    Returns {source: expected survey code}.
    """
    rng = random.Random(SEED + version)
    root.mkdir(parents=True, exist_ok=True)
    codes: dict[str, int] = {}
    changed = set(range(0, N_DOCS, 8)) if version == 2 else set()
    deleted = set(range(3, N_DOCS, 12)) if version == 2 else set()
    total = N_DOCS + (25 if version == 2 else 0)
    for i in range(total):
        f = root / f"report-{i:03d}.txt"
        if i in deleted:
            f.unlink(missing_ok=True)
            continue
        v = 2 if i in changed or i >= N_DOCS else 1
        if version == 1 or i in changed or i >= N_DOCS:
            f.write_text(_doc_text(i, v, rng), encoding="utf-8")
        codes[f.name] = 1000 + i * 7 + v * 3
    lines = []
    for j in range(N_FEED):
        v = 2 if version == 2 and j % 6 == 0 else 1
        code = 5000 + j * 11 + v
        lines.append(json.dumps({"id": f"wire-{j}", "title": f"Wire story {j}",
                                 "text": f"Wire story {j} reports that the harbor code of "
                                         f"wire story {j} is {code}."}))
        codes[f"wire-{j}"] = code
    (root / "wire.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return codes


def _docs(snap: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    return {s: (d["hash"], d["chunks"]) for s, d in snap.get("documents", {}).items()}


def read_trace(path: Path) -> list[tuple[int, str, str, float]]:
    """(op number, "start"/"end", write name, time) lines a traced child logged."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 4:
            rows.append((int(parts[0]), parts[1], parts[2], float(parts[3])))
    return rows


def write_ops(path: Path) -> list[tuple[str, float]]:
    """(write name, seconds) of each store write of a finished traced run, in order."""
    starts: dict[int, tuple[str, float]] = {}
    ops: list[tuple[str, float]] = []
    for n, what, name, t in read_trace(path):
        if what == "start":
            starts[n] = (name, t)
        else:
            ops.append((name, t - starts[n][1]))
    return ops


def _exited(pid: int) -> bool:
    """True once the child is a zombie (exited, not yet reaped by the fork server)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, IndexError):
        return True


def kill_run(fs: ForkServer, argv: list[str], trace: Path, delay: float,
             op: int | None = None) -> dict[str, Any]:
    """Start ``citewise ARGV`` and SIGKILL it ``delay`` seconds after it starts store write
    number ``op`` (or after it starts, when ``op`` is None). Says where it died."""
    trace.unlink(missing_ok=True)
    pid, out, err = fs.spawn(argv, trace=trace, tag="kill")
    if op is not None:
        deadline = time.monotonic() + 120
        while not _exited(pid) and time.monotonic() < deadline:
            if any(n == op and what == "start" for n, what, _, _ in read_trace(trace)):
                break
            time.sleep(0.0005)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)  # kill -9; a zombie (already exited) ignores it
    ex = fs.wait(pid, out, err)
    rows = read_trace(trace)
    if ex.signal is None:  # it finished before the kill: then it must have succeeded
        assert ex.exitcode == 0, ex.stderr[-3000:]
        where = "finished"
    elif rows and rows[-1][1] == "start":
        where = f"inside {rows[-1][2]} (write {rows[-1][0]})"
    elif rows:
        where = f"after {rows[-1][2]} (write {rows[-1][0]})"
    else:
        where = "before any write"
    return {"killed": ex.signal == signal.SIGKILL, "where": where}


def test_kill_9_during_ingest_never_corrupts_the_store(forkserver: ForkServer, tmp_path: Path,
                                                       out_dir: Path) -> None:
    fs = forkserver
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 1)
    base = tmp_path / "base-store"
    trace = tmp_path / "writes.trace"

    def ingest_argv(store: Path) -> list[str]:
        return ["ingest", str(corpus), "--store", str(store), "--prune", "--json"]

    ex = fs.cli(*ingest_argv(base))
    assert ex.exitcode == 0, ex.stderr[-3000:]
    base_snap = fs.call(SNAPSHOT, store=str(base))
    assert not problems(base_snap)

    # clean runs of version 2, fresh and as an update, traced: the writes a trial can hit
    codes = write_corpus(corpus, 2)
    clean = tmp_path / "clean-store"
    ops: dict[str, list[tuple[str, float]]] = {}
    seconds: dict[str, float] = {}
    for kind, store in (("fresh", clean), ("update", tmp_path / "probe-store")):
        if kind == "update":
            shutil.copytree(base, store)
        trace.unlink(missing_ok=True)
        t0 = time.monotonic()
        ex = fs.cli(*ingest_argv(store), trace=trace)
        seconds[kind] = time.monotonic() - t0
        assert ex.exitcode == 0, ex.stderr[-3000:]
        report = json.loads(ex.stdout)
        assert not report["failed"]
        ops[kind] = write_ops(trace)
    # the update run: new files added, deleted ones pruned, stale chunks deleted
    assert len(report["added"]) == 25 and len(report["removed"]) == len(range(3, N_DOCS, 12))
    assert any(name == "Collection.delete" for name, _ in ops["update"])
    questions = ["What is the survey code of report 8?",
                 "What is the harbor code of wire story 12?"]
    clean_snap = fs.call(SNAPSHOT, store=str(clean), questions=questions)
    assert not problems(clean_snap)
    assert set(clean_snap["documents"]) == set(codes)
    clean_docs = _docs(clean_snap)
    probe_snap = fs.call(SNAPSHOT, store=str(tmp_path / "probe-store"))
    assert _docs(probe_snap) == clean_docs and not problems(probe_snap)  # update == fresh
    expected = clean_snap["answers"]
    assert expected[0]["sources"][:1] == ["report-008.txt"], expected
    assert str(codes["report-008.txt"]) in expected[0]["answer"]
    assert expected[1]["sources"][:1] == ["wire-12"], expected
    assert str(codes["wire-12"]) in expected[1]["answer"]

    rng = random.Random(SEED)
    pending: dict[str, list[int]] = {"fresh": [], "update": []}
    base_docs = _docs(base_snap)
    trials: list[dict[str, Any]] = []
    for i in itertools.count():
        if i >= MAX_TRIALS or (i >= TRIALS and sum(t["killed"] for t in trials) >= MIN_KILLS):
            break
        trial_started = time.monotonic()
        kind = "fresh" if i % 3 == 0 else "update"  # fresh runs embed everything: fewer
        store = tmp_path / f"trial-{i:02d}"
        if kind == "update":
            shutil.copytree(base, store)
        if i % 8 == 7:  # a plain random moment of the run
            op, delay = None, rng.uniform(0.0, seconds[kind])
        else:  # inside (or just after) a store write: each write in turn, in a random order
            if not pending[kind]:
                pending[kind] = rng.sample(range(len(ops[kind])), len(ops[kind]))
            op = pending[kind].pop()
            delay = rng.uniform(0.0, 1.5 * max(ops[kind][op][1], 0.005))
        trial: dict[str, Any] = {"trial": i, "kind": kind, "write": op,
                                 "delay_s": round(delay, 4)}
        trial.update(kill_run(fs, ingest_argv(store), trace, delay, op))
        crashed = fs.call(SNAPSHOT, store=str(store))
        found = problems(crashed, allow_orphans=True)
        assert not found, f"trial {trial}: {found}"
        # every committed document is a whole version: the old one or the new one
        for source, doc in _docs(crashed).items():
            assert doc == clean_docs.get(source) or doc == base_docs.get(source), \
                f"trial {trial}: {source} is neither its old nor its new version"
        trial["documents"] = len(crashed.get("documents", {}))
        trial["new_versions"] = sum(1 for s, d in _docs(crashed).items()
                                    if d == clean_docs.get(s) and d != base_docs.get(s))
        trial["orphans"] = len(crashed.get("orphans", []))
        if i % 4 == 1 and trial["killed"]:  # crash the recovery too
            second = rng.uniform(0.0, seconds[kind])
            trial["second_kill"] = kill_run(fs, ingest_argv(store), trace, second)["where"]
            again = fs.call(SNAPSHOT, store=str(store))
            assert not problems(again, allow_orphans=True), f"trial {trial}: second kill"
        ex = fs.cli(*ingest_argv(store))
        assert ex.exitcode == 0, f"trial {trial}: re-run failed: {ex.stderr[-3000:]}"
        rerun = json.loads(ex.stdout)
        assert not rerun["failed"]
        assert len(rerun["added"]) + len(rerun["updated"]) + len(rerun["unchanged"]) == len(codes)
        final = fs.call(SNAPSHOT, store=str(store), questions=questions if i % 4 == 0 else None)
        assert not problems(final), f"trial {trial}: {problems(final)}"
        assert _docs(final) == clean_docs, f"trial {trial}: documents differ from a clean ingest"
        assert final["chunk_ids"] == clean_snap["chunk_ids"]
        assert final["bm25"] is not None and final["bm25"]["generation"] == final["generation"]
        assert final["bm25"]["ids"] == final["chunk_ids"]
        if "answers" in final:
            for got, want in zip(final["answers"][:2], expected[:2], strict=True):
                assert got["sources"] == want["sources"] and got["answer"] == want["answer"]
            assert final["answers"][2] == {"bm25_matches_chroma": True, "documents": len(codes)}
        trial["rerun"] = {k: len(rerun[k]) for k in ("added", "updated", "unchanged", "removed")}
        trial["seconds"] = round(time.monotonic() - trial_started, 2)
        trials.append(trial)
        shutil.rmtree(store)

    summary = {"seed": SEED, "clean_seconds": seconds,
               "writes": {k: [n for n, _ in v] for k, v in ops.items()}, "trials": trials}
    (out_dir / "crash_trials.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))
    killed = [t for t in trials if t["killed"]]
    assert len(killed) >= MIN_KILLS, f"at least {MIN_KILLS} runs must die by SIGKILL"
    # the kills covered the dangerous windows: inside writes, and after a partial commit
    assert sum(t["where"].startswith("inside") for t in killed) >= 5, trials
    assert any(t["orphans"] for t in killed), trials
    assert any(0 < t["documents"] < len(codes) for t in killed if t["kind"] == "fresh"), trials
    assert any(t["new_versions"] for t in killed if t["kind"] == "update"), trials
