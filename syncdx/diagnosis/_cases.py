"""Simulated cases: reports drawn from a model, with the causes that were really present.

A case is what a person would report (one answer per observation, some left blank at random)
and the truth behind it: each cause present or not, and the cause a troubleshooter would have
confirmed (the present one; with several, the one the true answers make most probable). Cases
are drawn by forward sampling, vectorised over rows; evidence on root nodes is set directly (for
a root, conditioning and setting are the same), evidence elsewhere by rejection.

Which of several present causes is "confirmed" is decided on every observation's true state,
not on the answers left after blanking: the person who confirmed a cause had checked (a blank
is a gap in the report, not in what was true). This keeps the truth of a case independent of
`missing` (one seed, one truth at any blank fraction) and makes it cheap: one exact inference
per distinct pattern of true answers among the rows with several present causes (on the
shipped model about 94,000 patterns in 1,000,000 rows, ~0.4 s), where the reported answers with
30% blanks have nearly one pattern per row (~2.5 s).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from syncdx._counts import count
from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis import _likelihoods, _rows
from syncdx.diagnosis._diagnoser import Diagnoser
from syncdx.errors import EvidenceError
from syncdx.network._network import FloatArray, Network
from syncdx.network._sampling import CodeRows, StateArray, sample_codes

if TYPE_CHECKING:
    import pandas as pd

FaultMix = Literal["prior", "single"]
#: Most draws rejection may take for one run (evidence too unlikely beyond that is an error).
MAX_DRAWS = 50_000_000
#: Rows drawn at a time while rejecting.
_BATCH = 200_000


def simulate(
    diagnoser: Diagnoser,
    n: int,
    *,
    seed: int | None = None,
    evidence: ev.Evidence | None = None,
    missing: float = 0.0,
    fault_mix: FaultMix = "prior",
) -> pd.DataFrame:
    """`n` cases: a column per observation (state names, blank = not reported), `cause_<id>`
    (0/1) per cause and `confirmed_cause` (None when no cause is present)."""
    _check_arguments(n, missing, fault_mix)
    network = diagnoser.network
    rng = np.random.default_rng(seed)
    fixed = ev.encode(network, evidence)
    if any(network.parents[v] for v in fixed):  # drawn by rejection: is it feasible?
        _check_likely_enough(diagnoser, evidence, n)
    states = _draw(network, n, rng, fixed, fault_mix)
    return _frame(diagnoser, states, _blanks(diagnoser, states.shape[1], missing, fixed, rng))


def _check_arguments(n: int, missing: float, fault_mix: str) -> None:
    count(n, "n")
    if not 0.0 <= missing <= 1.0:
        raise ValueError(f"missing must be a fraction between 0 and 1, got {missing!r}")
    if fault_mix not in ("prior", "single"):
        raise ValueError(f"fault_mix must be 'prior' or 'single', got {fault_mix!r}")


def _check_likely_enough(diagnoser: Diagnoser, evidence: ev.Evidence | None, n: int) -> None:
    """An error if the evidence is impossible, or too unlikely for `n` cases by rejection."""
    diagnoser.check_possible(evidence)
    p = diagnoser.probability_of_evidence(evidence)
    if n / p > MAX_DRAWS:
        raise EvidenceError(
            f"the evidence is too unlikely to simulate {n} cases by rejection: P(evidence) = "
            f"{p:.3g}, about {n / p:,.0f} draws (at most {MAX_DRAWS:,})"
        )


def _draw(
    network: Network, n: int, rng: np.random.Generator, fixed: dict[int, int], mix: FaultMix
) -> CodeRows:
    """(variables, n) state codes, with `fixed` evidence holding in every case."""
    roots = {v: s for v, s in fixed.items() if not network.parents[v]}
    rest = {v: s for v, s in fixed.items() if network.parents[v]}
    parts: list[CodeRows] = []
    kept = draws = 0
    while kept < n or not parts:
        size = n if not rest else min(_BATCH, max(n - kept, 1) * 4)
        states = _forward(network, size, rng, roots, mix)
        if rest:
            states = states[:, np.all([states[v] == s for v, s in rest.items()], axis=0)]
        parts.append(states)
        kept, draws = kept + states.shape[1], draws + size
        if kept < n and draws >= MAX_DRAWS:
            raise EvidenceError(
                f"the evidence is too unlikely to simulate: {kept} of {n} cases matched it "
                f"in {draws:,} draws"
            )
    if len(parts) == 1 and parts[0].shape[1] == n:
        return parts[0]
    return np.concatenate(parts, axis=1)[:, :n]


def _forward(
    network: Network, size: int, rng: np.random.Generator, roots: dict[int, int], mix: FaultMix
) -> CodeRows:
    fixed: dict[str, StateArray | int] = {network.variables[v].id: s for v, s in roots.items()}
    if mix == "single":
        fixed = {**_single_faults(network, size, rng, set(roots)), **fixed}
    return sample_codes(network, size, rng, fixed)


def _single_faults(
    network: Network, size: int, rng: np.random.Generator, set_by_evidence: set[int]
) -> dict[str, StateArray | int]:
    """States of every cause with exactly one present per row: cause k with probability
    proportional to its prior odds (P(only k present) under independent causes), in a
    non-normal state drawn from its prior."""
    causes = [network.index[c] for c in network.ids("cause")]
    if any(network.parents[c] for c in causes):
        raise ValueError("fault_mix='single' needs causes without parents (root nodes)")
    if set_by_evidence & set(causes):
        raise ValueError("fault_mix='single' cannot be combined with evidence on a cause")
    normal = [network.variables[c].states.index(network.variables[c].normal) for c in causes]
    prior = [network.cpts[c] for c in causes]
    odds = np.array([(1.0 - p[k]) / p[k] if p[k] > 0 else np.inf for p, k in zip(prior, normal)])
    if not np.isfinite(odds).all():
        raise ValueError("fault_mix='single' needs every cause's normal state to be possible")
    chosen = rng.choice(len(causes), size=size, p=odds / odds.sum())
    states: dict[str, StateArray | int] = {}
    for j, (c, k, p) in enumerate(zip(causes, normal, prior)):
        faulty = np.where(np.arange(len(p)) == k, 0.0, p)
        draw = rng.choice(len(p), size=size, p=faulty / faulty.sum())
        states[network.variables[c].id] = np.where(chosen == j, draw, k)
    return states


def _blanks(
    diagnoser: Diagnoser,
    rows: int,
    missing: float,
    fixed: Mapping[int, int],
    rng: np.random.Generator,
) -> npt.NDArray[np.bool_]:
    """(observations, rows) True where an answer goes unreported (never an evidence node's);
    drawn in single precision (twice as fast; a blank fraction resolved to 2**-24)."""
    columns = [diagnoser.network.index[o] for o in diagnoser.observations]
    blank = np.zeros((len(columns), rows), dtype=bool)
    if missing > 0:
        for j, v in enumerate(columns):
            if v not in fixed:
                blank[j] = rng.random(rows, dtype=np.float32) < missing
    return blank


def _frame(diagnoser: Diagnoser, states: CodeRows, blank: npt.NDArray[np.bool_]) -> pd.DataFrame:
    """The cases as a table: categorical answers (codes set straight, each category index built
    once), 0/1 cause columns and the confirmed cause."""
    import pandas as pd

    network = diagnoser.network
    columns: dict[str, object] = {}
    for j, name in enumerate(diagnoser.observations):
        v = network.index[name]
        codes = states[v].copy()
        codes[blank[j]] = -1
        dtype = pd.CategoricalDtype(pd.Index(network.variables[v].states))
        columns[name] = pd.Categorical.from_codes(codes, dtype=dtype, validate=False)
    present = _present(diagnoser, states)
    for j, name in enumerate(diagnoser.causes):
        columns[f"cause_{name}"] = present[j].view(np.int8)
    confirmed = _confirmed(diagnoser, states, present)
    columns["confirmed_cause"] = _labels(diagnoser.causes, confirmed)
    return pd.DataFrame(columns, copy=False)


def _labels(names: tuple[str, ...], index: npt.NDArray[np.intp]) -> object:
    """`names[index]` per row, None where the index is len(names), as the column pandas would
    make of them; where that is Arrow-backed text, taken by Arrow (~3x faster than from
    Python strings)."""
    import pandas as pd

    inferred = pd.Index(["text"]).dtype
    none = index == len(names)
    arrow = isinstance(inferred, pd.StringDtype) and inferred.storage == "pyarrow"
    if arrow and not none.all():  # (no text at all: pandas keeps the Nones as objects)
        import pyarrow as pa

        codes = pa.array(np.where(none, 0, index).astype(np.int32), mask=none)
        decoded = pa.DictionaryArray.from_arrays(codes, pa.array(names)).dictionary_decode()
        return pd.array(decoded, dtype=inferred)
    return np.array([*names, None], dtype=object)[index]


def _present(diagnoser: Diagnoser, states: CodeRows) -> npt.NDArray[np.bool_]:
    """(causes, rows) True where the cause is in a state other than its normal one."""
    network = diagnoser.network
    present = np.empty((len(diagnoser.cause_index), states.shape[1]), dtype=bool)
    for j, v in enumerate(diagnoser.cause_index):
        variable = network.variables[v]
        np.not_equal(states[v], variable.states.index(variable.normal), out=present[j])
    return present


def _confirmed(
    diagnoser: Diagnoser, states: CodeRows, present: npt.NDArray[np.bool_]
) -> npt.NDArray[np.intp]:
    """Each row's confirmed cause (an index into the causes; len(causes) for none): the present
    one, or among several the most probable given every observation's true state (one exact
    inference per distinct pattern of those states)."""
    confirmed = np.full(present.shape[1], len(present), dtype=np.intp)
    for j in range(len(present) - 1, -1, -1):  # the first present cause
        confirmed[present[j]] = j
    several = np.flatnonzero(present.sum(axis=0, dtype=np.int8) > 1)
    if several.size:
        network = diagnoser.network
        columns = tuple(network.index[o] for o in diagnoser.observations)
        distinct = _rows.distinct_rows(states[np.ix_(np.array(columns), several)].T)
        result = diagnoser.infer(
            _likelihoods.likelihoods(network.cards, distinct.rows, columns), diagnoser.cause_index
        )
        probabilities = diagnoser.cause_probabilities(result)[distinct.inverse]
        weights: FloatArray = np.where(present[:, several].T, probabilities, -np.inf)
        confirmed[several] = np.argmax(weights, axis=1)
    return confirmed
