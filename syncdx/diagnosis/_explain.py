"""Explanations: how much each finding moved a cause, in bits, and which findings disagree.

For a cause H ("present": any state but its normal one) and findings e_1..e_n, the weight of
evidence of a finding is how far it moved the log-odds of H, in bits:

- ``"sequential"``: the chain rule in the order the findings were given,
  w_i = log2 P(e_i | H, e_<i) / P(e_i | not H, e_<i);
- ``"shapley"``: the same increment averaged over every order of the findings (the Shapley
  value of the game v(S) = log-odds(H | e_S)), exact over all 2^n coalitions for
  n <= `EXACT_SHAPLEY` findings, else estimated from `samples` random orders (with a
  standard error).

Both add up to posterior log-odds minus prior log-odds (the sampled estimate too: each order
telescopes). Every log-odds is log P(H, e_S) - log P(not H, e_S), two rows of one batched
`Diagnoser.infer` pass (a row per coalition and side), so it stays exact where a posterior
rounds to 0 or 1. The same pass gives the conflict triage (`_triage`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from syncdx._counts import count
from syncdx.diagnosis import _likelihoods
from syncdx.diagnosis._explain_display import explanation_html, explanation_text
from syncdx.diagnosis._findings import Finding, stacked_likelihoods
from syncdx.diagnosis._triage import Conflict, conflict_masks, triage
from syncdx.errors import EvidenceError, ImpossibleEvidenceError
from syncdx.network._network import FloatArray

if TYPE_CHECKING:
    import pandas as pd

    from syncdx.diagnosis._diagnoser import Diagnoser

Method = Literal["sequential", "shapley"]
METHODS: tuple[Method, ...] = ("sequential", "shapley")
#: Up to this many findings, Shapley weights are exact (2^n coalitions); above, sampled.
EXACT_SHAPLEY = 12
LN2 = math.log(2.0)


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why the evidence moved `cause`: one row per finding in `table` (see `explain`).

    `prior` and `posterior` are P(cause present) before and after all findings; the log-odds
    are in bits, and the weights in `table["weight"]` add up to their difference.
    """

    cause: str
    cause_text: str
    method: Method
    prior: float
    posterior: float
    prior_log_odds: float
    posterior_log_odds: float
    table: pd.DataFrame
    conflict: Conflict

    @property
    def total(self) -> float:
        """Sum of the weights: posterior minus prior log-odds, in bits."""
        return float(self.table["weight"].sum())

    def __repr__(self) -> str:
        return explanation_text(self)

    def _repr_html_(self) -> str:
        return explanation_html(self)


def explain(
    model: Diagnoser,
    findings: tuple[Finding, ...],
    cause: str | None = None,
    *,
    method: Method = "sequential",
    samples: int = 1000,
    seed: int | None = 0,
) -> Explanation:
    """The weights of evidence of `findings` on `cause` (default: the likeliest cause given
    them) by `method`, and their conflict triage, from one batched engine pass."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    count(samples, "samples", minimum=2)
    n = len(findings)
    if method == "sequential" or n <= EXACT_SHAPLEY:
        masks, orders = _coalitions(n, method), None
    else:
        orders = _orders(n, samples, seed)
        masks = _prefix_masks(orders)
    index, normal = _cause(model, findings, cause)
    log_h, log_not, log_e = _pass(model, findings, (index, normal), masks, conflict_masks(n))
    return _build(model, findings, (log_h, log_not, log_e), index, method, orders)


def _coalitions(n: int, method: Method) -> np.ndarray:
    """(rows, n) masks: the prefixes (sequential) or every subset (Shapley, bit j = finding j)."""
    if method == "sequential":
        return np.tri(n + 1, n, -1, dtype=bool)
    codes = np.arange(1 << n)
    return ((codes[:, None] >> np.arange(n)) & 1).astype(bool)


def _orders(n: int, samples: int, seed: int | None) -> np.ndarray:
    """(samples, n) random orders of the findings, reproducible by `seed`."""
    rng = np.random.default_rng(seed)
    return np.argsort(rng.random((samples, n)), axis=1)


def _prefix_masks(orders: np.ndarray) -> np.ndarray:
    """(samples * (n + 1), n) masks: every prefix of every order, order by order."""
    samples, n = orders.shape
    rank = np.argsort(orders, axis=1)  # rank[p, j]: position of finding j in order p
    sizes = np.arange(n + 1)
    return (rank[:, None, :] < sizes[None, :, None]).reshape(samples * (n + 1), n)


def _pass(
    model: Diagnoser,
    findings: tuple[Finding, ...],
    cause: tuple[int, int],
    masks: np.ndarray,
    triage_masks: np.ndarray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """log P(H, e_S), log P(not H, e_S) per row of `masks`, and log P(e_S) per triage row;
    `cause` is the cause's variable index and its normal state's."""
    network = model.network
    rows = len(masks)
    all_masks = np.concatenate([masks, masks, triage_masks])
    likelihoods = stacked_likelihoods(network, findings, all_masks)
    index, normal = cause
    side = np.ones((len(all_masks), network.cards[index]))
    side[:rows, normal] = 0.0  # H: the cause is present
    side[rows : 2 * rows] = _likelihoods.one_hot(network.cards[index], normal)  # not H
    likelihoods[index] = likelihoods[index] * side if index in likelihoods else side
    log_z = model.infer(likelihoods, ()).log_evidence
    return log_z[:rows], log_z[rows : 2 * rows], log_z[2 * rows :]


def _cause(model: Diagnoser, findings: tuple[Finding, ...], cause: str | None) -> tuple[int, int]:
    """The variable index of the cause explained, and its normal state's index. With no
    `cause` given, the likeliest given every finding (one small extra pass finds it)."""
    network = model.network
    if cause is None:
        full = np.ones((1, len(findings)), dtype=bool)
        result = model.infer(stacked_likelihoods(network, findings, full), model.cause_index)
        if not result.possible[0]:
            raise ImpossibleEvidenceError({f.id: f.answer for f in findings})
        present = model.cause_probabilities(result)[0]
        cause = model.causes[int(np.argmax(present))]
    if cause not in model.causes:
        raise EvidenceError(
            f"{cause!r} is not a cause; the model's causes are: {', '.join(model.causes)}",
            node=str(cause),
            allowed=model.causes,
        )
    variable = network.variable(cause)
    return network.index[cause], variable.states.index(variable.normal)


def _log_odds(log_h: FloatArray, log_not: FloatArray) -> FloatArray:
    """Log-odds in bits; +-inf where one side is impossible, NaN where both are."""
    with np.errstate(invalid="ignore"):
        return np.asarray((log_h - log_not) / LN2)


def _increments(before: FloatArray, after: FloatArray) -> FloatArray:
    """after - before, 0 where both are the same infinity (a settled cause moves no more)."""
    with np.errstate(invalid="ignore"):
        step = after - before
    return np.where(np.isinf(before) & (before == after), 0.0, step)


def _build(
    model: Diagnoser,
    findings: tuple[Finding, ...],
    logs: tuple[FloatArray, FloatArray, FloatArray],
    index: int,
    method: Method,
    orders: np.ndarray | None,
) -> Explanation:
    """The explanation from the pass's log P(H, e_S), log P(not H, e_S) and log P(e_S)."""
    import pandas as pd

    log_h, log_not, log_e = logs

    if not np.isfinite(log_e[-1]):
        raise ImpossibleEvidenceError({f.id: f.answer for f in findings})
    odds = _log_odds(log_h, log_not)
    n = len(findings)
    columns: dict[str, object] = {
        "finding": [f.id for f in findings],
        "kind": [f.kind for f in findings],
        "answer": [f.answer for f in findings],
        "text": [f.text for f in findings],
    }
    if method == "sequential":
        columns["weight"] = _increments(odds[:-1], odds[1:])
        columns["posterior"] = _probability(odds[1:])
        prior, final = odds[0], odds[-1]
    elif orders is None:
        columns["weight"] = _exact_shapley(odds, n)
        prior, final = odds[0], odds[-1]
    else:
        weight, error = _sampled_shapley(odds, orders)
        columns["weight"], columns["std_error"] = weight, error
        prior, final = odds[0], odds[n]
    variable = model.network.variables[index]
    return Explanation(
        variable.id,
        variable.text or variable.id,
        method,
        float(_probability(np.array([prior]))[0]),
        float(_probability(np.array([final]))[0]),
        float(prior),
        float(final),
        pd.DataFrame(columns),
        triage(findings, log_e),
    )


def _probability(log_odds: FloatArray) -> FloatArray:
    """P(H) from log-odds in bits."""
    with np.errstate(over="ignore"):
        return np.asarray(1.0 / (1.0 + np.exp2(-log_odds)))


def _exact_shapley(odds: FloatArray, n: int) -> FloatArray:
    """Shapley values of v(S) = odds[S] (S a bit mask) for n players."""
    codes = np.arange(1 << n)
    sizes = np.array([bin(c).count("1") for c in range(1 << n)])
    fact = [math.factorial(k) for k in range(n + 1)]
    weight = np.array([fact[s] * fact[n - s - 1] / fact[n] if s < n else 0.0 for s in sizes])
    values = np.zeros(n)
    for j in range(n):
        without = codes[(codes >> j) & 1 == 0]
        values[j] = np.sum(weight[without] * _increments(odds[without], odds[without | 1 << j]))
    return values


def _sampled_shapley(odds: FloatArray, orders: np.ndarray) -> tuple[FloatArray, FloatArray]:
    """Mean and standard error of each finding's increment over the sampled orders."""
    samples, n = orders.shape
    path = odds.reshape(samples, n + 1)
    steps = _increments(path[:, :-1], path[:, 1:])  # steps[p, k]: adding orders[p, k]
    contributions = np.empty_like(steps)
    np.put_along_axis(contributions, orders, steps, axis=1)
    error = contributions.std(axis=0, ddof=1) / math.sqrt(samples)
    return contributions.mean(axis=0), error
