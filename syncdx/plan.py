"""Troubleshooting planner: the next step that minimises the expected cost of getting a fix.

Decision-theoretic troubleshooting in the tradition of Heckerman, Breese and Rommelse (1995) and
the SACSO printer troubleshooter. A step is either a question (it costs the minutes needed to
check it and reveals an answer) or a repair action (it costs minutes and fixes each cause it
targets with a success probability). The algorithm, at each step:

1. Belief. P(cause present | e) from the exact posterior, where e holds the answers so far and,
   for every action tried without success, soft evidence on each cause c it targets: an action
   that fixes c with probability q fails with likelihood (1 - q) if c is present and 1 if not.
   Several failures multiply. This is exact for independent root causes.
2. Single-fault approximation. The cause probabilities are normalised to p_c (summing to one):
   exactly one cause is taken to be behind the problem. Then P(action a fixes it) = sum_c p_c q_ac.
3. Efficiency ordering. Actions are taken in order of P(fix) / cost, most efficient first,
   where P(fix) is updated after each (hypothetical) failure of the actions before it: under a
   single fault that is p_c multiplied by (1 - q_jc) for every earlier action j, renormalised
   (the static order of Heckerman et al. is its first step; recomputing it after each failure
   costs little and gave a lower simulated repair cost). The last resort (the action with
   `last_resort`, which also fixes every unlisted cause with `fixes_rest`) ends the session
   whatever it fixes, so only its cost counts: swapping it with the step k before it shows that
   k belongs first exactly when C_k + (1 - P_k) C_last < C_last, that is P_k / C_k > 1 / C_last.
   It takes its place in the order by that rule, and actions after it are never reached
   (putting it strictly last instead costs far more in simulation). The sequence's
   expected cost of repair is

       ECR(e) = sum_k C_k * P(not fixed before step k)
       P(not fixed before step k) = sum_c p_c * prod_{j<k} (1 - q_jc)

4. One-step look-ahead. For each unanswered question Q, the expected cost of observing first is
   ECO(Q) = C_Q + sum_s P(Q = s | e) * ECR(e, Q = s). All hypothetical answers of all questions
   are computed in one batched pass. If the cheapest ECO is below ECR(e), ask that question;
   otherwise take the first action of the efficiency order.

Assumptions and limits: one fault at a time (several present causes are handled only through
re-planning after each failed action); each action is tried at most once, except the last
resort, which is always available; failures of different actions are independent; the ordering
by efficiency is optimal only for single-fault, independent actions, and the look-ahead is
myopic (a question worth asking only together with another is not found). A model without a
last resort keeps every action in the sequence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from syncdx import evidence as ev
from syncdx.errors import EvidenceError, ModelError
from syncdx.network import Action, FloatArray, Network
from syncdx.recommend import Layout, Lookahead, evidence_likelihoods, lookahead, question_cost

if TYPE_CHECKING:
    import pandas as pd

    from syncdx.model import Model

StepKind = Literal["question", "action"]
#: ECO must undercut ECR by more than this many minutes for a question to be asked.
TOLERANCE = 1e-9
#: How many causes `Step.why` names for a question or the last resort.
WHY_TOP = 3


@dataclass(frozen=True, slots=True)
class Step:
    """The recommended next step of a troubleshooting session.

    `kind` is "question" (ask observation `id`; `answers` are its states) or "action" (do repair
    `id`). `cost` is its own cost in minutes; `expected_cost` the expected cost to repair from
    here (ECR), this step included. `why` lists the causes it targets with P(present | e).
    """

    kind: StepKind
    id: str
    text: str
    cost: float
    expected_cost: float
    why: tuple[tuple[str, float], ...]
    answers: tuple[str, ...] = ()
    last_resort: bool = False


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
        fix = np.array(
            [[a.fixes.get(c, a.fixes_rest if a.last_resort else 0.0) for c in causes] for a in kept]
        ).reshape(len(kept), len(causes))
        last = next((k for k, a in enumerate(kept) if a.last_resort), -1)
        return cls(tuple(a.id for a in kept), np.array([a.cost for a in kept]), fix, last)


def expected_cost_of_repair(present: FloatArray, repairs: Repairs) -> tuple[FloatArray, np.ndarray]:
    """ECR of the efficiency-ordered action sequence, and its first action, for each row.

    `present` is (rows, causes) P(cause present); rows with no probable cause count every cause
    as equally likely. Returns (rows,) ECR in minutes and (rows,) positions in `repairs.ids`.
    """
    total = present.sum(axis=1, keepdims=True)
    uniform = np.full_like(present, 1.0 / max(present.shape[1], 1))
    p = np.where(total > 0, present / np.where(total > 0, total, 1.0), uniform)
    rows = np.arange(len(p))
    used = np.zeros((len(p), len(repairs.ids)), dtype=bool)
    ended = np.zeros(len(p), dtype=bool)
    ecr, first = np.zeros(len(p)), np.zeros(len(p), dtype=np.intp)
    for k in range(len(repairs.ids)):
        # p holds P(cause c, and no fix so far): its sum is P(not fixed before step k)
        with np.errstate(divide="ignore", invalid="ignore"):
            efficiency = np.nan_to_num((p @ repairs.fix.T) / repairs.costs, nan=0.0)
        if repairs.last >= 0:
            # the last resort ends the session whatever it fixes: a step goes before it exactly
            # when C_k + (1 - P_k) C_last < C_last, i.e. P_k / C_k > 1 / C_last (on a tie, it waits)
            reach = p.sum(axis=1) / repairs.costs[repairs.last]
            efficiency[:, repairs.last] = np.nextafter(reach, -np.inf)
        pick = np.argmax(np.where(used, -np.inf, efficiency), axis=1)
        first = pick if k == 0 else first
        ecr += np.where(ended, 0.0, repairs.costs[pick] * p.sum(axis=1))
        p = p * (1.0 - repairs.fix[pick])
        used[rows, pick] = True
        ended |= pick == repairs.last
    return ecr, first


def failure_evidence(network: Network, failed: Iterable[str]) -> dict[str, dict[str, float]]:
    """Soft evidence on causes from actions that did not fix the problem.

    A cause that a failed action fixes with probability q gets likelihood 1 in its normal state
    and (1 - q) in the others; several failures multiply.
    """
    weights: dict[str, dict[str, float]] = {}
    causes = network.ids("cause")
    for action_id in failed:
        action = find_action(network, action_id)
        for cause in causes:
            q = action.fixes.get(cause, action.fixes_rest if action.last_resort else 0.0)
            if q == 0.0:
                continue
            variable = network.variable(cause)
            old = weights.get(cause, dict.fromkeys(variable.states, 1.0))
            weights[cause] = {
                s: w * (1.0 if s == variable.normal else 1.0 - q) for s, w in old.items()
            }
    return weights


def combine_soft(
    first: ev.SoftEvidence | None, second: Mapping[str, Mapping[str, float]]
) -> dict[str, dict[str, float]]:
    """Soft evidence of both (weights of a node in both multiply; states not named weigh 0)."""
    out = {node: dict(w) for node, w in (first or {}).items()}
    for node, weights in second.items():
        if node in out:
            out[node] = {s: out[node].get(s, 0.0) * w for s, w in weights.items()}
        else:
            out[node] = dict(weights)
    return out


def find_action(network: Network, action_id: str) -> Action:
    """The action called `action_id`; an EvidenceError listing the actions if there is none."""
    try:
        return network.action(action_id)
    except ModelError:
        ids = ", ".join(a.id for a in network.actions)
        raise EvidenceError(
            f"unknown action {action_id!r}; the model's actions are: {ids}",
            node=action_id,
            allowed=tuple(a.id for a in network.actions),
        ) from None


def plan(
    model: Model,
    evidence: ev.Evidence | None = None,
    *,
    soft: ev.SoftEvidence | None = None,
    failed: Iterable[str] = (),
    skipped: Iterable[str] = (),
) -> Step:
    """The next step (question or repair action) by expected cost of repair; see the module.

    `failed` are actions tried without success (they are not proposed again and their failure
    is evidence); `skipped` are questions or actions not to propose. Raises
    `ImpossibleEvidenceError` for evidence of probability zero, `EvidenceError` for an unknown
    action, and `ModelError` if the model has no repair actions.
    """
    network = model.network
    failed, skipped = tuple(failed), set(skipped)
    repairs = Repairs.of(network, model.causes, exclude=(*failed, *skipped))
    if not repairs.ids:
        raise ModelError("the model has no repair actions to plan with", file=network.file)
    belief = combine_soft(soft, failure_evidence(network, failed))
    observed = ev.encode(network, evidence)
    layout = Layout.of(
        network,
        (
            network.index[o]
            for o in model.observations
            if network.index[o] not in observed and o not in skipped
        ),
    )
    look = lookahead(model, evidence_likelihoods(network, evidence, belief), 1, layout)
    if not look.possible[0]:
        model.posterior(evidence, soft=belief)  # raises the ImpossibleEvidenceError
    return _choose(model, repairs, layout, look)


def _choose(model: Model, repairs: Repairs, layout: Layout, look: Lookahead) -> Step:
    network = model.network
    ecr, first = expected_cost_of_repair(look.present, repairs)
    if layout.questions:
        after, _ = expected_cost_of_repair(look.after[0], repairs)
        weighted = np.where(look.answers[0] > 0, look.answers[0] * np.nan_to_num(after), 0.0)
        costs = np.array([question_cost(network, q) for q in layout.questions])
        eco = costs + np.add.reduceat(weighted, np.asarray(layout.offsets, dtype=np.intp))
        best = int(np.argmin(eco))
        if eco[best] < ecr[0] - TOLERANCE:
            return _question_step(model, layout, look, best, float(eco[best]))
    return _action_step(model, repairs.ids[int(first[0])], float(ecr[0]), look.present[0])


def _question_step(model: Model, layout: Layout, look: Lookahead, k: int, expected: float) -> Step:
    variable = model.network.variables[layout.questions[k]]
    start = layout.offsets[k]
    answers = look.answers[0, start : start + variable.card]
    moves = np.abs(np.nan_to_num(look.after[0, start : start + variable.card]) - look.present[0])
    shift = answers @ moves  # expected change of each cause's probability
    top = np.argsort(-shift, kind="stable")[:WHY_TOP]
    return Step(
        "question",
        variable.id,
        variable.text,
        question_cost(model.network, layout.questions[k]),
        expected,
        tuple((model.causes[c], float(look.present[0, c])) for c in top),
        answers=variable.states,
    )


def _action_step(model: Model, action_id: str, expected: float, present: FloatArray) -> Step:
    action = find_action(model.network, action_id)
    probability = dict(zip(model.causes, present.tolist()))
    named = [c for c in action.fixes if c in probability]
    if action.last_resort:
        rest = sorted(
            (c for c in model.causes if c not in action.fixes), key=probability.__getitem__
        )
        named += rest[::-1][:WHY_TOP]
    why = sorted(((c, probability[c]) for c in named), key=lambda item: -item[1])
    return Step(
        "action",
        action.id,
        action.text,
        action.cost,
        expected,
        tuple(why),
        last_resort=action.last_resort,
    )


# -- what the planner works with, as tables --------------------------------------------------
def actions_table(network: Network) -> pd.DataFrame:
    """One row per repair action (index `action`): text, cost, fixes {cause: p}, last_resort,
    fixes_rest (what the last resort fixes of every cause it does not list)."""
    import pandas as pd

    return pd.DataFrame(
        {
            "text": [a.text for a in network.actions],
            "cost": [float(a.cost) for a in network.actions],
            "fixes": [dict(a.fixes) for a in network.actions],
            "last_resort": [a.last_resort for a in network.actions],
            "fixes_rest": [float(a.fixes_rest) for a in network.actions],
        },
        index=pd.Index([a.id for a in network.actions], name="action"),
    )


def questions_table(network: Network) -> pd.DataFrame:
    """One row per observation (index `question`): text, cost in minutes (1 if not given),
    states."""
    import pandas as pd

    variables = [v for v in network.variables if v.role == "observation"]
    return pd.DataFrame(
        {
            "text": [v.text for v in variables],
            "cost": [question_cost(network, network.index[v.id]) for v in variables],
            "states": [v.states for v in variables],
        },
        index=pd.Index([v.id for v in variables], name="question"),
    )
