"""Conditional probability tables from a YAML model file: leaky noisy-OR, noisy-MAX, full tables.

Each compiles to a numpy array with one axis per parent and the node's own states last.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from syncdx.errors import shown
from syncdx.network._authoring_checks import (
    TABLE_KINDS,
    Context,
    Entry,
    Table,
    as_mapping,
    check_keys,
    check_parent,
    named_state,
    nested_entry,
    read_probability,
    read_provenance,
)
from syncdx.network._limits import check_table
from syncdx.network._network import SUM_TOLERANCE, FloatArray


def node_table(ctx: Context, entry: Entry, node: str) -> Table:
    """The node's parents and table, from its one table kind."""
    kinds = [kind for kind in TABLE_KINDS if kind in entry]
    if len(kinds) != 1:
        found = " and ".join(kinds) or "none"
        raise ctx.error(f"needs one of noisy_or, noisy_max, cpt (found {found})", node, "table")
    if kinds[0] != "cpt" and "parents" in entry:
        raise ctx.error(f"only for cpt; {kinds[0]} takes its parents from links", node, "parents")
    if kinds[0] == "cpt":
        return _cpt(ctx, entry, node)
    spec = as_mapping(ctx, entry[kinds[0]], node, kinds[0])
    check_keys(ctx, spec, kinds[0], node, kinds[0])
    return (_noisy_or if kinds[0] == "noisy_or" else _noisy_max)(ctx, spec, node)


def _noisy_or(ctx: Context, spec: Entry, node: str) -> Table:
    """Leaky noisy-OR: P(state) = 1 - (1 - leak) * prod over active links (1 - p), built from
    log(1 - p) = log1p(-p) so that probabilities far below 1e-16 stay exact."""
    states = ctx.states[node]
    if len(states) != 2:
        message = f"is for two states; {shown(node)} has {len(states)}: use noisy_max or cpt"
        raise ctx.error(message, node, "noisy_or")
    target = named_state(ctx, spec.get("state", states[0]), states, node, "noisy_or.state")
    leak = nested_entry(ctx, spec.get("leak"), "entry", node, "noisy_or.leak")
    links = _links(ctx, spec, node, "noisy_or")
    parents = tuple(parent for parent, _, _ in links)
    _check_size(ctx, node, parents, "noisy_or")
    log_off = np.full(tuple(len(ctx.states[p]) for p in parents), 0.0)
    with np.errstate(divide="ignore"):  # log1p(-1) = -inf: a certain link
        log_off += np.log1p(-read_probability(ctx, leak.get("p"), node, "noisy_or.leak.p"))
        for axis, (parent, active, link) in enumerate(links):
            factor = np.zeros(len(ctx.states[parent]))
            p = read_probability(ctx, link.get("p"), node, f"noisy_or.links.{parent}.p")
            factor[active] = np.log1p(-p)
            log_off += factor.reshape([-1 if i == axis else 1 for i in range(log_off.ndim)])
    table = np.empty((*log_off.shape, 2))
    table[..., target], table[..., 1 - target] = -np.expm1(log_off), np.exp(log_off)
    return parents, _complete(table)


def _check_size(ctx: Context, node: str, parents: tuple[str, ...], kind: str) -> tuple[int, ...]:
    """The shape of `node`'s table over `parents`; a ModelError (naming the node, the size and
    the limit) before anything is allocated if it is over `_limits.MAX_TABLE_ENTRIES`."""
    shape = (*(len(ctx.states[p]) for p in parents), len(ctx.states[node]))
    check_table(node, shape, parents=len(parents), file=ctx.file, field=kind)
    return shape


def _complete(table: FloatArray) -> FloatArray:
    """`table` with each row's largest entry replaced by 1 - the others: the small entries are
    the exact ones, and rows then sum to 1 as a float sum (so log P(nothing observed) = 0)."""
    largest = np.argmax(table, axis=-1)[..., np.newaxis]
    np.put_along_axis(table, largest, 0.0, axis=-1)
    np.put_along_axis(table, largest, 1.0 - table.sum(axis=-1, keepdims=True), axis=-1)
    return table


def _noisy_max(ctx: Context, spec: Entry, node: str) -> Table:
    """Noisy-MAX: the state is the highest of independent contributions, P(Y <= s) = prod F_i(s),
    built in logs (see `_max_terms`) so that tiny probabilities stay exact."""
    states = ctx.states[node]
    leak = nested_entry(ctx, spec.get("leak"), "entry", node, "noisy_max.leak")
    links = _links(ctx, spec, node, "noisy_max")
    parents = tuple(parent for parent, _, _ in links)
    shape = _check_size(ctx, node, parents, "noisy_max")
    leak_p = _distribution(ctx, leak.get("p"), states, node, "noisy_max.leak.p", rest=True)
    terms = np.zeros((3, *shape)) + _max_terms(leak_p).reshape(3, *[1] * len(parents), -1)
    for axis, (parent, active, link) in enumerate(links):
        where = f"noisy_max.links.{parent}.p"
        dist = _distribution(ctx, link.get("p"), states, node, where, rest=True)
        if not dist[1:].any():
            message = f"link from {shown(parent)} puts all its weight on the normal state "
            message += f"{shown(states[0])}, so it has no effect"
            ctx.warn(message, node, where)
        factor = np.zeros((3, shape[axis], len(states)))  # an inactive state: F = 1 everywhere
        factor[:, active] = _max_terms(dist)
        terms += factor.reshape(
            3, *(n if i in (axis, len(parents)) else 1 for i, n in enumerate(shape))
        )
    return parents, _max_table(terms[0], terms[1], terms[2] > 0)


def _max_terms(dist: FloatArray) -> FloatArray:
    """For one contribution with distribution `dist`: log F(s), log(F(s) / F(s - 1)) (0 for
    s = 0 and where F(s - 1) = 0) and whether F(s) = 0, each over s; F(s) = P(X <= s).

    F(s) is 1 - P(X > s) from the tail where that tail is small, so a tail of 1e-300 stays
    exact; F(s) / F(s - 1) = 1 + p(s) / F(s - 1) is taken through log1p.
    """
    tail = np.append(np.cumsum(dist[::-1])[::-1][1:], 0.0)  # P(X > s)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_cdf = np.where(tail <= 0.5, np.log1p(-tail), np.log(np.cumsum(dist)))
        cdf = np.exp(log_cdf)
        step = np.zeros_like(dist)
        step[1:] = np.where(cdf[:-1] > 0, np.log1p(dist[1:] / cdf[:-1]), 0.0)
    return np.stack([log_cdf, step, (cdf == 0).astype(np.float64)])


def _max_table(
    log_cdf: FloatArray, log_step: FloatArray, zero: npt.NDArray[np.bool_]
) -> FloatArray:
    """P(Y = s) from log P(Y <= s), log(P(Y <= s) / P(Y <= s - 1)) and where P(Y <= s) = 0:
    P(Y = s) = P(Y <= s - 1) * expm1(log ratio), or P(Y <= s) where P(Y <= s - 1) = 0."""
    table = np.empty_like(log_cdf)
    with np.errstate(divide="ignore", over="ignore"):
        table[..., 0] = np.exp(log_cdf[..., 0])
        step = log_step[..., 1:]
        log_rise = np.where(step > 30, step + np.log1p(-np.exp(-step)), np.log(np.expm1(step)))
        rise = np.exp(log_cdf[..., :-1] + log_rise)
    table[..., 1:] = np.where(zero[..., :-1], np.exp(log_cdf[..., 1:]), rise)
    return _complete(np.clip(table, 0.0, 1.0))


def _links(ctx: Context, spec: Entry, node: str, kind: str) -> list[tuple[str, int, Entry]]:
    """(parent, active state index, link entry) for each link of a noisy table."""
    links = as_mapping(ctx, spec.get("links"), node, f"{kind}.links")
    if not links:
        raise ctx.error("no links (without parents, use a one-row cpt)", node, f"{kind}.links")
    result = []
    for parent, raw in links.items():
        where = f"{kind}.links.{parent}"
        check_parent(ctx, parent, node, where)
        link = nested_entry(ctx, raw, "link", node, where)
        result.append((str(parent), _active(ctx, link, str(parent), node, where), link))
    return result


def _active(ctx: Context, link: Entry, parent: str, node: str, where: str) -> int:
    """The index of the parent state that activates a link: `when`, else `present` for a cause."""
    states = ctx.states[parent]
    if "when" in link:
        return named_state(ctx, link["when"], states, node, f"{where}.when")
    if ctx.roles[parent] == "cause":
        return states.index("present")
    message = (
        f"missing: the state of {shown(parent)} (one of {shown(list(states))}) "
        "that activates the link"
    )
    raise ctx.error(message, node, f"{where}.when")


def _cpt(ctx: Context, entry: Entry, node: str) -> Table:
    """A full table: one row per configuration of the parents, each exactly once."""
    parents = _parents(ctx, entry.get("parents", []), node)
    rows = entry["cpt"]
    if not isinstance(rows, list):
        raise ctx.error("must be a list of rows ({when: ..., p: ...})", node, "cpt")
    shape = _check_size(ctx, node, parents, "cpt")[:-1]
    table = np.full((*shape, len(ctx.states[node])), np.nan)
    for i, raw in enumerate(rows):
        row = nested_entry(ctx, raw, "row", node, f"cpt[{i}]", provenance=False)
        config = _configuration(ctx, row.get("when", {}), parents, node, f"cpt[{i}]")
        where = f"cpt[{_label(ctx, parents, config)}]"
        if not np.isnan(table[config][0]):
            raise ctx.error("repeated row: each configuration of the parents once", node, where)
        read_provenance(ctx, row, node, where)
        table[config] = _distribution(ctx, row.get("p"), ctx.states[node], node, f"{where}.p")
    for config in np.ndindex(*shape):
        if np.isnan(table[config][0]):
            raise ctx.error(f"no row for {_label(ctx, parents, config)}", node, "cpt")
    return parents, table


def _parents(ctx: Context, raw: object, node: str) -> tuple[str, ...]:
    """A cpt's `parents` list, each an existing node named once."""
    if not isinstance(raw, list):
        raise ctx.error("must be a list of node ids", node, "parents")
    for parent in raw:
        check_parent(ctx, parent, node, "parents")
    if len(set(raw)) != len(raw):
        raise ctx.error(f"a parent is named twice in {raw}", node, "parents")
    return tuple(raw)


def _configuration(
    ctx: Context, raw: object, parents: tuple[str, ...], node: str, where: str
) -> tuple[int, ...]:
    """The state indices of the parents named by a row's `when`."""
    when = as_mapping(ctx, raw, node, f"{where}.when")
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
        named_state(ctx, when[p], ctx.states[p], node, f"{where}.when.{p}") for p in parents
    )


def _label(ctx: Context, parents: tuple[str, ...], config: tuple[int, ...]) -> str:
    """A configuration of the parents as written in a row's `when`."""
    pairs = (f"{p}: {ctx.states[p][s]}" for p, s in zip(parents, config, strict=True))
    return "{" + ", ".join(pairs) + "}"


def _distribution(
    ctx: Context, raw: object, states: tuple[str, ...], node: str, where: str, rest: bool = False
) -> FloatArray:
    """A distribution over `states` (unlisted states 0, or with `rest` the first takes the rest)."""
    p = as_mapping(ctx, raw, node, where)
    dist = np.zeros(len(states))
    for state, value in p.items():
        dist[named_state(ctx, state, states, node, where)] = read_probability(
            ctx, value, node, f"{where}.{state}"
        )
    if rest and states[0] not in p:
        dist[0] = max(0.0, math.fsum([1.0, *(-dist[1:])]))  # exactly rounded: 1 - 1e-300 too
    total = float(dist.sum())
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise ctx.error(f"probabilities sum to {total:.12g}, not 1", node, where)
    return dist
