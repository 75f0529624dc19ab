"""Repairs: the actions a planner can take, and the expected cost of trying them in order.

`Repairs` holds the actions as arrays over causes. `sequence_cost` is the expected cost of
repair (ECR) of acting without asking anything more, for many beliefs over fault sets at once
(`_faults`): actions go in order of P(fixes every cause still present) / cost, re-ranked
after each hypothetical failure (under a single fault its first step is the static P / C order
of Heckerman, Breese and Rommelse, optimal for independent single-cause actions), and

    ECR = sum_k C_k * P(not fixed before step k)

is exact for that sequence under the belief. The last resort (the action with `last_resort`,
which also fixes every unlisted cause with `fixes_rest`) ends a session whatever it fixes, so
only its cost counts: swapping it with the step k before it shows that k belongs first exactly
when C_k + (1 - P_k) C_last < C_last, that is P_k / C_k > P(reached) / C_last. It takes its place
in the order by that rule and ends the sequence; without a last resort every action is in it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from syncdx._ranking import TIE
from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis import _soft
from syncdx.diagnosis._faults import FaultSets, IntArray
from syncdx.network._network import Action, FloatArray, Network


@dataclass(frozen=True, slots=True)
class Repairs:
    """The repair actions available, as arrays over causes (in model order).

    `fix[a, c]` is the probability that action a fixes cause c; `last` is the position of the
    last resort among `ids`, or -1 if there is none.
    """

    ids: tuple[str, ...]
    costs: FloatArray
    fix: FloatArray
    last: int

    @classmethod
    def of(cls, network: Network, causes: tuple[str, ...], exclude: Iterable[str] = ()) -> Repairs:
        """Every action of the network except those in `exclude` (the last resort always stays)."""
        gone = set(exclude)
        kept = [a for a in network.actions if a.last_resort or a.id not in gone]
        fix = np.array([fix_probabilities(a, causes) for a in kept]).reshape(len(kept), len(causes))
        last = next((k for k, a in enumerate(kept) if a.last_resort), -1)
        return cls(tuple(a.id for a in kept), np.array([a.cost for a in kept]), fix, last)

    def without(self, position: int) -> Repairs:
        """These repairs less the one at `position`."""
        keep = [k for k in range(len(self.ids)) if k != position]
        last = -1 if self.last in (-1, position) else self.last - (position < self.last)
        return Repairs(tuple(self.ids[k] for k in keep), self.costs[keep], self.fix[keep], last)


def fix_probabilities(action: Action, causes: tuple[str, ...]) -> list[float]:
    """P(`action` fixes each cause), in the order of `causes`."""
    rest = action.fixes_rest if action.last_resort else 0.0
    return [action.fixes.get(c, rest) for c in causes]


def not_fixed(network: Network, failed: Iterable[str]) -> tuple[FloatArray, list[bool]]:
    """What "these actions did not fix it" says of each cause, in model order: P(the cause, if
    present, is still present), the product of 1 - P(fix) over the failed actions (each
    failure independent), and whether any of them targets it at all.

    The one reading of a failed repair: the planner moves fault sets with it (`_plan`), and
    `failure_evidence` turns it into soft evidence. An `EvidenceError` for an unknown action.
    """
    causes = network.ids("cause")
    stay, targeted = np.ones(len(causes)), [False] * len(causes)
    for action_id in failed:
        fixes = fix_probabilities(network.action(action_id), causes)
        for c, q in enumerate(fixes):
            if q != 0.0:
                stay[c] *= 1.0 - q
                targeted[c] = True
    return stay, targeted


def failure_evidence(network: Network, failed: Iterable[str]) -> dict[str, dict[str, float]]:
    """Soft evidence on causes from actions that did not fix the problem (`not_fixed`).

    A cause that the failed actions target gets likelihood 1 in its normal state and
    P(still present) in the others. This is the single-fault reading of a failure, behind the
    posterior a `Session` shows and `Step.why`; the planner itself treats failures over fault
    sets (see `_plan`).
    """
    stay, targeted = not_fixed(network, failed)
    weights: dict[str, dict[str, float]] = {}
    for cause, p, hit in zip(network.ids("cause"), stay.tolist(), targeted):
        if hit:
            variable = network.variable(cause)
            weights[cause] = {s: 1.0 if s == variable.normal else p for s in variable.states}
    return weights


def described_failures(network: Network, failed: Iterable[str]) -> dict[str, _soft.Reported]:
    """`failure_evidence`, each cause's weights naming the actions that did not fix it."""
    failed = tuple(failed)
    causes = network.ids("cause")
    fixing = {a: fix_probabilities(network.action(a), causes) for a in failed}
    return {
        cause: _soft.Reported(
            weights,
            " and ".join(a for a in fixing if fixing[a][causes.index(cause)] > 0)
            + " did not fix it",
        )
        for cause, weights in failure_evidence(network, failed).items()
    }


def with_failures(
    network: Network, soft: ev.SoftEvidence | None, failed: Iterable[str]
) -> dict[str, Mapping[str, float]]:
    """`soft` and the failed repairs' evidence on the causes they target, together: what the
    posterior of a session, `Step.why` and an explanation condition on."""
    return combine_soft(network, soft, described_failures(network, failed))


def combine_soft(
    network: Network, first: ev.SoftEvidence | None, second: Mapping[str, Mapping[str, float]]
) -> dict[str, Mapping[str, float]]:
    """Soft evidence of both: the weights of a node in both multiplied state by state, any
    other node's weights as given (a `Reported` reason stays). `first` may spell states as
    answers are spelled, and is checked as soft evidence is; `second` uses the model's names."""
    _soft.encode_soft(network, first)  # an EvidenceError in the user's own terms if it is bad
    out: dict[str, Mapping[str, float]] = dict(first or {})
    for node, weights in second.items():
        if node in out:
            variable = ev.node(network, node)
            given = {
                variable.states[ev.state_index(variable, s, ev.NO_WORDS)]: w
                for s, w in out[node].items()
            }
            out[node] = {s: given.get(s, 0.0) * w for s, w in weights.items()}
        else:
            out[node] = weights
    return out


def sequence_cost(
    sets: FaultSets, weights: FloatArray, repairs: Repairs
) -> tuple[FloatArray, IntArray]:
    """ECR of the efficiency-ordered actions, and the first of them, for each row of weights.

    `weights` (rows, sets) weigh the fault sets present now, on any scale (a zero row costs 0).
    Returns (rows,) minutes and (rows,) positions in `repairs.ids`; see the module.
    """
    total = weights.sum(axis=1)
    cost, first = np.zeros(len(weights)), np.zeros(len(weights), dtype=np.intp)
    rows = np.flatnonzero(total > 0)  # the rows whose sequence goes on; the others cost 0
    p = weights[rows] / total[rows, np.newaxis]
    used = np.zeros((len(rows), len(repairs.ids)), dtype=bool)
    tables = _tables(sets, repairs)
    for k in range(len(repairs.ids)):
        if not rows.size:
            break
        efficiency, alive = tables.efficiency(p, repairs)  # alive: P(not fixed before step k)
        efficiency[used] = -np.inf
        pick = _pick(efficiency, repairs.last, finite=tables.per_minute is not None)
        if k == 0:
            first[rows] = pick
        cost[rows] += repairs.costs[pick] * alive
        used[np.arange(len(rows)), pick] = True
        # the last resort ends a sequence; the other rows are grouped by the action they try
        order = np.argsort(np.where(pick == repairs.last, -1, pick), kind="stable")
        order = order[np.count_nonzero(pick == repairs.last) :]
        rows, p, used, pick = rows[order], p[order], used[order], pick[order]
        starts = [0, *(np.flatnonzero(pick[1:] != pick[:-1]) + 1).tolist()] if pick.size else []
        for start, stop in zip(starts, [*starts[1:], len(pick)]):
            tables.move(int(pick[start]), p[start:stop])
    return cost, first


@dataclass(frozen=True, slots=True)
class _Tables:
    """What `sequence_cost` needs of the repairs over the fault sets: `fixes_all` (sets,
    actions) P(an action fixes every cause of a set), `per_minute` (sets, actions + 1) the
    same over each action's cost (1 / C_last for the last resort, whatever the set), then a
    column of ones, when every action costs time (None if one is free), and per action the
    sets it may change (`changed`: those holding a cause it may fix, then their subsets) and
    its transition matrix among them (`moved`: the rows of the sets holding a cause as the
    transitions say, the subsets' rows the identity: they only receive)."""

    fixes_all: FloatArray
    per_minute: FloatArray | None
    changed: tuple[IntArray, ...]
    moved: tuple[FloatArray, ...]

    def efficiency(self, p: FloatArray, repairs: Repairs) -> tuple[FloatArray, FloatArray]:
        """(rows, actions) P(the action fixes the problem now) / cost, the last resort's by
        the swap rule, P(reached) / C_last; and (rows,) P(reached), the weights' sum."""
        if self.per_minute is None:
            alive = p.sum(axis=1)
            return _efficiency(p, alive, self.fixes_all, repairs), alive
        both = p @ self.per_minute  # its last column sums the weights
        return both[:, :-1], both[:, -1]

    def move(self, action: int, p: FloatArray) -> None:
        """`p @ transitions` for `action`, in place, computed only where it changes `p`."""
        changed = self.changed[action]
        p[:, changed] = p[:, changed] @ self.moved[action]


_TABLES: dict[tuple[int, int, bytes, bytes, int], _Tables] = {}


def _tables(sets: FaultSets, repairs: Repairs) -> _Tables:
    """The `_Tables` of these sets and repairs (remembered: a planning call asks again and
    again, with the same repairs or one fewer)."""
    key = (sets.causes, sets.size, repairs.fix.tobytes(), repairs.costs.tobytes(), repairs.last)
    found = _TABLES.get(key)
    if found is None:
        matrices = sets.transitions(1.0 - repairs.fix)  # (actions, sets, sets)
        touched = [np.flatnonzero(sets.indicator @ (fix != 0.0)) for fix in repairs.fix]
        changed = [
            np.concatenate([rows, np.setdiff1d(np.flatnonzero(m[rows].any(axis=0)), rows)])
            for m, rows in zip(matrices, touched)
        ]
        moved = tuple(_moved(m, t, c) for m, t, c in zip(matrices, touched, changed))
        fixes_all = sets.all_fixed(repairs.fix).T.copy()
        per_minute = None
        if (repairs.costs > 0).all():
            per_minute = np.concatenate([fixes_all / repairs.costs, np.ones((sets.size, 1))], 1)
            if repairs.last >= 0:
                per_minute[:, repairs.last] = 1.0 / repairs.costs[repairs.last]
        found = _Tables(fixes_all, per_minute, tuple(changed), moved)
        if len(_TABLES) >= 256:
            _TABLES.clear()
        _TABLES[key] = found
    return found


def _moved(transitions: FloatArray, touched: IntArray, changed: IntArray) -> FloatArray:
    """An action's transitions among the sets it may change (its touched sets first, which
    move as `transitions` says; the others only receive, so they keep what they hold)."""
    out = np.zeros((len(changed), len(changed)))
    out[: len(touched)] = transitions[np.ix_(touched, changed)]
    kept = np.arange(len(touched), len(changed))
    out[kept, kept] = 1.0
    return out


def _efficiency(
    p: FloatArray, alive: FloatArray, fixes_all: FloatArray, repairs: Repairs
) -> FloatArray:
    """`_Tables.efficiency` when an action is free (NaN read as 0, infinities as the largest
    finite numbers)."""
    with np.errstate(divide="ignore", invalid="ignore"):  # a free action: P / 0 = inf, first
        efficiency = (p @ fixes_all) / repairs.costs
        if repairs.last >= 0:
            efficiency[:, repairs.last] = alive / repairs.costs[repairs.last]
    efficiency[np.isnan(efficiency)] = 0.0
    return np.asarray(np.clip(efficiency, -_LARGEST, _LARGEST, out=efficiency))


_LARGEST = float(np.finfo(np.float64).max)


def _pick(efficiency: FloatArray, last: int, *, finite: bool = False) -> IntArray:
    """Each row's most efficient action; among ties (relative: efficiencies shrink with P(not
    fixed yet)) the first in model order, and the last resort only if no other action ties.
    `finite`: every entry is a finite number >= 0 or -inf (an action already tried), and each
    row has a finite one.

    `_ranking.best` with `relative_tie`, for tables without NaN (`_efficiency` clears them)."""
    order = _order(efficiency.shape[1], last)
    table = efficiency[:, order]
    top_value = table.max(axis=1, keepdims=True)
    if finite:  # the largest magnitude among finite entries is the row's maximum
        tie = TIE * top_value
    else:
        magnitudes = np.where(np.isfinite(efficiency), np.abs(efficiency), 0.0)
        tie = TIE * magnitudes.max(axis=1, keepdims=True, initial=0.0)
    top = np.argmax(table >= top_value - tie, axis=1)
    picked: IntArray = order[top]
    return picked


@functools.cache
def _order(actions: int, last: int) -> IntArray:
    """The actions in model order, the last resort (if any) moved to the end."""
    order = np.arange(actions)
    return order if last < 0 else np.append(np.delete(order, last), last)
