"""Models too big for memory are refused up front, with the size, the node and the limit."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncdx import Limits
from syncdx.errors import ModelError
from syncdx.inference import compile_network
from syncdx.network._limits import MAX_TABLE_ENTRIES
from syncdx.network._network import CAUSE_STATES, Network, Variable


def _causes(n: int) -> tuple[list[Variable], list[tuple[int, ...]], list[np.ndarray]]:
    variables = [Variable(f"c{i}", CAUSE_STATES, "cause") for i in range(n)]
    return variables, [()] * n, [np.array([0.9, 0.1])] * n


def _many_parents(k: int) -> Network:
    """k causes and one observation with all of them as parents (its table a broadcast view,
    so the test allocates nothing)."""
    variables, parents, cpts = _causes(k)
    variables.append(Variable("symptom", ("yes", "no"), cost=1.0))
    parents.append(tuple(range(k)))
    cpts.append(np.broadcast_to(np.array([0.5, 0.5]), (2,) * (k + 1)))
    return Network(tuple(variables), tuple(parents), tuple(cpts))


def _pairwise(k: int) -> Network:
    """k causes and one observation per pair of them: a clique over every cause."""
    variables, parents, cpts = _causes(k)
    for a, b in itertools.combinations(range(k), 2):
        variables.append(Variable(f"o{a}_{b}", ("yes", "no"), cost=1.0))
        parents.append((a, b))
        cpts.append(np.full((2, 2, 2), 0.5))
    return Network(tuple(variables), tuple(parents), tuple(cpts))


@pytest.mark.parametrize("k", [27, 30, 40])
def test_a_table_over_the_limit_is_refused_naming_the_node(k: int) -> None:
    """A node whose table would exceed MAX_TABLE_ENTRIES is refused when the network is built,
    naming the node, its entries and the limit (not a MemoryError)."""
    with pytest.raises(ModelError) as caught:
        _many_parents(k)
    assert caught.value.node == "symptom"
    assert f"{2 ** (k + 1):,} entries" in str(caught.value)
    assert f"{MAX_TABLE_ENTRIES:,}" in str(caught.value)


@pytest.mark.parametrize("k", [24, 30])
def test_a_junction_tree_over_the_limit_is_refused_before_it_is_built(k: int) -> None:
    """Pairwise links among k causes make one clique over every cause; compiling refuses it
    with the size and the limit, naming a node of that clique."""
    network = _pairwise(k)
    with pytest.raises(ModelError, match="limit") as caught:
        compile_network(network)
    assert caught.value.node in {f"c{i}" for i in range(k)}


def test_the_bytes_compiling_would_allocate_are_bounded() -> None:
    """A table within the clique limit whose compiled arrays (table, scratch, a gather index
    per homed node) would exceed the byte limit is refused with the GiB and the node."""
    network = _many_parents(20)
    with pytest.raises(ModelError, match=r"0\.4 GiB \(.*\), over the limit of 0\.1 GiB") as caught:
        compile_network(network, limits=Limits(compiled_bytes=2**27))
    assert caught.value.node == "symptom"
    assert "a junction tree of 2,097,152 entries in 1 tables" in str(caught.value)


def test_the_refusal_names_a_limit_that_lets_the_network_compile() -> None:
    """The way out the byte refusal prints (syncdx.Limits(compiled_bytes=...)) is a limit
    under which the same network compiles."""
    network = _many_parents(16)
    with pytest.raises(ModelError) as caught:
        compile_network(network, limits=Limits(compiled_bytes=2**20))
    suggested = str(caught.value).split("limits=syncdx.Limits(compiled_bytes=")[1].rstrip(")")
    number, _, power = suggested.partition(" * 2**")
    limits = Limits(compiled_bytes=int(number) * 2 ** int(power))
    assert compile_network(network, limits=limits).width == 2**17


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 9), st.integers(0, 12))
def test_limits_are_settable_and_exact(k: int, log_limit: int) -> None:
    """The clique limit is a keyword: a network compiles exactly when its largest clique is
    within it (else a ModelError stating the limit), whatever the limit."""
    network = _pairwise(k)
    width = compile_network(network).width
    limits = Limits(clique_entries=2**log_limit)
    if width <= 2**log_limit:
        assert compile_network(network, limits=limits).width == width
    else:
        with pytest.raises(ModelError, match=f"{2**log_limit:,} entries") as caught:
            compile_network(network, limits=limits)
        assert f"limits=syncdx.Limits(clique_entries={width:_})" in str(caught.value)


def test_the_byte_limit_is_settable() -> None:
    """A compiled-bytes limit below what a small network needs refuses it; the default does not."""
    network = _pairwise(5)
    compile_network(network)
    with pytest.raises(ModelError, match="GiB"):
        compile_network(network, limits=Limits(compiled_bytes=1000))


def test_model_takes_the_limits() -> None:
    """`Model(network, limits=...)` passes its limits to compilation."""
    from syncdx import Model

    network = _pairwise(4)
    assert Model(network).network is network
    with pytest.raises(ModelError, match="limit"):
        Model(network, limits=Limits(clique_entries=4))
