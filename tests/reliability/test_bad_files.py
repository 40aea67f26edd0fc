"""Hostile files: every bad one is reported by name and reason, every good one is ingested, and
memory stays bounded; the upload endpoint neutralises path traversal and refuses oversized bodies.

The corpus is generated in tmp_path (nothing hostile is committed) and ingested by the real
``citewise ingest`` command in a subprocess, whose peak RSS is measured with ``os.wait4``.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.ingest.test_loaders import PDF_PAGES, make_docx, make_pdf, rewrite_pdf
from tests.reliability.conftest import CITEWISE, clean_env
from tests.reliability.forkserver import ForkServer

MB = 2**20
HUGE_MB = 50


@dataclass
class Corpus:
    root: Path
    good: dict[str, str] = field(default_factory=dict)  # source id -> a phrase of its text
    bad: dict[str, str] = field(default_factory=dict)  # where (path[:line]) -> reason prefix


def _text(corpus: Corpus, rel: str, body: str | bytes, phrase: str | None = None,
          bad: str | None = None) -> Path:
    path = corpus.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(body, str):
        path.write_text(body, encoding="utf-8")
    else:
        path.write_bytes(body)
    if phrase is not None:
        corpus.good[rel] = phrase
    if bad is not None:
        corpus.bad[str(path)] = bad
    return path


def build_corpus(root: Path, bad: bool = True) -> Corpus:
    """Good files with awkward names and encodings, and (``bad``) every kind of bad file."""
    c = Corpus(root)
    root.mkdir(parents=True)
    # ---- good documents, awkward names and encodings
    _text(c, "plain.txt", "Plain report\n\nThe lighthouse keeper logged 412 ships in March.\n",
          "412 ships")
    _text(c, "dir with spaces/ünïcødé 日本語 – notes.md",
          "# Kyoto notes\n\nThe Kyoto garden has 38 stone lanterns.\n", "38 stone lanterns")
    _text(c, "%2e%2e%2F%2e%2e%2Fetc%2Fpasswd.txt",
          "Encoded name\n\nThe ferry leaves at 07:15 daily.\n", "07:15")
    # names starting with a dot are hidden files: skipped on purpose, like .git
    _text(c, "..%2F..%2Fhidden.txt", "Hidden\n\nThe hidden note says 55 herons.\n")
    _text(c, "back\\..\\..\\slash.txt", "Backslashes\n\nThe bakery sells 90 loaves a day.\n",
          "90 loaves")
    _text(c, "semi;colon $(touch PWNED) `id`.txt",
          "Shell name\n\nThe orchard has 61 pear trees.\n", "61 pear trees")
    _text(c, "line\nbreak.txt", "Newline name\n\nThe canal is 14 kilometres long.\n",
          "14 kilometres")
    _text(c, "latin1.txt", "Café Müller\n\nThe café façade was repainted in 1998 by Zoë.\n"
          .encode("latin-1"), "repainted in 1998 by Zoë")
    _text(c, "utf16.txt", "Ölmühle\n\nThe oil mill pressed 7 tonnes of olives.\n"
          .encode("utf-16"), "7 tonnes of olives")
    _text(c, "report.pdf", make_pdf(PDF_PAGES), "Revenue grew by ten percent")
    make_docx(root / "memo.docx")
    c.good["memo.docx"] = "approved the bridge on Tuesday"
    _text(c, "deep.html",
          "<html><head><title>Narwhal notes</title></head><body><p>The narwhal tusk can grow "
          "to 3.1 metres long according to the survey.</p>" + "<div>" * 100_000 + "deep"
          + "</div>" * 100_000 + "</body></html>", "3.1 metres")
    # ---- a feed with good and bad lines
    feed = [
        {"id": "feed-good-1", "title": "Wire one", "text": "The wire says 5 owls nested here."},
        "{not json",
        [1, 2, 3],
        {"id": "feed-empty", "text": "   "},
        {"id": "feed-no-text", "title": "Headline only"},
        {"id": "feed-good-2", "text": "The second wire story counts 9 foxes."},
        {"id": "feed-good-1", "text": "A duplicate id must not replace the first story."},
    ]
    if not bad:
        feed = [x for x in feed if isinstance(x, dict) and "feed-good" in str(x.get("id"))][:2]
    lines = [json.dumps(x) if not isinstance(x, str) else x for x in feed]
    raw = "\n".join(lines).encode() + b"\n"
    if bad:
        raw += b'{"text": "caf\xe9 latin-1 line"}\n' + b"[" * 50_000 + b"\n"
    feed_path = _text(c, "feed.jsonl", raw)
    c.good.update({"feed-good-1": "5 owls", "feed-good-2": "9 foxes"})
    if not bad:
        return c
    for lineno, reason in [(2, "invalid JSON"), (3, "expected a JSON object"),
                           (4, "'text' must be a non-empty string"), (5, "missing 'text'"),
                           (7, "duplicate id 'feed-good-1'"), (8, "invalid UTF-8"),
                           (9, "invalid JSON")]:
        c.bad[f"{feed_path}:{lineno}"] = reason
    # ---- bad files
    pdf = make_pdf(PDF_PAGES)
    _text(c, "truncated.pdf", pdf[: len(pdf) // 2], bad="corrupt PDF")
    _text(c, "encrypted.pdf", rewrite_pdf(pdf, user_password="s3cret", owner_password="own"),
          bad="PDF is encrypted; decrypt it first")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (200 * MB))
    _text(c, "bomb.docx", bomb.getvalue(), bad="suspicious .docx: expands to 200 MB (zip bomb?)")
    junk = random.Random(8).randbytes(64 * 1024)
    _text(c, "junk.txt", junk, bad="binary file, not text")
    _text(c, "empty.txt", b"", bad="empty document")
    _text(c, "whitespace.md", " \n\t\n   \r\n", bad="empty document")
    _text(c, "not-a-zip.docx", "plain text pretending to be Word", bad="not a valid .docx")
    if bad:
        huge_path = root / "huge.txt"
        block = ("The huge file repeats this sentence about nothing in particular. " * 16
                 + "\n").encode()
        with huge_path.open("wb") as out:
            for _ in range(HUGE_MB * MB // len(block) + 1):
                out.write(block)
        c.bad[str(huge_path)] = f"file is {HUGE_MB} MB, over the 25 MB limit"
        # a 50 MB feed is streamed: its first and last stories load, nothing is read whole
        big = root / "big-feed.jsonl"
        padding = (b" " * 1023 + b"\n") * 1024  # 1 MB of blank lines
        with big.open("wb") as out:
            out.write(json.dumps({"id": "big-first", "text": "The first big story has 3 "
                                  "moons."}).encode() + b"\n")
            for _ in range(HUGE_MB):
                out.write(padding)
            out.write(json.dumps({"id": "big-last", "text": "The last big story has 4 "
                                  "comets."}).encode() + b"\n")
        c.good.update({"big-first": "3 moons", "big-last": "4 comets"})
    # ---- a link to a file outside the folder is never followed
    secret = root.parent / "outside-secret.txt"
    secret.write_text("Secret\n\nThe vault code is 0000.\n")
    (root / "escape.txt").symlink_to(secret)
    return c


def _run_measured(argv: list[str], cwd: Path) -> tuple[subprocess.Popen, Path, Path]:
    out, err = cwd / f"{uuid.uuid4().hex}.out", cwd / f"{uuid.uuid4().hex}.err"
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(argv, cwd=cwd, env=clean_env(), stdout=o, stderr=e)
    return proc, out, err


def _wait_measured(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, int]:
    """(exit code, peak RSS in KB) of a child, from the kernel's own accounting (wait4)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if deadline and time.monotonic() > deadline:
            os.kill(proc.pid, signal.SIGKILL)  # hung: fail below with what it printed
            deadline = 0.0
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss


@pytest.mark.slow
def test_hostile_folder_reports_each_failure_and_ingests_every_good_file(
        tmp_path: Path, forkserver: ForkServer, out_dir: Path) -> None:
    hostile = build_corpus(tmp_path / "hostile")
    control = build_corpus(tmp_path / "control" / "good", bad=False)  # the RSS baseline

    # the real CLI, hostile and control folders at once (2 cores), peak RSS from the kernel
    runs = {}
    for name, corpus in (("hostile", hostile), ("control", control)):
        store = tmp_path / f"store-{name}"
        runs[name] = (store, *_run_measured(
            [str(CITEWISE), "ingest", str(corpus.root), "--store", str(store), "--json"],
            corpus.root.parent))
    results = {}
    for name, (store, proc, out, err) in runs.items():
        code, rss = _wait_measured(proc)
        results[name] = (store, code, rss, out.read_text(), err.read_text())
    store, code, rss, stdout, stderr = results["hostile"]
    _, control_code, control_rss, _, control_err = results["control"]
    assert control_code == 0, control_err[-3000:]
    assert code == 1, f"failures must give exit code 1: {code}\n{stderr[-3000:]}"
    assert "Traceback" not in stderr, stderr[-3000:]
    report = json.loads(stdout)

    # each failure is reported by name and reason, and nothing else failed
    failed = {f["where"]: f["reason"] for f in report["failed"]}
    for where, reason in hostile.bad.items():
        assert where in failed, f"{where} not reported; failures: {sorted(failed)}"
        assert failed[where].startswith(reason), (where, failed[where])
    assert set(failed) == set(hostile.bad), set(failed) ^ set(hostile.bad)
    assert all(len(r) < 300 and "\n" not in r for r in failed.values())  # one readable line

    # every good document is stored, under its own name, and nothing else is
    docs = forkserver.cli("docs", "--store", str(store), "--json")
    assert docs.exitcode == 0, docs.stderr
    stored = {d["source"]: d for d in json.loads(docs.stdout)}
    assert set(stored) == set(hostile.good), set(stored) ^ set(hostile.good)
    assert set(report["added"]) == set(hostile.good)
    assert all(d["chunks"] >= 1 for d in stored.values())
    assert not (hostile.root / "PWNED").exists() and not (tmp_path / "PWNED").exists()
    # the text is decoded right (latin-1, UTF-16) and offsets hold: ask for facts
    answers = forkserver.call("tests.reliability.storecheck:ask", store=str(store), questions=[
        "Who repainted the café façade in 1998?", "How many tonnes of olives did the mill press?",
        "How many stone lanterns does the Kyoto garden have?", "What is the vault code?"])
    assert answers[0]["sources"][:1] == ["latin1.txt"] and "Zoë" in answers[0]["answer"]
    assert answers[1]["sources"][:1] == ["utf16.txt"] and "7 tonnes" in answers[1]["answer"]
    assert answers[2]["sources"][:1] == ["dir with spaces/ünïcødé 日本語 – notes.md"]
    assert "0000" not in answers[3]["answer"] and "escape.txt" not in answers[3]["sources"]

    # memory: the 50 MB text and feed, the 200 MB zip bomb and the deep HTML cost next to nothing
    growth_mb = (rss - control_rss) / 1024
    figures = {"hostile_peak_rss_mb": rss / 1024, "control_peak_rss_mb": control_rss / 1024,
               "growth_mb": growth_mb, "huge_inputs_mb": HUGE_MB}
    (out_dir / "memory.json").write_text(json.dumps(figures, indent=1))
    print(figures)
    assert growth_mb < HUGE_MB / 2, figures


# --------------------------------------------------------------------------------------------
# the upload endpoint of the real server
# --------------------------------------------------------------------------------------------

TRAVERSAL_NAMES = [
    "../../../../tmp/{tag}.txt",
    "..\\..\\..\\{tag}.txt",
    "/etc/{tag}.txt",
    "....//....//{tag}.txt",
    "sub/../../{tag}.txt",
    "%2e%2e%2f%2e%2e%2f{tag}.txt",
    "./.{tag}.txt",
]


@pytest.mark.slow
def test_upload_never_writes_outside_and_never_keeps_a_path(live_server, tmp_path: Path) -> None:
    tag = f"cw-escape-{uuid.uuid4().hex[:8]}"
    names = [n.format(tag=tag) for n in TRAVERSAL_NAMES]
    files = [("files", (name, f"Escape note {i}\n\nThe escape note {i} mentions {tag}.\n"
                        .encode(), "text/plain")) for i, name in enumerate(names)]
    r = httpx.post(live_server.url + "/api/documents", files=files, timeout=120)
    assert r.status_code == 200, r.text
    results = r.json()["files"]
    assert [f["file"] for f in results] == names  # reported under the name the client sent
    sources = [f["source"] for f in results]
    for source in sources:
        assert source and "/" not in source and "\\" not in source and not source.startswith(".")
        assert tag in source
    assert len(set(sources)) == len(sources)  # same base name: made unique, none overwritten
    # nothing was written where the names pointed
    for place in (Path("/tmp"), Path("/etc"), Path("/"), live_server.store,
                  live_server.store.parent, Path.cwd()):
        assert not any(tag in p.name for p in place.iterdir()), place
    # and the server's temporary upload folders are gone
    leftovers = [p for d in Path(tempfile.gettempdir()).glob("citewise-*") if d.is_dir()
                 for p in d.rglob(f"*{tag}*")]
    assert leftovers == [], leftovers
    listed = {d["source"] for d in httpx.get(live_server.url + "/api/documents").json()}
    assert set(sources) <= listed
    for source in sources:
        assert httpx.delete(f"{live_server.url}/api/documents/{source}").status_code == 200


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text[:500])
    return r.json()["error"]


@pytest.mark.slow
def test_upload_refuses_oversized_bodies(live_server) -> None:
    """The live server allows 1 MB per upload (CITEWISE_MAX_UPLOAD_MB=1)."""
    url = live_server.url + "/api/documents"
    before = len(httpx.get(live_server.url + "/api/documents").json())
    # one big file, with an honest Content-Length
    big = [("files", ("big.txt", b"word " * (3 * MB // 5), "text/plain"))]
    assert "too large" in _error(httpx.post(url, files=big, timeout=60), 413)
    # many small files adding up past the limit
    many = [("files", (f"part-{i}.txt", b"x " * 100_000, "text/plain")) for i in range(8)]
    assert "too large" in _error(httpx.post(url, files=many, timeout=60), 413)

    # 64 MB streamed without Content-Length: cut off at the limit, never read whole
    def stream():
        yield (b"--B\r\nContent-Disposition: form-data; name=\"files\"; filename=\"s.txt\"\r\n"
               b"Content-Type: text/plain\r\n\r\n")
        for _ in range(64):
            yield b"y" * MB

    r = httpx.post(url, content=stream(), timeout=60,
                   headers={"Content-Type": "multipart/form-data; boundary=B"})
    assert "too large" in _error(r, 413)
    # nothing was stored and the server is fine
    assert len(httpx.get(live_server.url + "/api/documents").json()) == before
    assert httpx.get(live_server.url + "/healthz").json()["status"] == "ok"
