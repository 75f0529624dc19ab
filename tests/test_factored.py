"""Single rows read large clique tables as their factors, contracted pairwise, and get the
answers of enumeration and of the batched plans."""

from __future__ import annotations

import string
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncdx.inference import _contract, _factored, _rowpass
from syncdx.inference._compile import compile_network
from syncdx.inference._contract import Contraction
from syncdx.network._bif import bundled_network, read_network_file
from syncdx.network._network import FloatArray, Network
from tests.oracle import check_row_as_batch, check_single_row, mixed_row
from tests.strategies import networks


@contextmanager
def _every_table_factored(broadcast: bool) -> Iterator[list[int]]:
    """Every clique read as its factors (inputs broadcast over its axes if `broadcast`, else
    flat over its joint states), counting the factored kernels' calls."""
    calls: list[int] = []
    call = _factored.FactoredKernel.__call__

    def counted(self: _factored.FactoredKernel, *args: object) -> tuple[float, FloatArray]:
        calls.append(1)
        return call(self, *args)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_factored, "BROADCAST_ENTRIES", 1)
        patch.setattr(_factored, "_SHARE", 0)
        if broadcast:
            patch.setattr(_rowpass, "_GATHER_ENTRIES", 1)
        patch.setattr(_factored.FactoredKernel, "__call__", counted)
        yield calls


@settings(max_examples=60, deadline=None)
@given(networks(max_nodes=9, zeros=True), st.integers(0, 2**32 - 1), st.booleans())
def test_factored_single_rows_equal_brute_force(
    network: Network, seed: int, broadcast: bool
) -> None:
    """With every clique read as its factors, single rows (new, then memoised, hard, soft
    and blank findings, tables with zeros) give enumeration's P(e) and marginals."""
    rng = np.random.default_rng(seed)
    with _every_table_factored(broadcast) as calls:
        tree = compile_network(network)
        rows = [mixed_row(network, rng) for _ in range(4)]
        for row in rows + rows[::-1]:
            check_single_row(network, tree, row)
    assert calls


def test_factored_single_rows_equal_batches_on_mildew() -> None:
    """On mildew (its large cliques factored as they are by default), single rows on the walk
    (every marginal takes the requisite tables by default) give the batched plan path's
    answers."""
    network = read_network_file(bundled_network("mildew"))
    rng = np.random.default_rng(3)
    calls: list[int] = []
    call = _factored.FactoredKernel.__call__

    def counted(self: _factored.FactoredKernel, *args: object) -> tuple[float, FloatArray]:
        calls.append(1)
        return call(self, *args)  # type: ignore[arg-type]

    tree = compile_network(network)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_factored.FactoredKernel, "__call__", counted)
        patch.setattr(_rowpass.RowPass, "_requisite", lambda *_: False)
        for _ in range(4):
            check_row_as_batch(tree, mixed_row(network, rng), 1e-9)
    assert calls


@st.composite
def _contractions(draw: st.DrawFn) -> tuple[list[str], str, dict[str, int]]:
    """Labels of 1-5 operands over up to 6 letters (some shared, some alone, some scalars)
    and an output among them."""
    letters = string.ascii_letters[: draw(st.integers(1, 6))]
    size = {x: draw(st.integers(1, 9)) for x in letters}
    inputs = [
        "".join(draw(st.permutations(letters))[: draw(st.integers(0, len(letters)))])
        for _ in range(draw(st.integers(1, 5)))
    ]
    present = sorted(set("".join(inputs)))
    output = "".join(draw(st.permutations(present))[: draw(st.integers(0, len(present)))])
    return inputs, output, size


def _cheapest_by_scan(masks: list[int], want: int, sizes: dict[int, int]) -> tuple[int, int, int]:
    """The pair choice as defined: for each pair, the labels the other operands or the output
    still need, by scanning the other operands."""
    best: tuple[int, int, int, int, int] | None = None
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            others = want
            for k, mask in enumerate(masks):
                if k not in (i, j):
                    others |= mask
            union = masks[i] | masks[j]
            key = (sizes[union & others], sizes[union])
            if best is None or key < best[:2]:
                best = (*key, i, j, union & others)
    assert best is not None
    return best[2], best[3], best[4]


@given(
    st.lists(st.integers(0, 2**7 - 1), min_size=2, max_size=9),
    st.integers(0, 2**7 - 1),
    st.lists(st.integers(1, 5), min_size=7, max_size=7),
)
def test_cheapest_pair_counts_holders_as_a_scan_does(
    masks: list[int], want: int, cards: list[int]
) -> None:
    """The planner's next join, found by counting each label's holders once, is the pair and
    the kept labels a scan of the other operands gives for every pair."""
    size = dict(zip(string.ascii_letters, cards))
    bit = {letter: 1 << k for k, letter in enumerate(size)}
    sizes = _contract._Sizes(size, bit)
    assert _contract._cheapest(masks, want, sizes) == _cheapest_by_scan(masks, want, sizes)


@settings(max_examples=300, deadline=None)
@given(
    _contractions(),
    st.integers(0, 2**32 - 1),
    st.sampled_from([0, 1 << 12]),
    st.sampled_from([0, 1 << 10]),
)
def test_contraction_equals_einsum(
    case: tuple[list[str], str, dict[str, int]], seed: int, loop: int, direct: int
) -> None:
    """A contraction, planned (joins by einsum loops or by matrix products) or, where its
    labels have few joint states, one einsum loop, equals einsum's."""
    inputs, output, size = case
    rng = np.random.default_rng(seed)
    operands = [rng.random([size[x] for x in labels]) for labels in inputs]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("syncdx.inference._contract._LOOP", loop)
        patch.setattr("syncdx.inference._contract._DIRECT", direct)
        contraction = Contraction(inputs, [op.shape for op in operands], output)
    expected = np.einsum(",".join(inputs) + "->" + output, *operands)
    np.testing.assert_allclose(contraction(operands), expected, rtol=1e-12)
