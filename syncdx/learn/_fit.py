"""`fit`: the expert model's numbers updated on resolved cases, by EM with the expert as prior.

Each row of a family (see `_params`) has the expert's distribution theta0 as a Dirichlet prior
worth w equivalent cases (w = `confidence`): pseudo-counts w * theta0. The M-step sets

    theta = (w * theta0 + n) / (w + A)

with n the expected counts of the row's states (or levels) and A = sum(n) its expected number
of cases (activations, for a noisy link): the maximum of the expected complete-data log
likelihood plus sum_s w * theta0(s) * log theta(s), the log of a Dirichlet(w * theta0 + 1)
prior. Each iteration therefore never decreases the penalised log likelihood
log P(cases) + log prior (`FitResult.trace`).

Leaky noisy-OR / noisy-MAX. The node's level is the maximum of independent contributions:
the leak X_0 ~ d_0 and, for each active link i, X_i ~ d_i (inactive links contribute level 0).
With the X_i as hidden variables the complete-data likelihood factorises per contribution, and
the expected counts E[X_i = s, link i active | case] are computed exactly in `_estep` (from the
expected counts of every parent configuration c and level y of the node, each weighted by
P(X_i = s | c, y) = P(X_i = s, Y = y | c) / P(Y = y | c)). The M-step above, applied
to each contribution's distribution, is then exact EM for the noisy-OR's own parameters: links
and leak stay links and leak, and the fitted file stays readable.

Sequential updating (`update`): a fitted number carries `learned.cases`, the expected cases it
was fitted on; updating uses it as the prior weight on top of `confidence` (w + cases) around
the fitted value. With complete data (no hidden contribution: causes and cpt rows whose family
is observed) this is exactly the batch estimate; with hidden variables it is fractional
updating (Spiegelhalter and Lauritzen 1990).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from syncdx.diagnosis import _likelihoods, _rows
from syncdx.diagnosis._diagnoser import Diagnoser
from syncdx.learn._cases import Cases, known_causes, read_cases
from syncdx.learn._estep import Counts, Patterns, expected_counts
from syncdx.learn._fixes import Histories, fit_fixes, fix_params, read_histories, with_fixes
from syncdx.learn._params import Family, families, table
from syncdx.learn._split import split_patterns
from syncdx.learn._writeback import by_change, changes, write_back, write_fixes
from syncdx.network._network import FloatArray, Network

if TYPE_CHECKING:
    from syncdx.inference._engine import Result

#: Equivalent cases the expert's numbers are worth when the model file does not say.
DEFAULT_CONFIDENCE = 20.0


@dataclass(frozen=True, slots=True)
class FitResult:
    """A fitted model: its network, its document (with `learned` on each learned number), the
    penalised log likelihood after each iteration, and the numbers that moved."""

    network: Network
    document: dict[str, Any]
    trace: tuple[float, ...]
    log_likelihood: float
    cases: int
    impossible: float
    changes: pd.DataFrame


def fit(
    network: Network,
    document: dict[str, Any],
    cases: pd.DataFrame,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    max_iter: int = 50,
    tol: float = 1e-4,
    sequential: bool = False,
) -> FitResult:
    """EM on `cases` from the model `network` described by `document` (see the module
    docstring); `sequential` adds each number's `learned.cases` to its prior weight.
    Stops when the penalised log likelihood gains less than `tol` per case."""
    document = copy.deepcopy(document)
    fams = families(document, network, confidence)
    if sequential:
        _add_learned_weight(fams)
    expert_model = Diagnoser(network)  # compiled once here (tables change each iteration)
    read = read_cases(expert_model, cases)
    patterns = _patterns_of(expert_model, read)
    expert = [f.rows.copy() for f in fams]
    split = split_patterns(network, patterns.likelihoods, len(patterns.weights))
    counts = expected_counts(network, fams, patterns, split)
    trace = [counts.log_likelihood + _log_prior(fams, expert)]
    for _ in range(max_iter):
        _maximise(fams, expert, counts)
        network = _with(network, fams)
        counts = expected_counts(network, fams, patterns, split)
        trace.append(counts.log_likelihood + _log_prior(fams, expert))
        if trace[-1] - trace[-2] < tol * max(len(cases), 1):
            break
    write_back(document, network, fams, expert, counts)
    moved = changes(network, fams, expert, counts)
    histories = read_histories(network, cases)
    if histories is not None:
        network, fixes = _fit_fixes(
            network, document, histories, read, patterns, confidence, sequential
        )
        moved = by_change(pd.concat([moved, fixes], ignore_index=True))
    return FitResult(
        network,
        document,
        tuple(trace),
        counts.log_likelihood,
        len(cases),
        counts.impossible,
        moved,
    )


def _fit_fixes(
    network: Network,
    document: dict[str, Any],
    histories: Histories,
    read: Cases,
    patterns: Patterns,
    confidence: float,
    sequential: bool,
) -> tuple[Network, pd.DataFrame]:
    """The fix probabilities fitted to the repair histories (see `_fixes`), written back."""
    params = fix_params(document, network, confidence)
    if sequential:
        params.weight += [_learned_cases(entry) for entry in params.entries]
    diagnoser = Diagnoser(network)
    result = diagnoser.infer(patterns.likelihoods, diagnoser.cause_index)
    prior = _cause_prior(diagnoser, result, patterns.inverse, read.confirmed)
    q, n, _ = fit_fixes(network, params, histories, prior)
    return with_fixes(network, params, q), write_fixes(params, q, n)


def _cause_prior(
    diagnoser: Diagnoser, result: Result, inverse: np.ndarray, confirmed: np.ndarray
) -> FloatArray:
    """(N, causes): the confirmed cause, else P(cause present | the case) normalised."""
    network = diagnoser.network
    present = []
    for v in diagnoser.cause_index:
        variable = network.variables[v]
        normal = variable.states.index(variable.normal)
        present.append(1.0 - np.nan_to_num(result.marginals[v][:, normal], nan=1.0))
    prior = np.stack(present, axis=1)[inverse]
    known = np.flatnonzero(confirmed >= 0)
    prior[known] = 0.0
    prior[known, confirmed[known]] = 1.0
    return np.asarray(prior, dtype=np.float64)


def _learned_cases(entry: dict[str, Any]) -> float:
    learned = entry.get("learned")
    if isinstance(learned, dict) and isinstance(learned.get("cases"), int | float):
        return float(learned["cases"])
    return 0.0


def _add_learned_weight(fams: list[Family]) -> None:
    for family in fams:
        for r, entry in enumerate(family.entries):
            family.weight[r] += _learned_cases(entry if entry is not None else family.node_entry)


def _maximise(fams: list[Family], expert: list[FloatArray], counts: Counts) -> None:
    """theta = (w * theta0 + n) / (w + A) for every row not frozen."""
    for family, theta0, n, a in zip(fams, expert, counts.counts, counts.active):
        w = family.weight[:, None]
        total = w + a[:, None]
        update = np.divide(w * theta0 + n, total, out=theta0.copy(), where=total > 0)
        update /= update.sum(axis=1, keepdims=True)
        family.rows[:] = np.where(family.frozen[:, None], theta0, update)


def _log_prior(fams: list[Family], expert: list[FloatArray]) -> float:
    """sum over rows not frozen of sum_s w * theta0(s) * log theta(s) (0 log 0 = 0)."""
    total = 0.0
    for family, theta0 in zip(fams, expert):
        mass = family.weight[:, None] * theta0 * ~family.frozen[:, None]
        with np.errstate(divide="ignore"):
            logs = np.where(mass > 0, np.log(family.rows), 0.0)
        total += float((mass * logs).sum())
    return total


def _with(network: Network, fams: list[Family]) -> Network:
    cpts = list(network.cpts)
    for family in fams:
        cpts[family.node] = table(family, network)
    return replace(network, cpts=tuple(cpts))


def _patterns(diagnoser: Diagnoser, cases: pd.DataFrame) -> Patterns:
    """Distinct evidence patterns of the cases: answers, and causes known present or absent."""
    return _patterns_of(diagnoser, read_cases(diagnoser, cases))


def _patterns_of(diagnoser: Diagnoser, read: Cases) -> Patterns:
    """`_patterns` of cases already read."""
    present = known_causes(read)
    codes = np.concatenate([read.codes, present.astype(np.int16)], axis=1)
    distinct = _rows.distinct_rows(codes)
    unique, inverse = distinct.rows, distinct.inverse
    weights = np.bincount(inverse, minlength=len(unique)).astype(np.float64)
    network = diagnoser.network
    width = len(read.columns)
    likelihoods = _likelihoods.likelihoods(network.cards, unique[:, :width], read.columns)
    for k, v in enumerate(diagnoser.cause_index):
        flags = unique[:, width + k]
        if (flags < 0).all():
            continue
        variable = network.variables[v]
        normal = np.array([s == variable.normal for s in variable.states])
        likelihoods[v] = np.where(
            (flags[:, None] < 0) | ((flags[:, None] == 1) != normal), 1.0, 0.0
        )
    return Patterns(likelihoods, weights, np.asarray(inverse, dtype=np.intp))


def model_document(network: Network) -> dict[str, Any]:
    """The document `network` was read from (its YAML file), or one describing it."""
    from syncdx.network._files import YAML_SUFFIXES
    from syncdx.network._writer import document_of

    if network.file and network.file.lower().endswith(YAML_SUFFIXES):
        from syncdx.network._authoring import parse_model, read_yaml_document

        document = read_yaml_document(network.file)
        if _same(parse_model(document, file=network.file), network):
            return dict(document)
    return document_of(network)


def _same(a: Network, b: Network) -> bool:
    """Whether two networks have the same nodes and tables (the file did not change)."""
    return a.ids() == b.ids() and all(
        np.array_equal(x, y) and p == q for x, y, p, q in zip(a.cpts, b.cpts, a.parents, b.parents)
    )
