"""The batched engine's fast paths give exactly what the plain paths give."""

from __future__ import annotations

import numpy as np
import pytest

import syncdx
from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis import _likelihoods
from syncdx.inference._batch import Spare, _One
from syncdx.inference._compile import compile_network
from syncdx.inference._engine import JunctionTree
from syncdx.network._bif import bundled_network, read_network_file
from syncdx.network._network import FloatArray, Network


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
    codes, columns = _codes(network, 700, seed=2)
    likelihoods = _likelihoods.likelihoods(network.cards, codes, columns)
    tree = compile_network(network)
    plan = tree._plan(tuple(likelihoods), tuple(range(len(network.cards))))
    slots: list[FloatArray] = [np.ascontiguousarray(lik.T) for lik in likelihoods.values()]
    slots += [np.empty(0)] * (plan.slots - len(slots))
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
