"""The expected cost of repair of acting without asking more, for many beliefs at once.

`sequence_cost` is the ECR of the efficiency-ordered actions (`_repairs` says why this order and
how the last resort takes its place) for each row of weights over fault sets (`_faults`):

    ECR = sum_k C_k * P(not fixed before step k)

Each step ranks every action of every row by P(it fixes every cause still present) / cost, takes
the best one not tried yet, and moves the row's weights as a failure of it would: the rows that
try the same action move together, over the sets that action may change. The ranking reads only
the sets some action (the last resort aside) can fix in full (`_Tables.support`: on a model of
single-cause actions, the single causes and a few pairs), and is laid out action by row, so
that a row's best action is one reduction over contiguous rows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from syncdx._ranking import TIE
from syncdx.diagnosis._faults import FaultSets, IntArray
from syncdx.diagnosis._repairs import Repairs
from syncdx.network._network import FloatArray


def sequence_cost(
    sets: FaultSets, weights: FloatArray, repairs: Repairs, excluded: IntArray | None = None
) -> tuple[FloatArray, IntArray]:
    """ECR of the efficiency-ordered actions, and the first of them, for each row of weights.

    `weights` (rows, sets) weigh the fault sets present now, on any scale (a zero row costs 0);
    `excluded` (rows,) is an action (a position in `repairs.ids`, not the last resort) each row
    goes without, or -1. Returns (rows,) minutes and (rows,) positions in `repairs.ids`; see
    the module.
    """
    total = weights.sum(axis=1)
    cost, first = np.zeros(len(weights)), np.zeros(len(weights), dtype=np.intp)
    rows = np.flatnonzero(total > 0)  # the rows whose sequence goes on; the others cost 0
    tables = _tables(sets, repairs)
    scale = total[rows, np.newaxis]  # not its reciprocal: that overflows for subnormal sums
    p = weights[rows] / scale if len(rows) < len(weights) else weights / scale
    tried = tables.tried(rows, excluded)
    for k in range(len(repairs.ids)):
        if excluded is not None and k == len(repairs.ids) - 1:  # rows that went without one
            going = np.flatnonzero(~tried.all(axis=0))  # have no action left (no last resort)
            rows, p, tried = rows[going], p[going], tried[:, going]
        if not rows.size:
            break
        efficiency, alive = tables.efficiency(p, tried)
        pick = tables.pick(efficiency)  # a position in `tables.order`
        if k == 0:
            first[rows] = tables.order[pick]
        cost[rows] += tables.costs[pick] * alive
        tried[pick, np.arange(len(rows))] = True
        going = tables.going(pick)
        rows, p, tried, pick = rows[going], p[going], tried[:, going], pick[going]
        tables.move_groups(p, pick)
    return cost, first


@dataclass(frozen=True, slots=True)
class _Tables:
    """What `sequence_cost` needs of the repairs over the fault sets, actions in `order` (model
    order, the last resort, at position `last`, moved to the end; -1 without one; `rank`, each
    action's position there) with their `costs`: `weigh` (actions, support) P(an action fixes
    every cause of a set of `support`), over its cost when every action costs time (`finite`),
    the last resort's row zero (it is P(reached) / C_last by the swap rule), `ones` (sets,),
    `positions` 0 to actions, `actions` `order` as a list; and per action (in model order) the
    sets it may change (`changed`: those holding a cause it may fix, then their subsets) and
    its transition matrix among them (`moved`: the rows of the sets holding a cause as the
    transitions say, the subsets' rows the identity: they only receive)."""

    order: IntArray
    rank: IntArray
    costs: FloatArray
    last: int
    support: IntArray
    weigh: FloatArray
    finite: bool
    ones: FloatArray
    positions: IntArray
    actions: list[int]
    changed: tuple[IntArray, ...]
    moved: tuple[FloatArray, ...]

    def efficiency(
        self, p: FloatArray, tried: npt.NDArray[np.bool_]
    ) -> tuple[FloatArray, FloatArray]:
        """(actions, rows) P(the action fixes the problem now) / cost, -inf where `tried`
        (actions, rows), the last resort's by the swap rule, P(reached) / C_last; and (rows,)
        P(reached), the weights' sum."""
        alive = p @ self.ones
        efficiency = self.weigh @ p[:, self.support].T
        if self.finite:
            if self.last >= 0:
                efficiency[self.last] = alive * (1.0 / self.costs[self.last])
        else:
            if self.last >= 0:
                efficiency[self.last] = alive
            efficiency = _free(efficiency, self.costs)
        np.copyto(efficiency, -np.inf, where=tried)
        return efficiency, alive

    def pick(self, efficiency: FloatArray) -> IntArray:
        """Each row's most efficient action; among ties (relative: efficiencies shrink with
        P(not fixed yet)) the first in `order`, so the last resort only if no other ties."""
        top = efficiency.max(axis=0)
        if self.finite:  # the largest magnitude among finite entries is the row's maximum
            tie = TIE * top
        else:
            finite = np.isfinite(efficiency)
            tie = TIE * np.where(finite, np.abs(efficiency), 0.0).max(axis=0, initial=0.0)
        picked: IntArray = np.argmax(efficiency >= top - tie, axis=0)
        return picked

    def tried(self, rows: IntArray, excluded: IntArray | None) -> npt.NDArray[np.bool_]:
        """(actions, rows) False, but True where a row goes without its `excluded` action."""
        tried = np.zeros((len(self.order), len(rows)), dtype=bool)  # by `order`, row
        if excluded is not None:
            without = np.flatnonzero(excluded[rows] >= 0)
            tried[self.rank[excluded[rows[without]]], without] = True
        return tried

    def going(self, pick: IntArray) -> IntArray:
        """The rows whose sequence goes on (the last resort ends one), grouped by `pick`."""
        order: IntArray = np.argsort(pick, kind="stable")  # the last resort's rows at the end
        return order[: len(pick) - np.count_nonzero(pick == self.last)] if self.last >= 0 else order

    def move_groups(self, p: FloatArray, pick: IntArray) -> None:
        """Move each row of `p` in place as a failure of its `pick` would (rows grouped by
        pick, in order): `p @ transitions`, computed only where the action changes `p`."""
        bounds = np.searchsorted(pick, self.positions).tolist()
        for position, action in enumerate(self.actions):
            start, stop = bounds[position], bounds[position + 1]
            if start < stop:
                changed, block = self.changed[action], p[start:stop]
                block[:, changed] = block[:, changed] @ self.moved[action]


def _free(efficiency: FloatArray, costs: FloatArray) -> FloatArray:
    """P / C from (actions, rows) P when an action is free (P / 0 = inf, first; NaN read as 0,
    infinities as the largest finite numbers)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        efficiency = efficiency / costs[:, np.newaxis]
    efficiency[np.isnan(efficiency)] = 0.0
    return np.asarray(np.clip(efficiency, -_LARGEST, _LARGEST, out=efficiency))


_LARGEST = float(np.finfo(np.float64).max)

_TABLES: dict[tuple[int, int, bytes, bytes, int], _Tables] = {}


def _tables(sets: FaultSets, repairs: Repairs) -> _Tables:
    """The `_Tables` of these sets and repairs (remembered: a planning call asks again and
    again, with the same repairs or one fewer)."""
    key = (sets.causes, sets.size, repairs.fix.tobytes(), repairs.costs.tobytes(), repairs.last)
    found = _TABLES.get(key)
    if found is None:
        found = _build(sets, repairs)
        if len(_TABLES) >= 256:
            _TABLES.clear()
        _TABLES[key] = found
    return found


def _build(sets: FaultSets, repairs: Repairs) -> _Tables:
    """The `_Tables` of these sets and repairs, computed."""
    order = _order(len(repairs.ids), repairs.last)
    costs = repairs.costs[order]
    finite = bool((costs > 0).all())
    fixes_all = sets.all_fixed(repairs.fix)[order]  # (actions, sets)
    last = len(order) - 1 if repairs.last >= 0 else -1
    if last >= 0:
        fixes_all[last] = 0.0
    support = np.flatnonzero(fixes_all.any(axis=0))
    weigh = fixes_all[:, support] / (costs[:, np.newaxis] if finite else 1.0)
    ranking = (order, np.argsort(order), costs, last, support, weigh, finite)
    steps = (np.ones(sets.size), np.arange(len(order) + 1), order.tolist())
    return _Tables(*ranking, *steps, *_moves(sets, repairs))


def _moves(
    sets: FaultSets, repairs: Repairs
) -> tuple[tuple[IntArray, ...], tuple[FloatArray, ...]]:
    """Per action, the sets it may change and its transitions among them (`_Tables`)."""
    matrices = sets.transitions(1.0 - repairs.fix)  # (actions, sets, sets)
    touched = [np.flatnonzero(sets.indicator @ (fix != 0.0)) for fix in repairs.fix]
    changed = [
        np.concatenate([rows, np.setdiff1d(np.flatnonzero(m[rows].any(axis=0)), rows)])
        for m, rows in zip(matrices, touched)
    ]
    moved = tuple(_moved(m, t, c) for m, t, c in zip(matrices, touched, changed))
    return tuple(changed), moved


def _moved(transitions: FloatArray, touched: IntArray, changed: IntArray) -> FloatArray:
    """An action's transitions among the sets it may change (its touched sets first, which
    move as `transitions` says; the others only receive, so they keep what they hold)."""
    out = np.zeros((len(changed), len(changed)))
    out[: len(touched)] = transitions[np.ix_(touched, changed)]
    kept = np.arange(len(touched), len(changed))
    out[kept, kept] = 1.0
    return out


@functools.cache
def _order(actions: int, last: int) -> IntArray:
    """The actions in model order, the last resort (if any) moved to the end."""
    order = np.arange(actions)
    return order if last < 0 else np.append(np.delete(order, last), last)
