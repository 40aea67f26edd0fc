"""A long-running server's memory kept near what it uses.

glibc's malloc gives each thread that allocates its own arena (up to 8 per core) and keeps
what is freed inside them: a server whose request threads, onnxruntime and Chroma allocate in
turn grows by arenas it no longer needs. ``serve`` caps the arenas at two and hands freed
pages back every ``interval`` seconds (``malloc_trim``); both are no-ops off glibc.
Measured in BENCHMARKS.md ("A server's memory").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt parameter for the arena cap
ARENAS = 2
TRIM_EVERY_S = 10.0


@lru_cache(maxsize=1)
def _libc() -> Any:
    """glibc, or None (musl, macOS, Windows)."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas (as ``MALLOC_ARENA_MAX`` would); True when applied."""
    libc = _libc()
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, arenas) == 1)


def trim() -> bool:
    """Hand the pages malloc holds free back to the system; True when some were."""
    libc = _libc()
    return bool(libc is not None and libc.malloc_trim(0) == 1)


class Trimmer:
    """Calls :func:`trim` every ``interval`` seconds on a daemon thread until stopped."""

    def __init__(self, interval: float = TRIM_EVERY_S) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="citewise-trim", daemon=True)

    def start(self) -> Trimmer:
        if _libc() is not None:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 1)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            trim()
