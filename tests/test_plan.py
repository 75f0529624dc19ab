"""The troubleshooting planner: its step, its cost by enumeration, and the benchmark."""

from __future__ import annotations

import dataclasses
import io
import itertools
from collections.abc import Callable
from contextlib import redirect_stdout
from typing import Any, cast

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import syncdx
from syncdx import Action, EvidenceError, Model, ModelError, Network, Variable
from syncdx.diagnosis._faults import fault_sets
from syncdx.diagnosis._plan import WIDTHS, Step
from syncdx.diagnosis._repairs import failure_evidence
from syncdx.inference._clamped import Clamped
from syncdx.network._network import CAUSE_STATES
from tests.oracle import joint
from tests.strategies import troubleshooting_models

Policy = Callable[[dict[str, str], tuple[str, ...]], tuple[str, str]]


@pytest.fixture(scope="module")
def sync() -> Model:
    return syncdx.load_model()


# -- what the planner works with ------------------------------------------------------------
def test_actions_and_questions_tables(sync: Model) -> None:
    """model.actions and model.questions list the contract's steps with costs and effects."""
    actions = sync.actions
    assert actions.index.name == "action"
    assert list(actions.columns) == ["text", "cost", "fixes", "last_resort", "fixes_rest"]
    assert actions.loc["restart_device", "fixes"] == {"stalled_session": 0.5}
    assert list(actions.index[actions["last_resort"]]) == ["contact_apple_support"]
    questions = sync.questions
    assert set(questions.index) == set(sync.observations)
    assert questions.loc["system_status", "states"] == (
        "all_green",
        "icloud_issue",
        "imessage_issue",
    )
    assert questions.loc["paused_banner", "cost"] == 0.5


# -- failed actions ------------------------------------------------------------------------------
def test_failed_action_is_soft_evidence_on_its_causes(sync: Model) -> None:
    """failure_evidence multiplies P(present) by (1 - q): the posterior a session shows."""
    soft = failure_evidence(sync.network, ["restart_device", "sign_out_and_in"])
    assert soft["stalled_session"] == pytest.approx({"absent": 1.0, "present": 0.5 * 0.3})
    assert soft["apple_id_stale_credentials"] == pytest.approx({"absent": 1.0, "present": 0.1})
    p = sync.posterior(soft=failure_evidence(sync.network, ["restart_device"]))
    assert p["stalled_session"] == pytest.approx(0.25 * 0.5 / (0.25 * 0.5 + 0.75))


def test_unknown_action_names_the_actions(sync: Model) -> None:
    """An unknown failed action is an EvidenceError listing the model's actions."""
    with pytest.raises(EvidenceError, match=r"unknown action 'reboot'.*restart_device"):
        sync.plan(failed=["reboot"])


def test_an_attempt_that_fixed_one_of_two_causes_moves_on_to_the_other() -> None:
    """Both causes shown, a sure fix of `a` "not fixed": b is left, so fix b, not escalate.

    Read as a single fault, the failure would all but rule out `a` and leave only the leak of
    b's symptom to explain the answers; over fault sets it says that b is still there.
    """
    model = _tiny_model(fix_a=1.0)
    step = model.plan({"qa": "yes", "qb": "yes"}, failed=["fix_a"])
    assert (step.kind, step.id) == ("action", "fix_b")
    assert step.expected_cost == pytest.approx(5.0 + (1 - 0.95) * 20.0)


# -- the step -----------------------------------------------------------------------------------
def test_decisive_evidence_leads_to_the_fix(sync: Model) -> None:
    """With iMessage reported off and nothing left to ask, toggle it on; `why` says so."""
    step = sync.plan({"imessage_switch_on": "no"}, skipped=sync.observations)
    assert step.kind == "action"
    assert step.id == "toggle_imessage"
    assert step.why[0][0] == "imessage_off"
    assert step.why[0][1] > 0.8
    assert step.cost == 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.cost = 0  # type: ignore[misc]


def test_question_is_asked_only_when_it_lowers_the_expected_cost(sync: Model) -> None:
    """A proposed question's value is below the cost of acting at once (all questions skipped)."""
    step = sync.plan()
    assert step.kind == "question"
    assert step.answers == sync.states(step.id)
    acting = sync.plan(skipped=sync.observations)
    assert acting.kind == "action"
    assert step.expected_cost < acting.expected_cost


def test_last_resort_after_everything_failed(sync: Model) -> None:
    """Once every other action has failed, the plan is the last resort."""
    others = [a.id for a in sync.network.actions if not a.last_resort]
    step = sync.plan(failed=others, skipped=sync.observations)
    assert step.id == "contact_apple_support"
    assert step.last_resort
    assert step.expected_cost == pytest.approx(60.0)


@pytest.mark.parametrize("tabulated", [True, False])
def test_inference_is_at_most_five_batched_passes_each_row_once(
    sync: Model, tabulated: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """P(cause | e) in one row, every fault set in one pass, then at most three more passes
    (every fault set with each answer of the WIDTHS[1] best questions once the first action has
    failed, of the WIDTHS[0] best questions, then pairs of answers), each evidence row computed
    once (a pair of answers reached in both orders too); planning again on the same evidence
    runs only the one-row posterior. Tabulated (`_clamped`), the fault-set passes leave the
    engine; otherwise each is one engine pass, a row per evidence row and set."""
    if not tabulated:
        monkeypatch.setattr(Clamped, "of", classmethod(lambda cls, *args: None))
    model = Model(sync.network)  # nothing remembered yet
    engine: list[int] = []
    passes: list[int] = []  # evidence rows of each fault-set pass
    original, run = model.diagnoser.infer, Clamped.run
    sets = fault_sets(len(sync.causes)).size

    def counted(likelihoods: Any, targets: Any) -> Any:
        rows = len(next(iter(likelihoods.values()))) if likelihoods else 1
        engine.append(rows)
        if rows % sets == 0:
            passes.append(rows // sets)
        return original(likelihoods, targets)

    def counted_run(self: Clamped, likelihoods: Any, targets: Any, rows: int) -> Any:
        passes.append(rows)
        return run(self, likelihoods, targets, rows)

    model.diagnoser.infer = counted  # type: ignore[method-assign]
    monkeypatch.setattr(Clamped, "run", counted_run)
    first = model.plan({"paused_banner": "yes"})
    assert engine[0] == 1
    assert engine[1:] == ([] if tabulated else [n * sets for n in passes])
    assert 1 <= len(passes) <= 4
    assert passes[0] == 1
    deep = WIDTHS[0] * 3 * (1 + WIDTHS[1] * 3)
    assert sum(passes[1:]) <= WIDTHS[1] * 3 + deep
    engine.clear()
    passes.clear()
    assert model.plan({"paused_banner": "yes"}) == first
    assert (engine, passes) == ([1], [])


@settings(max_examples=10, deadline=None)
@given(st.data())
def test_tabulated_fault_sets_plan_as_the_engine_does(sync: Model, data: st.DataObject) -> None:
    """The fault-set beliefs from the tabulated network (`_clamped`) give the engine's plan."""
    names = data.draw(st.lists(st.sampled_from(sync.observations), max_size=4, unique=True))
    evidence = {n: data.draw(st.sampled_from(sync.network.variable(n).states)) for n in names}
    failed = data.draw(st.lists(st.sampled_from([a.id for a in sync.network.actions]), max_size=2))
    tabulated = Model(sync.network)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Clamped, "of", classmethod(lambda cls, *args: None))
        engine = Model(sync.network)
        try:
            expected = engine.plan(evidence, failed=failed)
        except syncdx.ImpossibleEvidenceError:
            with pytest.raises(syncdx.ImpossibleEvidenceError):
                tabulated.plan(evidence, failed=failed)
            return
    assert _same_step(tabulated.plan(evidence, failed=failed), expected)


def _same_step(a: Step, b: Step) -> bool:
    """The same step, its expected cost and probabilities equal up to rounding."""
    return (
        (a.kind, a.id, a.answers, a.last_resort) == (b.kind, b.id, b.answers, b.last_resort)
        and a.expected_cost == pytest.approx(b.expected_cost, rel=1e-9)
        and [c for c, _ in a.why] == [c for c, _ in b.why]
        and [p for _, p in a.why] == pytest.approx([p for _, p in b.why], rel=1e-9, abs=1e-15)
    )


@settings(max_examples=6, deadline=None)
@given(st.data())
def test_a_sessions_plan_after_answers_equals_a_cold_plan(sync: Model, data: st.DataObject) -> None:
    """plan() reuses what earlier calls computed: after each answer (the planned question's or
    another one), a session's step is the step a model that remembers nothing gives."""
    warm = Model(sync.network)
    session = syncdx.Session(warm)
    for _ in range(data.draw(st.integers(1, 3))):
        step = session.plan()
        open_questions = [o for o in sync.observations if o not in session.evidence]
        asked = step.id if step.kind == "question" else data.draw(st.sampled_from(open_questions))
        answer = data.draw(st.sampled_from(sync.states(asked)))
        if not np.isfinite(sync.log_probability_of_evidence({**session.evidence, asked: answer})):
            break
        session.answer(asked, answer)
        assert _same_step(session.plan(), Model(sync.network).plan(session.evidence))


def test_model_without_actions_is_refused() -> None:
    """Planning needs repair actions: a network without them is a ModelError."""
    network = syncdx.load_model().network
    bare = Model(dataclasses.replace(network, actions=()))
    with pytest.raises(ModelError, match="no repair actions"):
        bare.plan()


def test_answers_no_two_causes_explain_fall_back_to_the_posterior() -> None:
    """Deterministic answers that need three causes: the plan still acts on the posterior."""
    model = _three_needed_model()
    step = model.plan({"all_three": "yes"})
    assert step.kind == "action"
    assert step.id in ("fix_a", "fix_b", "fix_c")


def test_step_is_a_plain_value() -> None:
    """Step compares by value."""
    a = Step("action", "x", "X", 1.0, 2.0, (("c", 0.5),))
    assert a == Step("action", "x", "X", 1.0, 2.0, (("c", 0.5),))


# -- exact expected costs, by enumeration of the planner's own world -----------------------------
def _tiny_model(fix_a: float = 0.9) -> Model:
    """Causes a (0.3) and b (0.2), a 1-minute check of each, a fix of each, support (20 min).

    Exhaustive search finds that the best first step is to check b."""
    variables = (
        Variable("a", CAUSE_STATES, "cause"),
        Variable("b", CAUSE_STATES, "cause"),
        Variable("qa", ("no", "yes"), "observation", cost=1.0),
        Variable("qb", ("no", "yes"), "observation", cost=1.0),
    )
    noisy = np.array([[0.9, 0.1], [0.15, 0.85]])
    actions = (
        Action("fix_a", "Fix a", 6.0, {"a": fix_a}),
        Action("fix_b", "Fix b", 5.0, {"b": 0.95}),
        Action("support", "Support", 20.0, {}, last_resort=True, fixes_rest=0.9),
    )
    cpts = (np.array([0.7, 0.3]), np.array([0.8, 0.2]), noisy, noisy)
    return Model(Network(variables, ((), (), (0,), (1,)), cpts, actions))


def _three_needed_model() -> Model:
    causes = [Variable(c, CAUSE_STATES, "cause") for c in "abc"]
    seen = Variable("all_three", ("no", "yes"), "observation", cost=1.0)
    table = np.zeros((2, 2, 2, 2))
    table[..., 0] = 1.0
    table[1, 1, 1] = [0.0, 1.0]
    actions = tuple(Action(f"fix_{c}", c, 2.0, {c: 0.9}) for c in "abc")
    last = Action("support", "Support", 30.0, {}, last_resort=True, fixes_rest=0.9)
    cpts = (*[np.array([0.6, 0.4])] * 3, table)
    return Model(Network((*causes, seen), ((), (), (), (0, 1, 2)), cpts, (*actions, last)))


class _World:
    """The planner's own world: the model's joint with 1 or 2 causes present, by enumeration."""

    def __init__(self, model: Model) -> None:
        self.model, self.network = model, model.network
        self.joint = joint(model.network)
        self.causes = [self.network.index[c] for c in model.causes]
        self.sets = [s for k in (1, 2) for s in itertools.combinations(range(len(self.causes)), k)]

    def weight(self, evidence: dict[str, str], failed: tuple[str, ...]) -> float:
        """P(e, 1 or 2 causes present, not fixed by the failed attempts)."""
        stay = np.ones(len(self.causes))
        for a in failed:
            action = self.network.action(a)
            stay *= [1.0 - action.fixes.get(c, 0.0) for c in self.model.causes]
        total = 0.0
        for s in self.sets:
            index: list[slice | int] = [slice(None)] * len(self.network)
            for k, v in enumerate(self.causes):
                index[v] = int(k in s)
            for node, state in evidence.items():
                index[self.network.index[node]] = self.network.variable(node).states.index(state)
            persists = 1.0 - np.prod([1.0 - stay[k] for k in s])
            total += float(self.joint[tuple(index)].sum()) * persists
        return total

    def steps(self, evidence: dict[str, str], failed: tuple[str, ...]) -> list[tuple[str, str]]:
        """Every step still possible: open questions and untried actions."""
        questions = [("question", o) for o in self.model.observations if o not in evidence]
        return questions + [("action", a.id) for a in self.network.actions if a.id not in failed]

    def cost(self, evidence: dict[str, str], failed: tuple[str, ...], policy: Policy) -> float:
        """Exact expected cost from here of following `policy` (which sees e and failures)."""
        return self.after(evidence, failed, policy(evidence, failed), policy)

    def after(
        self, evidence: dict[str, str], failed: tuple[str, ...], step: tuple[str, str], then: Policy
    ) -> float:
        """Exact expected cost of `step`, then of following `then`."""
        here = self.weight(evidence, failed)
        kind, node = step
        if kind == "question":
            total = self.network.variable(node).cost or 0.0
            for state in self.network.variable(node).states:
                answered = {**evidence, node: state}
                p = self.weight(answered, failed) / here
                total += p * self.cost(answered, failed, then) if p > 0 else 0.0
            return total
        action = self.network.action(node)
        tried = (*failed, node)
        left = self.weight(evidence, tried) / here if not action.last_resort else 0.0
        return action.cost + (left * self.cost(evidence, tried, then) if left > 0 else 0.0)

    def optimum(self, evidence: dict[str, str], failed: tuple[str, ...]) -> float:
        """The lowest expected cost over every policy, by exhaustive search."""
        options = self.steps(evidence, failed)
        return min(self.after(evidence, failed, step, self._best) for step in options)

    def _best(self, evidence: dict[str, str], failed: tuple[str, ...]) -> tuple[str, str]:
        options = self.steps(evidence, failed)
        values = [self.after(evidence, failed, step, self._best) for step in options]
        return options[int(np.argmin(values))]


def _planner(model: Model, skip_questions: bool = False) -> Policy:
    skipped = model.observations if skip_questions else ()

    def policy(evidence: dict[str, str], failed: tuple[str, ...]) -> tuple[str, str]:
        step = model.plan(evidence, failed=failed, skipped=skipped)
        return step.kind, step.id

    return policy


def test_the_plan_is_optimal_on_a_tiny_model() -> None:
    """On the two-cause model, following plan() costs exactly the optimum found by exhaustive
    search over every policy, and its first step is an optimal one."""
    model = _tiny_model()
    world = _World(model)
    best = world.optimum({}, ())
    assert world.cost({}, (), _planner(model)) == pytest.approx(best, rel=1e-9)
    step = model.plan()
    assert (step.kind, step.id) == ("question", "qb")
    assert step.expected_cost == pytest.approx(best)
    assert world.after({}, (), (step.kind, step.id), world._best) == pytest.approx(best)


@settings(max_examples=40, deadline=None)
@given(model=troubleshooting_models())
def test_replanning_is_never_worse_than_its_estimate_nor_than_acting_alone(model: Model) -> None:
    """In the planner's own world, following plan() costs at most the value it reports, which
    is at most the ECR of acting without questions (the base heuristic); and that ECR is the
    exact expected cost of following the efficiency sequence."""
    world = _World(model)
    followed = world.cost({}, (), _planner(model))
    reported = model.plan().expected_cost
    acting = model.plan(skipped=model.observations).expected_cost
    assert followed <= reported + 1e-7
    assert reported <= acting + 1e-7
    assert world.cost({}, (), _planner(model, skip_questions=True)) == pytest.approx(acting)


# -- the simulation benchmark ---------------------------------------------------------------------
@pytest.mark.slow
def test_simulation_benchmark_runs() -> None:
    """benchmarks/bench_troubleshoot.py runs end to end on a few cases and prints every policy."""
    from benchmarks.bench_troubleshoot import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["--cases", "3", "--seeds", "0,1"]) == 0
    text = out.getvalue()
    for label in ("single fault", "two faults", "planner", "checklist", "random", "seed 1"):
        assert label in text
    assert "ms per plan() call" in text


def test_model_mix_weighs_fault_sets_as_the_model(sync: Model) -> None:
    """The benchmark's third distribution: one or two causes, each set as likely as the model's
    priors make it (a pair {i, j} against the single {i}: p_j / (1 - p_j))."""
    from benchmarks.bench_troubleshoot import fault_prior

    sets, prior = fault_prior(sync.network, None)
    present = sync.posterior({}).reindex(sync.causes).to_numpy()
    assert prior.sum() == pytest.approx(1.0)
    single = {int(row[0]): h for h, row in enumerate(sets.members) if row[1] == len(sync.causes)}
    for h, (i, j) in enumerate(sets.members.tolist()):
        if j < len(sync.causes):
            odds = present[j] / (1.0 - present[j])
            assert prior[h] / prior[single[i]] == pytest.approx(odds, rel=1e-12)


@pytest.mark.parametrize("faults", [1, 2])
def test_exact_benchmark_costs_agree_with_the_simulation(sync: Model, faults: int) -> None:
    """The benchmark's enumerated expected cost of the checklist is the simulation's mean (within
    four standard errors of 3,000 cases, plus what the paths left out could cost); contacting
    support at once costs exactly 60, in every fault set."""
    from benchmarks.bench_troubleshoot import (
        LAST_RESORT,
        Tree,
        checklist,
        draw_cases,
        print_by_cause,
        run_case,
    )

    tree = Tree(sync, faults, cutoff=1e-6)
    exact = tree.cost(checklist)
    assert tree.pruned < 1e-2
    cases = draw_cases(sync.network, 3000, faults, np.random.default_rng(7))
    rng = np.random.default_rng(8)
    costs = np.array([run_case(sync.network, checklist, case, rng)[0] for case in cases])
    error = 4 * costs.std() / np.sqrt(len(costs)) + tree.pruned * costs.max()
    assert abs(costs.mean() - exact) < error

    def support(evidence: Any, failed: Any, rng: Any) -> Any:
        yield ("action", LAST_RESORT)

    assert tree.cost(support) == pytest.approx(60.0)
    every = tree.costs(support)  # fault set by fault set: each ends with support, at 60 minutes
    np.testing.assert_allclose(every.support, tree.prior, atol=1e-12)
    np.testing.assert_allclose(every.minutes, 60.0 * tree.prior, atol=1e-12)
    out = io.StringIO()
    with redirect_stdout(out):
        print_by_cause(sync, tree, every, tree.costs(checklist))
    rows = {line.split()[0]: line.split() for line in out.getvalue().splitlines()[1:]}
    assert set(rows) == set(sync.causes)
    assert all(row[2] == "60.0" and row[-3] == "100%" for row in rows.values())


def test_failed_and_skipped_take_a_single_name(sync: Model) -> None:
    """plan(failed="toggle_imessage") is that one action, not its letters; same for skipped."""
    evidence = {"paused_banner": "yes"}
    assert sync.plan(evidence, failed="toggle_imessage") == sync.plan(
        evidence, failed=["toggle_imessage"]
    )
    first = sync.plan(evidence)
    assert sync.plan(evidence, skipped=first.id) == sync.plan(evidence, skipped=[first.id])
    assert sync.plan(evidence, skipped=first.id).id != first.id


def test_step_reads_with_rounded_costs_and_percentages() -> None:
    """A Step shows minutes to 0.1 and probabilities as percentages, not raw floats."""
    step = Step("action", "fix_a", "Fix a", 2.0, 38.467567224185274, (("a", 0.19999999999999996),))
    assert repr(step) == "<Step action fix_a (2.0 min; 38.5 min expected to a fix); why: a 20.0%>"
    assert str(step) == repr(step)[len("<Step ") : -1]
    html = step._repr_html_()
    assert "<code>fix_a</code>" in html
    assert "20%" in html
    last = dataclasses.replace(step, last_resort=True, why=())
    assert repr(last) == "<Step last resort fix_a (2.0 min; 38.5 min expected to a fix)>"


def test_an_action_listed_twice_as_failed_failed_once(sync: Model) -> None:
    """Listing a failure twice is the same report, not twice the evidence."""
    once = sync.plan({"paused_banner": "yes"}, failed=["restart_device"])
    twice = sync.plan({"paused_banner": "yes"}, failed=["restart_device", "restart_device"])
    assert twice == once


def test_soft_evidence_on_a_failed_actions_cause_in_any_spelling(sync: Model) -> None:
    """Soft evidence on a cause that a failed action fixes combines with the failure whatever
    the spelling of its states (a state spelled 'Present' was weighed as 0)."""
    plain = {"stalled_session": {"absent": 0.4, "present": 0.6}}
    spelled = {"stalled_session": {"ABSENT": 0.4, "Present": 0.6}}
    expected = sync.plan(soft=plain, failed="restart_device")
    assert sync.plan(soft=spelled, failed="restart_device") == expected


@pytest.mark.parametrize(
    "weights",
    [{"present": "0.5", "absent": "1"}, {"present": None, "absent": 1.0}, [0.5, 0.5]],
)
def test_bad_soft_evidence_on_a_failed_actions_cause_is_an_evidence_error(
    sync: Model, weights: object
) -> None:
    """Soft evidence is checked before it is combined with a failure on the same cause."""
    with pytest.raises(EvidenceError, match="soft evidence on 'icloud_storage_full'"):
        sync.plan(
            soft={"icloud_storage_full": cast(Any, weights)}, failed=["free_or_upgrade_storage"]
        )
