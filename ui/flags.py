"""CLI flags built from the ``Settings`` fields, so a new setting gets its flag by itself.

Every setting ``name`` becomes ``--name-with-dashes`` (booleans also ``--no-...``), typed from
the field, with the field's description, environment variable and default in its help.
Keys and tokens (``Settings.is_secret``) get no flag: a command line is visible to every user of
the machine, so they are read from the environment only. A subcommand that already defines a
flag of the same name (``ask --k``) keeps its own. Each command offers the flags of the settings
it reads (``COMMAND_TOPICS``), so ``citewise docs --help`` does not list the Slack or Ray ones;
``citewise settings`` lists them all.
"""

from __future__ import annotations

import argparse
import types
import typing
from pathlib import Path
from typing import Any

from rag.config import Settings

_METAVARS = {int: "N", float: "X", Path: "DIR"}

#: every setting under one topic (tests/ui/test_cli.py checks that none is left out)
TOPICS: dict[str, tuple[str, ...]] = {
    "store": ("store", "chroma_url", "collection"),
    "embeddings": ("embedding_model", "embed_batch_size", "embedding_backend", "embeddings_url",
                   "embeddings_api_key", "embeddings_tokenizer", "embeddings_concurrency",
                   "embeddings_timeout", "embeddings_max_retries"),
    "chunking": ("chunk_tokens", "chunk_overlap", "max_file_mb"),
    "ray": ("ray_embed_actors", "ray_batch_size", "ray_actor_cpus"),
    "feeds": ("feeds_db", "refresh_feeds", "feed_timeout", "feed_max_mb", "feed_max_items",
              "feed_max_redirects", "feed_allow_private"),
    "answer": ("k", "generator", "rerank", "abstain_threshold", "aliases_file"),
    "llm": ("llm_provider", "llm_model", "llm_base_url", "llm_api_key", "llm_api_version",
            "llm_deployment", "llm_temperature", "llm_max_tokens", "llm_timeout",
            "llm_max_retries", "llm_condense", "llm_completions", "llm", "llm_ctx",
            "llm_threads", "llm_small_prompt"),
    "feedback": ("feedback", "feedback_db"),
    "server": ("host", "port", "max_upload_mb", "chat_ui"),
    "audit": ("auth_db",),  # the audit log every write is recorded in (and the tokens)
    "auth": ("auth", "insecure_open", "session_hours", "proxy_ips",
             "proxy_user_header", "proxy_groups_header", "proxy_roles", "proxy_default_role",
             "rate_ask", "rate_upload", "rate_signin"),
    "slack": ("slack_signing_secret", "slack_bot_token", "slack_api_url", "slack_app_token"),
}
_ALL = tuple(TOPICS)
_READ = ("store", "embeddings")  # opening a store checks the embedding model it was built with
#: the topics whose settings each command reads; a command not named here gets them all
COMMAND_TOPICS: dict[str, tuple[str, ...]] = {
    "ingest": (*_READ, "chunking", "ray", "feeds", "audit"),  # writes are audited
    "watch": (*_READ, "chunking", "feeds", "audit"),
    "feeds": ("store", "feeds"),
    "docs": _READ,
    "remove": (*_READ, "audit"),
    "ask": (*_READ, "answer", "llm"),
    "serve": tuple(t for t in _ALL if t != "ray"),
    "eval": (*_READ, "chunking", "answer", "llm"),
    "bench": _ALL,
    "feedback": (*_READ, "feedback"),
    "token": ("store", "audit", "auth"),
    "user": ("store", "audit", "auth"),
    "audit": ("store", "audit"),
    "settings": (),
}


def topic_of(name: str) -> str:
    return next(t for t, names in TOPICS.items() if name in names)


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def flag_fields() -> list[str]:
    """The settings that have a CLI flag."""
    return [name for name in Settings.model_fields if not Settings.is_secret(name)]


def _base_type(annotation: Any) -> Any:
    """``int | None`` -> int; ``Path`` -> Path."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return annotation


def command_fields(command: str | None = None) -> list[str]:
    """The settings with a flag on ``command`` (all of them when None)."""
    topics = COMMAND_TOPICS.get(command or "", _ALL)
    return [name for name in flag_fields() if topic_of(name) in topics]


def add_settings_flags(parser: argparse.ArgumentParser, command: str | None = None) -> None:
    """One flag per setting ``command`` reads, in a "settings" group; flags the parser already
    has are kept."""
    names = command_fields(command)
    if not names:
        return
    taken = set(parser._option_string_actions)  # argparse has no public accessor
    group = parser.add_argument_group(
        "settings", "override the environment (CITEWISE_*) for this command; "
        "`citewise settings` lists every setting")
    for name in names:
        flag = flag_name(name)
        if flag in taken:
            continue
        field = Settings.model_fields[name]
        kind = _base_type(field.annotation)
        default = field.default if field.default not in (None, "") else "unset"
        help_text = f"{field.description or name} ({Settings.env_var(name)}; default {default})"
        help_text = help_text.replace("%", "%%")
        if kind is bool:
            group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction,
                               default=None, help=help_text)
        else:
            group.add_argument(flag, dest=name, default=None, help=help_text,
                               type=kind if kind in (int, float, Path) else str,
                               metavar=_METAVARS.get(kind, "TEXT"))


def settings_from(args: argparse.Namespace, base: Settings | None = None) -> Settings:
    """``base`` (default: from the environment) with every flag given on the command line."""
    base = base or Settings()
    return base.updated(**{name: getattr(args, name, None) for name in flag_fields()})
