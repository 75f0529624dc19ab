"""Read the human-editable YAML model format (see models/README.md) into a `Network`.

Every mistake in a model file is reported as a `ModelError` naming the file, the node and the
field; table rows are named by their configuration of the parents.
"""

from __future__ import annotations

import os
import re
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import yaml

from syncdx.errors import ModelError, shown
from syncdx.network._authoring_checks import (
    DEFAULT_STATES,
    FORMAT_VERSIONS,
    SECTIONS,
    Context,
    Entry,
    as_mapping,
    check_keys,
    nested_entry,
    read_cost,
    read_name,
    read_probability,
    read_provenance,
    read_text,
)
from syncdx.network._authoring_tables import node_table
from syncdx.network._model_file import MAX_MODEL_BYTES, read_model_text
from syncdx.network._network import (
    CAUSE_STATES,
    Action,
    FloatArray,
    Network,
    Role,
    Variable,
    topological_order,
    unknown_key,
)

__all__ = ["parse_model", "read_yaml_document", "read_yaml_model"]

_BOOL_TAG = "tag:yaml.org,2002:bool"
#: The deepest nesting of lists and mappings a model file may have (models need about 6).
MAX_DEPTH = 50


class _Loader(yaml.SafeLoader):
    """A safe loader where only true/false are booleans (yes/no/on/off stay strings), a
    repeated key in a mapping is an error, and so are anchors and aliases (`&a`, `*a`: one
    alias can expand to gigabytes) and nesting deeper than `MAX_DEPTH`."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """The next node, refusing anchors, aliases and deep nesting."""
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            problem = "anchors and aliases (&name, *name) are not allowed in a model file"
            raise yaml.composer.ComposerError(None, None, problem, event.start_mark)
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                problem = f"nested more than {MAX_DEPTH} levels deep"
                raise yaml.composer.ComposerError(None, None, problem, event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        """The mapping, after checking that no key occurs twice."""
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable) and key in seen:
                problem = f"repeated key {shown(key)}"
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


# -- reading ------------------------------------------------------------------------------


def read_yaml_model(path: str | os.PathLike[str], *, max_bytes: int = MAX_MODEL_BYTES) -> Network:
    """The network described by the YAML model file at `path` (at most `max_bytes` bytes)."""
    return parse_model(read_yaml_document(path, max_bytes=max_bytes), file=str(path))


def read_yaml_document(path: str | os.PathLike[str], *, max_bytes: int = MAX_MODEL_BYTES) -> Any:
    """The YAML model file at `path` as plain data (mappings, lists, text, numbers), unchecked:
    `parse_model` checks it."""
    text = read_model_text(Path(path), "model file", max_bytes)
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader: plain data only, never objects
    except yaml.YAMLError as exc:
        raise ModelError(_yaml_problem(exc), file=str(path)) from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A one-line description of a YAML syntax error, with its line and column."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return f"invalid YAML: {exc}"
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"{where}invalid YAML: {' '.join(p for p in (exc.context, exc.problem) if p)}"


def parse_model(document: Entry, *, file: str | None = None) -> Network:
    """The network described by an already-parsed model document (`file` is named in errors)."""
    ctx = Context(file)
    top = as_mapping(ctx, document, None, "")
    check_keys(ctx, top, "model", None, "")
    _check_version(ctx, top.get("syncdx_model"))
    documents = _documents(ctx, top.get("documents", {}))
    ctx = replace(ctx, documents=frozenset(documents))
    nodes = list(_entries(ctx, top))
    _check_roles(ctx, [role for role, _, _ in nodes])
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
        name=read_text(ctx, top, "name", None) or (Path(file).stem if file else "network"),
        title=read_text(ctx, top, "title", None),
        documents=MappingProxyType(documents),
        file=file,
        unknown_words=_unknown_words(ctx, top.get("unknown_words")),
    )


def _unknown_words(ctx: Context, raw: object) -> frozenset[str] | None:
    """The model's "don't know" answers as compared (`unknown_key`); None when not given."""
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(word, str) for word in raw):
        message = f"must be a list of words such as ['?', \"don't know\"], got {shown(raw)}"
        raise ctx.error(message, None, "unknown_words")
    return frozenset(key for key in map(unknown_key, raw) if key)


def _check_version(ctx: Context, version: object) -> None:
    """Reject a document without a supported `syncdx_model` format version."""
    if version is None:
        raise ctx.error("missing: a model starts with 'syncdx_model: 1'", None, "syncdx_model")
    if isinstance(version, bool) or version not in FORMAT_VERSIONS:
        supported = ", ".join(map(str, FORMAT_VERSIONS))
        message = f"unsupported format version {shown(version)} (supported: {supported})"
        raise ctx.error(message, None, "syncdx_model")


def _documents(ctx: Context, raw: object) -> dict[str, str]:
    """Document key -> title."""
    result: dict[str, str] = {}
    for key, value in as_mapping(ctx, raw, None, "documents").items():
        where = f"documents.{key}"
        entry = as_mapping(ctx, value, None, where)
        check_keys(ctx, entry, "document", None, where)
        name = read_name(ctx, key, None, where)
        title = read_text(ctx, entry, "title", None, where)
        result[name] = title or read_text(ctx, entry, "file", None, where)
    return result


def _section(ctx: Context, top: Entry, section: str, kind: str) -> Iterator[tuple[str, str, Entry]]:
    """(kind, id, entry) for each entry of a top-level list, after checking its keys."""
    raw = top.get(section) or []
    if not isinstance(raw, list):
        raise ctx.error("must be a list of entries", None, section)
    for i, item in enumerate(raw):
        entry = as_mapping(ctx, item, None, f"{section}[{i}]")
        if "id" not in entry:
            raise ctx.error(f"entry {i + 1} has no id", None, f"{section}[{i}].id")
        node = read_name(ctx, entry["id"], None, f"{section}[{i}].id")
        check_keys(ctx, entry, kind, node, "")
        yield kind, node, entry


def _entries(ctx: Context, top: Entry) -> Iterator[tuple[Role, str, Entry]]:
    """The nodes' entries: causes first, then observations and hidden nodes in file order."""
    sections = sorted((key for key in top if key in SECTIONS), key=lambda key: key != "causes")
    for section in sections:
        for _, node, entry in _section(ctx, top, section, SECTIONS[section]):
            yield SECTIONS[section], node, entry


def _check_roles(ctx: Context, roles: list[Role]) -> None:
    """Reject a model without a cause to diagnose or an observation to ask about."""
    for section, role in SECTIONS.items():
        if role != "hidden" and role not in roles:
            raise ctx.error(f"the model has no {section}: it needs at least one", None, section)


def _check_unique(ctx: Context, ids: list[str]) -> None:
    """Reject an id used twice across causes, observations, hidden nodes and actions."""
    seen: set[str] = set()
    for node in ids:
        if node in seen:
            raise ctx.error("duplicate id (across nodes and actions)", node, "id")
        seen.add(node)


def _states(ctx: Context, role: Role, node: str, entry: Entry) -> tuple[str, ...]:
    """The node's states: fixed for a cause, else `states` (default yes, no)."""
    if role == "cause":
        return CAUSE_STATES
    raw = entry.get("states", DEFAULT_STATES)
    if not isinstance(raw, list | tuple) or len(raw) < 2:
        raise ctx.error("must be a list of at least two states", node, "states")
    states = tuple(read_name(ctx, state, node, "states") for state in raw)
    if len(set(states)) != len(states):
        raise ctx.error(f"repeated state in {shown(list(states))}", node, "states")
    return states


# -- nodes --------------------------------------------------------------------------------


def _node(
    ctx: Context, role: Role, node: str, entry: Entry
) -> tuple[Variable, tuple[str, ...], FloatArray]:
    """The node's variable, its parents and its table."""
    source, assumption = read_provenance(ctx, entry, node, "")
    if role == "cause":
        prior = read_probability(ctx, entry.get("prior"), node, "prior")
        parents: tuple[str, ...] = ()
        table = np.array([1.0 - prior, prior])
    else:
        parents, table = node_table(ctx, entry, node)
    observed = role == "observation"
    text = read_text(ctx, entry, "question" if observed else "text", node, required=observed)
    cost = read_cost(ctx, entry, node) if observed else None
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


def _assemble(
    ctx: Context, compiled: Mapping[str, tuple[Variable, tuple[str, ...], FloatArray]]
) -> tuple[tuple[Variable, ...], tuple[tuple[int, ...], ...], tuple[FloatArray, ...]]:
    """Variables, parent indices and tables in a topological order close to the file's."""
    graph = {node: parents for node, (_, parents, _) in compiled.items()}
    order = topological_order(graph, file=ctx.file)
    index = {node: i for i, node in enumerate(order)}
    return (
        tuple(compiled[node][0] for node in order),
        tuple(tuple(index[p] for p in graph[node]) for node in order),
        tuple(compiled[node][2] for node in order),
    )


# -- actions ------------------------------------------------------------------------------


def _actions(ctx: Context, entries: list[tuple[str, str, Entry]]) -> tuple[Action, ...]:
    """The repair actions, with at most one last resort."""
    actions = tuple(_action(ctx, node, entry) for _, node, entry in entries)
    last = [action.id for action in actions if action.last_resort]
    if len(last) > 1:
        message = f"only one action can be the last resort (also {shown(last[0])})"
        raise ctx.error(message, last[1], "last_resort")
    return actions


def _action(ctx: Context, node: str, entry: Entry) -> Action:
    """One repair action."""
    source, assumption = read_provenance(ctx, entry, node, "")
    last_resort = entry.get("last_resort", False)
    if not isinstance(last_resort, bool):
        raise ctx.error(f"must be true or false, not {shown(last_resort)}", node, "last_resort")
    raw_fixes = as_mapping(ctx, entry.get("fixes", {}), node, "fixes")
    fixes = {str(cause): _fix(ctx, str(cause), raw, node) for cause, raw in raw_fixes.items()}
    if not fixes and not last_resort:
        raise ctx.error("fixes no cause (and it is not the last resort)", node, "fixes")
    rest = 0.0
    if "fixes_rest" in entry:
        if not last_resort:
            raise ctx.error("only for the last_resort action", node, "fixes_rest")
        rest_entry = nested_entry(ctx, entry["fixes_rest"], "entry", node, "fixes_rest")
        rest = read_probability(ctx, rest_entry.get("p"), node, "fixes_rest.p")
    text = read_text(ctx, entry, "text", node, required=True)
    cost = read_cost(ctx, entry, node)
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


def _fix(ctx: Context, cause: str, raw: object, node: str) -> float:
    """The probability that the action fixes `cause`."""
    where = f"fixes.{cause}"
    role = ctx.roles.get(cause)
    if role != "cause":
        raise ctx.error(f"{shown(cause)} is not a cause ({role or 'unknown'})", node, where)
    fix = nested_entry(ctx, raw, "entry", node, where)
    return read_probability(ctx, fix.get("p"), node, f"{where}.p")


# -- values -------------------------------------------------------------------------------
