"""The whole table: syncdx against pyAgrum LazyPropagation on pgmpy's bundled networks.

Per network, both engines get the same evidence and the same targets, timed in interleaved
runs (the order alternates; medians reported), and the ratio is pyAgrum's time / syncdx's:
- marginals: one query on fresh evidence (4-8 leaf findings sampled from the network), every
  node's marginal, through the public API (`Model.marginals`); pyAgrum targets every node;
- posterior: cause posteriors only (`Model.posterior`) on other fresh evidence, drawn the same
  way (not the marginals' queries, whose messages syncdx would find in its memo); pyAgrum
  targets only the causes;
- batch: `Model.posteriors(frame)` on distinct rows (each observation seen with probability
  0.3), in rows/s, against pyAgrum row by row (causes targeted), and against the memory
  bandwidth limit 10 GB/s / (junction-tree entries x 2 passes x 8 bytes);
- tree: junction-tree entries, syncdx's compiled tree (small cliques merged) and its
  triangulation (before merging) against pyAgrum's.
A network either engine cannot compile is shown with the reason. munin1 is refused by the
default `syncdx.Limits`; `--compiled-gib` raises the limit.

    python -m benchmarks.bench_networks                       # every network but the huge ones
    python -m benchmarks.bench_networks --networks asia alarm --queries 50 --repeat 5
    python -m benchmarks.bench_networks --huge                # munin1 and link too
"""

from __future__ import annotations

import argparse
import functools
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import syncdx
from benchmarks.common import as_dicts, evidence_frame, to_pyagrum
from syncdx import Model
from syncdx.errors import ModelError
from syncdx.inference._triangulate import junction_tree
from syncdx.network._bif import bundled_network, read_network_file
from syncdx.network._network import Network
from syncdx.network._sampling import sample

NETWORKS: tuple[str, ...] = ("asia", "child", "alarm", "insurance", "win95pts", "hepar2")
NETWORKS += ("hailfinder", "pathfinder", "andes", "pigs", "water", "mildew", "diabetes", "munin")
NETWORKS += ("barley",)
HUGE = ("munin1", "link")
BANDWIDTH = 10e9  # bytes/s: the memory-bandwidth limit's assumed rate


@dataclass
class Row:
    """One network's measurements (None: not measured) or why it was not."""

    name: str
    failed: str = ""
    entries: dict[str, int] = field(default_factory=dict)  # syncdx, triangulated, pyagrum
    marginals: tuple[float, float] | None = None  # seconds: syncdx, pyAgrum
    posterior: tuple[float, float] | None = None
    batch: tuple[float, float] | None = None  # rows/s: syncdx, pyAgrum


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=None, help="default: all but huge")
    parser.add_argument("--huge", action="store_true", help=f"also {', '.join(HUGE)}")
    parser.add_argument("--queries", type=int, default=30, help="single queries per engine")
    parser.add_argument(
        "--rows", type=int, default=20000, help="most batch rows (score reads 50,000 a chunk)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="batch runs (median)")
    parser.add_argument("--budget", type=float, default=8.0, help="seconds per measurement")
    parser.add_argument("--compiled-gib", type=float, default=None, help="syncdx.Limits bytes")
    args = parser.parse_args(argv)
    names = args.networks or [*NETWORKS, *(HUGE if args.huge else ())]
    limits = syncdx.Limits()
    if args.compiled_gib is not None:
        limits = syncdx.Limits(compiled_bytes=int(args.compiled_gib * 2**30))
    print(header())
    for name in names:
        row = measure(name, args, limits)
        print(line(row), flush=True)
    return 0


def measure(name: str, args: argparse.Namespace, limits: syncdx.Limits) -> Row:
    """Every measurement of one network (what fails is recorded, not raised)."""
    row = Row(name)
    network = read_network_file(bundled_network(name))
    row.entries["triangulated"] = _entries(
        network.cards, junction_tree(network.cards, network.parents)[0]
    )
    lazy, row.entries["pyagrum"], agrum_failed = _agrum(network)
    try:
        model = Model(network, limits=limits)
    except ModelError as exc:
        row.failed = f"syncdx refuses it: {str(exc).split(': ', 1)[-1]}"  # after file, node
        return row
    if agrum_failed:
        row.failed = agrum_failed
        return row
    tree = model.diagnoser._tree  # the compiled junction tree (no public accessor)
    row.entries["syncdx"] = _entries(tree.cards, tree.cliques)
    queries = _queries(model, args.queries)
    all_nodes = list(network.ids())
    row.marginals = _interleaved(
        model.marginals, _agrum_query(lazy, all_nodes), queries, args.budget
    )
    causes = list(model.causes)
    _target(lazy, causes)
    fresh = _queries(model, args.queries, seed=1)
    row.posterior = _interleaved(model.posterior, _agrum_query(lazy, causes), fresh, args.budget)
    row.batch = _batch(model, lazy, causes, row.entries["syncdx"], args, limits)
    return row


def _entries(cards: Sequence[int], cliques: Sequence[Sequence[int]]) -> int:
    return sum(math.prod(cards[v] for v in c) for c in cliques)


def _agrum(network: Network) -> tuple[Any, int, str]:
    """pyAgrum's LazyPropagation on `network`, its junction tree's entries, and why it failed."""
    import pyagrum as gum

    try:
        bn = to_pyagrum(network)
        lazy = gum.LazyPropagation(bn)
        jt = lazy.junctionTree()
    except Exception as exc:  # pyAgrum raises its own error types (and MemoryError)
        return None, 0, f"pyAgrum fails: {type(exc).__name__}: {exc}"
    sizes = [math.prod(bn.variable(v).domainSize() for v in jt.clique(c)) for c in jt.nodes()]
    return lazy, sum(sizes), ""


def _queries(model: Model, count: int, seed: int = 0) -> list[dict[str, str]]:
    """`count` evidence sets, each 4-8 leaf findings (leaves, else any non-root node) sampled
    from the network itself, so every set is possible."""
    network = model.network
    rng = np.random.default_rng(seed)
    has_child = {p for ps in network.parents for p in ps}
    leaves = [v for v in range(len(network)) if v not in has_child]
    pool = leaves if len(leaves) >= 4 else [v for v, ps in enumerate(network.parents) if ps]
    draws = sample(network, count, rng)
    out = []
    for draw in draws:
        k = min(len(pool), int(rng.integers(4, 9)))
        chosen = rng.choice(pool, size=k, replace=False)
        variables = network.variables
        out.append({variables[v].id: variables[v].states[draw[v]] for v in sorted(chosen)})
    return out


def _target(lazy: Any, targets: list[str]) -> None:
    lazy.eraseAllTargets()
    for t in targets:
        lazy.addTarget(t)


def _agrum_query(lazy: Any, targets: list[str]) -> Callable[[dict[str, str]], object]:
    """One pyAgrum query: the evidence set, inference, each target's posterior."""

    def query(evidence: dict[str, str]) -> object:
        lazy.eraseAllEvidence()
        lazy.setEvidence(evidence)
        lazy.makeInference()
        return [lazy.posterior(t) for t in targets]

    return query


def _interleaved(
    ours: Callable[[dict[str, str]], object],
    theirs: Callable[[dict[str, str]], object],
    queries: list[dict[str, str]],
    budget: float,
) -> tuple[float, float]:
    """Median seconds per query of each engine, alternating which goes first (stops past
    `budget` seconds once three queries are done)."""
    times: tuple[list[float], list[float]] = ([], [])
    start = time.perf_counter()
    for i, evidence in enumerate(queries):
        for k in (0, 1) if i % 2 else (1, 0):
            t = time.perf_counter()
            (ours, theirs)[k](evidence)
            times[k].append(time.perf_counter() - t)
        if time.perf_counter() - start > budget and i >= 2:
            break
    return statistics.median(times[0]), statistics.median(times[1])


def _batch(
    model: Model,
    lazy: Any,
    causes: list[str],
    entries: int,
    args: argparse.Namespace,
    limits: syncdx.Limits,
) -> tuple[float, float]:
    """Rows/s of `posteriors(frame)` on distinct rows (median of `args.repeat` runs) and of
    pyAgrum row by row on the same rows (causes targeted). A first run on 20 other rows plans
    the batch; a second, on up to 2,000 of the frame's, sizes it (20 rows alone understate
    a small tree's rate tenfold): at most `args.rows`, a few seconds' work. Each timed
    run is on a freshly compiled model: rows that take the single-row walk (large trees)
    would otherwise find the messages of the run before in its memo."""
    limit = BANDWIDTH / (entries * 2 * 8)
    wanted = max(20, min(args.rows, int(2 * limit)))
    rows = evidence_frame(model, 3 * wanted + 60, observed=0.3).drop_duplicates()
    probe, frame = rows.head(20), rows.iloc[20:].head(wanted)
    model.posteriors(probe)
    sizing = frame.head(2000)
    rate = len(sizing) / _time(lambda: model.posteriors(sizing))
    share = args.budget / (2 * args.repeat)
    frame = frame.head(max(len(probe), min(wanted, int(rate * share)))).reset_index(drop=True)
    runs, rates = [], []
    query, dicts = _agrum_query(lazy, causes), as_dicts(frame)
    for _ in range(args.repeat):
        fresh = Model(model.network, limits=limits)
        fresh.posteriors(probe)  # plans the batch, as in any long run
        runs.append(_time(functools.partial(fresh.posteriors, frame)))
        rates.append(_agrum_rate(query, dicts, share))
    return len(frame) / statistics.median(runs), statistics.median(rates)


def _time(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _agrum_rate(
    query: Callable[[dict[str, str]], object], rows: list[dict[str, str]], budget: float
) -> float:
    start, done = time.perf_counter(), 0
    for evidence in rows:
        query(evidence)
        done += 1
        if time.perf_counter() - start > budget:
            break
    return done / (time.perf_counter() - start)


def header() -> str:
    return (
        f"{'network':<11}|{'tree: syncdx':>13} {'triang.':>12} {'pyAgrum':>12} {'x':>5} |"
        f"{'marginals ms':>13} {'pyAgrum':>8} {'x':>6} |{'posterior ms':>13} {'pyAgrum':>8}"
        f" {'x':>6} |{'batch rows/s':>13} {'limit':>8} {'%':>5} {'pyAgrum':>8} {'x':>6}"
    )


def line(row: Row) -> str:
    """One network's line; ratios say how many times faster (or smaller) syncdx is."""
    e = row.entries
    tree = f"{e.get('syncdx', 0):>13,} {e['triangulated']:>12,} {e['pyagrum']:>12,} "
    tree += f"{e['pyagrum'] / e['triangulated']:>5.2f}" if e["pyagrum"] else f"{'-':>5}"
    if row.failed:
        return f"{row.name:<11}|{tree} | {row.failed}"
    assert row.marginals is not None
    assert row.posterior is not None
    assert row.batch is not None
    parts = [tree]
    for s, a in (row.marginals, row.posterior):
        parts.append(f"{1e3 * s:>13.3f} {1e3 * a:>8.3f} {a / s:>5.2f}x")
    rate, agrum = row.batch
    limit = BANDWIDTH / (e["syncdx"] * 2 * 8)
    parts.append(f"{rate:>13,.0f} {limit:>8,.0f} {100 * rate / limit:>4.0f}% {agrum:>8,.0f}")
    parts[-1] += f" {rate / agrum:>5.1f}x"
    return f"{row.name:<11}|" + " |".join(parts)


if __name__ == "__main__":
    raise SystemExit(main())
