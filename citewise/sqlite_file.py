"""One SQLite file several processes share (the feedback log, the sign-in store).

Why one helper: both open the file the same way (WAL so replicas read while one writes,
NORMAL sync, the schema created once per process, one transaction per use) and turn its
failures into a StoreError that names the file and the setting that moves it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.errors import StoreError


class SqliteFile:
    """``with file.db() as con:`` one transaction on ``path``, its schema made on first use."""

    def __init__(self, path: Path, schema: str, what: str, setting: str) -> None:
        self.path = Path(path)
        self.schema = schema
        self.what = what  # "the feedback log": how messages name it
        self.setting = setting  # the environment variable that moves it
        self._ready = False
        self._lock = threading.Lock()

    @contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
        try:
            if not self._ready:
                with self._lock:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    with sqlite3.connect(self.path, timeout=30) as con:
                        con.execute("PRAGMA journal_mode=WAL")
                        con.executescript(self.schema)
                    self._ready = True
            con = sqlite3.connect(self.path, timeout=30)
            # WAL with NORMAL sync: a crash of the process loses nothing; a power cut may lose
            # the last commits, never the file (an fsync per answer cost 2 ms of every ask)
            con.execute("PRAGMA synchronous=NORMAL")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"Cannot open {self.what} {self.path} ({exc}); check that the "
                             f"folder is writable, or set {self.setting}.") from exc
        try:
            with con:  # one transaction: committed on success, rolled back on an error
                yield con
        except sqlite3.Error as exc:
            raise StoreError(f"{self.what[:1].upper() + self.what[1:]} {self.path} failed "
                             f"({exc}).") from exc
        finally:
            con.close()
