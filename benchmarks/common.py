"""Shared set-up for the benchmarks: the networks, evidence sets, and the peers' engines."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

import syncdx
from syncdx import Model
from syncdx.network._bif import bundled_network
from syncdx.network._network import Network
from syncdx.network._sampling import sample


def load(name: str) -> Model:
    """The shipped sync model ("sync") or one of pgmpy's bundled networks."""
    return syncdx.load_model(None if name == "sync" else bundled_network(name))


def evidence_frame(model: Model, rows: int, observed: float, seed: int = 0) -> pd.DataFrame:
    """Answers sampled from the model itself; each observation seen with probability `observed`."""
    rng = np.random.default_rng(seed)
    network = model.network
    draws = sample(network, rows, rng)
    names = model.observations
    columns = {}
    for name in names:
        states = np.asarray(network.variable(name).states, dtype=object)
        values = states[draws[:, network.index[name]]]
        columns[name] = np.where(rng.random(rows) < observed, values, "")
    return pd.DataFrame(columns)


def as_dicts(frame: pd.DataFrame) -> list[dict[str, str]]:
    """One evidence dict per row, blanks dropped."""
    return [{str(k): v for k, v in row.items() if v} for row in frame.to_dict("records")]


def to_pyagrum(model: Model | Network) -> Any:
    """The same network as a pyAgrum BayesNet."""
    import pyagrum as gum

    network = model.network if isinstance(model, Model) else model
    bn = gum.BayesNet(network.name)
    for v in network.variables:
        bn.add(gum.LabelizedVariable(v.id, v.id, list(v.states)))
    for v, parents in zip(network.variables, network.parents):
        for p in parents:
            bn.addArc(network.variables[p].id, v.id)
    for v, parents, cpt in zip(network.variables, network.parents, network.cpts):
        # pyAgrum's table runs over (node, parents...) with its first variable fastest
        k = len(parents)
        bn.cpt(v.id).fillWith(np.transpose(cpt, [*range(k - 1, -1, -1), k]).ravel().tolist())
    return bn


def per_item(fn: Callable[[Any], object], items: Sequence[Any], budget: float = 5.0) -> float:
    """Median seconds of `fn(item)` over `items`, in order (stops early past `budget` seconds)."""
    times = []
    start = time.perf_counter()
    for item in items:
        t = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - t)
        if time.perf_counter() - start > budget and len(times) >= 3:
            break
    return float(np.median(times))


def per_call(fn: Callable[[], object], repeat: int, budget: float = 5.0) -> float:
    """Median seconds per call of `fn()` over up to `repeat` calls (stops past `budget` s)."""
    return per_item(lambda _: fn(), range(repeat), budget)
