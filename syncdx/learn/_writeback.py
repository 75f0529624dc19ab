"""Fitted numbers written back into the model document, each with what it was learned from.

Every number that was learned gets `learned: {cases: n, from: expert value, interval: [lo, hi]}`
beside it: n the expected number of cases that informed it, the interval the central 95% of
its Beta posterior Beta(w * theta0 + n_s, w * (1 - theta0) + n - n_s) (per state for a
distribution over more than two states).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from syncdx.learn._fixes import FixParams
from syncdx.learn._params import Family
from syncdx.network._network import FloatArray, Network
from syncdx.network._writer import distribution, number

if TYPE_CHECKING:
    import pandas as pd

    from syncdx.learn._estep import Counts


def _interval(weight: float, theta0: float, n_state: float, n: float) -> list[float]:
    from scipy.stats import beta  # scipy comes with pgmpy; only loaded when fitting

    a = max(weight * theta0 + n_state, 1e-9)
    b = max(weight * (1.0 - theta0) + n - n_state, 1e-9)
    lo, hi = beta.ppf([0.025, 0.975], a, b)
    return [number(lo), number(hi)]


def write_back(
    document: dict[str, Any],
    network: Network,
    fams: list[Family],
    expert: list[FloatArray],
    counts: Counts,
) -> None:
    """Set every learned number of `document` to the family's fitted value (in place)."""
    for family, theta0, n, a in zip(fams, expert, counts.counts, counts.active):
        for r in range(len(family.rows)):
            if family.frozen[r]:
                continue
            value, before = (
                _written(family, network, family.rows[r]),
                _written(family, network, theta0[r]),
            )
            entry = family.entries[r]
            target = family.node_entry if entry is None else entry
            previous = target.get("learned")
            origin = (
                previous["from"] if isinstance(previous, dict) and "from" in previous else before
            )
            if entry is None:
                target["prior"] = value
            else:
                entry["p"] = value
            cases = float(a[r]) + (previous.get("cases", 0) if isinstance(previous, dict) else 0)
            target["learned"] = {
                "cases": round(cases, 2),
                "from": origin,
                "interval": _intervals(family, network, r, theta0[r], n[r], float(a[r])),
            }


def _written(family: Family, network: Network, row: FloatArray) -> Any:
    """A row as the document writes it: a probability, or {state: probability}."""
    variable = network.variables[family.node]
    if family.kind == "cpt" and variable.role == "cause" and len(row) == 2:
        return number(1.0 - row[variable.states.index(variable.normal)])
    if family.kind == "noisy" and len(family.levels) == 2 and "noisy_or" in family.node_entry:
        return number(row[1])
    states = variable.states
    if family.kind == "noisy":
        in_states = np.empty_like(row)
        in_states[list(family.levels)] = row
        return distribution(states, in_states)
    return distribution(states, row)


def _intervals(
    family: Family, network: Network, r: int, theta0: FloatArray, n: FloatArray, a: float
) -> Any:
    w = float(family.weight[r])
    if len(theta0) == 2:
        s = 1 if family.kind == "noisy" else _present_index(family, network)
        return _interval(w, float(theta0[s]), float(n[s]), a)
    states = network.variables[family.node].states
    order = family.levels if family.kind == "noisy" else range(len(states))
    return {states[j]: _interval(w, float(theta0[i]), float(n[i]), a) for i, j in enumerate(order)}


def _present_index(family: Family, network: Network) -> int:
    variable = network.variables[family.node]
    if variable.role == "cause":
        return 1 - variable.states.index(variable.normal)
    return 1


def changes(
    network: Network, fams: list[Family], expert: list[FloatArray], counts: Counts
) -> pd.DataFrame:
    """One row per learned number: its name, expert value, fitted value, cases, change;
    largest change first."""
    records = []
    for family, theta0, a in zip(fams, expert, counts.active):
        for r in range(len(family.rows)):
            if family.frozen[r]:
                continue
            for s in range(1 if len(theta0[r]) == 2 else 0, len(theta0[r])):
                records.append(
                    {
                        "parameter": _name(family, network, r, s),
                        "expert": float(theta0[r, s]),
                        "fitted": float(family.rows[r, s]),
                        "cases": float(a[r]),
                    }
                )
    return by_change(_frame(records))


def _name(family: Family, network: Network, r: int, s: int) -> str:
    """How a person finds the number in the file: node.prior, node.leak, node.links.parent,
    node.cpt[row] (with the state for a distribution)."""
    variable = network.variables[family.node]
    if variable.role == "cause":
        return f"{variable.id}.prior"
    if family.kind == "noisy":
        where = "leak" if r == 0 else f"links.{network.variables[family.active[r - 1][0]].id}"
        level = variable.states[family.levels[s]]
        suffix = "" if "noisy_or" in family.node_entry else f"[{level}]"
        return f"{variable.id}.{where}{suffix}"
    parents = network.parents[family.node]
    config = np.unravel_index(r, tuple(network.cards[p] for p in parents)) if parents else ()
    when = ", ".join(
        f"{network.variables[p].id}={network.variables[p].states[c]}"
        for p, c in zip(parents, config)
    )
    return f"{variable.id}.cpt[{when}][{variable.states[s]}]"


def write_fixes(params: FixParams, q: FloatArray, n: FloatArray) -> pd.DataFrame:
    """Set every learned fix probability in its document entry (in place), with `learned`
    beside it; return the change rows (as `changes`)."""
    records = []
    for k, entry in enumerate(params.entries):
        if params.frozen[k]:
            continue
        previous = entry.get("learned")
        origin = previous["from"] if isinstance(previous, dict) and "from" in previous else None
        cases = float(n[k]) + (previous.get("cases", 0) if isinstance(previous, dict) else 0)
        entry["p"] = number(q[k])
        entry["learned"] = {
            "cases": round(cases, 2),
            "from": number(params.q0[k]) if origin is None else origin,
            "interval": _interval_fitted(params, k, float(q[k]), float(n[k])),
        }
        records.append(
            {"parameter": params.names[k], "expert": params.q0[k], "fitted": q[k], "cases": n[k]}
        )
    return _frame(records)


def _interval_fitted(params: FixParams, k: int, q: float, n: float) -> list[float]:
    """The Beta posterior interval of a fix probability: successes = q (w + n) - w q0."""
    w, q0 = float(params.weight[k]), float(params.q0[k])
    return _interval(w, q0, q * (w + n) - w * q0, n)


def _frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame.from_records(records, columns=["parameter", "expert", "fitted", "cases"])
    frame[["expert", "fitted", "cases"]] = frame[["expert", "fitted", "cases"]].astype(float)
    frame["change"] = frame["fitted"] - frame["expert"]
    return frame


def by_change(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the largest absolute change first (ties in their order)."""
    order = frame["change"].abs().sort_values(ascending=False, kind="mergesort").index
    return frame.loc[order].reset_index(drop=True)
