"""Troubleshooting planner: the next step that minimises the expected cost of getting a fix.

Decision-theoretic troubleshooting in the tradition of Heckerman, Breese and Rommelse (1995) and
the SACSO printer troubleshooter. A step is either a question (it costs the minutes needed to
check it and reveals an answer) or a repair action (it costs minutes and fixes each cause it
targets with a success probability). The algorithm, at each step:

1. Belief over fault sets (`syncdx.faults`). The hypotheses are the sets S of at most two
   causes present at the start, weighted by P(e, X = S): the model's probability of exactly
   those causes and of the answers e so far. One batched engine pass, a row per set, gives
   every weight and P(Q = s | e, X = S) for every open question Q. An action fixes each present
   cause c it targets independently, with probability q_c, so after the attempts so far a set S
   has become a subset T still present with probability
   prod_{c in T} stay_c * prod_{c in S - T} (1 - stay_c), where stay_c = prod (1 - q_c) over the
   attempts. "Not fixed" says only that T is not empty: an attempt that fixed one of two causes
   is accounted for exactly, and the answers keep speaking of the causes present at the start.
2. Expected cost of repair of acting without asking more (`syncdx.repairs`): actions in order
   of P(fixes every cause still present) / cost, re-ranked after each hypothetical failure; the
   last resort (`last_resort`, which also fixes every unlisted cause with `fixes_rest`) ends the
   session whatever it fixes, so it takes its place by the swap rule P_k / C_k > P(reached) /
   C_last and ends the sequence. ECR = sum_k C_k * P(not fixed before step k), exact for that
   sequence under the belief.
3. One-step value: V1(e) = min(ECR(e), min_Q ECO(Q)), ECO(Q) = C_Q + sum_s P(Q = s | e) *
   ECR(e, Q = s): act now, or ask one question and then act.
4. Two-step look-ahead, which gives the step. Acting first with the first action a of the ECR
   sequence is worth C_a + P(a fails) * V1(after a fails); the answer probabilities per fault
   set do not change with a failure, so this needs no more inference. Asking Q first is worth
   C_Q + sum_s P(Q = s | e) * V1(e, Q = s), computed exactly for the `SECOND_LOOK` questions
   with the lowest ECO by one more batched engine pass (a row per answer and fault set). The
   cheaper first step is taken; a question must undercut acting by more than `TOLERANCE`
   minutes. `Step.expected_cost` is that value. Each candidate's value is the exact expected
   cost, under the belief, of a concrete policy (its first step, then the one-step planner's
   choice, then the ECR sequence), and the next call weighs that policy's continuation among
   its own candidates; so, as with a rollout, re-planning at every step costs in expectation
   no more than the value reported, which is at most the ECR of acting at once.

Assumptions and limits: at most two causes at once (`syncdx.faults.MAX_FAULTS`; a third is
possible in the model but not in the plan); fixes of different causes and different attempts are
independent; each action is tried at most once, except the last resort, which is always there;
the answers depend on the causes present at the start, not on the repairs; the order by
efficiency is a heuristic (optimal only for a single fault and independent single-cause
actions), and the look-ahead is two steps deep. If no set of at most two causes can explain the
answers (possible only with deterministic tables), the belief falls back to single causes
weighted by P(cause present | e), with questions taken as uninformative. `Step.why` gives the
model's posterior P(present | e), failed actions entered as soft evidence (`failure_evidence`),
as a session shows it. Cost per call: three batched engine passes (that posterior, one row; one
row per fault set; one per fault set and answer of the `SECOND_LOOK` questions), then numpy work
over the fault sets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from syncdx import evidence as ev
from syncdx._threads import one_blas_thread
from syncdx.errors import ModelError
from syncdx.faults import MAX_FAULTS, FaultSets, clamp_causes, fault_sets
from syncdx.network import FloatArray, Network
from syncdx.recommend import Layout, evidence_likelihoods, question_cost
from syncdx.repairs import Repairs as Repairs
from syncdx.repairs import combine_soft, fix_probabilities, sequence_cost
from syncdx.repairs import failure_evidence as failure_evidence
from syncdx.repairs import find_action as find_action

if TYPE_CHECKING:
    import pandas as pd

    from syncdx.model import Model


StepKind = Literal["question", "action"]
#: A question's value must undercut acting by more than this many minutes for it to be asked.
TOLERANCE = 1e-9
#: How many causes `Step.why` names for a question or the last resort.
WHY_TOP = 3
#: How many questions (those with the lowest one-step ECO) get the two-step look-ahead.
SECOND_LOOK = 3


@dataclass(frozen=True, slots=True)
class Step:
    """The recommended next step of a troubleshooting session.

    `kind` is "question" (ask observation `id`; `answers` are its states) or "action" (do repair
    `id`). `cost` is its own cost in minutes; `expected_cost` the expected cost to repair from
    here, this step included. `why` lists the causes it targets with P(present | e).
    """

    kind: StepKind
    id: str
    text: str
    cost: float
    expected_cost: float
    why: tuple[tuple[str, float], ...]
    answers: tuple[str, ...] = ()
    last_resort: bool = False


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
    posterior = _posterior(model, evidence, soft, failed)
    observed = ev.encode(network, evidence)
    layout = Layout.of(
        network,
        (
            network.index[o]
            for o in model.observations
            if network.index[o] not in observed and o not in skipped
        ),
    )
    search = _Search.of(model, repairs, layout, evidence_likelihoods(network, evidence, soft))
    with one_blas_thread():  # small products: BLAS threads only wait on each other
        return search.step(_stay(model, failed), posterior)


def _stay(model: Model, failed: tuple[str, ...]) -> FloatArray:
    """(1, causes) P(each cause, if present, is still present after the failed attempts)."""
    stay = np.ones((1, len(model.causes)))
    for action_id in failed:
        stay *= 1.0 - np.array(
            fix_probabilities(find_action(model.network, action_id), model.causes)
        )
    return stay


def _posterior(
    model: Model,
    evidence: ev.Evidence | None,
    soft: ev.SoftEvidence | None,
    failed: tuple[str, ...],
) -> FloatArray:
    """(causes,) P(present | e), failures as soft evidence; raises for impossible evidence."""
    belief = combine_soft(soft, failure_evidence(model.network, failed))
    likelihoods = evidence_likelihoods(model.network, evidence, belief)
    result = model.infer(likelihoods, [model.network.index[c] for c in model.causes])
    if not result.possible[0]:
        model.posterior(evidence, soft=belief)  # raises the ImpossibleEvidenceError
    return np.asarray(model.cause_probabilities(result)[0])


@dataclass(frozen=True, slots=True)
class _Look:
    """The one-step look-ahead from R evidence states.

    `now` (R, 1 + columns, sets): weights of the fault sets present now, then after each answer
    of the layout; `ecr` and `first` (R, 1 + columns): the ECR of each and its first action;
    `eco` (R, questions): the one-step ECO of each question.
    """

    now: FloatArray
    ecr: FloatArray
    first: np.ndarray
    eco: FloatArray

    @property
    def mass(self) -> FloatArray:
        """(R, 1 + columns) P(e, not fixed yet), then with each answer, on the weights' scale."""
        return np.asarray(self.now.sum(axis=2))

    @property
    def value(self) -> FloatArray:
        """(R,) V1: act now, or ask the best question and then act, whichever costs less."""
        if not self.eco.shape[1]:
            return np.asarray(self.ecr[:, 0])
        return np.asarray(np.minimum(self.ecr[:, 0], self.eco.min(axis=1)))


@dataclass(frozen=True, slots=True)
class _Search:
    """The two-step look-ahead over fault sets of one planning call (see the module)."""

    model: Model
    sets: FaultSets
    repairs: Repairs
    layout: Layout
    costs: FloatArray  # (questions,) minutes to answer each
    base: dict[int, FloatArray]  # the evidence, as (1, states) likelihoods

    @classmethod
    def of(
        cls, model: Model, repairs: Repairs, layout: Layout, base: dict[int, FloatArray]
    ) -> _Search:
        """The search from one evidence state."""
        costs = np.array([question_cost(model.network, q) for q in layout.questions])
        return cls(model, fault_sets(len(model.causes), MAX_FAULTS), repairs, layout, costs, base)

    def step(self, stay: FloatArray, posterior: FloatArray) -> Step:
        """The first step of lowest two-step value; `stay` (1, causes) from the failures."""
        log_weights, answers = self._infer(self.base)
        shift = float(np.max(log_weights, initial=-np.inf))
        informed = bool(np.isfinite(shift))
        if informed:
            weights = np.exp(log_weights - shift)
            look = self._look(self.repairs, weights, stay, answers)
            informed = bool(look.mass[0, 0] > 0)
        if not informed:
            weights, stay, answers = self._fallback(posterior)
            look = self._look(self.repairs, weights, stay, answers)
        acting, action = self._act_first(look, weights, stay, answers)
        if self.layout.questions:
            asking, question = (
                self._ask_first(look, stay, shift) if informed else self._ask_now(look)
            )
            if asking < acting - TOLERANCE:
                return self._question_step(look, question, asking, posterior)
        return _action_step(self.model, self.repairs.ids[action], acting, posterior)

    def _infer(self, likelihoods: dict[int, FloatArray]) -> tuple[FloatArray, FloatArray]:
        """log P(e_r, X = S) (rows, sets) and P(Q = s | e_r, X = S) (rows, sets, columns)."""
        network, layout, sets = self.model.network, self.layout, self.sets
        rows = clamp_causes(network, self.model.causes, sets, likelihoods)
        result = self.model.infer(rows, layout.questions)
        n = len(result.log_evidence) // sets.size
        columns = [result.marginals[q] for q in layout.questions]
        flat = np.concatenate(columns, axis=1) if columns else np.zeros((n * sets.size, 0))
        answers = np.nan_to_num(flat).reshape(n, sets.size, layout.size)
        return result.log_evidence.reshape(n, sets.size), answers

    def _fallback(self, posterior: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Single causes weighted by P(present | e), questions uninformative (see the module)."""
        weights = np.zeros((1, self.sets.size))
        singles = self.sets.indicator.sum(axis=1) == 1
        weights[0, singles] = posterior if posterior.sum() > 0 else 1.0
        result = self.model.infer(self.base, self.layout.questions)
        columns = [result.marginals[q][0] for q in self.layout.questions]
        flat = np.concatenate(columns) if columns else np.zeros(0)
        answers = np.broadcast_to(flat, (1, self.sets.size, self.layout.size))
        return weights, np.ones((1, self.sets.causes)), np.asarray(answers)

    def _look(
        self, repairs: Repairs, weights: FloatArray, stay: FloatArray, answers: FloatArray
    ) -> _Look:
        """The one-step look-ahead from (R, sets) weights, (R, causes) stay, answer tables."""
        rows, width = len(weights), 1 + self.layout.size
        branches = np.concatenate(
            [weights[:, None, :], weights[:, None, :] * answers.transpose(0, 2, 1)], axis=1
        )
        flat = branches.reshape(rows * width, self.sets.size)
        now = self.sets.shrink(flat, np.repeat(stay, width, axis=0))
        ecr, first = sequence_cost(self.sets, now, repairs)
        now = now.reshape(rows, width, self.sets.size)
        ecr = ecr.reshape(rows, width)
        return _Look(now, ecr, first.reshape(rows, width), self._eco(now.sum(axis=2), ecr))

    def _eco(self, mass: FloatArray, ecr: FloatArray) -> FloatArray:
        """(R, questions) C_Q + sum_s P(Q = s | e) ECR(e, Q = s)."""
        if not self.layout.questions:
            return np.zeros((len(mass), 0))
        now = mass[:, :1]
        p = mass[:, 1:] / np.where(now > 0, now, 1.0)
        weighted = np.where(p > 0, p * ecr[:, 1:], 0.0)
        offsets = np.asarray(self.layout.offsets, dtype=np.intp)
        return np.asarray(self.costs + np.add.reduceat(weighted, offsets, axis=1))

    def _act_first(
        self, look: _Look, weights: FloatArray, stay: FloatArray, answers: FloatArray
    ) -> tuple[float, int]:
        """C_a + P(a fails) V1(after a fails) for the first action a of the ECR sequence."""
        action = int(look.first[0, 0])
        if action == self.repairs.last or len(self.repairs.ids) == 1:
            return float(look.ecr[0, 0]), action
        after = stay * (1.0 - self.repairs.fix[action])
        then = self._look(self.repairs.without(action), weights, after, answers)
        fails = then.mass[0, 0] / look.mass[0, 0]
        return float(self.repairs.costs[action] + fails * then.value[0]), action

    def _ask_now(self, look: _Look) -> tuple[float, int]:
        """The lowest one-step ECO and its question's position in the layout."""
        question = int(np.argmin(look.eco[0]))
        return float(look.eco[0, question]), question

    def _ask_first(self, look: _Look, stay: FloatArray, shift: float) -> tuple[float, int]:
        """The lowest C_Q + sum_s P(Q = s | e) V1(e, Q = s) over the `SECOND_LOOK` questions of
        lowest one-step ECO, and its question's position in the layout."""
        cards, questions = self.model.network.cards, self.layout.questions
        top = np.argsort(look.eco[0], kind="stable")[:SECOND_LOOK].tolist()
        columns = [(k, s) for k in top for s in range(cards[questions[k]])]
        log_weights, answers = self._infer(self._answered(columns))
        weights = np.exp(log_weights - shift)  # the scale of the weights now
        then = self._look(self.repairs, weights, np.repeat(stay, len(columns), axis=0), answers)
        p = then.mass[:, 0] / look.mass[0, 0]
        terms = np.where(p > 0, p * then.value, 0.0).tolist()
        values = {k: float(self.costs[k]) for k in top}
        for (k, _), term in zip(columns, terms):
            values[k] += term
        question = min(top, key=values.__getitem__)
        return values[question], question

    def _answered(self, columns: list[tuple[int, int]]) -> dict[int, FloatArray]:
        """The evidence, one row per (question position, state), with that answer added."""
        cards, questions = self.model.network.cards, self.layout.questions
        rows = {v: np.repeat(lik, len(columns), axis=0) for v, lik in self.base.items()}
        for row, (k, state) in enumerate(columns):
            v = questions[k]
            rows.setdefault(v, np.ones((len(columns), cards[v])))
            rows[v][row] = rows[v][row] * np.eye(cards[v])[state]
        return rows

    def _question_step(self, look: _Look, k: int, expected: float, posterior: FloatArray) -> Step:
        """Ask the question at layout position `k`; `why`: the causes its answers move most."""
        variable = self.model.network.variables[self.layout.questions[k]]
        start = 1 + self.layout.offsets[k]
        now = look.now[0]
        before = self.sets.present(now[:1])[0]
        after = self.sets.present(now[start : start + variable.card])
        p = now[start : start + variable.card].sum(axis=1) / now[0].sum()
        shift = p @ np.abs(after - before)  # expected change of each cause's probability
        top = np.argsort(-shift, kind="stable")[:WHY_TOP]
        return Step(
            "question",
            variable.id,
            variable.text,
            float(self.costs[k]),
            expected,
            tuple((self.model.causes[c], float(posterior[c])) for c in top),
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
