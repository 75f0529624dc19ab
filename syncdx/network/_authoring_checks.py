"""The checks every part of a YAML model file goes through, each naming file, node and field.

Shared by `_authoring` (the document) and `_authoring_tables` (the tables).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from syncdx.errors import ModelError, ModelWarning, shown
from syncdx.network._network import FloatArray, Role

FORMAT_VERSIONS = (1,)
DEFAULT_STATES = ("yes", "no")
TABLE_KINDS = ("noisy_or", "noisy_max", "cpt")
SECTIONS: dict[str, Role] = {"causes": "cause", "observations": "observation", "hidden": "hidden"}

_PROVENANCE = frozenset({"source", "assumption"})
#: What learning from cases reads and writes beside a number (see `syncdx.learn`): how many
#: equivalent cases the expert value is worth, whether it is kept as written, and what moved.
LEARNING = frozenset({"confidence", "frozen", "learned"})
_NODE = _PROVENANCE | {"id", "states", "parents", "confidence", "frozen", *TABLE_KINDS}
_KEYS: dict[str, frozenset[str]] = {
    "model": frozenset(
        {"syncdx_model", "name", "title", "documents", "unknown_words", "actions", *SECTIONS}
    ),
    "cause": _PROVENANCE | LEARNING | {"id", "text", "prior"},
    "observation": _NODE | {"question", "cost"},
    "hidden": _NODE | {"text"},
    "action": _PROVENANCE | {"id", "text", "cost", "fixes", "last_resort", "fixes_rest"},
    "document": frozenset({"file", "title"}),
    "noisy_or": frozenset({"state", "leak", "links"}),
    "noisy_max": frozenset({"leak", "links"}),
    "link": _PROVENANCE | LEARNING | {"p", "when"},
    "entry": _PROVENANCE | LEARNING | {"p"},
    "row": _PROVENANCE | LEARNING | {"when", "p"},
}

Entry = Mapping[str, Any]  # one mapping of the model document
Table = tuple[tuple[str, ...], FloatArray]  # a node's parents and its table


@dataclass(frozen=True)
class Context:
    """What checks need to know: the file, the document keys, each node's states and role."""

    file: str | None
    documents: frozenset[str] = frozenset()
    states: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    roles: Mapping[str, Role] = field(default_factory=dict)

    def error(self, message: str, node: str | None, where: str = "") -> ModelError:
        """A `ModelError` about `where` (a field path) in `node`."""
        return ModelError(message, file=self.file, node=node, field=where or None)

    def warn(self, message: str, node: str | None, where: str = "") -> None:
        """Warn (a `ModelWarning`) about `where` in `node`: something that has no effect."""
        warnings.warn(ModelWarning(self.error(message, node, where).args[0]), stacklevel=4)


def as_mapping(ctx: Context, raw: object, node: str | None, where: str) -> Entry:
    """`raw`, checked to be a mapping."""
    if not isinstance(raw, Mapping):
        got = "missing" if raw is None else f"got {shown(raw)}"
        raise ctx.error(f"must be a mapping ({got})", node, where)
    return raw


def check_keys(ctx: Context, entry: Entry, kind: str, node: str | None, where: str) -> None:
    """Reject keys not allowed in an entry of this kind (typos, misplaced fields)."""
    allowed = _KEYS[kind]
    for key in entry:
        if key not in allowed:
            prefix = f"{where}." if where else ""
            message = f"unknown key (allowed in a {kind}: {', '.join(sorted(allowed))})"
            raise ctx.error(message, node, f"{prefix}{key}")


def nested_entry(
    ctx: Context, raw: object, kind: str, node: str, where: str, provenance: bool = True
) -> Entry:
    """A nested entry (link, leak, row, fix), checked for keys and, by default, provenance."""
    entry = as_mapping(ctx, raw, node, where)
    check_keys(ctx, entry, kind, node, where)
    if provenance:
        read_provenance(ctx, entry, node, where)
    return entry


def read_provenance(
    ctx: Context, entry: Entry, node: str, where: str
) -> tuple[tuple[str, ...], str]:
    """The entry's `source` references and `assumption`, at least one of them given."""
    prefix = f"{where}." if where else ""
    raw = entry.get("source", [])
    sources = [raw] if isinstance(raw, str) else raw
    if not isinstance(sources, list) or not all(isinstance(s, str) and s.strip() for s in sources):
        raise ctx.error("must be a reference or a list of them", node, f"{prefix}source")
    assumption = read_text(ctx, entry, "assumption", node, where)
    if not sources and not assumption:
        raise ctx.error("missing provenance: a source or an assumption", node, where or "source")
    for ref in sources:
        key = ref.strip().split(" ", 1)[0]
        if key not in ctx.documents:
            known = shown(sorted(ctx.documents))
            message = f"{shown(ref)}: unknown document {shown(key)} (documents: {known})"
            raise ctx.error(message, node, f"{prefix}source")
    return tuple(s.strip() for s in sources), assumption


def read_probability(ctx: Context, value: object, node: str, where: str) -> float:
    """A probability: a number in [0, 1]."""
    if value is None:
        raise ctx.error("missing probability", node, where)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.error(f"probability must be a number, not {shown(value)}", node, where)
    if not 0.0 <= value <= 1.0:
        raise ctx.error(f"probability {shown(value)} is outside [0, 1]", node, where)
    return float(value)


def read_cost(ctx: Context, entry: Entry, node: str) -> float:
    """A cost in minutes: a finite number above 0 (a free step would be worth infinitely much
    per minute)."""
    value = entry.get("cost")
    if value is None:
        raise ctx.error("missing cost (minutes)", node, "cost")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ctx.error(f"cost must be a number of minutes, not {shown(value)}", node, "cost")
    if value <= 0:
        message = f"cost {shown(value)} must be above 0 minutes (a free step has no cost ratio)"
        raise ctx.error(message, node, "cost")
    return float(value)


def read_text(
    ctx: Context,
    entry: Entry,
    key: str,
    node: str | None,
    where: str = "",
    required: bool = False,
) -> str:
    """A text field ('' when absent and not required)."""
    value = entry.get(key, "")
    field_name = f"{where}.{key}" if where else key
    if not isinstance(value, str):
        raise ctx.error(f"must be text, not {shown(value)}", node, field_name)
    if required and not value.strip():
        raise ctx.error("missing (non-empty text required)", node, field_name)
    return value.strip()


def read_name(ctx: Context, value: object, node: str | None, where: str) -> str:
    """An id, state or document key: non-empty text (a whole number is read as its digits)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise ctx.error(f"must be a non-empty name, not {shown(value)}", node, where)
    return value


def named_state(ctx: Context, value: object, states: tuple[str, ...], node: str, where: str) -> int:
    """The index of a state named in the model."""
    name = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(name, str) or name not in states:
        raise ctx.error(
            f"unknown state {shown(value)} (the states are {shown(list(states))})", node, where
        )
    return states.index(name)


def check_parent(ctx: Context, parent: object, node: str, where: str) -> None:
    """Reject a parent that is not a node of the model."""
    if not isinstance(parent, str) or parent not in ctx.states:
        raise ctx.error(f"unknown parent {shown(parent)} (not a node of the model)", node, where)
