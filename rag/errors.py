"""One error base class for citewise.

Library code raises these; only the edges (ui/: CLI, HTTP, Slack, Gradio) turn them into exit
codes, HTTP statuses or chat replies. Every message says what went wrong and what to do next.
"""

from __future__ import annotations


class CitewiseError(Exception):
    """Base of every error citewise raises on purpose."""

    #: HTTP status the server maps this error to.
    http_status: int = 500
    #: Exit code the CLI maps this error to.
    exit_code: int = 2


class ConfigError(CitewiseError):
    """Settings are missing or inconsistent."""

    http_status = 500


class PluginError(ConfigError):
    """A third-party plugin (entry point) cannot be imported or holds the wrong kind of object;
    names the plugin and its package (rag/plugins.py)."""


class ModelError(CitewiseError):
    """The embedding model cannot be loaded or does not match what was expected."""

    http_status = 500


class IndexMismatchError(CitewiseError):
    """The store was built with another embedding model than the one configured."""

    http_status = 409


class StoreError(CitewiseError):
    """The vector store (Chroma) cannot be reached or answered with an error."""

    http_status = 503


class LoadError(CitewiseError):
    """A document could not be read or parsed; names the file and the reason."""

    http_status = 422

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}")


class InputError(CitewiseError):
    """A request or question is unusable (empty, too long, malformed)."""

    http_status = 400


class NotFoundError(CitewiseError):
    """A named document or resource does not exist."""

    http_status = 404
