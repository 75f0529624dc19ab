"""The troubleshooting planner: ECR, failure evidence, the step it picks, and the simulation."""

from __future__ import annotations

import dataclasses
import io
from contextlib import redirect_stdout
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import syncdx
from syncdx import EvidenceError, Model, ModelError
from syncdx.plan import Repairs, Step, expected_cost_of_repair, failure_evidence, plan


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


# -- expected cost of repair ------------------------------------------------------------------
def _ecr_by_hand(p: np.ndarray, costs: np.ndarray, fix: np.ndarray, last: int) -> float:
    """Greedy P(fix | not fixed yet) / cost, one action at a time, until the last resort.

    The last resort ends the session whatever it fixes, so it counts P(reached) / cost.
    """
    p = p / p.sum() if p.sum() > 0 else np.full(len(p), 1.0 / len(p))
    left, total = list(range(len(costs))), 0.0
    while left:
        efficiency = {
            a: (float(p.sum()) if a == last else float(p @ fix[a])) / costs[a] for a in left
        }
        best = max(efficiency.values())
        a = next((a for a in left if efficiency[a] == best and a != last), last)
        total += costs[a] * p.sum()
        p = p * (1.0 - fix[a])
        left.remove(a)
        if a == last:
            break
    return total


@settings(max_examples=60, deadline=None)
@given(
    present=arrays(np.float64, (3, 4), elements=st.floats(0, 1)),
    fix=arrays(np.float64, (5, 4), elements=st.sampled_from([0.0, 0.3, 0.5, 0.9, 1.0])),
    costs=arrays(np.float64, 5, elements=st.sampled_from([0.5, 1.0, 2.0, 5.0, 60.0])),
    last=st.integers(-1, 4),
)
def test_ecr_matches_the_greedy_sequence(
    present: np.ndarray, fix: np.ndarray, costs: np.ndarray, last: int
) -> None:
    """Vectorised ECR equals the greedy efficiency sequence computed action by action."""
    repairs = Repairs(tuple(f"a{k}" for k in range(5)), costs, fix, last)
    ecr, first = expected_cost_of_repair(present, repairs)
    for row in range(3):
        assert ecr[row] == pytest.approx(_ecr_by_hand(present[row], costs, fix, last), rel=1e-9)
    assert ((first >= 0) & (first < 5)).all()


def test_ecr_of_perfect_single_cause_repairs() -> None:
    """With perfect one-cause repairs, ECR is the textbook sum_k C_k (1 - sum_{j<k} p_j)."""
    p = np.array([[0.5, 0.3, 0.2]])
    repairs = Repairs(("a", "b", "c"), np.array([1.0, 3.0, 1.0]), np.eye(3), -1)
    ecr, first = expected_cost_of_repair(p, repairs)
    # efficiencies 0.5, 0.1, 0.2: order a, c, b
    assert ecr[0] == pytest.approx(1.0 + 1.0 * 0.5 + 3.0 * 0.3)
    assert first[0] == 0


# -- failed actions as evidence -----------------------------------------------------------------
def test_failed_action_is_soft_evidence_on_its_causes(sync: Model) -> None:
    """A failed action multiplies P(present) by (1 - q): exact Bayes for a root cause."""
    soft = failure_evidence(sync.network, ["restart_device", "sign_out_and_in"])
    assert soft["stalled_session"] == pytest.approx({"absent": 1.0, "present": 0.5 * 0.3})
    assert soft["apple_id_stale_credentials"] == pytest.approx({"absent": 1.0, "present": 0.1})
    p = sync.posterior(soft=failure_evidence(sync.network, ["restart_device"]))
    assert p["stalled_session"] == pytest.approx(0.25 * 0.5 / (0.25 * 0.5 + 0.75))


def test_unknown_action_names_the_actions(sync: Model) -> None:
    """An unknown failed action is an EvidenceError listing the model's actions."""
    with pytest.raises(EvidenceError, match=r"unknown action 'reboot'.*restart_device"):
        sync.plan(failed=["reboot"])


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
    """A proposed question's ECO is below the ECR of acting at once (all questions skipped)."""
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


def test_questions_are_one_batched_pass(sync: Model, monkeypatch: pytest.MonkeyPatch) -> None:
    """All hypothetical answers of all questions go to Model.infer in a single call."""
    calls: list[int] = []
    original = sync.infer

    def counted(likelihoods: Any, targets: Any) -> Any:
        calls.append(len(next(iter(likelihoods.values()))))
        return original(likelihoods, targets)

    monkeypatch.setattr(sync, "infer", counted)
    plan(sync, {"paused_banner": "yes"})
    states = sum(len(sync.states(o)) for o in sync.observations if o != "paused_banner")
    assert calls == [1 + states]


def test_model_without_actions_is_refused() -> None:
    """Planning needs repair actions: a network without them is a ModelError."""
    network = syncdx.load_model().network
    bare = Model(dataclasses.replace(network, actions=()))
    with pytest.raises(ModelError, match="no repair actions"):
        bare.plan()


def test_step_is_a_plain_value() -> None:
    """Step compares by value."""
    a = Step("action", "x", "X", 1.0, 2.0, (("c", 0.5),))
    assert a == Step("action", "x", "X", 1.0, 2.0, (("c", 0.5),))


# -- the simulation benchmark ---------------------------------------------------------------------
def test_simulation_benchmark_runs() -> None:
    """benchmarks/bench_troubleshoot.py runs end to end on a few cases and prints every policy."""
    from benchmarks.bench_troubleshoot import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["--cases", "20"]) == 0
    text = out.getvalue()
    for label in ("single fault", "two faults", "planner", "checklist", "random"):
        assert label in text
