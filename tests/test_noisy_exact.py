"""Noisy-OR and noisy-MAX tables are exact for any probabilities, however tiny (1e-17, 1e-300).

The oracle is exact rational arithmetic (`fractions.Fraction`) on the very floats the model
holds: P(yes) = 1 - prod (1 - p) for noisy-OR, P(Y <= s) = prod F_i(s) for noisy-MAX.
"""

from __future__ import annotations

import itertools
import math
import sys
import warnings
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncdx._model import Model
from syncdx.errors import ModelWarning
from syncdx.network._authoring import parse_model
from tests.strategies import probabilities, state_weights, tiny_probabilities

RTOL = 1e-12


def _close(got: float, exact: Fraction) -> bool:
    """`got` equals `exact` to a relative `RTOL` (exactly, for 0; subnormal numbers, below
    the smallest normal float, hold fewer digits and are compared to that absolute size)."""
    if exact == 0:
        return got == 0.0
    return abs(Fraction(got) - exact) <= RTOL * exact + Fraction(sys.float_info.min)


def _causes(n: int, prior: float = 0.5) -> list[dict[str, Any]]:
    return [{"id": f"c{i}", "prior": prior, "assumption": "a"} for i in range(n)]


def _noisy_or_document(leak: float, links: list[float], prior: float = 0.5) -> dict[str, Any]:
    noisy_or = {
        "leak": {"p": leak, "assumption": "l"},
        "links": {f"c{i}": {"p": p, "assumption": "l"} for i, p in enumerate(links)},
    }
    observation = {"id": "o", "question": "?", "cost": 1, "assumption": "o", "noisy_or": noisy_or}
    return {"syncdx_model": 1, "causes": _causes(len(links), prior), "observations": [observation]}


@given(leak=probabilities, links=st.lists(probabilities, min_size=1, max_size=4))
def test_noisy_or_table_is_exact(leak: float, links: list[float]) -> None:
    """Every entry of a noisy-OR table equals 1 - (1 - leak) prod (1 - p) (and its complement)
    to 1e-12 relative, for probabilities of any size."""
    network = parse_model(_noisy_or_document(leak, links))
    table = network.cpts[network.index["o"]]
    for config in np.ndindex(*table.shape[:-1]):  # cause states: 0 absent, 1 present
        off = Fraction(1) - Fraction(leak)
        for p, state in zip(links, config):
            off *= Fraction(1) - Fraction(p) if state == 1 else 1
        assert _close(float(table[(*config, 1)]), off), (config, table[config])
        assert _close(float(table[(*config, 0)]), 1 - off), (config, table[config])


@given(leak=tiny_probabilities, link=tiny_probabilities, prior=st.floats(0.01, 0.99))
@settings(deadline=None)
def test_posterior_with_tiny_noisy_or_numbers_is_exact(
    leak: float, link: float, prior: float
) -> None:
    """P(cause | yes) = prior a / (prior a + (1 - prior) leak), a = 1 - (1 - leak)(1 - link):
    numbers far below 1e-16 are not rounded away (1e-17 and 1e-12 give 0.99999, not 1)."""
    model = Model(parse_model(_noisy_or_document(leak, [link], prior)))
    a = -math.expm1(math.log1p(-leak) + math.log1p(-link))
    expected = prior * a / (prior * a + (1 - prior) * leak)
    got = float(model.posterior({"o": "yes"})["c0"])
    assert got == pytest.approx(expected, rel=1e-9)


def test_the_issue_example() -> None:
    """leak 1e-17 with a link of 1e-12: P(cause | yes) = 0.99999, and 1e-17 twice is possible."""
    model = Model(parse_model(_noisy_or_document(1e-17, [1e-12])))
    assert float(model.posterior({"o": "yes"})["c0"]) == pytest.approx(1e-12 / (1e-12 + 1e-17))
    model = Model(parse_model(_noisy_or_document(1e-17, [1e-17])))
    assert float(model.posterior({"o": "yes"})["c0"]) == pytest.approx(2 / 3)


# -- noisy-MAX ------------------------------------------------------------------------------

STATES = ["none", "low", "mid", "high"]


def _exact_cdf(weights: dict[str, float]) -> list[Fraction]:
    """P(X <= s) for each state, with the first state taking exactly the rest."""
    p = [Fraction(weights.get(state, 0.0)) for state in STATES]
    p[0] = 1 - sum(p[1:], Fraction(0))
    return [sum(p[: s + 1], Fraction(0)) for s in range(len(STATES))]


@given(leak=state_weights(STATES), links=st.lists(state_weights(STATES), min_size=1, max_size=3))
@settings(deadline=None)
def test_noisy_max_table_is_exact(leak: dict[str, float], links: list[dict[str, float]]) -> None:
    """Every entry of a noisy-MAX table equals prod F_i(s) - prod F_i(s - 1), exactly computed,
    to 1e-12 relative, for probabilities of any size."""
    spec = {
        "leak": {"p": leak, "assumption": "l"},
        "links": {
            f"c{i}": {"p": w or {"low": 1e-300}, "assumption": "l"} for i, w in enumerate(links)
        },
    }
    observation = {"id": "o", "question": "?", "cost": 1, "assumption": "o", "states": STATES}
    document = {
        "syncdx_model": 1,
        "causes": _causes(len(links)),
        "observations": [{**observation, "noisy_max": spec}],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelWarning)  # a link of weight 0: tested below
        network = parse_model(document)
    table = network.cpts[network.index["o"]]
    cdfs = [_exact_cdf(w or {"low": 1e-300}) for w in links]
    for config in np.ndindex(*table.shape[:-1]):
        cdf = _exact_cdf(leak)
        for link_cdf, state in zip(cdfs, config):
            if state == 1:
                cdf = [a * b for a, b in zip(cdf, link_cdf)]
        exact = [cdf[0]] + [b - a for a, b in itertools.pairwise(cdf)]
        for s, value in enumerate(exact):
            assert _close(float(table[(*config, s)]), value), (config, s, table[config])


def test_noisy_max_link_on_the_normal_state_warns() -> None:
    """A noisy-MAX link with all its weight on the first (normal) state has no effect: a
    ModelWarning names the node and the link."""
    spec: dict[str, dict[str, Any]] = {
        "leak": {"p": {"low": 0.1}, "assumption": "l"},
        "links": {"c0": {"p": {"none": 1.0}, "assumption": "l"}},
    }
    observation = {"id": "o", "question": "?", "cost": 1, "assumption": "o", "states": STATES}
    document = {
        "syncdx_model": 1,
        "causes": _causes(1),
        "observations": [{**observation, "noisy_max": spec}],
    }
    with pytest.warns(ModelWarning, match=r"node 'o', field 'noisy_max\.links\.c0\.p'.*no effect"):
        parse_model(document, file="m.yaml")
    spec["links"]["c0"]["p"] = {"high": 1e-300}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parse_model(document, file="m.yaml")
