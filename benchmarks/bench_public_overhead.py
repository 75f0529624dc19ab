"""What the public API adds to the engine: `marginals()` and `posterior()` against `infer`.

For each network, evidence sampled from the model (each observation seen with probability 0.3);
the public call (pandas results) and the engine call it makes (`Diagnoser.infer` on the same
likelihoods and targets) are timed interleaved, medians of several rounds.
Run: python benchmarks/bench_public_overhead.py [--networks sync asia alarm] [--evidence 20]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial

import numpy as np

from benchmarks.common import as_dicts, evidence_frame, load, per_call
from syncdx import Model


def engine_marginals(model: Model, evidence: dict[str, str]) -> object:
    """The engine's share of `marginals()`: every node's marginal, no pandas."""
    diagnoser = model.diagnoser
    return diagnoser.infer(diagnoser.likelihoods(evidence, None), None)


def engine_posterior(model: Model, evidence: dict[str, str]) -> object:
    """The engine's share of `posterior()`: the causes' marginals, no pandas."""
    diagnoser = model.diagnoser
    return diagnoser.infer(diagnoser.likelihoods(evidence, None), diagnoser.cause_index)


def bench(name: str, sets: int, rounds: int) -> str:
    """One line: median ms of each public call, of its engine call, and their ratio."""
    model = load(name)
    cases = as_dicts(evidence_frame(model, sets, observed=0.3, seed=1))
    cases = [c for c in cases if np.isfinite(model.log_probability_of_evidence(c))]
    calls: dict[str, Callable[[dict[str, str]], object]] = {
        "marginals": lambda e: model.marginals(e),
        "engine_m": partial(engine_marginals, model),
        "posterior": lambda e: model.posterior(e),
        "engine_p": partial(engine_posterior, model),
    }
    times: dict[str, list[float]] = {k: [] for k in calls}
    for _ in range(rounds):
        for e in cases:
            for key, call in calls.items():
                times[key].append(per_call(partial(call, e), 5))
    ms = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
    return (
        f"{name:<10} {len(model.network.variables):6d} {ms['marginals']:10.3f} "
        f"{ms['engine_m']:10.3f} {ms['marginals'] / ms['engine_m']:8.1f}x "
        f"{ms['posterior']:10.3f} {ms['engine_p']:10.3f} {ms['posterior'] / ms['engine_p']:8.1f}x"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evidence", type=int, default=20, help="evidence sets")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--networks", nargs="+", default=["sync", "asia", "alarm"])
    args = parser.parse_args(argv)
    print(
        f"{'network':<10} {'nodes':>6} {'marg. ms':>10} {'engine ms':>10} {'ratio':>9} "
        f"{'post. ms':>10} {'engine ms':>10} {'ratio':>9}"
    )
    for name in args.networks:
        print(bench(name, args.evidence, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
