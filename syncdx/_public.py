"""Public names report the module users import them from, not the private one defining them."""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping


def export(namespace: Mapping[str, object], names: Iterable[str], module: str) -> None:
    """Set `__module__` of the classes and functions among `names` in `namespace` to `module`."""
    for name in names:
        value = namespace.get(name)
        if isinstance(value, type | types.FunctionType):
            value.__module__ = module
