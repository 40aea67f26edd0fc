"""One extension pattern for every pluggable part: a registry of things by name.

Loaders, answer backends (generators), LLM providers and metrics are each a
:class:`Registry`. A built-in registers in code (``@REG.register("name")``, or
``REG.add("name", "package.module:object")`` so its module is imported only when the name is
looked up); a third-party package registers through a Python entry point in its
``pyproject.toml``, in the manner of simonw/llm's plugins::

    [project.entry-points."citewise.loaders"]
    ".rst" = "citewise_rst:load"

Entry points are discovered on the first lookup (never at import time) and each is imported
only when its name is used; one that fails to import, or holds the wrong kind of object, is
reported with the plugin's name, its package and what to do. Built-in names win over plugins.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

from rag.errors import ConfigError, PluginError

log = logging.getLogger(__name__)

T = TypeVar("T")


def _identity(obj: Any) -> Any:
    return obj


def _lowercase(name: str) -> str:
    return name.strip().lower()


class Registry(Mapping[str, T], Generic[T]):
    """Named objects of one kind: built-ins plus the entry points of ``group``.

    A read-only mapping in registration order (built-ins first, then plugins by name);
    iterating lists names without importing any plugin, reading a value imports it.
    """

    def __init__(
        self,
        kind: str,
        group: str,
        *,
        setting: str = "",
        normalize: Callable[[str], str] = _lowercase,
        coerce: Callable[[Any], T] = _identity,
    ) -> None:
        self.kind = kind  # "loader", "answer backend", ...: used in messages
        self.group = group  # the entry-point group third parties register under
        self.setting = setting  # where a user picks one ("CITEWISE_GENERATOR or --generator")
        self._normalize = normalize
        self._coerce = coerce  # checks (or wraps) what a registration holds
        self._items: dict[str, T | str] = {}  # built-ins: an object, or a "module:attr" reference
        self._plugins: dict[str, EntryPoint] | None = None  # discovered on first lookup
        self._loaded: dict[str, T] = {}  # plugins imported so far
        _ALL.append(self)

    # ---- registering --------------------------------------------------------------------------
    def add(self, name: str, obj: T | str, *aliases: str) -> None:
        """Register ``obj`` (or a lazy ``"module:attr"`` reference) under ``name`` and aliases."""
        for key in (name, *aliases):
            self._items[self._normalize(key)] = obj

    def register(self, name: str, *aliases: str) -> Callable[[Any], Any]:
        """Decorator form of :meth:`add`; returns the decorated object unchanged."""

        def wrap(obj: Any) -> Any:
            self.add(name, obj, *aliases)
            return obj

        return wrap

    # ---- looking up ---------------------------------------------------------------------------
    def _entry_points(self) -> dict[str, EntryPoint]:
        if self._plugins is None:
            found: dict[str, EntryPoint] = {}
            for ep in entry_points(group=self.group):
                key = self._normalize(ep.name)
                if key in self._items:
                    log.warning("ignoring %s plugin %r (%s): the name is built in",
                                self.kind, ep.name, ep.value)
                elif key not in found:
                    found[key] = ep
            self._plugins = found
        return self._plugins

    def __iter__(self) -> Iterator[str]:
        yield from self._items
        yield from sorted(k for k in self._entry_points() if k not in self._items)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = self._normalize(name)
        return key in self._items or key in self._entry_points()

    def __getitem__(self, name: str) -> T:
        key = self._normalize(name)
        if key in self._items:
            value = self._items[key]
            if isinstance(value, str):  # a lazy built-in: import it now, once
                value = self._coerce_or_fail(_import(value), name, value)
                self._items[key] = value
            return value
        if key in self._loaded:
            return self._loaded[key]
        ep = self._entry_points().get(key)
        if ep is None:
            raise KeyError(name)
        try:
            loaded = ep.load()
        except Exception as exc:
            raise PluginError(self._blame(ep, f"failed to import ({type(exc).__name__}: {exc})")) \
                from exc
        value = self._coerce_or_fail(loaded, name, ep.value, ep)
        self._loaded[key] = value  # later lookups are plain dict reads
        return value

    def lookup(self, name: str) -> T:
        """The object registered as ``name``; a ConfigError listing the choices otherwise."""
        try:
            return self[name]
        except KeyError:
            where = f" ({self.setting})" if self.setting else ""
            raise ConfigError(
                f"Unknown {self.kind} {name!r}{where}; choose one of {', '.join(self)}, or "
                f"install a package that provides it (entry point group {self.group!r})."
            ) from None

    def names(self) -> list[str]:
        return list(self)

    def refresh(self) -> None:
        """Forget discovered plugins, so packages installed since are found on the next lookup."""
        self._plugins = None
        self._loaded.clear()

    # ---- errors that name the plugin ----------------------------------------------------------
    def _coerce_or_fail(self, obj: Any, name: str, ref: str, ep: EntryPoint | None = None) -> T:
        try:
            return self._coerce(obj)
        except (TypeError, ValueError) as exc:
            if ep is not None:
                raise PluginError(self._blame(ep, f"is not a usable {self.kind}: {exc}")) from exc
            raise ConfigError(f"Built-in {self.kind} {name!r} ({ref}) is broken: {exc}") from exc

    def _blame(self, ep: EntryPoint, what: str) -> str:
        dist = _dist(ep)
        return (f"The {self.kind} plugin {ep.name!r} ({ep.value}, from the package {dist}) {what}. "
                f"Upgrade or uninstall {dist} (`pip uninstall {dist}`).")


_ALL: list[Registry[Any]] = []


def refresh_all() -> None:
    """Every registry forgets its discovered plugins (after installing or removing one)."""
    for registry in _ALL:
        registry.refresh()


def _import(ref: str) -> Any:
    """The object a ``"package.module:attr"`` reference names."""
    module, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else []:
        obj = getattr(obj, part)
    return obj


def _dist(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return getattr(dist, "name", None) or "an unknown package"
