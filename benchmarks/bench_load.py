"""Load time against node count: a YAML model of n nodes read and compiled, for growing n.

Each model is a random sparse DAG (seeded): binary nodes, each non-root node with 1-3 parents
among the 8 nodes before it (so the junction tree's width stays bounded as n grows), a root
every fifth node or so. Written once per size as a syncdx YAML model (noisy-OR tables), then
timed: reading the YAML into a Network, and compiling it (`Model(network)`).

    python -m benchmarks.bench_load [--nodes 100 1000 5000 20000]   # from the repository root
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import yaml

from syncdx import Model
from syncdx.network._authoring import read_yaml_model


def model_text(nodes: int, seed: int = 0) -> str:
    """A syncdx YAML model of `nodes` binary nodes on a random sparse DAG."""
    rng = np.random.default_rng(seed)
    causes, observations, roots = [], [], set()
    for i in range(nodes):
        k = 0 if i == 0 or rng.random() < 0.2 else int(rng.integers(1, 4))
        window = np.arange(max(0, i - 8), i)
        parents = sorted(rng.choice(window, size=min(k, window.size), replace=False).tolist())
        if not parents:
            roots.add(i)
            causes.append({"id": f"n{i}", "text": f"n{i}", "prior": 0.1, "assumption": "a"})
            continue
        links = {f"n{p}": _link(rng, p in roots) for p in parents}
        table = {"leak": {"p": 0.01}, "links": links}
        observations.append(
            {"id": f"n{i}", "question": f"n{i}?", "cost": 1, "assumption": "a", "noisy_or": table}
        )
    for entry in (*causes, *observations):
        entry.setdefault("assumption", "synthetic")
    for entry in observations:
        noisy = cast(dict[str, Any], entry["noisy_or"])
        for link in (noisy["leak"], *noisy["links"].values()):
            link["assumption"] = "synthetic"
    document = {"syncdx_model": 1, "name": f"synthetic{nodes}", "causes": causes}
    document["observations"] = observations
    return yaml.safe_dump(document, sort_keys=False)


def _link(rng: np.random.Generator, from_cause: bool) -> dict[str, object]:
    link: dict[str, object] = {"p": round(float(rng.uniform(0.5, 0.9)), 3)}
    return link if from_cause else {**link, "when": "yes"}


def time_load(path: Path) -> tuple[float, float, Model]:
    """Seconds to read the YAML into a network, and to compile it."""
    start = time.perf_counter()
    network = read_yaml_model(path)
    read = time.perf_counter()
    model = Model(network)
    return read - start, time.perf_counter() - read, model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[100, 1000, 5000, 20000])
    parser.add_argument("--folder", default=tempfile.gettempdir(), help="where models go")
    args = parser.parse_args(argv)
    print("| nodes | file (KB) | read YAML (s) | compile (s) | total (s) | cliques | largest |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for nodes in args.nodes:
        path = Path(args.folder) / f"bench-load-{nodes}.yaml"
        path.write_text(model_text(nodes), encoding="utf-8")
        read, compiled, model = time_load(path)
        tree = model.diagnoser._tree  # the compiled junction tree: its shape, for the table
        print(
            f"| {nodes:,} | {path.stat().st_size // 1024:,} | {read:.2f} | {compiled:.2f} "
            f"| {read + compiled:.2f} | {len(tree.cliques):,} | {tree.width:,} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
