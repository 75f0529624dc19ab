"""Repair success rates (`fixes`) learned from which repair fixed each case.

A case may say which action fixed it (`fixed_by`, an action id; blank: not fixed, or not
recorded) and which actions were tried before without fixing it (`tried`, ids separated by `;`).
Each written `fixes: {cause: {p: q}}` number (and the last resort's `fixes_rest`, one number
shared by every cause the action does not list) is a Bernoulli success rate q(a, c): P(action a
fixes the problem | cause c is the problem). A fix probability the file does not write (0) is
structure, not a number, and is never learned.

The single-fault reading of a repair history (as `failure_evidence` reads one): the problem
has one cause c, each tried action failed independently with probability 1 - q(a, c) and the
fixing action succeeded with probability q(f, c):

    L(history | c) = q(f, c) * prod over tried a of (1 - q(a, c))      (no q(f, c) when unfixed)

Cause known (`confirmed_cause`): that is a complete-data Bernoulli sample, one trial for every
action in the history, one success for f. Cause not known: c is hidden, and its prior is the
fitted network's P(c present | answers, cause columns) normalised over causes; EM then uses the
responsibilities r(c) = prior(c) L(history | c) / sum over c' as fractional trials and
successes. The M-step is the one of `_fit` with a Beta(w q0, w (1 - q0)) prior, q0 the expert's
value and w its `confidence`:

    q(a, c) = (w q0 + sum over cases r(c) [f = a]) / (w + sum over cases r(c) [a in history])

Each iteration never decreases sum log sum_c prior(c) L(history | c) + log prior (the usual EM
argument; the prior over causes is held fixed, so repair histories do not feed back into the
network's own numbers).

Without a `tried` column the actions tried before f are taken to be those the expert's
numbers would have put first for that cause: every action fixing c with a higher q0(a, c) /
cost than f (the single-fault order of the planner, last resort last). Record `tried` to avoid
relying on that assumption.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from syncdx.errors import InputError
from syncdx.learn._params import settings
from syncdx.network._network import FloatArray, Network

if TYPE_CHECKING:
    import pandas as pd

FIXED_BY = "fixed_by"
TRIED = "tried"
_REST = -1  # the cause index of a last resort's fixes_rest


@dataclass(slots=True)
class FixParams:
    """The learnable fix probabilities: `index[a, c]` the number behind q(a, c) (-1: a
    structural 0), and per number its expert value, weight, frozen flag and document entry."""

    index: npt.NDArray[np.intp]
    q0: FloatArray
    weight: FloatArray
    frozen: npt.NDArray[np.bool_]
    entries: list[dict[str, Any]]
    names: list[str]


@dataclass(frozen=True, slots=True)
class Histories:
    """Repair histories of N cases: `fixed` (N,) the fixing action (-1: none), `tried` (N, A)
    the actions tried before it, or None when the cases do not say (see the module docstring)."""

    fixed: npt.NDArray[np.intp]
    tried: npt.NDArray[np.bool_] | None


def fix_params(document: dict[str, Any], network: Network, confidence: float) -> FixParams:
    """Every `fixes` and `fixes_rest` number written in `document`."""
    causes = network.ids("cause")
    index = np.full((len(network.actions), len(causes)), -1, dtype=np.intp)
    q0: list[float] = []
    weight: list[float] = []
    frozen: list[bool] = []
    entries: list[dict[str, Any]] = []
    names: list[str] = []
    for a, entry in enumerate(document.get("actions") or []):
        action = network.actions[a]
        fixes = {str(c): e for c, e in (entry.get("fixes") or {}).items()}
        listed = [(causes.index(c), fixes[c], f"{action.id}.fixes.{c}") for c in fixes]
        if action.last_resort and "fixes_rest" in entry:
            listed.append((_REST, entry["fixes_rest"], f"{action.id}.fixes_rest"))
        for c, fix, name in listed:
            w, stay = settings(fix, (confidence, False), action.id)
            if c == _REST:
                index[a, [k for k, cause in enumerate(causes) if cause not in fixes]] = len(q0)
            else:
                index[a, c] = len(q0)
            q0.append(float(fix["p"]))
            weight.append(w)
            frozen.append(stay)
            entries.append(fix)
            names.append(name)
    return FixParams(
        index, np.array(q0), np.array(weight), np.array(frozen, dtype=bool), entries, names
    )


def read_histories(network: Network, frame: pd.DataFrame) -> Histories | None:
    """The `fixed_by` / `tried` columns of `frame` as arrays (None without a `fixed_by`)."""
    if FIXED_BY not in frame.columns:
        return None
    ids = {a.id: k for k, a in enumerate(network.actions)}
    fixed = np.array([_action(ids, v, frame, FIXED_BY) for v in frame[FIXED_BY].tolist()])
    if TRIED not in frame.columns:
        return Histories(fixed.astype(np.intp).reshape(-1), None)
    tried = np.zeros((len(frame), len(ids)), dtype=bool)
    for i, value in enumerate(frame[TRIED].tolist()):
        for part in _text(value).split(";"):
            if part.strip():
                tried[i, _action(ids, part.strip(), frame, TRIED)] = True
    return Histories(fixed.astype(np.intp).reshape(-1), tried)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def _action(ids: dict[str, int], value: object, frame: pd.DataFrame, column: str) -> int:
    text = _text(value)
    if not text:
        return -1
    if text not in ids:
        raise InputError(
            f"{text!r} is not an action of the model (actions: {', '.join(ids)})", column=column
        )
    return ids[text]


def trials(network: Network, params: FixParams, histories: Histories) -> npt.NDArray[np.bool_]:
    """(N, A, C): whether action a was tried in case n if the cause was c (the fixing action
    included); from `tried`, else from the expert's order (module docstring)."""
    fixed = histories.fixed
    n, (actions, causes) = len(fixed), params.index.shape
    out = np.zeros((n, actions, causes), dtype=bool)
    rows = np.flatnonzero(fixed >= 0)
    out[rows, fixed[rows], :] = True
    if histories.tried is not None:
        out |= histories.tried[:, :, None]
        return out
    q0 = np.where(params.index >= 0, params.q0[params.index], 0.0)
    last = np.array([a.last_resort for a in network.actions])
    rank = np.where(last[:, None], -1.0, q0 / np.array([a.cost for a in network.actions])[:, None])
    before = (rank[None, :, :] > rank[fixed[rows], None, :]) & (q0[None] > 0)
    out[rows] |= before
    return out


def fit_fixes(
    network: Network,
    params: FixParams,
    histories: Histories,
    prior: FloatArray,
    *,
    max_iter: int = 50,
    tol: float = 1e-6,
) -> tuple[FloatArray, FloatArray, list[float]]:
    """EM for the fix probabilities (module docstring); `prior` (N, C) each case's belief over
    which cause it was. Returns the fitted values, each number's expected trials, and the
    penalised log likelihood after each iteration."""
    tried = trials(network, params, histories)
    useful = tried.any(axis=(1, 2))
    tried, prior, fixed = tried[useful], prior[useful], histories.fixed[useful]
    rows = np.flatnonzero(fixed >= 0)
    q = params.q0.copy()
    trace: list[float] = []
    for _ in range(max_iter):
        r, log_lik = _responsibilities(params, q, tried, fixed, rows, prior)
        trace.append(log_lik + _log_prior(params, q))
        q, n = _maximise(params, tried, fixed, rows, r)
        if len(trace) > 1 and trace[-1] - trace[-2] < tol * max(len(fixed), 1):
            break
    return q, n, trace


def _responsibilities(
    params: FixParams,
    q: FloatArray,
    tried: npt.NDArray[np.bool_],
    fixed: npt.NDArray[np.intp],
    rows: npt.NDArray[np.intp],
    prior: FloatArray,
) -> tuple[FloatArray, float]:
    """r (N, C) and sum log P(history) (cases no cause explains are left out)."""
    matrix = np.where(params.index >= 0, q[params.index], 0.0)
    fail = np.where(tried, 1.0 - matrix[None], 1.0)
    fail[rows, fixed[rows], :] = 1.0
    likelihood = prior * fail.prod(axis=1)
    likelihood[rows] *= matrix[fixed[rows]]
    total = likelihood.sum(axis=1)
    ok = total > 0
    r = np.divide(likelihood, total[:, None], out=np.zeros_like(likelihood), where=ok[:, None])
    return r, float(np.log(total[ok]).sum())


def _maximise(
    params: FixParams,
    tried: npt.NDArray[np.bool_],
    fixed: npt.NDArray[np.intp],
    rows: npt.NDArray[np.intp],
    r: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """q = (w q0 + successes) / (w + trials) per number not frozen; and the trials."""
    size = len(params.q0)
    cell_trials = np.einsum("nac,nc->ac", tried, r)
    success_cells = np.zeros_like(cell_trials)
    np.add.at(success_cells, fixed[rows], r[rows])
    mapped = params.index >= 0
    n = np.bincount(params.index[mapped], cell_trials[mapped], minlength=size)
    s = np.bincount(params.index[mapped], success_cells[mapped], minlength=size)
    w = params.weight
    total = w + n
    fitted = np.divide(w * params.q0 + s, total, out=params.q0.copy(), where=total > 0)
    return np.where(params.frozen, params.q0, fitted).astype(np.float64), n.astype(np.float64)


def _log_prior(params: FixParams, q: FloatArray) -> float:
    """sum of w (q0 log q + (1 - q0) log (1 - q)) over numbers not frozen (0 log 0 = 0)."""
    w = params.weight * ~params.frozen
    with np.errstate(divide="ignore"):
        a = np.where(w * params.q0 > 0, w * params.q0 * np.log(q), 0.0)
        b = np.where(w * (1 - params.q0) > 0, w * (1 - params.q0) * np.log1p(-q), 0.0)
    return float(a.sum() + b.sum())


def with_fixes(network: Network, params: FixParams, q: FloatArray) -> Network:
    """`network` with its actions' fix probabilities set to `q`."""
    causes = network.ids("cause")
    actions = []
    for a, action in enumerate(network.actions):
        fixes = {
            c: float(q[params.index[a, causes.index(c)]])
            if params.index[a, causes.index(c)] >= 0
            else p
            for c, p in action.fixes.items()
        }
        rest = action.fixes_rest
        unlisted = [k for k, c in enumerate(causes) if c not in action.fixes]
        if action.last_resort and unlisted and params.index[a, unlisted[0]] >= 0:
            rest = float(q[params.index[a, unlisted[0]]])
        actions.append(replace(action, fixes=MappingProxyType(fixes), fixes_rest=rest))
    return replace(network, actions=tuple(actions))
