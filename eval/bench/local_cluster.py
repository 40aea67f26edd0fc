"""A real Chroma server and a real two-node Ray cluster on 127.0.0.1, for tests and benchmarks.

Every process is started here and stopped here by its own process group, never by name
(`ray stop` would end every Ray process on the machine, other people's included).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
RAY_ENV = {"RAY_DISABLE_IMPORT_WARNING": "1", "RAY_USAGE_STATS_ENABLED": "0",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
           "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
           # a loopback-only test cluster: no token (a ~/.ray/auth_token left by an earlier
           # `ray.init()` would otherwise make the head demand one the driver does not send)
           "RAY_AUTH_MODE": "disabled"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bin(name: str) -> str:
    exe = Path(sys.executable).parent / name
    return str(exe) if exe.exists() else shutil.which(name) or name


def _stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM to the process group we created (the process and what it spawned), then KILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def chroma_server(path: Path, timeout: float = 60) -> Iterator[str]:
    """`chroma run` on a free port; yields its URL."""
    port = free_port()
    proc = subprocess.Popen([_bin("chroma"), "run", "--path", str(path), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError(f"chroma run did not start within {timeout:.0f} s")
            time.sleep(0.2)
        yield url
    finally:
        _stop(proc)


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ray start exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.3)
    raise RuntimeError(f"the Ray head did not listen on {port} within {timeout:.0f} s")


@contextlib.contextmanager
def ray_cluster(cpus_per_node: float = 1, object_store_mb: int = 200,
                timeout: float = 120) -> Iterator[str]:
    """A Ray head and one worker node (two `ray start --block` processes, ``cpus_per_node``
    CPUs each); yields the head's address. Workers import citewise from this checkout."""
    env = {**os.environ, **RAY_ENV,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    # Unix socket paths must stay short: a temp dir of our own right under /tmp
    temp_dir = tempfile.mkdtemp(prefix="cwray-", dir="/tmp")
    port = free_port()
    common = ["--num-cpus", str(int(cpus_per_node)), "--object-store-memory",
              str(object_store_mb * 2**20), "--disable-usage-stats", "--block"]
    procs: list[subprocess.Popen[bytes]] = []
    log = open(Path(temp_dir) / "start.log", "ab")  # noqa: SIM115 (closed below)
    saved = {k: os.environ.get(k) for k in RAY_ENV}
    os.environ.update(RAY_ENV)  # the driver (this process) joins with the same settings
    try:
        procs.append(subprocess.Popen(
            [_bin("ray"), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
             "--include-dashboard", "false", "--dashboard-port", str(free_port()),
             "--temp-dir", temp_dir,
             "--ray-client-server-port", str(free_port()),
             "--dashboard-agent-listen-port", str(free_port()), *common],
            env=env, stdout=log, stderr=log, start_new_session=True))
        _wait_port(port, procs[0], timeout)
        address = f"127.0.0.1:{port}"
        procs.append(subprocess.Popen(
            [_bin("ray"), "start", "--address", address, "--node-ip-address", "127.0.0.1",
             "--dashboard-agent-listen-port", str(free_port()), *common],
            env=env, stdout=log, stderr=log, start_new_session=True))
        yield address
    finally:
        for proc in reversed(procs):
            _stop(proc)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def wait_for_nodes(ray: object, n: int, timeout: float = 120) -> None:
    """Block until ``n`` nodes are alive in the cluster the driver joined."""
    deadline = time.time() + timeout
    while len([node for node in ray.nodes() if node["Alive"]]) < n:  # type: ignore[attr-defined]
        if time.time() > deadline:
            raise RuntimeError(f"the Ray cluster did not reach {n} nodes in {timeout:.0f} s")
        time.sleep(0.5)
