"""Conformance to a Protocol, checked for real.

``isinstance(obj, SomeProtocol)`` on a runtime-checkable protocol only asks whether attributes
with those names exist: a ``generate`` that lost its ``history`` parameter still passes. This
compares every member's presence and every method's parameters with the protocol's.
"""

from __future__ import annotations

import inspect
from typing import Any


def _members(protocol: type) -> tuple[set[str], dict[str, Any]]:
    attrs: set[str] = set()
    methods: dict[str, Any] = {}
    for klass in protocol.__mro__:
        if klass in (object,) or not getattr(klass, "_is_protocol", False):
            continue
        attrs |= set(getattr(klass, "__annotations__", {}))
        for name, value in vars(klass).items():
            if callable(value) and not name.startswith("_") and name not in methods:
                methods[name] = value
    return attrs, methods


def _shape(fn: Any, drop_self: bool) -> list[tuple[str, Any, bool]]:
    params = list(inspect.signature(fn).parameters.values())
    if drop_self:
        params = params[1:]
    return [(p.name, p.kind, p.default is not inspect.Parameter.empty) for p in params]


def assert_implements(obj: Any, protocol: type) -> None:
    """Fail naming each member of ``protocol`` that ``obj`` lacks or whose parameters differ."""
    attrs, methods = _members(protocol)
    problems = [f"no attribute {a!r}" for a in sorted(attrs) if not hasattr(obj, a)]
    for name, proto_fn in sorted(methods.items()):
        impl = getattr(obj, name, None)
        if not callable(impl):
            problems.append(f"no method {name}()")
            continue
        want, got = _shape(proto_fn, drop_self=True), _shape(impl, drop_self=False)
        if want != got:
            problems.append(f"{name}{inspect.signature(impl)} differs from the protocol's "
                            f"{name}{inspect.signature(proto_fn)}")
    assert not problems, f"{type(obj).__name__} does not implement {protocol.__name__}: " + \
        "; ".join(problems)
