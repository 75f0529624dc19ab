"""Troubleshooting planner: the next step that minimises the expected cost of getting a fix.

Decision-theoretic troubleshooting in the tradition of Heckerman, Breese and Rommelse (1995) and
the SACSO printer troubleshooter. A step is either a question (it costs the minutes needed to
check it and reveals an answer) or a repair action (it costs minutes and fixes each cause it
targets with a success probability). The algorithm, at each step:

1. Belief over fault sets (`_faults`). The hypotheses are the sets S of at most two
   causes present at the start, weighted by P(e, X = S): the model's probability of exactly
   those causes and of the answers e so far. One batched engine pass, a row per set, gives
   every weight and P(Q = s | e, X = S) for every open question Q. An action fixes each present
   cause c it targets independently, with probability q_c, so after the attempts so far a set S
   has become a subset T still present with probability
   prod_{c in T} stay_c * prod_{c in S - T} (1 - stay_c), where stay_c = prod (1 - q_c) over the
   attempts. "Not fixed" says only that T is not empty: an attempt that fixed one of two causes
   is accounted for exactly, and the answers keep speaking of the causes present at the start.
2. Expected cost of repair of acting without asking more (`_repairs`): actions in order
   of P(fixes every cause still present) / cost, re-ranked after each hypothetical failure; the
   last resort (`last_resort`, which also fixes every unlisted cause with `fixes_rest`) ends the
   session whatever it fixes, so it takes its place by the swap rule P_k / C_k > P(reached) /
   C_last and ends the sequence. ECR = sum_k C_k * P(not fixed before step k), exact for that
   sequence under the belief.
3. One-step value: V1(e) = min(ECR(e), min_Q ECO(Q)), ECO(Q) = C_Q + sum_s P(Q = s | e) *
   ECR(e, Q = s): act now, or ask one question and then act.
4. Three-step look-ahead (`_lookahead`), which gives the step. One question rarely changes
   what to do; two or three together often do, so each first step is valued with two more steps
   after it. V2 at a state is the lowest of V1, acting first (C_a + P(a fails) V1(after a
   fails), a the first action of the ECR sequence) and asking first (C_Q + sum_s P(Q = s | e)
   V1(e, Q = s) for the `WIDTHS[1]` questions of lowest one-step ECO there). The step taken is
   the cheaper of acting first, C_a + P(a fails) V2(after a fails), and asking first,
   C_Q + sum_s P(Q = s | e) V2(e, Q = s) for the `WIDTHS[0]` questions of lowest one-step ECO.
   The answer probabilities per fault set do not change with a failure, so a failure needs no
   more inference; each level of questions takes one batched engine pass (a row per evidence
   row, question, answer and fault set). Answers reached with probability below
   `_lookahead.PRUNE` keep V1 instead of V2. A question must undercut acting by more
   than `TOLERANCE` minutes. `Step.expected_cost` is the value of the step taken. Each value
   is the exact expected cost, under the belief, of a concrete policy (its first step, then the
   look-ahead's choices, then the ECR sequence), and the next call weighs that policy's
   continuation among its own candidates; so, as with a rollout, re-planning at every step
   costs in expectation no more than the value reported, which is at most the ECR of acting
   at once.

Assumptions and limits: at most two causes at once (`_faults.MAX_FAULTS`; a third is
possible in the model but not in the plan); fixes of different causes and different attempts are
independent; each action is tried at most once, except the last resort, which is always there;
the answers depend on the causes present at the start, not on the repairs; the order by
efficiency is a heuristic (optimal only for a single fault and independent single-cause
actions), and the look-ahead is three steps deep and a few questions wide. If no set of at most
two causes can explain the answers (possible only with deterministic tables), the belief falls
back to single causes weighted by P(cause present | e), with questions taken as uninformative
and valued one step deep. `Step.why` gives the model's posterior P(present | e), failed actions
entered as soft evidence (`failure_evidence`), as a session shows it. Cost per call: one
engine pass (that posterior, one row), then at most four passes over fault sets (one row per
fault set; one per fault set and answer of the `WIDTHS[0]` first questions; one per fault set,
answer and answer of the `WIDTHS[1]` questions after them; one per fault set and answer of the
`WIDTHS[1]` questions after the first action fails), then numpy work over the fault sets. With
every cause clamped a diagnostic network falls apart into small pieces, so those passes use the
network tabulated per fault set (`inference._clamped`), not the junction tree, whenever its
causes are binary and its pieces small; otherwise each is one batched engine pass. Nothing is
computed twice for one model (`_beliefs`): each evidence row's fault-set beliefs and ECRs are
remembered by what the row says, so a row reached by two answers in either order is computed
once, planning again on the same evidence runs only the posterior, and after an answer a
session's next call computes only the rows its new, deeper answers reach.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Literal

import numpy as np

from syncdx._ranking import descending
from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis import _likelihoods
from syncdx.diagnosis._display import probability_table
from syncdx.diagnosis._faults import MAX_FAULTS, fault_sets
from syncdx.diagnosis._lookahead import Rows, Search
from syncdx.diagnosis._recommend import Layout, question_cost
from syncdx.diagnosis._repairs import Repairs, not_fixed, with_failures
from syncdx.errors import EvidenceError, ModelError
from syncdx.inference._threads import one_blas_thread
from syncdx.network._network import FloatArray, Network

if TYPE_CHECKING:
    import pandas as pd

    from syncdx.diagnosis._diagnoser import Diagnoser


StepKind = Literal["question", "action"]
#: A question's value must undercut acting by more than this many minutes for it to be asked.
TOLERANCE = 1e-9
#: How many causes `Step.why` names for a question or the last resort.
WHY_TOP = 3
#: How many questions (those of lowest one-step ECO) the look-ahead asks first, then second:
#: three steps deep in all, the last one V1 (see the module and `_lookahead`).
WIDTHS = (3, 2)


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

    def __str__(self) -> str:
        kind = "last resort" if self.last_resort else self.kind
        why = ", ".join(f"{cause} {p:.1%}" for cause, p in self.why)
        return (
            f"{kind} {self.id} ({self.cost:.1f} min; {self.expected_cost:.1f} min expected to a "
            f"fix){'; why: ' + why if why else ''}"
        )

    def __repr__(self) -> str:
        return f"<Step {self}>"

    def _repr_html_(self) -> str:
        """The step and the causes it bears on, most probable first, as percentages."""
        verb = {"question": "Ask", "action": "Do"}[self.kind]
        kind = "last resort" if self.last_resort else self.kind
        answers = f"<br>Answers: {escape(' / '.join(self.answers))}" if self.answers else ""
        why = (
            probability_table(self.why, "cause it bears on", caption="Why this step")
            if self.why
            else ""
        )
        return (
            f"<div><p><b>Next step ({kind}): {verb}</b> <code>{escape(self.id)}</code>"
            f"<br>{escape(self.text)}<br>Costs {self.cost:.1f} min; {self.expected_cost:.1f} min "
            f"expected to a fix, this step included{answers}</p>{why}</div>"
        )


def plan(
    model: Diagnoser,
    evidence: ev.Evidence | None = None,
    *,
    soft: ev.SoftEvidence | None = None,
    failed: str | Iterable[str] = (),
    skipped: str | Iterable[str] = (),
) -> Step:
    """The next step (question or repair action) by expected cost of repair; see the module.

    `failed` are actions tried without success (they are not proposed again and their failure
    is evidence; one listed twice failed once); `skipped` are questions or actions not to
    propose; each is a name or several. The last resort is always available, failed or
    skipped. Raises `ImpossibleEvidenceError` for evidence of probability zero, `EvidenceError`
    for an unknown action or question, and `ModelError` if the model has no repair actions.
    """
    network = model.network
    failed = tuple(dict.fromkeys(ev.names(failed, "failed")))
    skipped = set(ev.names(skipped, "skipped"))
    check_steps(network, skipped)
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
    search = Search.of(model, repairs, layout, fault_sets(len(model.causes), MAX_FAULTS))
    base = _likelihoods.case_likelihoods(network, evidence, soft)
    stay = _stay(model, failed)
    with one_blas_thread():  # small products: BLAS threads only wait on each other
        return _step(search, base, stay, posterior)


def check_steps(network: Network, steps: Iterable[str]) -> None:
    """An EvidenceError, listing the questions and actions, for a step that is neither."""
    questions = network.ids("observation")
    for step in steps:
        if step not in questions and all(a.id != step for a in network.actions):
            raise EvidenceError(
                f"unknown action or question {step!r}; the model's questions are: "
                f"{', '.join(questions)}; its actions are: "
                f"{', '.join(a.id for a in network.actions)}",
                node=step,
                allowed=(*questions, *(a.id for a in network.actions)),
            )


def _stay(model: Diagnoser, failed: tuple[str, ...]) -> FloatArray:
    """(1, causes) P(each cause, if present, is still present after the failed attempts)."""
    return not_fixed(model.network, failed)[0][np.newaxis]


def _posterior(
    model: Diagnoser,
    evidence: ev.Evidence | None,
    soft: ev.SoftEvidence | None,
    failed: tuple[str, ...],
) -> FloatArray:
    """(causes,) P(present | e), failures as soft evidence; raises for impossible evidence."""
    belief = with_failures(model.network, soft, failed)
    likelihoods = _likelihoods.case_likelihoods(model.network, evidence, belief)
    result = model.infer(likelihoods, [model.network.index[c] for c in model.causes])
    if not result.possible[0]:
        raise model.impossible(evidence, belief)
    return np.asarray(model.cause_probabilities(result)[0])


def _step(
    search: Search, base: dict[int, FloatArray], stay: FloatArray, posterior: FloatArray
) -> Step:
    """The first step of lowest look-ahead value from the evidence `base`; `stay` (1, causes)
    from the failures."""
    keys, log_weights, answers = search.infer(base)
    shift = float(np.max(log_weights, initial=-np.inf))
    informed = bool(np.isfinite(shift))
    if informed:
        weights = np.exp(log_weights - shift)
        look = search.look(weights, stay, answers, keys)
        informed = bool(look.mass[0, 0] > 0)
    if not informed:
        weights, stay, answers = _fallback(search, base, posterior)
        look = search.look(weights, stay, answers)
    rows = Rows(base, weights, stay, answers, look, keys if informed else None)
    deeper = WIDTHS[1:] if informed else ()
    values, actions = search.act_first(rows, shift, deeper)
    acting, action = float(values[0]), int(actions[0])
    if search.layout.questions:
        if informed:
            values, questions = search.ask_first(rows, shift, WIDTHS)
            asking, question = float(values[0]), int(questions[0])
        else:  # questions valued one step deep
            question = int(np.argmin(look.eco[0]))
            asking = float(look.eco[0, question])
        if asking < acting - TOLERANCE:
            return _question_step(search, rows, question, asking, posterior)
    return _action_step(search.model, search.repairs.ids[action], acting, posterior)


def _fallback(
    search: Search, base: dict[int, FloatArray], posterior: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Single causes weighted by P(present | e), questions uninformative (see the module)."""
    sets, layout = search.sets, search.layout
    weights = np.zeros((1, sets.size))
    singles = sets.indicator.sum(axis=1) == 1
    weights[0, singles] = posterior if posterior.sum() > 0 else 1.0
    result = search.model.infer(base, layout.questions)
    columns = [result.marginals[q][0] for q in layout.questions]
    flat = np.concatenate(columns) if columns else np.zeros(0)
    answers = np.broadcast_to(flat[:, np.newaxis], (1, layout.size, sets.size))
    return weights, np.ones((1, sets.causes)), np.asarray(answers)


def _question_step(
    search: Search, rows: Rows, k: int, expected: float, posterior: FloatArray
) -> Step:
    """Ask the question at layout position `k`; `why`: the causes its answers move most."""
    model, layout, sets = search.model, search.layout, search.sets
    variable = model.network.variables[layout.questions[k]]
    start = 1 + layout.offsets[k]
    now = search.branches(rows.weights[:1], rows.stay[:1], rows.answers[:1])[0]
    before = sets.present(now[:1])[0]
    after = sets.present(now[start : start + variable.card])
    p = now[start : start + variable.card].sum(axis=1) / now[0].sum()
    shift = p @ np.abs(after - before)  # expected change of each cause's probability
    top = descending(shift)[:WHY_TOP]  # near-ties (rounding) in model order
    return Step(
        "question",
        variable.id,
        variable.text,
        float(search.costs[k]),
        expected,
        tuple((model.causes[c], float(posterior[c])) for c in top),
        answers=variable.states,
    )


def _action_step(model: Diagnoser, action_id: str, expected: float, present: FloatArray) -> Step:
    action = model.network.action(action_id)
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
