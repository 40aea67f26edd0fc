"""Store wiring: which Chroma client a Citewise talks to, chosen from settings.

Kept out of rag/: the index (rag/storage/store.py) takes a client and never builds one, so the same
index code runs against an embedded store, a Chroma server, or a test's client.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rag.config import Settings
from rag.errors import ConfigError, StoreError


def make_client(settings: Settings) -> Any:
    """An embedded PersistentClient, or an HttpClient when a Chroma server URL is set."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url if "://" in settings.chroma_url
                       else f"http://{settings.chroma_url}")
        if not url.hostname:
            raise ConfigError(f"Bad Chroma URL {settings.chroma_url!r}; use http://HOST:PORT.")
        try:
            return chromadb.HttpClient(host=url.hostname, port=url.port or 8000,
                                       ssl=url.scheme == "https", settings=chroma_settings)
        except Exception as exc:
            raise StoreError(f"Cannot reach the Chroma server at {settings.chroma_url}: {exc}. "
                             "Start it (`chroma run --path DIR`) or unset CITEWISE_CHROMA_URL.") from exc
    path = Path(settings.store) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
