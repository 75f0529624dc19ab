"""The E-step: closed-form noisy counts from family joints, and patterns split on known roots,
checked against the old E-step (tests/estep_oracle.py) and against an unsplit engine run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import syncdx
from syncdx.diagnosis._diagnoser import Diagnoser
from syncdx.learn import _fit, _split
from syncdx.learn._estep import Patterns, expected_counts, family_sums
from syncdx.learn._fit import _patterns, model_document
from syncdx.learn._params import Family, families
from syncdx.learn._split import split_patterns
from syncdx.network._authoring import parse_model
from syncdx.network._network import Network
from tests import estep_oracle
from tests.strategies import networks


def _p(rng: np.random.Generator) -> float:
    return float(np.round(rng.uniform(0.02, 0.98), 3))


def _levels(rng: np.random.Generator) -> dict[str, float]:
    mid, hi, _ = np.round(rng.dirichlet([1.0, 1.0, 1.0]) * 0.98, 3)
    return {"mid": float(mid), "hi": float(hi)}


def _extra(rng: np.random.Generator) -> dict[str, Any]:
    """Sometimes `frozen: true`, sometimes a confidence of its own."""
    roll = rng.random()
    return {"frozen": True} if roll < 0.15 else {"confidence": 5.0} if roll < 0.3 else {}


def _links(
    rng: np.random.Generator, upstream: list[str], hidden: set[str], kind: str
) -> dict[str, Any]:
    chosen = rng.choice(
        len(upstream), size=rng.integers(1, min(4, len(upstream)) + 1), replace=False
    )
    links = {}
    for k in sorted(chosen):
        parent = upstream[k]
        p = _p(rng) if kind == "noisy_or" else _levels(rng)
        when = {"when": "yes"} if parent in hidden else {}
        links[parent] = {"p": p, **when, "assumption": "x", **_extra(rng)}
    return links


def _observation(
    rng: np.random.Generator, j: int, upstream: list[str], causes: list[str], hidden: set[str]
) -> dict[str, Any]:
    base = {"id": f"o{j}", "question": "?", "cost": 1, "assumption": "x", **_extra(rng)}
    kind = ("noisy_or", "noisy_max", "cpt")[int(rng.integers(3))]
    if kind == "noisy_or":
        leak = {"p": _p(rng), "assumption": "x", **_extra(rng)}
        links = _links(rng, upstream, hidden, kind)
        return base | {"noisy_or": {"state": "yes", "leak": leak, "links": links}}
    if kind == "noisy_max":
        leak = {"p": _levels(rng), "assumption": "x", **_extra(rng)}
        spec = {"leak": leak, "links": _links(rng, upstream, hidden, kind)}
        return base | {"states": ["lo", "mid", "hi"], "noisy_max": spec}
    parents = [causes[k] for k in sorted(rng.choice(len(causes), size=1 + (len(causes) > 1)))]
    parents = list(dict.fromkeys(parents))
    rows = []
    for config in np.ndindex(*(2,) * len(parents)):
        when = {p: ("absent", "present")[s] for p, s in zip(parents, config)}
        q = _p(rng)
        rows.append({"when": when, "p": {"yes": q, "no": 1 - q}, "assumption": "x"})
    return base | {"parents": parents, "cpt": rows}


@st.composite
def noisy_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A random model document: 1-3 causes, 0-2 hidden noisy-OR nodes (with children), 1-4
    observations (noisy-OR, noisy-MAX over 3 levels, or cpt); random frozen numbers."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    causes = [f"c{i}" for i in range(draw(st.integers(1, 3)))]
    document: dict[str, Any] = {"syncdx_model": 1, "name": "random"}
    document["causes"] = [
        {"id": c, "prior": _p(rng) / 2, "assumption": "x", **_extra(rng)} for c in causes
    ]
    upstream, hidden = list(causes), set[str]()
    document["hidden"] = []
    for h in range(draw(st.integers(0, 2))):
        leak = {"p": _p(rng) / 4, "assumption": "x"}
        links = _links(rng, upstream, hidden, "noisy_or")
        spec = {"state": "yes", "leak": leak, "links": links}
        document["hidden"].append({"id": f"h{h}", "assumption": "x", "noisy_or": spec})
        upstream.append(f"h{h}")
        hidden.add(f"h{h}")
    document["observations"] = [
        _observation(rng, j, upstream, causes, hidden) for j in range(draw(st.integers(1, 4)))
    ]
    if not document["hidden"]:
        del document["hidden"]
    return document


def _cases(network: Network, n: int, seed: int, blank_causes: float) -> pd.DataFrame:
    """Cases drawn from the model, some cause cells blank (not known)."""
    cases = syncdx.Model(network).sample(n, seed=seed, missing=0.3).drop(columns="confirmed_cause")
    rng = np.random.default_rng(seed)
    for column in [c for c in cases.columns if c.startswith("cause_")]:
        cells = cases[column].astype(object)
        cells[rng.random(n) < blank_causes] = None
        cases[column] = cells
    return cases


def _assert_counts_close(network: Network, document: dict[str, Any], cases: pd.DataFrame) -> None:
    """The E-step's counts, activations, log likelihood and impossible weight equal the old
    E-step's on every row that is learned (frozen rows are not used)."""
    fams = families(document, network, 20.0)
    patterns = _patterns(Diagnoser(network), cases)
    new = expected_counts(network, fams, patterns)
    old = estep_oracle.expected_counts(network, fams, patterns)
    scale = 1e-9 * max(float(patterns.weights.sum()), 1.0)
    for family, a, b, x, y in zip(fams, old.counts, new.counts, old.active, new.active):
        learned = ~family.frozen
        np.testing.assert_allclose(b[learned], a[learned], rtol=1e-9, atol=scale)
        np.testing.assert_allclose(y[learned], x[learned], rtol=1e-9, atol=scale)
    assert new.log_likelihood == pytest.approx(old.log_likelihood, rel=1e-9, abs=scale)
    assert new.impossible == old.impossible


@settings(max_examples=40)
@given(
    noisy_documents(),
    st.integers(1, 300),
    st.integers(0, 2**16),
    st.sampled_from([0.0, 0.5, 1.0]),
)
def test_noisy_counts_equal_the_modified_model_runs(
    document: dict[str, Any], n: int, seed: int, blank_causes: float
) -> None:
    """Noisy-OR/MAX counts from the family joint (closed form per parent configuration)
    equal the old E-step's modified-model runs, with causes known, unknown or mixed."""
    network = parse_model(document)
    _assert_counts_close(network, document, _cases(network, n, seed, blank_causes))


def test_shipped_model_counts_equal_the_old_e_step() -> None:
    """On the shipped model's cases (30% blanks, causes known), the E-step equals the old one."""
    network = syncdx.load_model().network
    cases = syncdx.load_model().sample(2000, seed=5, missing=0.3)
    _assert_counts_close(network, model_document(network), cases)


def test_fit_equals_the_fit_with_the_old_e_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fitted tables and the log-likelihood trace on the shipped model equal, to 1e-9
    relative, those of EM run with the old E-step."""
    model = syncdx.load_model()
    cases = model.sample(1500, seed=9, missing=0.3).drop(columns="confirmed_cause")
    new = model.fit(cases, max_iter=4)
    monkeypatch.setattr(
        _fit,
        "expected_counts",
        lambda net, fams, patterns, split: estep_oracle.expected_counts(net, fams, patterns),
    )
    old = model.fit(cases, max_iter=4)
    assert new.learned is not None
    assert old.learned is not None
    np.testing.assert_allclose(new.learned.trace, old.learned.trace, rtol=1e-9)
    for a, b in zip(new.network.cpts, old.network.cpts):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-15)


def _unsplit(
    diagnoser: Diagnoser, fams: list[Family], patterns: Patterns
) -> tuple[list[np.ndarray], float, float]:
    """family_sums' answer from one engine run over every pattern as given."""
    network = diagnoser.network
    members = [(*network.parents[f.node], f.node) for f in fams]
    rows = len(patterns.weights)
    likelihoods = patterns.likelihoods or {0: np.ones((rows, network.cards[0]))}
    log_z, joints = diagnoser.families(likelihoods, members)
    possible = np.isfinite(log_z)
    w = np.where(possible, patterns.weights, 0.0)
    sums = [np.tensordot(w, np.nan_to_num(j), axes=1) for j in joints]
    return sums, float(w @ np.where(possible, log_z, 0.0)), float(patterns.weights[~possible].sum())


@st.composite
def evidence_batches(draw: st.DrawFn) -> tuple[Network, Patterns]:
    """A random network (exact zeros in its tables) and 1-40 patterns: each node hard,
    soft (zeros allowed) or no evidence; roots often hard (known)."""
    network = draw(networks(max_nodes=8, zeros=True))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows = draw(st.integers(1, 40))
    likelihoods = {}
    for v, card in enumerate(network.cards):
        kind = rng.choice(["none", "hard", "soft", "mixed"], p=[0.3, 0.3, 0.1, 0.3])
        if kind == "none":
            continue
        lik = np.ones((rows, card))
        hard = rng.random(rows) < (1.0 if kind == "hard" else 0.5)
        lik[hard] = np.eye(card)[rng.integers(0, card, hard.sum())]
        if kind == "soft":
            lik = np.where(rng.random((rows, card)) < 0.3, 0.0, rng.random((rows, card)))
        likelihoods[v] = lik
    weights = rng.integers(1, 5, rows).astype(np.float64)
    return network, Patterns(likelihoods, weights, np.arange(rows))


@settings(max_examples=80)
@given(evidence_batches(), st.sampled_from([1, 3, 1000]))
def test_split_patterns_give_the_unsplit_sums(
    batch: tuple[Network, Patterns], most_groups: int
) -> None:
    """Summed family joints, log likelihood and impossible weight are the same whether the
    patterns are split on their known roots (each set of known roots on its own, or the
    rarer sets together on the roots they share) or run whole, on any network and evidence."""
    network, patterns = batch
    saved = _split._MOST_GROUPS
    _split._MOST_GROUPS = most_groups
    try:
        _check_split(network, patterns)
    finally:
        _split._MOST_GROUPS = saved


def _check_split(network: Network, patterns: Patterns) -> None:
    fams = [
        Family(v, "cpt", np.zeros((1, 1)), np.zeros(1), np.zeros(1), [], {})
        for v in range(len(network))
    ]
    diagnoser = Diagnoser(network)
    split = split_patterns(network, patterns.likelihoods, len(patterns.weights))
    sums, log_likelihood, impossible = family_sums(diagnoser, fams, patterns, split)
    want, want_ll, want_impossible = _unsplit(diagnoser, fams, patterns)
    scale = 1e-9 * float(patterns.weights.sum())
    for got, expected in zip(sums, want):
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=scale)
    assert impossible == want_impossible
    assert log_likelihood == pytest.approx(want_ll, rel=1e-9, abs=scale)


def test_known_causes_split_the_cases_into_few_rows() -> None:
    """With every cause known, 5,000 distinct shipped-model cases need under a third as many
    engine rows (each component's distinct evidence, run once)."""
    model = syncdx.load_model()
    cases = model.sample(5000, seed=1, missing=0.3)
    patterns = _patterns(Diagnoser(model.network), cases)
    split = split_patterns(model.network, patterns.likelihoods, len(patterns.weights))
    assert len(patterns.weights) > 4000
    assert split.size < len(patterns.weights) / 3
