"""Conditional probability tables from a YAML model file: leaky noisy-OR, noisy-MAX, full tables.

Each compiles to a numpy array with one axis per parent and the node's own states last.
"""

from __future__ import annotations

import numpy as np

from syncdx._authoring_checks import (
    SUM_TOLERANCE,
    TABLE_KINDS,
    _check_keys,
    _check_parent,
    _Context,
    _Entry,
    _entry,
    _mapping,
    _probability,
    _provenance,
    _state_index,
    _Table,
)
from syncdx.errors import shown
from syncdx.network import FloatArray


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
        message = f"is for two states; {shown(node)} has {len(states)}: use noisy_max or cpt"
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
    message = (
        f"missing: the state of {shown(parent)} (one of {shown(list(states))}) "
        "that activates the link"
    )
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
            message = f"{shown(key)} is not among the parents {shown(list(parents))}"
            raise ctx.error(message, node, f"{where}.when")
    for parent in parents:
        if parent not in when:
            raise ctx.error(
                f"does not give the state of parent {shown(parent)}", node, f"{where}.when"
            )
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
