"""Learning from resolved cases: syncdx fit vs pgmpy vs pyAgrum BNLearner (EM), held out.

The truth is the shipped model with every number moved (each cause prior, noisy-OR link and
leak: logit + N(0, 0.8), seed 0); the expert is the shipped model as written. Training and test
cases are drawn from the truth (observations with 30% or 60% blanks, and every cause_<id>
column: the causes are known, the hidden nodes never seen). Each learner starts from the
expert and gets the same training cases; every learned model is scored by `syncdx.evaluate`
on the same 5,000 held-out cases (log loss in nats, top-1 accuracy of the confirmed cause).

- syncdx: `Model.fit` (EM, expert prior worth 20 cases per number, noisy-OR kept).
- pgmpy: ExpectationMaximization drops every row with a blank (pgmpy#2018); with 25
  observations and 30% blanks 0.7^25 = 0.013% of rows are complete, so EM runs only where at
  least 50 rows are complete. Otherwise pgmpy's BayesianEstimator (pgmpy 1.1 counts each
  family on the rows where it is observed, the expert table x 20 as Dirichlet
  pseudo-counts); families with a hidden node keep the expert table (it cannot count them).
- pyAgrum: BNLearner with EM (1e-4), the expert network as Dirichlet prior (weight 20, one
  global weight), learning full tables on the expert's structure; hidden nodes as all-missing.
Run (every row of the issue's table: 30% and 60% blanks, 100 to 100,000 cases, one command):
    python -m benchmarks.bench_learning [--sizes 100 1000 10000 100000] [--blanks 0.3 0.6]
        [--plot FILE] [--csv FILE] [--learners syncdx pyagrum pgmpy]
Each row is printed as it finishes and, with --csv, appended to FILE (a stopped run keeps the
rows it finished); the end prints the table as Markdown, as RESULTS.md records it.
"""

from __future__ import annotations

import argparse
import copy
import time
import warnings
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

import syncdx
from benchmarks.common import to_pyagrum
from syncdx import Model
from syncdx.learn._fit import model_document
from syncdx.network._authoring import parse_model

PRIOR = 20.0
TEST_CASES = 5000
#: pgmpy is capped: at 10,000 cases its estimator had not finished after 6 minutes here.
PGMPY_CAP = 1_000
#: pyAgrum's EM took 34 s on 1,000 cases here, growing linearly: 10,000 would take ~6 minutes
#: per run and 100,000 about an hour, so it is run up to this many cases.
PYAGRUM_CAP = 1_000


def truth_model(seed: int = 0, scale: float = 0.8) -> Model:
    """The shipped model with each prior, link and leak moved on the logit scale."""
    rng = np.random.default_rng(seed)
    document = copy.deepcopy(model_document(syncdx.load_model().network))

    def move(p: float) -> float:
        logit = np.log(p / (1 - p)) + rng.normal(0, scale)
        return float(np.clip(1 / (1 + np.exp(-logit)), 0.005, 0.995))

    for cause in document["causes"]:
        cause["prior"] = move(float(cause["prior"]))
    for entry in [*document.get("observations", []), *document.get("hidden", [])]:
        spec = entry.get("noisy_or")
        if spec:
            for item in [spec["leak"], *spec["links"].values()]:
                item["p"] = move(float(item["p"]))
    return Model(parse_model(document))


def score(model: Model, test: pd.DataFrame) -> tuple[float, float]:
    result = syncdx.evaluate(model, test, replay=0)
    return result.log_loss, result.top1


def with_tables(expert: Model, tables: dict[str, np.ndarray]) -> Model:
    network = expert.network
    cpts = tuple(tables.get(v.id, cpt) for v, cpt in zip(network.variables, network.cpts))
    return Model(replace(network, cpts=cpts))


def fit_syncdx(expert: Model, train: pd.DataFrame) -> Model:
    return expert.fit(train, confidence=PRIOR)


def peer_frame(expert: Model, train: pd.DataFrame) -> pd.DataFrame:
    """The training cases as the peers read them: a column per node, causes by state name."""
    frame = train[list(expert.observations)].copy()
    for cause in expert.causes:
        variable = expert.network.variable(cause)
        present = next(s for s in variable.states if s != variable.normal)
        frame[cause] = np.where(train[f"cause_{cause}"] == 1, present, variable.normal)
    return frame


def fit_pyagrum(expert: Model, train: pd.DataFrame) -> Model:
    import pyagrum as gum

    bn = to_pyagrum(expert)
    frame = peer_frame(expert, train)
    for hidden in expert.network.ids("hidden"):
        frame[hidden] = "?"
    frame = frame[[v.id for v in expert.network.variables]].replace("", "?")
    learner = gum.BNLearner(frame, bn, ["?"])
    learner.useEM(1e-4)
    learner.useDirichletPrior(bn, PRIOR)
    learned = learner.learnParameters(bn.dag())
    return with_tables(expert, _tables_from_pyagrum(expert, learned))


def _tables_from_pyagrum(expert: Model, bn: Any) -> dict[str, np.ndarray]:
    network = expert.network
    out = {}
    for i, v in enumerate(network.variables):
        names = [network.variables[p].id for p in network.parents[i]]
        table = np.empty_like(network.cpts[i])
        for config in np.ndindex(*table.shape[:-1]):
            table[config] = bn.cpt(v.id)[dict(zip(names, config))]
        out[v.id] = table
    return out


def fit_pgmpy(expert: Model, train: pd.DataFrame) -> tuple[Model, str]:
    network = expert.network
    frame = peer_frame(expert, train).replace("", np.nan)
    complete = int(frame.dropna().shape[0])
    if complete >= 50:
        return _pgmpy_em(expert, frame.dropna()), "EM"
    from pgmpy.estimators import BayesianEstimator

    model = expert.to_pgmpy()
    states = {v.id: list(v.states) for v in network.variables if v.id in frame.columns}
    estimator = BayesianEstimator(model, frame, state_names=states)
    tables = {}
    observed = set(frame.columns)
    for i, v in enumerate(network.variables):
        family = [v.id, *(network.variables[p].id for p in network.parents[i])]
        if not set(family) <= observed:
            continue  # a hidden node in the family: pgmpy cannot count it
        prior = network.cpts[i].reshape(-1, network.cards[i]).T * PRIOR
        cpd = estimator.estimate_cpd(v.id, prior_type="dirichlet", pseudo_counts=prior)
        tables[v.id] = _table_from_pgmpy(expert, i, cpd)
    return with_tables(expert, tables), "BayesianEstimator"


def _pgmpy_em(expert: Model, frame: pd.DataFrame) -> Model:
    from pgmpy.estimators import ExpectationMaximization

    model = expert.to_pgmpy()
    hidden = expert.network.ids("hidden")
    model.latents = set(hidden)
    cards = {h: expert.network.cards[expert.network.index[h]] for h in hidden}
    cpds = ExpectationMaximization(model, frame).get_parameters(
        latent_card=cards, max_iter=20, show_progress=False
    )
    return with_tables(expert, {c.variable: _table_from_pgmpy_any(expert, c) for c in cpds})


def _table_from_pgmpy_any(expert: Model, cpd: Any) -> np.ndarray:
    return _table_from_pgmpy(expert, expert.network.index[cpd.variable], cpd)


def _table_from_pgmpy(expert: Model, i: int, cpd: Any) -> np.ndarray:
    network = expert.network
    variable = network.variables[i]
    parents = [network.variables[p] for p in network.parents[i]]
    table = np.empty_like(network.cpts[i])
    for config in np.ndindex(*table.shape[:-1]):
        given = {p.id: p.states[c] for p, c in zip(parents, config)}
        table[config] = [cpd.get_value(**{variable.id: s}, **given) for s in variable.states]
    return table


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


LEARNERS = ("syncdx", "pyagrum", "pgmpy")


def run(
    sizes: list[int],
    blanks: list[float],
    csv: str | None = None,
    learners: tuple[str, ...] = LEARNERS,
) -> pd.DataFrame:
    truth, expert = truth_model(), syncdx.load_model()
    records = []
    for missing in blanks:
        test = truth.sample(TEST_CASES, seed=99, missing=missing)
        ll, top1 = score(truth, test)
        records.append(_record(missing, "truth", ll, top1))
        ll, top1 = score(expert, test)
        records.append(_record(missing, "expert", ll, top1))
        for n in sizes:
            sample = truth.sample(n, seed=n, missing=missing)
            train = sample.drop(columns="confirmed_cause")
            chosen = [
                (name, fn)
                for key, name, fn, cap in (
                    ("syncdx", "syncdx fit", fit_syncdx, n),
                    ("pyagrum", "pyAgrum EM", fit_pyagrum, PYAGRUM_CAP),
                    ("pgmpy", "pgmpy", fit_pgmpy, PGMPY_CAP),
                )
                if key in learners and n <= cap
            ]
            for name, fn in chosen:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out, seconds = timed(fn, expert, train)
                model, how = out if isinstance(out, tuple) else (out, "")
                ll, top1 = score(model, test)
                label = name + (f" ({how})" if how else "")
                records.append(_record(missing, label, ll, top1) | {"cases": n, "fit_s": seconds})
                _report(records, csv)
    return pd.DataFrame.from_records(records)


def _report(records: list[dict[str, Any]], csv: str | None) -> None:
    """Print the newest record; with `csv`, write every record so far."""
    print(records[-1], flush=True)
    if csv:
        pd.DataFrame.from_records(records).to_csv(csv, index=False)


def markdown(frame: pd.DataFrame) -> str:
    """The results as RESULTS.md's table: blanks, cases, learner, log loss, top-1, fit time."""
    lines = [
        "| blanks | cases | learner | held-out log loss | top-1 | fit (s) |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for row in frame.itertuples(index=False):
        fit = "" if pd.isna(getattr(row, "fit_s", np.nan)) else f"{row.fit_s:.3g}"
        lines.append(
            f"| {row.blanks:.0%} | {row.cases:,} | {row.learner} | {row.log_loss:.4f} "
            f"| {row.top1:.1%} | {fit} |"
        )
    return "\n".join(lines)


def _record(missing: float, learner: str, ll: float, top1: float) -> dict[str, Any]:
    return {"blanks": missing, "cases": 0, "learner": learner, "log_loss": ll, "top1": top1}


def plot(frame: pd.DataFrame, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    blanks = sorted(frame["blanks"].unique())
    fig, axes = plt.subplots(1, len(blanks), figsize=(6 * len(blanks), 4.2), squeeze=False)
    for ax, missing in zip(axes[0], blanks):
        part = frame[frame["blanks"] == missing]
        for learner, rows in part[part["cases"] > 0].groupby("learner"):
            ax.plot(rows["cases"], rows["log_loss"], marker="o", label=learner)
        for name, style in (("expert", "--"), ("truth", ":")):
            value = part.loc[part["learner"] == name, "log_loss"].iloc[0]
            ax.axhline(value, linestyle=style, color="grey", label=f"{name} (no fitting)")
        ax.set_xscale("log")
        ax.set_xlabel("training cases")
        ax.set_ylabel("held-out log loss (nats, lower is better)")
        ax.set_title(f"{missing:.0%} of answers blank")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10_000, 100_000])
    parser.add_argument("--blanks", type=float, nargs="+", default=[0.3, 0.6])
    parser.add_argument("--plot", default="benchmarks/learning.png")
    parser.add_argument("--csv", default=None, help="write the rows here as they finish")
    parser.add_argument("--learners", nargs="+", choices=LEARNERS, default=list(LEARNERS))
    args = parser.parse_args(argv)
    frame = run(args.sizes, args.blanks, args.csv, tuple(args.learners))
    print(frame.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    print(markdown(frame))
    plot(frame, args.plot)
    print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
