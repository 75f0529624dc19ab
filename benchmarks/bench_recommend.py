"""A full recommendation: syncdx vs pyAgrum LazyPropagation vs pgmpy VariableElimination.

The work: given evidence (sampled from the model, each observation seen with probability 0.3),
the posterior of every cause given each hypothetical answer of every candidate question, and
P(answer | evidence), which is what an exact information-gain ranking needs. Candidates are the
unobserved observations on the sync model and the unobserved leaves on win95pts. syncdx does it
in one batched pass (`Model.recommend`); pyAgrum and pgmpy answer one query per hypothetical
answer (pgmpy's is timed on a few evidence sets and is the slowest by far).
Run: python benchmarks/bench_recommend.py [--evidence 20] [--networks sync win95pts]
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from functools import partial
from typing import Any

import numpy as np

from benchmarks.common import as_dicts, evidence_frame, load, per_call, to_pyagrum
from syncdx import Model


def candidates(model: Model, evidence: dict[str, str], leaves_only: bool) -> list[str]:
    """Unobserved observations, or only the unobserved leaves."""
    network = model.network
    if leaves_only:
        parents = {p for ps in network.parents for p in ps}
        leaves = {v.id for i, v in enumerate(network.variables) if i not in parents}
        return [o for o in model.observations if o in leaves and o not in evidence]
    return [o for o in model.observations if o not in evidence]


def with_pyagrum(model: Model, ie: Any, evidence: dict[str, str], questions: list[str]) -> None:
    """The same posteriors with a pyAgrum LazyPropagation: one inference per hypothetical answer."""
    import pyagrum as gum

    ie.eraseAllEvidence()
    ie.setEvidence(evidence)
    ie.makeInference()
    for q in questions:
        ie.posterior(q)
    causes = [c for c in model.causes if c not in evidence]
    for q in questions:
        for k, state in enumerate(model.states(q)):
            (ie.chgEvidence if k else ie.addEvidence)(q, state)
            try:
                ie.makeInference()
                for cause in causes:
                    ie.posterior(cause)
            except gum.IncompatibleEvidence:  # an impossible answer: nothing to compute
                pass
        ie.eraseEvidence(q)


def with_pgmpy(model: Model, ve: Any, evidence: dict[str, str], questions: list[str]) -> None:
    """The same with pgmpy: per hypothetical answer, the causes' marginals (in small groups)."""
    causes = [c for c in model.causes if c not in evidence]
    groups: list[list[str]] = [[]]  # joint=False still builds the query's joint table
    for cause in causes:
        if math.prod(model.network.variable(c).card for c in [*groups[-1], cause]) > 4096:
            groups.append([])
        groups[-1].append(cause)
    ve.query(questions, evidence=evidence, joint=False, show_progress=False)
    for q in questions:
        for state in model.states(q):
            for group in groups:
                ve.query(group, evidence={**evidence, q: state}, joint=False, show_progress=False)


def bench(name: str, sets: int) -> str:
    """One result line: median ms per full recommendation for each engine, and the ratios."""
    from pgmpy.inference import VariableElimination

    from syncdx.network._bif import to_pgmpy

    model = load(name)
    cases = as_dicts(evidence_frame(model, sets, observed=0.3, seed=1))
    work = [(e, candidates(model, e, leaves_only=name != "sync")) for e in cases]
    rows = np.mean([sum(len(model.states(q)) for q in qs) for _, qs in work])
    ours = np.median([per_call(partial(model.recommend, e, candidates=qs), 50) for e, qs in work])
    import pyagrum as gum

    ie = gum.LazyPropagation(to_pyagrum(model))
    agrum = np.median([per_call(partial(with_pyagrum, model, ie, e, qs), 3) for e, qs in work])
    ve = VariableElimination(to_pgmpy(model.network))
    start = time.perf_counter()
    few = work[: max(1, min(3, len(work)))]
    for e, qs in few:
        with_pgmpy(model, ve, e, qs)
    pgmpy = (time.perf_counter() - start) / len(few)
    return (
        f"{name:<10} {rows:8.0f} {ours * 1e3:10.2f} {agrum * 1e3:10.1f} {pgmpy * 1e3:10.0f} "
        f"{agrum / ours:9.0f}x {pgmpy / ours:9.0f}x"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evidence", type=int, default=20, help="evidence sets (medians)")
    parser.add_argument("--networks", nargs="+", default=["sync", "win95pts"])
    args = parser.parse_args(argv)
    print(
        f"{'network':<10} {'answers':>8} {'syncdx ms':>10} {'pyAgrum ms':>10} {'pgmpy ms':>10} "
        f"{'x pyAgrum':>10} {'x pgmpy':>10}"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # pgmpy dividing 0/0 on impossible answers
        for name in args.networks:
            print(bench(name, args.evidence))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
