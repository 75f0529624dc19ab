"""Single rows on the requisite tables alone (the ancestors of the evidence and the targets)
give enumeration's answers, and on munin the batched path's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncdx.inference import _relevant, _rowpass
from syncdx.inference._compile import compile_network
from syncdx.network._bif import bundled_network, read_network_file
from syncdx.network._network import FloatArray, Network
from tests.oracle import check_single_row, mixed_row, posterior_marginals
from tests.strategies import networks


@contextmanager
def _requisite_runs(every_row: bool) -> Iterator[list[int]]:
    """Counts the rows run on the requisite tables; with `every_row`, sends every single row
    there (every variable requisite too)."""
    calls: list[int] = []
    run = _relevant.Relevance.run

    def counted(self: _relevant.Relevance, *args: object) -> tuple[float, dict[int, FloatArray]]:
        calls.append(1)
        return run(self, *args)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        if every_row:
            patch.setattr(_rowpass.RowPass, "_requisite", lambda *_: True)
        patch.setattr(_relevant.Relevance, "run", counted)
        yield calls


@settings(max_examples=60, deadline=None)
@given(networks(max_nodes=9, zeros=True), st.integers(0, 2**32 - 1))
def test_requisite_single_rows_equal_brute_force(network: Network, seed: int) -> None:
    """On the requisite tables alone, single rows (hard, soft and blank findings, tables with
    zeros, impossible evidence) give enumeration's P(e) and every marginal."""
    rng = np.random.default_rng(seed)
    with _requisite_runs(every_row=True) as calls:
        tree = compile_network(network)
        for _ in range(4):
            check_single_row(network, tree, mixed_row(network, rng))
    assert calls


@pytest.mark.parametrize(
    "constant",
    [
        # every contraction planned (none run as one einsum loop, as only large ones are)
        pytest.param("_DIRECT", id="planned"),
        # room for one remembered message, forgotten at nearly every message: a subtree's
        # name is never given to another after the memory is emptied
        pytest.param("_KEPT", id="forgotten"),
    ],
)
@settings(max_examples=30, deadline=None)
@given(networks(max_nodes=9, zeros=True), st.integers(0, 2**32 - 1))
def test_requisite_rows_with_a_limit_at_one_equal_brute_force(
    constant: str, network: Network, seed: int
) -> None:
    """With every contraction planned, or with room for one remembered message, single rows
    on the requisite tables (sharing subtrees with earlier rows) give enumeration's P(e) and
    marginals."""
    rng = np.random.default_rng(seed)
    with _requisite_runs(every_row=True), pytest.MonkeyPatch.context() as patch:
        patch.setattr(_relevant, constant, 1)
        tree = compile_network(network)
        for _ in range(4):
            check_single_row(network, tree, mixed_row(network, rng))


@settings(max_examples=40, deadline=None)
@given(networks(max_nodes=9), st.integers(0, 2**32 - 1), st.data())
def test_requisite_targets_equal_brute_force(
    network: Network, seed: int, data: st.DataObject
) -> None:
    """A few targets on the requisite tables get enumeration's posteriors and P(e)."""
    rng = np.random.default_rng(seed)
    targets = data.draw(st.lists(st.sampled_from(range(len(network))), min_size=1, unique=True))
    with _requisite_runs(every_row=True):
        tree = compile_network(network)
        row = mixed_row(network, rng)
        with np.errstate(invalid="ignore"):
            p_e, expected = posterior_marginals(network, {v: lik[0] for v, lik in row.items()})
        result = tree.run(row, targets)
    if p_e == 0.0:
        assert result.log_evidence[0] == -np.inf
        return
    np.testing.assert_allclose(np.exp(result.log_evidence[0]), p_e, rtol=1e-9)
    for t in targets:
        np.testing.assert_allclose(result.marginals[t][0], expected[t], rtol=0, atol=1e-9)


def test_munin_cause_posteriors_on_requisite_tables_equal_batches() -> None:
    """On munin, a cause posterior from 4 or 8 leaf findings takes the requisite tables by
    default and gives the batched path's P(e) and posteriors."""
    network = read_network_file(bundled_network("munin"))
    tree = compile_network(network)
    has_child = {p for ps in network.parents for p in ps}
    leaves = [v for v in range(len(network)) if v not in has_child]
    roots = [v for v, ps in enumerate(network.parents) if not ps]
    rng = np.random.default_rng(7)
    with _requisite_runs(every_row=False) as calls:
        for k in (4, 8):
            found = rng.choice(leaves, size=k, replace=False)
            row = {int(v): np.eye(network.cards[v])[[0]] for v in sorted(found)}
            single = tree.run(row, roots)
            batch = tree.run({v: np.repeat(lik, 2, axis=0) for v, lik in row.items()}, roots)
            np.testing.assert_allclose(batch.log_evidence, single.log_evidence[[0, 0]], rtol=1e-9)
            for v in roots:
                np.testing.assert_allclose(batch.marginals[v][1], single.marginals[v][0], atol=1e-9)
    assert calls


def test_rows_needing_every_variable_stay_on_the_walk_only_past_a_wide_separator() -> None:
    """A cause posterior on a large tree takes the requisite tables; so does every marginal
    (every variable requisite) unless a separator is wide (barley's 907,200 entries); a
    tree without a large clique keeps the memoised walk."""
    network = read_network_file(bundled_network("pigs"))
    tree = compile_network(network)
    row = {len(network) - 1: np.eye(network.cards[-1])[[0]]}
    roots = [v for v, ps in enumerate(network.parents) if not ps]
    passes = tree._rows  # the single-row pass (no public accessor)
    assert passes._requisite(row, roots, tree.ancestry)
    assert passes._requisite(row, range(len(network)), tree.ancestry)
    barley = read_network_file(bundled_network("barley"))
    wide = compile_network(barley)
    found = {len(barley) - 1: np.eye(barley.cards[-1])[[0]]}
    assert not wide._rows._requisite(found, range(len(barley)), wide.ancestry)
    alarm = read_network_file(bundled_network("alarm"))
    small = compile_network(alarm)
    found = {len(alarm) - 1: np.eye(alarm.cards[-1])[[0]]}
    assert not small._rows._requisite(found, [0], small.ancestry)


def test_munin_rows_sharing_subtrees_equal_batches() -> None:
    """On munin, cause posteriors of rows that share most findings (each a finding more than
    the last, then the first again) reuse remembered messages and still give the batched
    path's P(e) and posteriors."""
    network = read_network_file(bundled_network("munin"))
    tree = compile_network(network)
    has_child = {p for ps in network.parents for p in ps}
    leaves = [v for v in range(len(network)) if v not in has_child]
    roots = [v for v, ps in enumerate(network.parents) if not ps]
    found = [int(v) for v in np.random.default_rng(3).choice(leaves, size=5, replace=False)]
    rows = [{v: np.eye(network.cards[v])[[1]] for v in found[:k]} for k in (2, 3, 4, 5, 2)]
    with _requisite_runs(every_row=False) as calls:
        for row in rows:
            single = tree.run(row, roots)
            batch = tree.run({v: np.repeat(lik, 2, axis=0) for v, lik in row.items()}, roots)
            np.testing.assert_allclose(batch.log_evidence, single.log_evidence[[0, 0]], rtol=1e-9)
            for v in roots:
                np.testing.assert_allclose(batch.marginals[v][1], single.marginals[v][0], atol=1e-9)
    assert len(calls) == 4  # the last row asked again: a lookup


def test_a_query_asked_again_is_answered_from_memory_unchanged() -> None:
    """On pigs, a cause posterior asked twice runs the requisite tables once and gives equal,
    independent arrays; evidence the walk has met lately goes on the walk again (its memo
    holds the messages)."""
    network = read_network_file(bundled_network("pigs"))
    tree = compile_network(network)
    row = {len(network) - 1: np.eye(network.cards[-1])[[0]]}
    roots = [v for v, ps in enumerate(network.parents) if not ps]
    with _requisite_runs(every_row=False) as calls:
        first = tree.run(row, roots)
        first.marginals[roots[0]][...] = -1.0  # a caller's own copy
        again = tree.run(row, roots)
        assert len(calls) == 1
        assert (again.marginals[roots[0]] >= 0).all()
        other = {len(network) - 2: np.eye(network.cards[-2])[[1]]}
        with pytest.MonkeyPatch.context() as patch:  # the walk meets `other` first
            patch.setattr(_rowpass.RowPass, "_requisite", lambda *_: False)
            tree.run(other, roots)
        walked = tree.run(other, roots)
        assert len(calls) == 1
    np.testing.assert_allclose(again.log_evidence, tree.run(row, roots).log_evidence, rtol=1e-12)
    batch = tree.run({v: np.repeat(lik, 2, axis=0) for v, lik in other.items()}, roots)
    for v in roots:
        np.testing.assert_allclose(walked.marginals[v][0], batch.marginals[v][1], atol=1e-9)


def test_fewer_targets_after_every_marginal_on_the_same_evidence_are_a_lookup() -> None:
    """On mildew, every marginal runs the requisite tables; the cause posterior asked next
    on the same evidence is read off that answer (no second run) and equals a fresh run."""
    network = read_network_file(bundled_network("mildew"))
    tree = compile_network(network)
    row = {len(network) - 1: np.eye(network.cards[-1])[[0]]}
    roots = [v for v, ps in enumerate(network.parents) if not ps]
    with _requisite_runs(every_row=False) as calls:
        every = tree.run(row)
        some = tree.run(row, roots)
        assert len(calls) == 1
    fresh = compile_network(network).run(row, roots)
    np.testing.assert_allclose(some.log_evidence, fresh.log_evidence, rtol=1e-12)
    for v in roots:
        np.testing.assert_allclose(some.marginals[v], fresh.marginals[v], atol=1e-12)
        np.testing.assert_array_equal(some.marginals[v], every.marginals[v])
