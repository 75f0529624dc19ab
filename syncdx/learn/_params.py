"""The learnable numbers of a model, read from (and written back to) its YAML document.

Each node is a `Family`: its distributions, one per row, each with a prior weight (the
`confidence` in equivalent cases) and a `frozen` flag, and where each row lives in the document.

- a cause: one row, its prior [P(normal), P(other states)];
- a `cpt`: one row per configuration of the parents;
- a leaky noisy-OR or noisy-MAX: row 0 the leak, row i the distribution of link i's
  contribution over the node's *levels* (noisy-MAX: its states in order; noisy-OR: off, on).
  The node's level is the highest contribution of the leak and the active links.

`confidence` and `frozen` may be written on a cause, a node (for all its numbers), a link, the
leak or a cpt row; the nearest one holds, else the default confidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from syncdx.errors import ModelError
from syncdx.network._network import FloatArray, Network

Kind = Literal["cpt", "noisy"]


@dataclass(slots=True)
class Family:
    """One node's learnable rows (mutable while fitting: `rows` is updated in place).

    `rows` (R, S): distributions; `weight` (R,): prior counts; `frozen` (R,); `entries`: the
    document mapping holding each row's `p` (None for a cause, whose `prior` is on `node_entry`).
    noisy: `levels` maps level j to the node's state index, `active[i]` is link i's parent
    (variable index) and the state that activates it (row i + 1).
    """

    node: int
    kind: Kind
    rows: FloatArray
    weight: FloatArray
    frozen: np.ndarray
    entries: list[dict[str, Any] | None]
    node_entry: dict[str, Any]
    levels: tuple[int, ...] = ()
    active: tuple[tuple[int, int], ...] = ()


def families(document: dict[str, Any], network: Network, confidence: float) -> list[Family]:
    """The learnable families of every node of `document` (which `network` was read from)."""
    out = []
    for section in ("causes", "observations", "hidden"):
        for entry in document.get(section) or []:
            out.append(_family(entry, network, confidence, section == "causes"))
    return out


def settings(entry: dict[str, Any], default: tuple[float, bool], node: str) -> tuple[float, bool]:
    """(confidence, frozen) of an entry, falling back on `default`."""
    weight = entry.get("confidence", default[0])
    frozen = entry.get("frozen", default[1])
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight >= 0:
        raise ModelError(f"confidence must be a number of cases >= 0, not {weight!r}", node=node)
    if not isinstance(frozen, bool):
        raise ModelError(f"frozen must be true or false, not {frozen!r}", node=node)
    return float(weight), frozen


def _family(entry: dict[str, Any], network: Network, confidence: float, cause: bool) -> Family:
    node = network.index[str(entry["id"])]
    own = settings(entry, (confidence, False), str(entry["id"]))
    if cause:
        row = network.cpts[node][np.newaxis].copy()
        return Family(node, "cpt", row, np.array([own[0]]), np.array([own[1]]), [None], entry)
    if "cpt" in entry:
        return _cpt(entry, network, node, own)
    return _noisy(entry, network, node, own)


def _cpt(entry: dict[str, Any], network: Network, node: int, own: tuple[float, bool]) -> Family:
    variables, parents = network.variables, network.parents[node]
    table = network.cpts[node]
    rows = table.reshape(-1, table.shape[-1]).copy()
    order: list[dict[str, Any] | None] = [None] * len(rows)
    per_row = [own] * len(rows)
    for row in entry["cpt"]:
        config = tuple(
            variables[p].states.index(str(row["when"][variables[p].id])) for p in parents
        )
        flat = int(np.ravel_multi_index(config, table.shape[:-1])) if parents else 0
        order[flat] = row
        per_row[flat] = settings(row, own, variables[node].id)
    weight = np.array([w for w, _ in per_row])
    frozen = np.array([f for _, f in per_row])
    return Family(node, "cpt", rows, weight, frozen, order, entry)


def _noisy(entry: dict[str, Any], network: Network, node: int, own: tuple[float, bool]) -> Family:
    variable = network.variables[node]
    kind = "noisy_or" if "noisy_or" in entry else "noisy_max"
    spec = entry[kind]
    states = variable.states
    if kind == "noisy_or":
        on = states.index(str(spec.get("state", states[0])))
        levels: tuple[int, ...] = (1 - on, on)
    else:
        levels = tuple(range(len(states)))
    entries = [spec["leak"], *spec["links"].values()]
    rows = np.array([_levels(e["p"], kind, states, levels) for e in entries])
    per_row = [settings(e, own, variable.id) for e in entries]
    active = tuple(
        _active(network, str(parent), link, variable.id) for parent, link in spec["links"].items()
    )
    return Family(
        node,
        "noisy",
        rows,
        np.array([w for w, _ in per_row]),
        np.array([f for _, f in per_row]),
        entries,
        entry,
        levels,
        active,
    )


def _levels(p: Any, kind: str, states: tuple[str, ...], levels: tuple[int, ...]) -> FloatArray:
    """A link's or leak's distribution over levels, from its `p` as written."""
    if kind == "noisy_or":
        return np.array([1.0 - float(p), float(p)])
    dist = np.zeros(len(states))
    for state, value in p.items():
        dist[states.index(str(state))] = float(value)
    if states[0] not in p:
        dist[0] = max(0.0, math.fsum([1.0, *(-dist[1:])]))
    return dist[list(levels)]


def _active(network: Network, parent: str, link: dict[str, Any], node: str) -> tuple[int, int]:
    variable = network.variable(parent)
    state = link.get("when", "present")
    return network.index[parent], variable.states.index(str(state))


def table(family: Family, network: Network) -> FloatArray:
    """The node's conditional table from the family's current rows."""
    if family.kind == "cpt":
        return family.rows.reshape(network.cpts[family.node].shape).copy()
    return noisy_table(family, network, family.rows)


def noisy_table(family: Family, network: Network, rows: FloatArray) -> FloatArray:
    """A noisy-MAX table: P(level <= j | parents) = prod over the leak and active links of
    their CDFs at j; states in the node's order."""
    parents = network.parents[family.node]
    shape = tuple(network.cards[p] for p in parents)
    cdf = np.cumsum(rows, axis=1)
    cdf[:, -1] = 1.0
    total = np.broadcast_to(cdf[0], (*shape, rows.shape[1])).copy()
    position = {p: axis for axis, p in enumerate(parents)}
    for i, (parent, state) in enumerate(family.active, start=1):
        axis = position[parent]
        factor = np.ones((shape[axis], rows.shape[1]))
        factor[state] = cdf[i]
        total *= factor.reshape([shape[axis] if a == axis else 1 for a in range(len(shape))] + [-1])
    levels = np.diff(total, axis=-1, prepend=0.0).clip(0.0, 1.0)
    out = np.empty_like(levels)
    out[..., list(family.levels)] = levels
    return np.asarray(out / out.sum(axis=-1, keepdims=True), dtype=np.float64)
