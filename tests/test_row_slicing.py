"""Single rows read large clique tables only at the states of the hard findings behind them."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncdx.inference import _factored, _kernels, _rowpass
from syncdx.inference._compile import compile_network
from syncdx.network._bif import bundled_network, read_network_file
from syncdx.network._network import FloatArray, Network, Variable
from tests.oracle import check_row_as_batch, check_single_row, mixed_row
from tests.strategies import networks


@contextmanager
def _every_table_by_axes(threshold: int = 1) -> Iterator[list[int]]:
    """Every clique of at least `threshold` joint states read as a table over its axes (the
    large-clique path; as factors where its table factorises), counting the calls that read
    a slice of a table."""
    calls: list[int] = []
    sliced = _kernels._sliced_sums

    def counted(*args: object) -> list[FloatArray]:
        calls.append(1)
        return sliced(*args)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_kernels, "BROADCAST_ENTRIES", threshold)
        patch.setattr(_rowpass, "_GATHER_ENTRIES", threshold)
        patch.setattr(_rowpass, "BROADCAST_ENTRIES", threshold)  # compact messages
        patch.setattr(_factored, "BROADCAST_ENTRIES", threshold)
        patch.setattr(_kernels, "_sliced_sums", counted)
        yield calls


@settings(max_examples=80, deadline=None)
@given(networks(max_nodes=9, zeros=True), st.integers(0, 2**32 - 1))
def test_sliced_single_rows_equal_brute_force(network: Network, seed: int) -> None:
    """With every table sliced at the hard findings behind it, single rows (new, then memoised,
    mixed with soft findings and tables with zeros) equal enumeration."""
    rng = np.random.default_rng(seed)
    with _every_table_by_axes():
        tree = compile_network(network)
        rows = [mixed_row(network, rng) for _ in range(4)]
        for row in rows + rows[::-1]:
            check_single_row(network, tree, row)


def _one_finding_changed(network: Network, rng: np.random.Generator) -> list[dict[int, FloatArray]]:
    """Rows of hard findings on a random subset of the nodes, then each finding changed (to a
    random state) or dropped, the others kept: rows that share most of their evidence."""
    cards = network.cards
    chosen = rng.choice(len(cards), size=int(rng.integers(1, len(cards) + 1)), replace=False)
    base = {int(v): np.eye(cards[v])[int(rng.integers(cards[v]))][None] for v in chosen}
    rows = [base]
    for v in base:
        rows.append({**base, v: np.eye(cards[v])[int(rng.integers(cards[v]))][None]})
        rows.append({u: lik for u, lik in base.items() if u != v})
    return [row for row in rows if row]


@settings(max_examples=80, deadline=None)
@given(networks(max_nodes=9, zeros=True), st.integers(0, 2**32 - 1))
def test_small_tables_read_whole_at_hard_findings_equal_brute_force(
    network: Network, seed: int
) -> None:
    """Small tables read by their axes are read whole, not sliced, at the hard findings behind
    them: single rows (rows that change one finding's state, memoised messages reused, and
    mixed rows) still equal enumeration."""
    rng = np.random.default_rng(seed)
    whole: list[int] = []
    call = _kernels.RowKernel.__call__

    def counted(self: _kernels.RowKernel, x: object, fixed: object = ()) -> object:
        if fixed and self.axes and self.matrix.size < _kernels._WHOLE_ENTRIES:
            whole.append(1)
        return call(self, x, fixed)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_kernels, "_DENSE_ENTRIES", 0)  # every small table read by its axes
        patch.setattr(_kernels.RowKernel, "__call__", counted)
        tree = compile_network(network)
        rows = _one_finding_changed(network, rng) + [mixed_row(network, rng) for _ in range(3)]
        for row in rows:
            check_single_row(network, tree, row)
    assert whole


def test_a_message_from_a_sliced_one_is_not_reused_for_another_state() -> None:
    """A message computed from a sliced one is exact only at the finding's state, even where
    its own table is small: it is not reused for a row with another state of that variable
    (on this network a reused one gave log P(e) of the wrong row, or -inf)."""
    cards = (2, 4, 2, 2, 2, 2, 2, 2, 2, 2)
    parents = ((), (0,), (), (0,), (), (3,), (), (0, 1), (0, 1, 2), (0, 5, 7))
    rng = np.random.default_rng(0)
    variables = tuple(
        Variable(f"v{i}", tuple(f"s{k}" for k in range(card)), "observation", cost=1.0)
        for i, card in enumerate(cards)
    )
    cpts = tuple(
        rng.dirichlet(np.ones(card), size=[cards[p] for p in ps] or None)
        for card, ps in zip(cards, parents)
    )
    network = Network(variables, parents, cpts, name="sliced-then-small")
    rows = np.random.default_rng(0)
    with _every_table_by_axes(32) as calls:
        tree = compile_network(network)
        for _ in range(3):
            for row in _one_finding_changed(network, rows):
                check_single_row(network, tree, row)
    assert calls


@settings(max_examples=100, deadline=None)
@given(networks(max_nodes=14), st.sampled_from([4, 8, 16, 32]), st.integers(0, 2**32 - 1))
def test_memoised_single_rows_equal_batches_with_some_tables_sliced(
    network: Network, threshold: int, seed: int
) -> None:
    """With only the larger cliques sliced, single rows that share most of their evidence,
    in turn on one memo, give the batched plan's log P(e)."""
    rng = np.random.default_rng(seed)
    with _every_table_by_axes(threshold):
        tree = compile_network(network)
        for _ in range(3):
            for row in _one_finding_changed(network, rng):
                single = tree.run(row).log_evidence
                batch = tree.run({v: np.repeat(lik, 2, axis=0) for v, lik in row.items()})
                np.testing.assert_allclose(batch.log_evidence, single[[0, 0]], rtol=1e-9)


def test_sliced_single_rows_equal_batches_on_a_bundled_network() -> None:
    """On insurance, single rows with hard findings read sliced tables and give the batched
    plan path's answers."""
    network = read_network_file(bundled_network("insurance"))
    rng = np.random.default_rng(7)
    with _every_table_by_axes() as calls:
        tree = compile_network(network)
        for _ in range(8):
            check_row_as_batch(tree, mixed_row(network, rng), 1e-12)
    assert calls


@settings(max_examples=60, deadline=None)
@given(networks(max_nodes=9, zeros=True), st.integers(0, 2**32 - 1))
def test_broadcast_inputs_into_whole_table_kernels_equal_brute_force(
    network: Network, seed: int
) -> None:
    """Single rows whose cliques multiply their inputs by broadcasting (no gather index), read
    by kernels that take the whole table as one matrix, equal enumeration, new and memoised."""
    rng = np.random.default_rng(seed)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_rowpass, "_GATHER_ENTRIES", 1)
        tree = compile_network(network)
        rows = [mixed_row(network, rng) for _ in range(4)]
        for row in rows + rows[::-1]:
            check_single_row(network, tree, row)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=5), st.integers(0, 2**32 - 1))
def test_large_table_kernel_outputs_equal_a_sum_of_the_product(cards: list[int], seed: int) -> None:
    """A row kernel that reads its table by its axes (einsum subscripts made once per pattern
    of input shapes) gives, for factors of any broadcast shapes, with and without a fixed
    state, each segment's sum of the product of the factors and the table, then the same
    answers again from its remembered subscripts."""
    rng = np.random.default_rng(seed)
    table = rng.random(cards)
    ndim = len(cards)
    segments = [(a,) for a in range(ndim)]  # every one-axis marginal (three or more: halving)
    if rng.random() < 0.5:
        segments = [tuple(sorted(rng.choice(ndim, size=rng.integers(1, ndim + 1), replace=False)))]
    factors = tuple(
        rng.random([n if rng.random() < 0.6 else 1 for n in cards])
        for _ in range(rng.integers(1, 4))
    )
    fixed: tuple[tuple[int, int], ...] = ()
    if rng.random() < 0.5:
        axis = int(rng.integers(ndim))
        state = int(rng.integers(cards[axis]))
        zero = [slice(None)] * ndim
        zero[axis] = np.arange(cards[axis]) != state
        factors = (factors[0] * np.ones(cards), *factors[1:])
        factors[0][tuple(zero)] = 0.0
        fixed = ((axis, state),)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_kernels, "BROADCAST_ENTRIES", 1)
        kernel = _kernels.row_kernel(table, segments)
    product = math.prod(factors, start=table)
    expected = [
        product.sum(axis=tuple(a for a in range(ndim) if a not in s)).ravel() for s in segments
    ]
    total = float(product.sum())
    for _ in range(2):
        got_total, got = kernel(factors, fixed)
        np.testing.assert_allclose(got_total, total, rtol=1e-12)
        np.testing.assert_allclose(got, np.concatenate(expected) / total, rtol=1e-10)
