"""A fork server: run ``citewise`` commands as real, killable processes without reloading the model.

Loading the embedding model takes seconds, so starting a fresh ``citewise ingest`` for each of
dozens of kill -9 trials would take minutes. The server (``python -m tests.reliability.forkserver``)
imports citewise and loads the model once, *without running it* (no thread pool exists yet, so
forking is safe), then forks one child per command. A child runs ``ui.cli.main(argv)`` (exactly
what the ``citewise`` console script runs) or a named function, in its own process: tests
kill it with SIGKILL by pid, and the server reaps it and reports its exit status and peak RSS.

Protocol: one JSON object per line on stdin, one JSON reply per line on stdout.
"""

from __future__ import annotations

import json
import os
import resource
import selectors
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MODEL = "all-MiniLM-L6-v2"
BATCH = 64  # Settings.embed_batch_size: load_embedder is cached on (model, batch)


# --------------------------------------------------------------------------------------------
# server side (runs in the fork-server process)
# --------------------------------------------------------------------------------------------


def _child(msg: dict[str, Any]) -> int:
    """Body of a forked child: redirect stdio, apply env/limits, run the CLI or a function."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    out = os.open(msg.get("out") or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    err = os.open(msg.get("err") or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(err, 2)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - fds live as long as the process
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    os.environ.update(msg.get("env") or {})
    if msg.get("trace"):
        _trace_writes(msg["trace"])
    if msg.get("fsize"):
        # a file-size cap stands in for a full disk where tmpfs cannot be mounted
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(msg["fsize"]), int(msg["fsize"])))
    if msg["op"] == "run":
        from ui.cli import main

        return int(main(list(msg["argv"])) or 0)
    module, _, name = msg["func"].partition(":")
    func = getattr(__import__(module, fromlist=[name]), name)
    result = func(**(msg.get("kwargs") or {}))
    Path(msg["result"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


WRITES = ("add", "upsert", "update", "delete", "modify")


def _trace_writes(path: str) -> None:
    """Log the start and end of every store write (Chroma collection writes and the BM25 save)
    to ``path``, so a test can SIGKILL this process inside or between chosen writes."""
    import functools
    import itertools

    from chromadb.api.models.Collection import Collection

    from rag.storage.bm25 import BM25Index

    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    counter = itertools.count()

    def wrap(cls: type, name: str) -> None:
        original = getattr(cls, name)

        @functools.wraps(original)
        def traced(*args: Any, **kwargs: Any) -> Any:
            n = next(counter)
            os.write(fd, f"{n} start {cls.__name__}.{name} {time.monotonic():.6f}\n".encode())
            result = original(*args, **kwargs)
            os.write(fd, f"{n} end {cls.__name__}.{name} {time.monotonic():.6f}\n".encode())
            return result

        setattr(cls, name, traced)

    for name in WRITES:
        wrap(Collection, name)
    wrap(BM25Index, "save")


def _spawn(msg: dict[str, Any]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 70
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        code = _child(msg)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # report anything, then leave without running the server's atexit
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    return 0  # pragma: no cover - unreachable


def _wait(pid: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    timed_out = False
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline and not timed_out:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.005)
    return {
        "pid": pid,
        "exitcode": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "maxrss_kb": usage.ru_maxrss,
        "timed_out": timed_out,
    }


def serve() -> None:
    """Load the model (without running it), then answer commands until stdin closes."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import chromadb  # noqa: F401 - imported once here, used in every child

    import citewise.app  # noqa: F401
    import ingest.pipeline  # noqa: F401
    import ui.cli  # noqa: F401
    from rag.config import Settings
    from rag.storage.embedders import make_embedder

    # it loads lazily otherwise: each child would load it (cached on the model and batch)
    make_embedder(Settings(embedding_model=MODEL, embed_batch_size=BATCH)).load()
    reply = sys.stdout
    sys.stdout = sys.stderr  # nothing but replies on the protocol stream
    reply.write(json.dumps({"ready": os.getpid()}) + "\n")
    reply.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        try:
            if msg["op"] in ("run", "call"):
                answer: dict[str, Any] = {"pid": _spawn(msg)}
            elif msg["op"] == "wait":
                answer = _wait(int(msg["pid"]), float(msg.get("timeout", 300)))
            else:
                answer = {"error": f"unknown op {msg['op']!r}"}
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        reply.write(json.dumps(answer) + "\n")
        reply.flush()


# --------------------------------------------------------------------------------------------
# client side (used by the tests)
# --------------------------------------------------------------------------------------------


@dataclass
class Exit:
    """How a child ended: exit code or signal, and its peak resident memory."""

    pid: int
    exitcode: int | None
    signal: int | None
    maxrss_kb: int
    timed_out: bool
    stdout: str = ""
    stderr: str = ""


class ForkServer:
    """Client of the fork server process; one per test session."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None) -> None:
        """Start the server (``env``: its whole environment; default: this process's)."""
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log = workdir / "forkserver.log"
        self._n = 0
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.reliability.forkserver"], cwd=ROOT,
                env={**(os.environ if env is None else env), "PYTHONPATH": str(ROOT)},
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
            )
        ready = self._read(timeout=300)
        self.pid = int(ready["ready"])

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        # a selector, not select.select: late in a long pytest session this process may hold
        # over 1,024 descriptors, which select() refuses ("filedescriptor out of range")
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            ready = sel.select(timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.proc.kill()
            raise RuntimeError(f"fork server gave no answer; its log:\n{self.log.read_text()[-5000:]}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"fork server: {answer['error']}")
        return answer

    def _rpc(self, msg: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        return self._read(timeout)

    def _files(self, tag: str) -> tuple[Path, Path]:
        self._n += 1
        return (self.workdir / f"{self._n:04d}-{tag}.out", self.workdir / f"{self._n:04d}-{tag}.err")

    def spawn(self, argv: list[str], env: dict[str, str] | None = None,
              fsize: int | None = None, trace: Path | None = None,
              tag: str = "cli") -> tuple[int, Path, Path]:
        """Start ``citewise ARGV`` in a child; returns (pid, stdout file, stderr file).

        ``trace``: a file the child logs its store writes to (see ``_trace_writes``).
        """
        out, err = self._files(tag)
        pid = self._rpc({"op": "run", "argv": argv, "env": env or {}, "out": str(out),
                         "err": str(err), "fsize": fsize,
                         "trace": str(trace) if trace else None})["pid"]
        return int(pid), out, err

    def wait(self, pid: int, out: Path | None = None, err: Path | None = None,
             timeout: float = 300) -> Exit:
        """Reap a child (killing it after ``timeout`` seconds) and read its output."""
        ans = self._rpc({"op": "wait", "pid": pid, "timeout": timeout}, timeout=timeout + 30)
        ex = Exit(ans["pid"], ans["exitcode"], ans["signal"], ans["maxrss_kb"], ans["timed_out"])
        ex.stdout = out.read_text("utf-8", "replace") if out and out.exists() else ""
        ex.stderr = err.read_text("utf-8", "replace") if err and err.exists() else ""
        return ex

    def cli(self, *argv: str, env: dict[str, str] | None = None, fsize: int | None = None,
            trace: Path | None = None, timeout: float = 300) -> Exit:
        """Run ``citewise ARGV`` to completion."""
        pid, out, err = self.spawn(list(argv), env=env, fsize=fsize, trace=trace)
        return self.wait(pid, out, err, timeout)

    def call(self, func: str, timeout: float = 120, **kwargs: Any) -> Any:
        """Run ``module:function(**kwargs)`` in a child; returns its JSON result."""
        out, err = self._files(func.rsplit(":", 1)[-1])
        result = out.with_suffix(".json")
        pid = self._rpc({"op": "call", "func": func, "kwargs": kwargs, "out": str(out),
                         "err": str(err), "result": str(result)})["pid"]
        ex = self.wait(pid, out, err, timeout)
        if ex.exitcode != 0 or not result.exists():
            raise RuntimeError(f"{func} failed ({ex}):\n{ex.stderr[-5000:]}")
        return json.loads(result.read_text("utf-8"))

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    serve()
