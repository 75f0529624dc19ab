"""Soft (likelihood) evidence: a weight for every state of a node, validated, and how it reads
in a message (`Reported` weights carry their reason, e.g. a repair that did not fix a cause)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Real

import numpy as np

from syncdx.diagnosis._evidence import (
    NO_WORDS,
    UNOBSERVED,
    SoftEvidence,
    node,
    shown,
    state_index,
)
from syncdx.errors import EvidenceError
from syncdx.network._network import FloatArray, Network, Variable


def encode_soft(network: Network, soft: SoftEvidence | None) -> dict[int, FloatArray]:
    """Likelihood (virtual) evidence as {variable index: weight per state}.

    Every state of a node needs a weight, a finite real number >= 0 (0 rules the state out),
    and not all of them 0; anything else is an `EvidenceError` naming the node.
    """
    if soft is None:
        return {}
    if not isinstance(soft, Mapping):
        raise TypeError(
            "soft must be a mapping {node: {state: weight}} such as "
            f'{{"internet_works": {{"yes": 0.8, "no": 0.2}}}}, got {type(soft).__name__}'
        )
    out = {}
    for name, weights in soft.items():
        variable = node(network, name)
        out[network.index[variable.id]] = _soft_weights(variable, weights)
    return out


def _soft_weights(variable: Variable, weights: object) -> FloatArray:
    """The weight vector of one node's soft evidence, validated (see `encode_soft`)."""
    if not isinstance(weights, Mapping):
        raise _bad_soft(variable, weights, f"must map each state to a weight, got {weights!r}")
    vector = np.full(variable.card, np.nan)
    for value, weight in weights.items():
        index = state_index(variable, value, NO_WORDS)  # a weight names a state, never "maybe"
        if index == UNOBSERVED:
            raise _bad_soft(variable, weights, f"has a blank state name ({shown(value)})")
        if not (isinstance(weight, Real) and 0.0 <= _as_float(weight) < math.inf):
            raise _bad_soft(
                variable,
                weights,
                f"needs a finite real weight >= 0, got {shown(weight)} for {value!r}",
            )
        if not math.isnan(vector[index]):
            raise _bad_soft(variable, weights, f"weighs {variable.states[index]!r} twice")
        vector[index] = weight
    missing = [state for state, w in zip(variable.states, vector) if math.isnan(w)]
    if missing:
        raise _bad_soft(
            variable,
            weights,
            f"gives no weight to {', '.join(missing)}; give every state a weight "
            "(0 rules a state out)",
        )
    if not vector.any():
        raise _bad_soft(variable, weights, "gives every state weight 0")
    return vector


def _as_float(number: Real) -> float:
    """`number` as a float; infinity (not a weight either way) for a number too large in
    magnitude for one (10**400)."""
    try:
        return float(number)
    except OverflowError:
        return math.inf


class Reported(dict[str, float]):
    """Soft evidence weights on one node that say in words where they come from (`reason`,
    e.g. "restart_device did not fix it"), for messages about impossible evidence."""

    def __init__(self, weights: Mapping[str, float], reason: str) -> None:
        super().__init__(weights)
        self.reason = reason


def describe_soft(name: str, weights: Mapping[str, float]) -> str:
    """How soft evidence on node `name` reads in a message: its `reason`, or its weights."""
    if isinstance(weights, Reported):
        return weights.reason
    shown_weights = ", ".join(f"{state!r}: {shown(w)}" for state, w in weights.items())
    return f"soft evidence on {name!r} ({{{shown_weights}}})"


def _bad_soft(variable: Variable, weights: object, problem: str) -> EvidenceError:
    return EvidenceError(
        f"soft evidence on {variable.id!r} {problem}",
        node=variable.id,
        value=weights,
        allowed=variable.states,
    )
