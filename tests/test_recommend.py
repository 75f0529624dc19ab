"""The recommender: information gain per question, checked against pgmpy and brute force."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import syncdx
from syncdx import ImpossibleEvidenceError, Model
from syncdx.diagnosis._recommend import Criterion, next_questions, recommend
from syncdx.network._bif import bundled_network, to_pgmpy
from syncdx.network._network import Network
from syncdx.network._sampling import sample
from tests.oracle import posterior_marginals
from tests.strategies import hard_evidence, networks

TOL = 1e-9


@pytest.fixture(scope="module")
def sync() -> Model:
    return syncdx.load_model()


@pytest.fixture(scope="module")
def win95() -> Model:
    return syncdx.load_model(bundled_network("win95pts"))


# -- an independent computation of U and the gain -----------------------------------------
def _entropy_bits(probabilities: list[float]) -> float:
    return -sum(p * math.log2(p) for p in probabilities if p > 0)


def _uncertainty(present: list[float], criterion: Criterion) -> float:
    if criterion == "marginal":
        return sum(_entropy_bits([p, 1 - p]) for p in present)
    total = sum(present)
    return _entropy_bits([p / total for p in present]) if total > 0 else 0.0


def _gain(
    posterior: Any, answer: Any, question: str, states: tuple[str, ...], criterion: Criterion
) -> tuple[float, dict[str, float]]:
    """gain(Q) = U(e) - sum_s P(Q=s|e) U(e, Q=s), from callables giving posteriors."""
    p_answer = answer(question)
    expected = sum(
        p_answer[s] * _uncertainty(posterior({question: s}), criterion)
        for s in states
        if p_answer[s] > 0
    )
    return _uncertainty(posterior({}), criterion) - expected, p_answer


def _pgmpy_oracle(
    model: Model, evidence: Mapping[str, str], soft: Mapping[str, Mapping[str, float]] | None = None
) -> tuple[Any, Any]:
    """(posterior, answer) callables computed with pgmpy VariableElimination."""
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.inference import VariableElimination

    network = model.network
    ve = VariableElimination(to_pgmpy(network))
    virtual = [
        TabularCPD(
            node,
            network.variable(node).card,
            [[weights.get(s, 0.0)] for s in network.variable(node).states],
            state_names={node: list(network.variable(node).states)},
        )
        for node, weights in (soft or {}).items()
    ]

    def query(variables: list[str], extra: Mapping[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = ve.query(
            variables,
            evidence={**evidence, **extra},
            virtual_evidence=virtual or None,
            joint=False,
            show_progress=False,
        )
        return result

    groups: list[list[str]] = [[]]  # pgmpy's joint=False still builds the joint of a query
    for cause in model.causes:
        if math.prod(network.variable(c).card for c in [*groups[-1], cause]) > 4096:
            groups.append([])
        groups[-1].append(cause)

    def posterior(extra: Mapping[str, str]) -> list[float]:
        result = {k: f for group in groups for k, f in query(group, extra).items()}
        return [
            1.0 - float(result[c].get_value(**{c: network.variable(c).normal}))
            for c in model.causes
        ]

    def answer(question: str) -> dict[str, float]:
        factor = query([question], {})[question]
        return {s: float(factor.get_value(**{question: s})) for s in model.states(question)}

    return posterior, answer


def _check_against(
    model: Model, table: pd.DataFrame, oracle: tuple[Any, Any], criterion: Criterion
) -> None:
    posterior, answer = oracle
    for question in map(str, table.index):
        states = model.states(question)
        expected, p_answer = _gain(posterior, answer, question, states, criterion)
        assert table.at[question, "gain"] == pytest.approx(expected, abs=TOL), question
        got = {s: float(table.at[question, f"p_{s}"]) for s in states}  # type: ignore[arg-type]
        assert got == pytest.approx(p_answer, abs=TOL)


# -- against pgmpy ------------------------------------------------------------------------
@pytest.mark.parametrize("criterion", ["marginal", "single_fault"])
def test_sync_gains_match_pgmpy(sync: Model, criterion: Criterion) -> None:
    """Every question's gain and answer distribution on the sync model equal pgmpy's, to 1e-9."""
    evidence = {"paused_banner": "yes", "internet_works": "yes"}
    table = sync.recommend(evidence, criterion=criterion)
    assert set(table.index) == set(sync.observations) - set(evidence)
    _check_against(sync, table, _pgmpy_oracle(sync, evidence), criterion)


def test_soft_evidence_gains_match_pgmpy_virtual_evidence(sync: Model) -> None:
    """Soft evidence enters the gains as pgmpy's virtual evidence does."""
    soft = {
        "internet_works": {"yes": 0.8, "no": 0.2},
        "stalled_session": {"absent": 1, "present": 0.5},
    }
    evidence = {"affected_devices": "one_device"}
    table = sync.recommend(evidence, soft=soft, candidates=["paused_banner", "system_status"])
    _check_against(sync, table, _pgmpy_oracle(sync, evidence, soft), "marginal")


def test_win95pts_leaf_gains_match_pgmpy(win95: Model) -> None:
    """On win95pts (multi-state causes and questions) a few leaves' gains equal pgmpy's."""
    evidence = {"Problem1": "No_Output", "PrtStatPaper": "No_Error"}
    table = win95.recommend(evidence, candidates=["Problem6", "Problem2", "PrtStatToner"])
    _check_against(win95, table, _pgmpy_oracle(win95, evidence), "marginal")


# -- against brute force on random networks -----------------------------------------------
def _brute_oracle(network: Network, evidence: dict[int, int]) -> tuple[Any, Any]:
    causes = [i for i, v in enumerate(network.variables) if v.role == "cause"]

    def solve(extra: Mapping[str, str]) -> list[np.ndarray]:
        hard = dict(evidence)
        hard.update(
            {network.index[k]: network.variable(k).states.index(s) for k, s in extra.items()}
        )
        likelihoods = {v: np.eye(network.cards[v])[s] for v, s in hard.items()}
        return posterior_marginals(network, likelihoods)[1]

    def posterior(extra: Mapping[str, str]) -> list[float]:
        marginals = solve(extra)
        return [1.0 - float(marginals[c][0]) for c in causes]  # state 0 is "absent"

    def answer(question: str) -> dict[str, float]:
        marginal = solve({})[network.index[question]]
        return dict(zip(network.variable(question).states, marginal.tolist()))

    return posterior, answer


@settings(max_examples=40, deadline=None)
@given(data=st.data(), criterion=st.sampled_from(["marginal", "single_fault"]))
def test_gains_match_brute_force(data: st.DataObject, criterion: Criterion) -> None:
    """On random networks, gains and answer probabilities equal full enumeration."""
    network = data.draw(networks(max_nodes=7))
    model = Model(network)
    evidence = data.draw(hard_evidence(network))
    named = {network.variables[v].id: network.variables[v].states[s] for v, s in evidence.items()}
    table = model.recommend(named, criterion=criterion)
    _check_against(model, table, _brute_oracle(network, evidence), criterion)


# -- properties ---------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_gain_is_non_negative_and_zero_when_observed(data: st.DataObject) -> None:
    """Marginal gains are >= 0, and exactly 0 for a question already answered."""
    network = data.draw(networks(max_nodes=8, zeros=True))
    model = Model(network)
    evidence = data.draw(hard_evidence(network))
    named = {network.variables[v].id: network.variables[v].states[s] for v, s in evidence.items()}
    if model.probability_of_evidence(named) == 0:
        return
    table = model.recommend(named, candidates=model.observations)
    assert (table["gain"] >= -1e-12).all()
    for node in set(named) & set(model.observations):
        assert table.loc[node, "gain"] == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_batch_agrees_with_single(data: st.DataObject) -> None:
    """next_questions gives, row by row, the best question and gain of recommend()."""
    network = data.draw(networks(max_nodes=8, zeros=True))
    model = Model(network)
    rows = [data.draw(hard_evidence(network)) for _ in range(data.draw(st.integers(1, 5)))]
    columns = tuple(range(len(network)))
    codes = np.full((len(rows), len(columns)), -1, dtype=np.int16)
    for r, row in enumerate(rows):
        for v, s in row.items():
            codes[r, v] = s
    ids, gains = next_questions(model.diagnoser, codes, columns)
    for r, row in enumerate(rows):
        named = {network.variables[v].id: network.variables[v].states[s] for v, s in row.items()}
        if model.probability_of_evidence(named) == 0:
            assert ids[r] is None
            assert math.isnan(gains[r])
            continue
        table = model.recommend(named)
        top = float(table["gain"].iloc[0]) if len(table) else 0.0
        assert gains[r] == pytest.approx(top if top > 1e-12 else 0.0, abs=1e-12)
        best = ids[r]
        if best is not None:
            assert table.at[best, "gain"] == pytest.approx(top, abs=1e-12)


# -- the table and the batch function -----------------------------------------------------
def test_table_shape_and_ranking(sync: Model) -> None:
    """The table has the documented columns, ranked by gain or by gain per minute, cut at k."""
    table = sync.recommend({"paused_banner": "yes"})
    assert table.index.name == "observation"
    assert list(table.columns)[:4] == ["question", "gain", "cost", "gain_per_minute"]
    answer_columns = [c for c in table.columns if c.startswith("p_")]
    assert len(answer_columns) == len(table.columns) - 4
    assert not any(isinstance(v, dict) for v in table.to_numpy().ravel())  # a tidy frame
    assert list(table["gain"]) == sorted(table["gain"], reverse=True)
    assert table["gain_per_minute"].to_numpy() == pytest.approx(
        (table["gain"] / table["cost"]).to_numpy()
    )
    status = table.loc["system_status", answer_columns].dropna()
    assert list(status.index) == [f"p_{s}" for s in sync.states("system_status")]
    assert status.sum() == pytest.approx(1.0)
    by_cost = sync.recommend({"paused_banner": "yes"}, by="gain_per_cost", k=5)
    assert len(by_cost) == 5
    assert list(by_cost["gain_per_minute"]) == sorted(table["gain_per_minute"], reverse=True)[:5]


def test_storage_alert_is_the_top_question_given_the_banner(sync: Model) -> None:
    """With the paused banner showing, the storage alert is the most informative question."""
    assert sync.recommend({"paused_banner": "yes"}).index[0] == "storage_full_alert"


def test_bad_options_and_impossible_evidence(sync: Model) -> None:
    """Unknown criterion or ranking is a ValueError; impossible evidence names the conflict."""
    with pytest.raises(ValueError, match="criterion"):
        recommend(sync.diagnoser, criterion="entropy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="by must be"):
        recommend(sync.diagnoser, by="cost")  # type: ignore[arg-type]
    with pytest.raises(ImpossibleEvidenceError):
        sync.recommend({"paused_banner": "yes"}, soft={"paused_banner": {"yes": 0.0, "no": 1.0}})


def test_next_questions_edge_rows(sync: Model) -> None:
    """Duplicate rows agree; a fully answered row gets None and 0; impossible gets None, NaN."""
    network = sync.network
    columns = tuple(network.index[o] for o in sync.observations)
    full = sample(network, 1, np.random.default_rng(0))[0, list(columns)]
    codes = np.full((4, len(columns)), -1, dtype=np.int16)
    codes[1] = full
    codes[3, columns.index(network.index["paused_banner"])] = 0
    ids, gains = next_questions(sync.diagnoser, codes, columns)
    assert ids[0] == ids[2] == sync.recommend().index[0]
    assert gains[0] == gains[2] > 0
    assert ids[1] is None
    assert gains[1] == 0.0
    assert ids[3] == "storage_full_alert"
    cause = (network.index["imessage_off"],)
    switch = (network.index["imessage_switch_on"],)
    ids, gains = next_questions(
        Model(_deterministic(network)).diagnoser, np.array([[1, 0]], dtype=np.int16), cause + switch
    )
    assert ids == [None]
    assert math.isnan(gains[0])


def _deterministic(network: Network) -> Network:
    """The sync network with imessage_switch_on exactly determined by imessage_off."""
    import dataclasses

    i = network.index["imessage_switch_on"]
    (parent,) = network.parents[i]
    assert network.variables[parent].id == "imessage_off"
    table = np.array([[1.0, 0.0], [0.0, 1.0]])  # absent -> yes, present -> no
    cpts = (*network.cpts[:i], table, *network.cpts[i + 1 :])
    return dataclasses.replace(network, cpts=cpts)


def test_next_questions_is_one_infer_call_per_chunk(
    sync: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of rows, duplicates included, costs one batched inference call."""
    calls: list[int] = []
    original = sync.diagnoser.infer

    def counted(likelihoods: Any, targets: Any) -> Any:
        calls.append(1)
        return original(likelihoods, targets)

    monkeypatch.setattr(sync.diagnoser, "infer", counted)
    codes = np.array([[0], [1], [0], [-1]] * 10, dtype=np.int16)
    ids, _ = next_questions(sync.diagnoser, codes, (sync.network.index["paused_banner"],))
    assert len(calls) == 1
    assert ids[0] == ids[2]
    assert ids[0] != ids[1]


@pytest.mark.parametrize(
    ("k", "error", "message"),
    [
        (-1, ValueError, "k must be a non-negative integer, got -1"),
        (1.5, TypeError, "k must be a non-negative integer, got 1.5"),
        (True, TypeError, "got True"),
        ("3", TypeError, "got '3'"),
    ],
)
def test_k_must_be_a_count(sync: Model, k: object, error: type[Exception], message: str) -> None:
    """k is None or a non-negative int: -1 must not silently drop the last row."""
    with pytest.raises(error, match=message):
        sync.recommend({}, k=k)  # type: ignore[arg-type]


def test_k_counts_rows(sync: Model) -> None:
    """k=0 gives no rows, a numpy int works like an int, None gives every question."""
    assert len(sync.recommend({}, k=0)) == 0
    assert len(sync.recommend({}, k=np.int64(2))) == 2  # type: ignore[arg-type]
    assert len(sync.recommend({}, k=None)) == len(sync.observations)


def test_candidates_are_names_not_letters(sync: Model) -> None:
    """A single string is one candidate; a name given twice is one row."""
    one = sync.recommend({}, candidates="internet_works")
    assert list(one.index) == ["internet_works"]
    pd.testing.assert_frame_equal(one, sync.recommend({}, candidates=["internet_works"]))
    twice = sync.recommend({}, candidates=["internet_works", "paused_banner", "internet_works"])
    assert sorted(twice.index) == ["internet_works", "paused_banner"]
