"""The batched engine's fast paths give exactly what the plain paths give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import syncdx
from syncdx.diagnosis import _columns, _likelihoods, _rows
from syncdx.diagnosis import _evidence as ev
from syncdx.inference import _threads
from syncdx.inference._batch import Plan, Spare, _One
from syncdx.inference._compile import compile_network
from syncdx.inference._engine import JunctionTree
from syncdx.inference._select import Dense, Select
from syncdx.network._bif import bundled_network, read_network_file
from syncdx.network._network import FloatArray, Network
from tests.strategies import networks


@pytest.fixture(scope="module", params=["sync", "alarm"])
def network(request: pytest.FixtureRequest) -> Network:
    if request.param == "sync":
        return syncdx.load_model().network
    return read_network_file(bundled_network(request.param))


def _codes(network: Network, rows: int, seed: int = 0) -> tuple[ev.CodeArray, tuple[int, ...]]:
    """Random codes (blank, a state, or now and then a bad code) for half the variables."""
    rng = np.random.default_rng(seed)
    columns = tuple(range(0, len(network.cards), 2))
    codes = np.column_stack([rng.integers(-1, network.cards[v], size=rows) for v in columns])
    codes[rng.random(codes.shape) < 0.01] = ev.INVALID
    return codes.astype(np.int16), columns


def _planned(network: Network, rows: int, seed: int) -> tuple[Plan, list[FloatArray]]:
    """The batched plan of every marginal for `_codes` rows, and its slots: the rows'
    likelihoods (states, rows) first, the rest empty."""
    codes, columns = _codes(network, rows, seed)
    likelihoods = _likelihoods.likelihoods(network.cards, codes, columns)
    plan = compile_network(network)._plan(tuple(likelihoods), tuple(range(len(network.cards))))
    slots: list[FloatArray] = [np.ascontiguousarray(lik.T) for lik in likelihoods.values()]
    return plan, slots + [np.empty(0)] * (plan.slots - len(slots))


def test_states_major_likelihoods_are_the_same_values(network: Network) -> None:
    """`likelihoods(states_major=True)` holds the same weights (ones for blank, one-hot for a
    state, zeros for a bad code), each a transposed view of a (states, rows) array."""
    codes, columns = _codes(network, 500)
    plain = _likelihoods.likelihoods(network.cards, codes, columns)
    major = _likelihoods.likelihoods(network.cards, codes, columns, states_major=True)
    assert plain.keys() == major.keys()
    for v, lik in plain.items():
        assert lik.flags.c_contiguous
        assert major[v].T.flags.c_contiguous
        np.testing.assert_array_equal(major[v], lik)
        column = codes[:, columns.index(v)]
        np.testing.assert_array_equal(lik[column == ev.INVALID], 0.0)
        np.testing.assert_array_equal(lik[column == ev.UNOBSERVED], 1.0)


def test_states_major_batches_give_identical_results(network: Network) -> None:
    """A batch given states-major (read in place) gives bit for bit what row-major gives."""
    codes, columns = _codes(network, 3001, seed=1)
    tree = compile_network(network)
    plain = tree.run(_likelihoods.likelihoods(network.cards, codes, columns))
    major = tree.run(_likelihoods.likelihoods(network.cards, codes, columns, states_major=True))
    np.testing.assert_array_equal(major.log_evidence, plain.log_evidence)
    for v, values in plain.marginals.items():
        np.testing.assert_array_equal(major.marginals[v], values)


def test_kernels_with_scratch_arrays_give_identical_outputs(network: Network) -> None:
    """Every kernel step of a plan gives bit for bit the same totals and outputs whether its
    products go to reused scratch arrays (normalised in place) or to fresh ones."""
    plan, slots = _planned(network, 700, seed=2)
    spare, kernels = Spare(), 0
    with np.errstate(divide="ignore", invalid="ignore"):
        for call in plan.steps:
            inputs = [slots[k] for k in call.inputs]
            outputs = call.step(inputs, spare)
            if isinstance(call.step, _One):
                kernels += 1
                total, values = call.step.kernel(inputs)
                np.testing.assert_array_equal(outputs[0][0], total)
                np.testing.assert_array_equal(outputs[0][1], values)
            for out, (_, values) in zip(call.outs, outputs):
                if out.slot >= 0:
                    slots[out.slot] = values
    assert kernels


def _blank_and_near(tree: JunctionTree, network: Network) -> tuple[dict[int, FloatArray], int]:
    """A large batch: rows of evidence, every fifth row blank, and one row of soft evidence
    so weak that log P(e) is within 1e-6 of 0 (it is not blank); and that row's index."""
    codes, columns = _codes(network, 1000, seed=3)
    codes[::5] = ev.UNOBSERVED
    likelihoods = _likelihoods.likelihoods(network.cards, codes, columns)
    near = 1
    for lik in likelihoods.values():
        lik[near] = 1.0
    first = next(iter(likelihoods.values()))
    first[near, 0] = 1.0 - 1e-7
    return likelihoods, near


def test_blank_rows_are_exact_and_near_blank_rows_untouched(network: Network) -> None:
    """In a large batch, rows with no evidence get exactly log P(e) = 0 and the prior
    marginals; a row of evidence whose log P(e) is just below 0 keeps its own answer."""
    tree = compile_network(network)
    likelihoods, near = _blank_and_near(tree, network)
    result = tree.run(likelihoods)
    np.testing.assert_array_equal(result.log_evidence[::5], 0.0)
    for v, values in result.marginals.items():
        np.testing.assert_array_equal(
            values[::5], np.broadcast_to(tree.prior_marginals[v], values[::5].shape)
        )
    assert -1e-6 < result.log_evidence[near] < 0.0


def test_chunked_batches_write_the_same_values_as_one_pass(network: Network) -> None:
    """A batch cut into chunks on the thread pool, each writing its rows into the batch's
    (states, rows) outputs, gives what one pass over every row gives (to rounding: BLAS may
    sum a product in another order for another number of rows)."""
    codes, columns = _codes(network, 9001, seed=3)
    likelihoods = _likelihoods.likelihoods(network.cards, codes, columns, states_major=True)
    tree = compile_network(network)
    plan = tree._plan(tuple(likelihoods), tuple(range(len(network.cards))))
    rows = len(codes)
    log_z, out = tree._batches.chunked(plan, likelihoods, rows)
    whole_z, whole = tree._batches.steps(plan, list(likelihoods.values()), rows, Spare())
    np.testing.assert_allclose(log_z, whole_z, rtol=1e-12)
    assert out.keys() == whole.keys()
    for segment, values in whole.items():
        assert out[segment].shape == values.shape == (rows, values.shape[1])
        np.testing.assert_allclose(out[segment], values, rtol=1e-12, atol=1e-15)


def test_repeated_rows_get_their_distinct_rows_results(network: Network) -> None:
    """`infer_codes` computes each distinct row once and gives every row (repeats and all, in
    order) exactly its distinct row's result, and what a batch of the rows as they are gives."""
    codes, columns = _codes(network, 3000, seed=4)
    codes = codes[np.random.default_rng(5).integers(0, 600, size=5000)]  # many repeats
    diagnoser = syncdx.Model(network).diagnoser
    result = diagnoser.infer_codes(codes, columns, None)
    distinct = _rows.distinct_rows(codes)
    once = diagnoser.infer(
        _likelihoods.likelihoods(network.cards, distinct.rows, columns, states_major=True), None
    )
    np.testing.assert_array_equal(result.log_evidence, once.log_evidence[distinct.inverse])
    rows = diagnoser.infer(_likelihoods.likelihoods(network.cards, codes, columns), None)
    np.testing.assert_allclose(result.log_evidence, rows.log_evidence, rtol=1e-12)
    for v, values in rows.marginals.items():
        np.testing.assert_array_equal(result.marginals[v], once.marginals[v][distinct.inverse])
        np.testing.assert_allclose(result.marginals[v], values, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("name", "kind", "seed"), [("alarm", Select, 6), ("win95pts", Select, 6), ("alarm", Dense, 7)]
)
def test_message_steps_equal_their_kernels(
    name: str, kind: type[Select] | type[Dense], seed: int
) -> None:
    """A message run as a `Select` (the inputs' product times the table, summed to the
    separator) or as `Dense` (scaled by the reciprocals of its totals) gives its kernel's
    totals and values, to rounding, on every row."""
    network = read_network_file(bundled_network(name))
    plan, slots = _planned(network, 600, seed=seed)
    checked = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        for call in plan.steps:
            inputs = [slots[k] for k in call.inputs]
            outputs = call.step(inputs, Spare())
            if isinstance(call.step, kind):
                checked += 1
                total, values = call.step.kernel(inputs)
                found_total, found = outputs[0]
                assert found_total is not None
                np.testing.assert_allclose(found_total, total, rtol=1e-12)
                np.testing.assert_allclose(found, values, rtol=1e-12, atol=1e-300)
            for out, (_, values) in zip(call.outs, outputs):
                if out.slot >= 0:
                    slots[out.slot] = values
    assert checked


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_hard_finding_is_exactly_certain_in_a_batch(data: st.DataObject) -> None:
    """In batched rows, a variable with a hard finding has a marginal of exactly 1 at its
    state and 0 elsewhere, so a cause found absent has P(present) exactly 0 (the planner's
    single-fault uncertainty normalises those probabilities: rounding noise would count)."""
    network = data.draw(networks(max_nodes=8))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    rows, columns = data.draw(st.integers(2, 6)), tuple(range(len(network.cards)))
    codes = np.column_stack([rng.integers(-1, card, size=rows) for card in network.cards])
    likelihoods = _likelihoods.likelihoods(network.cards, codes.astype(np.int16), columns)
    result = compile_network(network).run(likelihoods, columns)
    for row in np.flatnonzero(result.possible):
        for v in map(int, np.flatnonzero(codes[row] >= 0)):
            expected = np.eye(network.cards[v])[codes[row, v]]
            assert np.array_equal(result.marginals[v][row], expected), (row, v)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_column_major_codes_give_the_same_distinct_rows(data: st.DataObject) -> None:
    """`distinct_rows` of column-major codes (as `encode_frame` gives them) finds the same
    rows, inverse and keys as of row-major ones, and keeps them column-major; also when the
    rows need several packed keys."""
    cards = data.draw(st.lists(st.integers(2, 9), min_size=2, max_size=40))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    rows = data.draw(st.integers(1, 300))
    codes = np.column_stack([rng.integers(-2, card, size=rows) for card in cards])
    codes = codes[rng.integers(0, rows, size=rows)].astype(np.int16)  # repeats
    expected = _rows.distinct_rows(np.ascontiguousarray(codes))
    found = _rows.distinct_rows(np.asfortranarray(codes))
    np.testing.assert_array_equal(found.rows, expected.rows)
    np.testing.assert_array_equal(found.inverse, expected.inverse)
    assert (found.keys is None) == (expected.keys is None)
    if found.keys is not None and expected.keys is not None:
        np.testing.assert_array_equal(found.keys, expected.keys)
    assert found.rows.flags.f_contiguous
    np.testing.assert_array_equal(found.rows[found.inverse], codes)


def test_threaded_encoding_and_likelihoods_equal_one_thread(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frame large enough to be encoded, and its likelihoods built, on the engine's threads
    gives the codes and likelihoods (same values, same order) of one thread."""
    model = syncdx.Model(network)
    frame = model.sample(6000, seed=3, missing=0.4)[list(model.observations)]
    frame = frame.astype("str")
    assert frame.size >= _threads.SHARED_CELLS
    threaded = _columns.encode_frame(network, frame)
    lik = _likelihoods.likelihoods(network.cards, threaded.codes, threaded.columns, threaded=True)
    monkeypatch.setattr(_threads, "SHARED_CELLS", 1 << 62)
    alone = _columns.encode_frame(network, frame)
    np.testing.assert_array_equal(threaded.codes, alone.codes)
    assert threaded.columns == alone.columns
    assert threaded.names == alone.names
    single = _likelihoods.likelihoods(network.cards, alone.codes, alone.columns)
    assert list(lik) == list(single)
    for v, values in single.items():
        np.testing.assert_array_equal(lik[v], values)


@pytest.mark.parametrize("name", ["alarm", "win95pts"])
def test_posteriors_of_a_large_frame_equal_single_queries(name: str) -> None:
    """`posteriors(frame)` on thousands of rows (repeats among them; win95pts' rows too wide
    for one key) keeps every row, index and order, and gives each row `posterior()`'s
    probabilities."""
    model = syncdx.Model(read_network_file(bundled_network(name)))
    frame = model.sample(1500, seed=8, missing=0.7)[list(model.observations)].astype("str")
    frame = frame.iloc[np.random.default_rng(9).integers(0, 1500, size=3500)]
    frame.index = pd.Index([f"r{k}" for k in range(len(frame))])
    out = model.posteriors(frame)
    assert list(out.index) == list(frame.index)
    for k in range(0, len(frame), 175):
        row = frame.iloc[k]
        expected = model.posterior({str(c): v for c, v in row.items() if isinstance(v, str)})
        got = out.iloc[k][list(expected.index)].to_numpy(dtype=float)
        np.testing.assert_allclose(got, expected.to_numpy(), rtol=1e-9, atol=1e-12)
