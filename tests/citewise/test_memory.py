"""The server's malloc settings: glibc arenas capped, freed pages handed back on a timer."""

from __future__ import annotations

import time

import pytest

from citewise import memory


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def test_freed_memory_is_handed_back() -> None:
    # CI and the project's machines run glibc (Linux); elsewhere both calls are no-ops
    assert memory.limit_arenas() is True
    # many small blocks (below mmap's threshold), most freed; the few kept pin the heap's top,
    # so glibc keeps the freed pages until trimmed
    blocks = [bytearray(4000) for _ in range(60_000)]
    kept = blocks[::50]
    held = _rss_mb()
    del blocks
    assert _rss_mb() > held - 20  # freed, but not handed back
    memory.trim()
    assert _rss_mb() < held - 100  # ~240 MB allocated, most of it back
    assert len(kept) == 1200


def test_the_trimmer_runs_and_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []
    monkeypatch.setattr(memory, "trim", lambda: calls.append(time.monotonic()) or True)
    trimmer = memory.Trimmer(interval=0.05).start()
    time.sleep(0.3)
    trimmer.stop()
    seen = len(calls)
    assert seen >= 2 or memory._libc() is None
    time.sleep(0.15)
    assert len(calls) == seen  # stopped: no more trims
