"""All-cause posteriors: syncdx vs pgmpy VariableElimination vs pyAgrum LazyPropagation.

The same evidence sets (sampled from each model, each observation seen with probability 0.3)
go to all three engines, each asked for the causes only (pyAgrum targets just them); single
queries are timed one by one (median), batches of 10,000 rows end to end (syncdx: median of
three runs; pgmpy and pyAgrum have no batch API: a loop over rows, timed for about ten
seconds). Run: python -m benchmarks.bench_posterior [--rows 10000]
[--networks sync win95pts]
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

from benchmarks.common import as_dicts, evidence_frame, load, per_call, per_item, to_pyagrum
from syncdx import Model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="batch size")
    parser.add_argument("--networks", nargs="+", default=["sync", "win95pts"])
    parser.add_argument("--queries", type=int, default=200, help="single queries timed")
    args = parser.parse_args(argv)
    print(
        f"{'network':<10} {'work':<26} {'syncdx':>12} {'pgmpy':>12} {'pyAgrum':>12} "
        f"{'x pgmpy':>9} {'x pyAgrum':>9}"
    )
    for name in args.networks:
        for line in bench(name, args.rows, args.queries):
            print(line)
    return 0


def bench(name: str, rows: int, queries: int) -> list[str]:
    """Timing lines for one network: single query (ms) and batch (rows/s)."""
    from pgmpy.inference import VariableElimination

    model = load(name)
    frame = evidence_frame(model, rows, observed=0.3)
    dicts = as_dicts(frame)
    causes = list(model.causes)
    ve = VariableElimination(model.to_pgmpy())
    lazy = _lazy(model, causes)
    singles = dicts[:queries]

    def pgmpy_query(evidence: dict[str, str]) -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # one query per cause: pgmpy's joint=False still builds the joint of all causes
            return [ve.query([c], evidence=evidence, show_progress=False) for c in causes]

    engines = (
        model.posterior,
        pgmpy_query,
        lambda evidence: _agrum_query(lazy, evidence, causes),
    )
    # first sight of each set of answered questions, then the same sets again: syncdx builds
    # and caches a plan per set of answered questions, so the two differ for it
    cold, warm = (
        tuple(1e3 * per_item(query, singles, budget=10) for query in engines) for _ in range(2)
    )
    lines = [
        _line(name, "single, new pattern (ms)", cold, lower=True),
        _line(name, "single, seen pattern (ms)", warm, lower=True),
    ]
    t_p = warm[1] / 1e3
    # median of three runs; the first also builds the plan for this set of columns
    batch = per_call(lambda: model.posteriors(frame), 3, budget=60)
    rates = (rows / batch, 1 / t_p, _agrum_rate(lazy, dicts, causes))
    lines.append(_line(name, f"batch {rows:,} (rows/s)", rates, lower=False))
    return lines


def _lazy(model: Model, targets: list[str]) -> Any:
    """pyAgrum's LazyPropagation asked for `targets` only (by default it targets every node,
    which costs it more than the cause posteriors compared here)."""
    import pyagrum as gum

    lazy = gum.LazyPropagation(to_pyagrum(model))
    for target in targets:
        lazy.addTarget(target)
    return lazy


def _agrum_query(lazy: Any, evidence: dict[str, str], causes: list[str]) -> list[object]:
    lazy.eraseAllEvidence()
    lazy.setEvidence(evidence)
    lazy.makeInference()
    return [lazy.posterior(c) for c in causes]


def _agrum_rate(lazy: Any, dicts: list[dict[str, str]], causes: list[str]) -> float:
    """pyAgrum rows/s: a loop over rows, stopped after about ten seconds."""
    start, done = time.perf_counter(), 0
    for evidence in dicts:
        _agrum_query(lazy, evidence, causes)
        done += 1
        if time.perf_counter() - start > 10.0:
            break
    return done / (time.perf_counter() - start)


def _line(name: str, work: str, values: tuple[float, ...], lower: bool) -> str:
    """A table row; the ratios say how many times faster syncdx is than each peer."""
    s, p, a = values
    vs_p, vs_a = (p / s, a / s) if lower else (s / p, s / a)
    return f"{name:<10} {work:<26} {s:>12,.3f} {p:>12,.3f} {a:>12,.3f} {vs_p:>8.0f}x {vs_a:>8.2f}x"


if __name__ == "__main__":
    raise SystemExit(main())
