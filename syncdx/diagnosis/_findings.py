"""Findings: each piece of evidence as a person names it, and as likelihoods on the network.

A finding is an answer (hard evidence on one node), soft evidence on one node, or a repair
action that did not fix the problem (soft evidence on every cause it targets, read as
`_repairs.failure_evidence` reads it). Explanations weigh findings one by one, so each keeps
its likelihood arrays apart; together they are exactly the evidence the posterior uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis import _likelihoods, _soft
from syncdx.diagnosis._repairs import failure_evidence
from syncdx.network._network import FloatArray, Network

FindingKind = Literal["answer", "soft", "failed"]
#: How a failed repair reads in an explanation's `answer` column.
NOT_FIXED = "tried, not fixed"


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of evidence: `id` (a node, or an action for a failed repair), what was found
    (`answer`, as a person reads it) and its likelihoods {variable index: weight per state}."""

    id: str
    kind: FindingKind
    answer: str
    text: str
    likelihoods: tuple[tuple[int, FloatArray], ...]


def answer_finding(network: Network, node: str, state: object) -> Finding | None:
    """The finding "node = state" (None for a blank answer)."""
    variable = ev.node(network, node)
    code = ev.state_index(variable, state, ev.words(network))
    if code == ev.UNOBSERVED:
        return None
    index = network.index[variable.id]
    weights = _likelihoods.one_hot(variable.card, code)[0]
    return Finding(variable.id, "answer", variable.states[code], variable.text, ((index, weights),))


def soft_finding(network: Network, node: str, weights: Mapping[str, float]) -> Finding:
    """Soft evidence on `node` as a finding (checked as `Model.posterior` checks it)."""
    variable = ev.node(network, node)
    (index, vector), *_ = _soft.encode_soft(network, {variable.id: weights}).items()
    if isinstance(weights, _soft.Reported):
        shown = weights.reason
    else:
        shown = "soft: " + ", ".join(
            f"{s} {w:.3g}" for s, w in zip(variable.states, vector.tolist())
        )
    return Finding(variable.id, "soft", shown, variable.text, ((index, vector),))


def failed_finding(network: Network, action: str) -> Finding:
    """The finding "`action` was tried and did not fix the problem"."""
    found = network.action(action)
    soft = failure_evidence(network, [action])
    likelihoods = tuple(_soft.encode_soft(network, soft).items())
    return Finding(found.id, "failed", NOT_FIXED, found.text or found.id, likelihoods)


def findings_of(
    network: Network,
    evidence: ev.Evidence | None,
    soft: ev.SoftEvidence | None,
    failed: Iterable[str],
) -> tuple[Finding, ...]:
    """Answers in the order given, then soft evidence, then failed repairs (each once)."""
    ev.encode(network, evidence)  # one validation of the whole evidence (two answers, etc.)
    answers = (answer_finding(network, str(n), s) for n, s in ev.findings(evidence))
    found = [f for f in answers if f is not None]
    found += [soft_finding(network, n, w) for n, w in (soft or {}).items()]
    found += [failed_finding(network, a) for a in dict.fromkeys(failed)]
    return tuple(found)


def stacked_likelihoods(
    network: Network, findings: tuple[Finding, ...], masks: np.ndarray
) -> dict[int, FloatArray]:
    """(rows, states) likelihoods with finding j entered in the rows where `masks[:, j]`."""
    rows = len(masks)
    out: dict[int, FloatArray] = {}
    for j, finding in enumerate(findings):
        for index, weights in finding.likelihoods:
            array = np.where(masks[:, j : j + 1], weights[np.newaxis], 1.0)
            out[index] = out[index] * array if index in out else array
    if not out:  # nothing entered anywhere: one variable of ones keeps the batch size
        out[0] = np.ones((rows, network.cards[0]))
    return out
