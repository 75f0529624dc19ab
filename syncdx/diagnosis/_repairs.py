"""Repairs: the actions a planner can take, and the expected cost of trying them in order.

`Repairs` holds the actions as arrays over causes. `_sequence.sequence_cost` is the expected
cost of repair (ECR) of acting without asking anything more, for many beliefs over fault sets
at once (`_faults`): actions go in order of P(fixes every cause still present) / cost, re-ranked
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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis import _soft
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
