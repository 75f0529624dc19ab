"""Read the human-editable YAML model format (see models/README.md) into a `Network`.

Every mistake in a model file is reported as a `ModelError` naming the file, the node and the
field; table rows are named by their configuration of the parents.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import yaml

from syncdx.errors import ModelError
from syncdx.network import (
    CAUSE_STATES,
    Action,
    FloatArray,
    Network,
    Role,
    Variable,
    topological_order,
)

__all__ = ["parse_model", "read_yaml_model"]

FORMAT_VERSIONS = (1,)
SUM_TOLERANCE = 1e-9
DEFAULT_STATES = ("yes", "no")
TABLE_KINDS = ("noisy_or", "noisy_max", "cpt")
SECTIONS: dict[str, Role] = {"causes": "cause", "observations": "observation", "hidden": "hidden"}

_PROVENANCE = frozenset({"source", "assumption"})
_NODE = _PROVENANCE | {"id", "states", "parents", *TABLE_KINDS}
_KEYS: dict[str, frozenset[str]] = {
    "model": frozenset({"syncdx_model", "name", "title", "documents", "actions", *SECTIONS}),
    "cause": _PROVENANCE | {"id", "text", "prior"},
    "observation": _NODE | {"question", "cost"},
    "hidden": _NODE | {"text"},
    "action": _PROVENANCE | {"id", "text", "cost", "fixes", "last_resort", "fixes_rest"},
    "document": frozenset({"file", "title"}),
    "noisy_or": frozenset({"state", "leak", "links"}),
    "noisy_max": frozenset({"leak", "links"}),
    "link": _PROVENANCE | {"p", "when"},
    "entry": _PROVENANCE | {"p"},
    "row": _PROVENANCE | {"when", "p"},
}
_BOOL_TAG = "tag:yaml.org,2002:bool"

_Entry = Mapping[str, Any]  # one mapping of the model document
_Table = tuple[tuple[str, ...], FloatArray]  # a node's parents and its table


class _Loader(yaml.SafeLoader):
    """A safe loader where only true/false are booleans (yes/no/on/off stay strings) and a
    repeated key in a mapping is an error."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        """The mapping, after checking that no key occurs twice."""
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable) and key in seen:
                problem = f"repeated key {key!r}"
                raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
            if isinstance(key, Hashable):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(  # YAML 1.1 needs a dot in a float: also read 1e-3 as a number
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9]+[eE][-+]?[0-9]+$"), list("-+0123456789")
)


@dataclass(frozen=True)
class _Context:
    """What checks need to know: the file, the document keys, each node's states and role."""

    file: str | None
    documents: frozenset[str] = frozenset()
    states: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    roles: Mapping[str, Role] = field(default_factory=dict)

    def error(self, message: str, node: str | None, where: str = "") -> ModelError:
        """A `ModelError` about `where` (a field path) in `node`."""
        return ModelError(message, file=self.file, node=node, field=where or None)


# -- reading ------------------------------------------------------------------------------


def read_yaml_model(path: str | os.PathLike[str]) -> Network:
    """The network described by the YAML model file at `path`."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelError("no such model file", file=file) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read the model file: {exc}", file=file) from None
    try:
        document = yaml.load(text, Loader=_Loader)  # a SafeLoader: plain data only, never objects
    except yaml.YAMLError as exc:
        raise ModelError(_yaml_problem(exc), file=file) from None
    return parse_model(document, file=file)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A one-line description of a YAML syntax error, with its line and column."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return f"invalid YAML: {exc}"
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"{where}invalid YAML: {' '.join(p for p in (exc.context, exc.problem) if p)}"


def parse_model(document: _Entry, *, file: str | None = None) -> Network:
    """The network described by an already-parsed model document (`file` is named in errors)."""
    ctx = _Context(file)
    top = _mapping(ctx, document, None, "")
    _check_keys(ctx, top, "model", None, "")
    _check_version(ctx, top.get("syncdx_model"))
    documents = _documents(ctx, top.get("documents", {}))
    ctx = replace(ctx, documents=frozenset(documents))
    nodes = list(_entries(ctx, top))
    actions = list(_section(ctx, top, "actions", "action"))
    _check_unique(ctx, [node for _, node, _ in nodes] + [node for _, node, _ in actions])
    ctx = replace(
        ctx,
        states={node: _states(ctx, role, node, entry) for role, node, entry in nodes},
        roles={node: role for role, node, _ in nodes},
    )
    compiled = {node: _node(ctx, role, node, entry) for role, node, entry in nodes}
    return Network(
        *_assemble(ctx, compiled),
        actions=_actions(ctx, actions),
        name=_text(ctx, top, "name", None) or (Path(file).stem if file else "network"),
        title=_text(ctx, top, "title", None),
        documents=MappingProxyType(documents),
        file=file,
    )


def _check_version(ctx: _Context, version: object) -> None:
    """Reject a document without a supported `syncdx_model` format version."""
    if version is None:
        raise ctx.error("missing: a model starts with 'syncdx_model: 1'", None, "syncdx_model")
    if isinstance(version, bool) or version not in FORMAT_VERSIONS:
        supported = ", ".join(map(str, FORMAT_VERSIONS))
        message = f"unsupported format version {version!r} (supported: {supported})"
        raise ctx.error(message, None, "syncdx_model")


def _documents(ctx: _Context, raw: object) -> dict[str, str]:
    """Document key -> title."""
    result: dict[str, str] = {}
    for key, value in _mapping(ctx, raw, None, "documents").items():
        where = f"documents.{key}"
        entry = _mapping(ctx, value, None, where)
        _check_keys(ctx, entry, "document", None, where)
        name = _name(ctx, key, None, where)
        title = _text(ctx, entry, "title", None, where)
        result[name] = title or _text(ctx, entry, "file", None, where)
    return result


def _section(
    ctx: _Context, top: _Entry, section: str, kind: str
) -> Iterator[tuple[str, str, _Entry]]:
    """(kind, id, entry) for each entry of a top-level list, after checking its keys."""
    raw = top.get(section) or []
    if not isinstance(raw, list):
        raise ctx.error("must be a list of entries", None, section)
    for i, item in enumerate(raw):
        entry = _mapping(ctx, item, None, f"{section}[{i}]")
        if "id" not in entry:
            raise ctx.error(f"entry {i + 1} has no id", None, f"{section}[{i}].id")
        node = _name(ctx, entry["id"], None, f"{section}[{i}].id")
        _check_keys(ctx, entry, kind, node, "")
        yield kind, node, entry


def _entries(ctx: _Context, top: _Entry) -> Iterator[tuple[Role, str, _Entry]]:
    """The nodes' entries: causes first, then observations and hidden nodes in file order."""
    sections = sorted((key for key in top if key in SECTIONS), key=lambda key: key != "causes")
    for section in sections:
        for _, node, entry in _section(ctx, top, section, SECTIONS[section]):
            yield SECTIONS[section], node, entry


def _check_unique(ctx: _Context, ids: list[str]) -> None:
    """Reject an id used twice across causes, observations, hidden nodes and actions."""
    seen: set[str] = set()
    for node in ids:
        if node in seen:
            raise ctx.error("duplicate id (across nodes and actions)", node, "id")
        seen.add(node)


def _states(ctx: _Context, role: Role, node: str, entry: _Entry) -> tuple[str, ...]:
    """The node's states: fixed for a cause, else `states` (default yes, no)."""
    if role == "cause":
        return CAUSE_STATES
    raw = entry.get("states", DEFAULT_STATES)
    if not isinstance(raw, list | tuple) or len(raw) < 2:
        raise ctx.error("must be a list of at least two states", node, "states")
    states = tuple(_name(ctx, state, node, "states") for state in raw)
    if len(set(states)) != len(states):
        raise ctx.error(f"repeated state in {list(states)}", node, "states")
    return states


# -- nodes --------------------------------------------------------------------------------


def _node(
    ctx: _Context, role: Role, node: str, entry: _Entry
) -> tuple[Variable, tuple[str, ...], FloatArray]:
    """The node's variable, its parents and its table."""
    source, assumption = _provenance(ctx, entry, node, "")
    if role == "cause":
        prior = _probability(ctx, entry.get("prior"), node, "prior")
        parents: tuple[str, ...] = ()
        table = np.array([1.0 - prior, prior])
    else:
        parents, table = _table(ctx, entry, node)
    observed = role == "observation"
    text = _text(ctx, entry, "question" if observed else "text", node, required=observed)
    cost = _cost(ctx, entry, node) if observed else None
    variable = Variable(
        id=node,
        states=ctx.states[node],
        role=role,
        text=text,
        cost=cost,
        source=source,
        assumption=assumption,
    )
    return variable, parents, table


def _table(ctx: _Context, entry: _Entry, node: str) -> _Table:
    """The node's parents and table, from its one table kind."""
    kinds = [kind for kind in TABLE_KINDS if kind in entry]
    if len(kinds) != 1:
        found = " and ".join(kinds) or "none"
        raise ctx.error(f"needs one of noisy_or, noisy_max, cpt (found {found})", node, "table")
    if kinds[0] != "cpt" and "parents" in entry:
        raise ctx.error(f"only for cpt; {kinds[0]} takes its parents from links", node, "parents")
    if kinds[0] == "cpt":
        return _cpt(ctx, entry, node)
    spec = _mapping(ctx, entry[kinds[0]], node, kinds[0])
    _check_keys(ctx, spec, kinds[0], node, kinds[0])
    return (_noisy_or if kinds[0] == "noisy_or" else _noisy_max)(ctx, spec, node)


def _noisy_or(ctx: _Context, spec: _Entry, node: str) -> _Table:
    """Leaky noisy-OR: P(state) = 1 - (1 - leak) * prod over active links (1 - p)."""
    states = ctx.states[node]
    if len(states) != 2:
        message = f"is for two states; {node!r} has {len(states)}: use noisy_max or cpt"
        raise ctx.error(message, node, "noisy_or")
    target = _state_index(ctx, spec.get("state", states[0]), states, node, "noisy_or.state")
    leak = _entry(ctx, spec.get("leak"), "entry", node, "noisy_or.leak")
    links = _links(ctx, spec, node, "noisy_or")
    parents = tuple(parent for parent, _, _ in links)
    off = np.full(tuple(len(ctx.states[p]) for p in parents), 1.0)
    off *= 1.0 - _probability(ctx, leak.get("p"), node, "noisy_or.leak.p")
    for axis, (parent, active, link) in enumerate(links):
        factor = np.ones(len(ctx.states[parent]))
        factor[active] = 1.0 - _probability(ctx, link.get("p"), node, f"noisy_or.links.{parent}.p")
        off *= factor.reshape([-1 if i == axis else 1 for i in range(off.ndim)])
    table = np.empty((*off.shape, 2))
    table[..., target], table[..., 1 - target] = 1.0 - off, off
    return parents, table


def _noisy_max(ctx: _Context, spec: _Entry, node: str) -> _Table:
    """Noisy-MAX: the state is the highest of independent contributions, P(Y <= s) = prod F_i(s)."""
    states = ctx.states[node]
    leak = _entry(ctx, spec.get("leak"), "entry", node, "noisy_max.leak")
    links = _links(ctx, spec, node, "noisy_max")
    parents = tuple(parent for parent, _, _ in links)
    shape = (*(len(ctx.states[p]) for p in parents), len(states))
    leak_p = _distribution(ctx, leak.get("p"), states, node, "noisy_max.leak.p", rest=True)
    below = np.ones(shape) * np.cumsum(leak_p)
    for axis, (parent, active, link) in enumerate(links):
        where = f"noisy_max.links.{parent}.p"
        cdf = np.ones((shape[axis], len(states)))
        cdf[active] = np.cumsum(_distribution(ctx, link.get("p"), states, node, where, rest=True))
        below = below * cdf.reshape(
            [n if i in (axis, len(parents)) else 1 for i, n in enumerate(shape)]
        )
    below[..., -1] = 1.0
    return parents, np.clip(np.diff(below, axis=-1, prepend=0.0), 0.0, 1.0)


def _links(ctx: _Context, spec: _Entry, node: str, kind: str) -> list[tuple[str, int, _Entry]]:
    """(parent, active state index, link entry) for each link of a noisy table."""
    links = _mapping(ctx, spec.get("links"), node, f"{kind}.links")
    if not links:
        raise ctx.error("no links (without parents, use a one-row cpt)", node, f"{kind}.links")
    result = []
    for parent, raw in links.items():
        where = f"{kind}.links.{parent}"
        _check_parent(ctx, parent, node, where)
        link = _entry(ctx, raw, "link", node, where)
        result.append((str(parent), _active(ctx, link, str(parent), node, where), link))
    return result


def _active(ctx: _Context, link: _Entry, parent: str, node: str, where: str) -> int:
    """The index of the parent state that activates a link: `when`, else `present` for a cause."""
    states = ctx.states[parent]
    if "when" in link:
        return _state_index(ctx, link["when"], states, node, f"{where}.when")
    if ctx.roles[parent] == "cause":
        return states.index("present")
    message = f"missing: the state of {parent!r} (one of {list(states)}) that activates the link"
    raise ctx.error(message, node, f"{where}.when")


def _cpt(ctx: _Context, entry: _Entry, node: str) -> _Table:
    """A full table: one row per configuration of the parents, each exactly once."""
    parents = _parents(ctx, entry.get("parents", []), node)
    rows = entry["cpt"]
    if not isinstance(rows, list):
        raise ctx.error("must be a list of rows ({when: ..., p: ...})", node, "cpt")
    shape = tuple(len(ctx.states[p]) for p in parents)
    table = np.full((*shape, len(ctx.states[node])), np.nan)
    for i, raw in enumerate(rows):
        row = _entry(ctx, raw, "row", node, f"cpt[{i}]", provenance=False)
        config = _configuration(ctx, row.get("when", {}), parents, node, f"cpt[{i}]")
        where = f"cpt[{_label(ctx, parents, config)}]"
        if not np.isnan(table[config][0]):
            raise ctx.error("repeated row: each configuration of the parents once", node, where)
        _provenance(ctx, row, node, where)
        table[config] = _distribution(ctx, row.get("p"), ctx.states[node], node, f"{where}.p")
    for config in np.ndindex(*shape):
        if np.isnan(table[config][0]):
            raise ctx.error(f"no row for {_label(ctx, parents, config)}", node, "cpt")
    return parents, table


def _parents(ctx: _Context, raw: object, node: str) -> tuple[str, ...]:
    """A cpt's `parents` list, each an existing node named once."""
    if not isinstance(raw, list):
        raise ctx.error("must be a list of node ids", node, "parents")
    for parent in raw:
        _check_parent(ctx, parent, node, "parents")
    if len(set(raw)) != len(raw):
        raise ctx.error(f"a parent is named twice in {raw}", node, "parents")
    return tuple(raw)


def _configuration(
    ctx: _Context, raw: object, parents: tuple[str, ...], node: str, where: str
) -> tuple[int, ...]:
    """The state indices of the parents named by a row's `when`."""
    when = _mapping(ctx, raw, node, f"{where}.when")
    for key in when:
        if key not in parents:
            message = f"{key!r} is not among the parents {list(parents)}"
            raise ctx.error(message, node, f"{where}.when")
    for parent in parents:
        if parent not in when:
            raise ctx.error(f"does not give the state of parent {parent!r}", node, f"{where}.when")
    return tuple(
        _state_index(ctx, when[p], ctx.states[p], node, f"{where}.when.{p}") for p in parents
    )


def _label(ctx: _Context, parents: tuple[str, ...], config: tuple[int, ...]) -> str:
    """A configuration of the parents as written in a row's `when`."""
    pairs = (f"{p}: {ctx.states[p][s]}" for p, s in zip(parents, config, strict=True))
    return "{" + ", ".join(pairs) + "}"


def _distribution(
    ctx: _Context, raw: object, states: tuple[str, ...], node: str, where: str, rest: bool = False
) -> FloatArray:
    """A distribution over `states` (unlisted states 0, or with `rest` the first takes the rest)."""
    p = _mapping(ctx, raw, node, where)
    dist = np.zeros(len(states))
    for state, value in p.items():
        dist[_state_index(ctx, state, states, node, where)] = _probability(
            ctx, value, node, f"{where}.{state}"
        )
    if rest and states[0] not in p:
        dist[0] = max(0.0, 1.0 - float(dist.sum()))
    total = float(dist.sum())
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise ctx.error(f"probabilities sum to {total:.12g}, not 1", node, where)
    return dist


def _assemble(
    ctx: _Context, compiled: Mapping[str, tuple[Variable, tuple[str, ...], FloatArray]]
) -> tuple[tuple[Variable, ...], tuple[tuple[int, ...], ...], tuple[FloatArray, ...]]:
    """Variables, parent indices and tables in a topological order close to the file's."""
    graph = {node: parents for node, (_, parents, _) in compiled.items()}
    cycle = _find_cycle(graph)
    if cycle:
        message = f"the graph has a cycle (parent -> child): {' -> '.join(cycle)}"
        raise ctx.error(message, cycle[0], "parents")
    order = topological_order(graph)
    index = {node: i for i, node in enumerate(order)}
    return (
        tuple(compiled[node][0] for node in order),
        tuple(tuple(index[p] for p in graph[node]) for node in order),
        tuple(compiled[node][2] for node in order),
    )


def _find_cycle(graph: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Nodes on a cycle, each a parent of the next, the first repeated at the end; [] if none."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node][::-1]
        if node in done:
            return []
        for parent in graph[node]:
            if found := visit(parent, [*path, node]):
                return found
        done.add(node)
        return []

    return next((found for node in graph if (found := visit(node, []))), [])


# -- actions ------------------------------------------------------------------------------


def _actions(ctx: _Context, entries: list[tuple[str, str, _Entry]]) -> tuple[Action, ...]:
    """The repair actions, with at most one last resort."""
    actions = tuple(_action(ctx, node, entry) for _, node, entry in entries)
    last = [action.id for action in actions if action.last_resort]
    if len(last) > 1:
        message = f"only one action can be the last resort (also {last[0]!r})"
        raise ctx.error(message, last[1], "last_resort")
    return actions


def _action(ctx: _Context, node: str, entry: _Entry) -> Action:
    """One repair action."""
    source, assumption = _provenance(ctx, entry, node, "")
    last_resort = entry.get("last_resort", False)
    if not isinstance(last_resort, bool):
        raise ctx.error(f"must be true or false, not {last_resort!r}", node, "last_resort")
    raw_fixes = _mapping(ctx, entry.get("fixes", {}), node, "fixes")
    fixes = {str(cause): _fix(ctx, str(cause), raw, node) for cause, raw in raw_fixes.items()}
    if not fixes and not last_resort:
        raise ctx.error("fixes no cause (and it is not the last resort)", node, "fixes")
    rest = 0.0
    if "fixes_rest" in entry:
        if not last_resort:
            raise ctx.error("only for the last_resort action", node, "fixes_rest")
        rest_entry = _entry(ctx, entry["fixes_rest"], "entry", node, "fixes_rest")
        rest = _probability(ctx, rest_entry.get("p"), node, "fixes_rest.p")
    text = _text(ctx, entry, "text", node, required=True)
    cost = _cost(ctx, entry, node)
    return Action(
        id=node,
        text=text,
        cost=cost,
        fixes=MappingProxyType(fixes),
        last_resort=last_resort,
        fixes_rest=rest,
        source=source,
        assumption=assumption,
    )


def _fix(ctx: _Context, cause: str, raw: object, node: str) -> float:
    """The probability that the action fixes `cause`."""
    where = f"fixes.{cause}"
    role = ctx.roles.get(cause)
    if role != "cause":
        raise ctx.error(f"{cause!r} is not a cause ({role or 'unknown'})", node, where)
    fix = _entry(ctx, raw, "entry", node, where)
    return _probability(ctx, fix.get("p"), node, f"{where}.p")


# -- values -------------------------------------------------------------------------------


def _mapping(ctx: _Context, raw: object, node: str | None, where: str) -> _Entry:
    """`raw`, checked to be a mapping."""
    if not isinstance(raw, Mapping):
        got = "missing" if raw is None else f"got {raw!r}"
        raise ctx.error(f"must be a mapping ({got})", node, where)
    return raw


def _check_keys(ctx: _Context, entry: _Entry, kind: str, node: str | None, where: str) -> None:
    """Reject keys not allowed in an entry of this kind (typos, misplaced fields)."""
    allowed = _KEYS[kind]
    for key in entry:
        if key not in allowed:
            prefix = f"{where}." if where else ""
            message = f"unknown key (allowed in a {kind}: {', '.join(sorted(allowed))})"
            raise ctx.error(message, node, f"{prefix}{key}")


def _entry(
    ctx: _Context, raw: object, kind: str, node: str, where: str, provenance: bool = True
) -> _Entry:
    """A nested entry (link, leak, row, fix), checked for keys and, by default, provenance."""
    entry = _mapping(ctx, raw, node, where)
    _check_keys(ctx, entry, kind, node, where)
    if provenance:
        _provenance(ctx, entry, node, where)
    return entry


def _provenance(ctx: _Context, entry: _Entry, node: str, where: str) -> tuple[tuple[str, ...], str]:
    """The entry's `source` references and `assumption`, at least one of them given."""
    prefix = f"{where}." if where else ""
    raw = entry.get("source", [])
    sources = [raw] if isinstance(raw, str) else raw
    if not isinstance(sources, list) or not all(isinstance(s, str) and s.strip() for s in sources):
        raise ctx.error("must be a reference or a list of them", node, f"{prefix}source")
    assumption = _text(ctx, entry, "assumption", node, where)
    if not sources and not assumption:
        raise ctx.error("missing provenance: a source or an assumption", node, where or "source")
    for ref in sources:
        key = ref.strip().split(" ", 1)[0]
        if key not in ctx.documents:
            message = f"{ref!r}: unknown document {key!r} (documents: {sorted(ctx.documents)})"
            raise ctx.error(message, node, f"{prefix}source")
    return tuple(s.strip() for s in sources), assumption


def _probability(ctx: _Context, value: object, node: str, where: str) -> float:
    """A probability: a number in [0, 1]."""
    if value is None:
        raise ctx.error("missing probability", node, where)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.error(f"probability must be a number, not {value!r}", node, where)
    if not 0.0 <= value <= 1.0:
        raise ctx.error(f"probability {value!r} is outside [0, 1]", node, where)
    return float(value)


def _cost(ctx: _Context, entry: _Entry, node: str) -> float:
    """A cost in minutes: a finite number >= 0."""
    value = entry.get("cost")
    if value is None:
        raise ctx.error("missing cost (minutes)", node, "cost")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ctx.error(f"cost must be a number of minutes, not {value!r}", node, "cost")
    if value < 0:
        raise ctx.error(f"cost {value!r} is negative", node, "cost")
    return float(value)


def _text(
    ctx: _Context,
    entry: _Entry,
    key: str,
    node: str | None,
    where: str = "",
    required: bool = False,
) -> str:
    """A text field ('' when absent and not required)."""
    value = entry.get(key, "")
    field_name = f"{where}.{key}" if where else key
    if not isinstance(value, str):
        raise ctx.error(f"must be text, not {value!r}", node, field_name)
    if required and not value.strip():
        raise ctx.error("missing (non-empty text required)", node, field_name)
    return value.strip()


def _name(ctx: _Context, value: object, node: str | None, where: str) -> str:
    """An id, state or document key: non-empty text (a whole number is read as its digits)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise ctx.error(f"must be a non-empty name, not {value!r}", node, where)
    return value


def _state_index(
    ctx: _Context, value: object, states: tuple[str, ...], node: str, where: str
) -> int:
    """The index of a state named in the model."""
    name = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(name, str) or name not in states:
        raise ctx.error(f"unknown state {value!r} (the states are {list(states)})", node, where)
    return states.index(name)


def _check_parent(ctx: _Context, parent: object, node: str, where: str) -> None:
    """Reject a parent that is not a node of the model."""
    if not isinstance(parent, str) or parent not in ctx.states:
        raise ctx.error(f"unknown parent {parent!r} (not a node of the model)", node, where)
