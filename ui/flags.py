"""CLI flags built from the ``Settings`` fields, so a new setting gets its flag by itself.

Every setting ``name`` becomes ``--name-with-dashes`` (booleans also ``--no-...``), typed from
the field, with the field's description, environment variable and default in its help.
Keys and tokens (``Settings.is_secret``) get no flag: a command line is visible to every user of
the machine, so they are read from the environment only. A subcommand that already defines a
flag of the same name (``ask --k``) keeps its own.
"""

from __future__ import annotations

import argparse
import types
import typing
from pathlib import Path
from typing import Any

from rag.config import Settings

_METAVARS = {int: "N", float: "X", Path: "DIR"}


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


def add_settings_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per setting, in a "settings" group; flags the parser already has are kept."""
    taken = set(parser._option_string_actions)  # argparse has no public accessor
    group = parser.add_argument_group(
        "settings", "override the environment (CITEWISE_*) for this command")
    for name in flag_fields():
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
