"""Fault sets and repair sequences: the planner's belief, how attempts shrink it, and its ECR."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import syncdx
from syncdx._ranking import TIE
from syncdx.diagnosis._faults import clamp_causes, fault_sets
from syncdx.diagnosis._repairs import Repairs
from syncdx.diagnosis._sequence import sequence_cost
from tests.oracle import joint
from tests.strategies import fault_set_weights, stay_probabilities

Subset = frozenset[int]


def _by_hand(sets_: list[tuple[int, ...]], weights: np.ndarray) -> dict[Subset, float]:
    """A row of fault-set weights as {set of causes: weight}."""
    return {frozenset(s): float(w) for s, w in zip(sets_, weights)}


def _shrink_by_hand(belief: dict[Subset, float], stay: np.ndarray) -> dict[Subset, float]:
    """Each set S becomes each subset T with prod_T stay * prod_{S - T} (1 - stay)."""
    out: dict[Subset, float] = {}
    for s, w in belief.items():
        for k in range(len(s) + 1):
            for t in itertools.combinations(sorted(s), k):
                p = np.prod([stay[c] for c in t]) * np.prod([1 - stay[c] for c in s - set(t)])
                out[frozenset(t)] = out.get(frozenset(t), 0.0) + w * float(p)
    out.pop(frozenset(), None)
    return out


def _sets(causes: int, width: int) -> list[tuple[int, ...]]:
    return [s for k in range(1, width + 1) for s in itertools.combinations(range(causes), k)]


# -- fault sets -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("causes", "width", "size"), [(1, 2, 1), (4, 1, 4), (4, 2, 10), (5, 3, 25)]
)
def test_every_set_of_at_most_width_causes(causes: int, width: int, size: int) -> None:
    """fault_sets lists each set of 1..width causes once, as members and as an indicator."""
    sets = fault_sets(causes, width)
    assert sets.size == size
    listed = {frozenset(int(c) for c in row if c < causes) for row in sets.members}
    assert listed == {frozenset(s) for s in _sets(causes, min(width, causes))}
    assert (sets.indicator.sum(axis=1) == (sets.members < causes).sum(axis=1)).all()


@settings(max_examples=50, deadline=None)
@given(weights=fault_set_weights, stay=arrays(np.float64, (3, 4), elements=stay_probabilities))
def test_shrink_matches_the_subsets_by_hand(weights: np.ndarray, stay: np.ndarray) -> None:
    """Each set moves to each of its subsets with the product of stay / fix probabilities."""
    sets = fault_sets(4, 2)
    order = [tuple(int(c) for c in row if c < 4) for row in sets.members]
    shrunk = sets.shrink(weights, stay)
    for row in range(3):
        expected = _shrink_by_hand(_by_hand(order, weights[row]), stay[row])
        got = _by_hand(order, shrunk[row])
        for s in got:
            assert got[s] == pytest.approx(expected.get(s, 0.0), abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(weights=fault_set_weights, stay=arrays(np.float64, (2, 4), elements=stay_probabilities))
def test_transitions_are_shrink_as_matrices(weights: np.ndarray, stay: np.ndarray) -> None:
    """weights @ transitions(stay)[r] moves the weights as shrink does with stay[r]."""
    sets = fault_sets(4, 2)
    matrices = sets.transitions(stay)
    for r in range(2):
        expected = sets.shrink(weights, np.repeat(stay[r : r + 1], 3, axis=0))
        np.testing.assert_allclose(weights @ matrices[r], expected, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    weights=arrays(np.float64, (3, 2, 10), elements=st.floats(0, 1)),
    stay=arrays(np.float64, (3, 4), elements=stay_probabilities),
    same=st.booleans(),
)
def test_shrink_blocks_is_shrink_block_by_block(
    weights: np.ndarray, stay: np.ndarray, same: bool
) -> None:
    """shrink_blocks moves block r's rows as shrink does with stay[r] (stay rows repeated or
    not, all ones included), and never gives a negative weight."""
    sets = fault_sets(4, 2)
    stay = np.repeat(stay[:1], 3, axis=0) if same else stay
    blocks = sets.shrink_blocks(weights.copy(), stay)
    for r in range(3):
        expected = sets.shrink(weights[r], np.repeat(stay[r : r + 1], 2, axis=0))
        np.testing.assert_allclose(blocks[r], expected, rtol=1e-12, atol=1e-300)
    assert (blocks >= 0).all()


def test_present_and_all_fixed() -> None:
    """P(cause present) sums the sets holding it; an action fixes a set if it fixes each cause."""
    sets = fault_sets(3, 2)  # {0} {1} {2} {0,1} {0,2} {1,2}
    weights = np.array([[0.1, 0.2, 0.0, 0.3, 0.0, 0.4]])
    assert sets.present(weights)[0] == pytest.approx([0.4, 0.9, 0.4])
    fixed = sets.all_fixed(np.array([[0.5, 0.8, 0.0]]))[0]
    assert fixed == pytest.approx([0.5, 0.8, 0.0, 0.4, 0.0, 0.0])


def test_clamped_rows_give_the_joint_probability_of_each_fault_set() -> None:
    """One engine row per fault set: log P(e, exactly those causes present), by enumeration."""
    model = syncdx.load_model()
    network = model.network
    evidence = {"paused_banner": "yes", "storage_full_alert": "no"}
    likelihoods = {
        network.index[k]: np.eye(2)[network.variable(k).states.index(v)][None]
        for k, v in evidence.items()
    }
    sets = fault_sets(len(model.causes), 2)
    result = model.diagnoser.infer(clamp_causes(network, model.causes, sets, likelihoods), ())
    tiny = [0, 5, 17 + 3]  # {c0}, {c5} and the fourth pair
    for h in tiny:
        present = {model.causes[c] for c in sets.members[h] if c < len(model.causes)}
        clamp = {c: ("present" if c in present else "absent") for c in model.causes}
        expected = model.probability_of_evidence({**evidence, **clamp})
        assert np.exp(result.log_evidence[h]) == pytest.approx(expected, rel=1e-9)


def test_clamping_agrees_with_brute_force_on_a_small_network() -> None:
    """The same on a network small enough to enumerate: causes 0 and 1, evidence on node 2."""
    network = _two_cause_network()
    model = syncdx.Model(network)
    sets = fault_sets(2, 2)
    rows = clamp_causes(network, model.causes, sets, {2: np.array([[0.0, 1.0]])})
    got = np.exp(model.diagnoser.infer(rows, ()).log_evidence)
    table = joint(network)[..., 1]  # node 2 observed in state 1
    assert got == pytest.approx([table[1, 0], table[0, 1], table[1, 1]], rel=1e-12)


def _two_cause_network() -> syncdx.Network:
    from syncdx.network._network import CAUSE_STATES, Variable

    variables = (
        Variable("a", CAUSE_STATES, "cause"),
        Variable("b", CAUSE_STATES, "cause"),
        Variable("q", ("no", "yes"), "observation", cost=1.0),
    )
    cpts = (
        np.array([0.7, 0.3]),
        np.array([0.8, 0.2]),
        np.array([[[0.9, 0.1], [0.4, 0.6]], [[0.2, 0.8], [0.1, 0.9]]]),
    )
    return syncdx.Network(variables, ((), (), (0, 1)), cpts)


# -- the expected cost of repair of the efficiency sequence -------------------------------------
def _ecr_by_hand(
    belief: dict[Subset, float], costs: np.ndarray, fix: np.ndarray, last: int
) -> float:
    """Greedy P(fixes every cause left) / cost, one action at a time, until the last resort."""
    total = sum(belief.values())
    p = {s: w / total for s, w in belief.items()} if total > 0 else {}
    left, cost = list(range(len(costs))), 0.0
    while left and p:
        alive = sum(p.values())
        fixes = {a: sum(w * np.prod([fix[a, c] for c in s]) for s, w in p.items()) for a in left}
        with np.errstate(divide="ignore", invalid="ignore"):
            eff = {a: (alive if a == last else fixes[a]) / costs[a] for a in left}
        top = max(eff.values())
        tie = TIE * max((abs(e) for e in eff.values() if np.isfinite(e)), default=0.0)
        a = next((a for a in left if eff[a] >= top - tie and a != last), last)
        cost += costs[a] * alive
        p = _shrink_by_hand(p, 1.0 - fix[a])
        left.remove(a)
        if a == last:
            break
    return cost


@settings(max_examples=60, deadline=None)
@given(
    # weights near 1e-9 too: efficiencies then shrink to that scale, where an absolute tie
    # width would tie every action
    weights=arrays(np.float64, (3, 10), elements=st.floats(0, 1) | st.floats(0, 1e-8)),
    fix=arrays(np.float64, (5, 4), elements=st.sampled_from([0.0, 0.3, 0.5, 0.9, 1.0])),
    costs=arrays(np.float64, 5, elements=st.sampled_from([0.5, 1.0, 2.0, 5.0, 60.0])),
    last=st.integers(-1, 4),
)
def test_sequence_cost_matches_the_greedy_sequence_by_hand(
    weights: np.ndarray, fix: np.ndarray, costs: np.ndarray, last: int
) -> None:
    """Vectorised ECR over fault sets equals the greedy sequence computed set by set."""
    sets = fault_sets(4, 2)
    order = [tuple(int(c) for c in row if c < 4) for row in sets.members]
    repairs = Repairs(tuple(f"a{k}" for k in range(5)), costs, fix, last)
    ecr, first = sequence_cost(sets, weights, repairs)
    for row in range(3):
        expected = _ecr_by_hand(_by_hand(order, weights[row]), costs, fix, last)
        assert ecr[row] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert ((first >= 0) & (first < 5)).all()


@settings(max_examples=40, deadline=None)
@given(
    weights=arrays(np.float64, (4, 10), elements=st.floats(0, 1)),
    fix=arrays(np.float64, (5, 4), elements=st.sampled_from([0.0, 0.3, 0.5, 0.9, 1.0])),
    costs=arrays(np.float64, 5, elements=st.sampled_from([0.0, 0.5, 1.0, 2.0, 60.0])),
    last=st.integers(-1, 4),
    excluded=arrays(np.intp, 4, elements=st.integers(-1, 4)),
)
def test_a_row_without_an_action_costs_as_with_the_repairs_less_that_action(
    weights: np.ndarray, fix: np.ndarray, costs: np.ndarray, last: int, excluded: np.ndarray
) -> None:
    """sequence_cost with a row's action excluded gives that row's ECR and first action with
    that action removed from the repairs (free actions and no last resort included)."""
    sets = fault_sets(4, 2)
    repairs = Repairs(tuple(f"a{k}" for k in range(5)), costs, fix, last)
    excluded = np.where(excluded == last, -1, excluded)  # the last resort is never left out
    ecr, first = sequence_cost(sets, weights, repairs, excluded)
    for row, action in enumerate(excluded.tolist()):
        fewer = repairs if action < 0 else repairs.without(action)
        alone, alone_first = sequence_cost(sets, weights[row : row + 1], fewer)
        assert ecr[row] == pytest.approx(alone[0], rel=1e-12, abs=1e-300)
        if weights[row].sum() > 0:
            assert fewer.ids[int(alone_first[0])] == repairs.ids[int(first[row])]


def test_single_faults_with_perfect_repairs_give_the_textbook_ecr() -> None:
    """Single causes, one perfect action each: ECR = sum_k C_k (1 - sum_{j<k} p_j)."""
    sets = fault_sets(3, 1)
    repairs = Repairs(("a", "b", "c"), np.array([1.0, 3.0, 1.0]), np.eye(3), -1)
    ecr, first = sequence_cost(sets, np.array([[0.5, 0.3, 0.2]]), repairs)
    # efficiencies 0.5, 0.1, 0.2: order a, c, b
    assert ecr[0] == pytest.approx(1.0 + 1.0 * 0.5 + 3.0 * 0.3)
    assert first[0] == 0


def test_a_pair_needs_both_fixes() -> None:
    """With two causes present, fixing one does not end the sequence: both costs are paid."""
    sets = fault_sets(2, 2)  # {0} {1} {0,1}
    repairs = Repairs(("a", "b"), np.array([1.0, 2.0]), np.eye(2), -1)
    ecr, _ = sequence_cost(sets, np.array([[0.0, 0.0, 1.0]]), repairs)
    assert ecr[0] == pytest.approx(3.0)


def test_the_last_resort_ends_the_sequence_by_the_swap_rule() -> None:
    """An action goes before the last resort exactly when P / C > P(reached) / C_last."""
    sets = fault_sets(2, 1)
    fix = np.array([[1.0, 0.0], [0.5, 0.5]])
    worth = Repairs(("a", "support"), np.array([5.0, 20.0]), fix, 1)
    ecr, first = sequence_cost(sets, np.array([[0.5, 0.5]]), worth)  # 0.5 / 5 > 1 / 20
    assert (first[0], ecr[0]) == (0, pytest.approx(5.0 + 0.5 * 20.0))
    not_worth = Repairs(("a", "support"), np.array([15.0, 20.0]), fix, 1)  # 0.5 / 15 < 1 / 20
    ecr, first = sequence_cost(sets, np.array([[0.5, 0.5]]), not_worth)
    assert (first[0], ecr[0]) == (1, pytest.approx(20.0))
