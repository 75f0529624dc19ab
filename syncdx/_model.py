"""`Model`: the friendly entry point. A compiled network and everything one asks of it.

`Model` is a facade: each method calls down into one layer (`diagnosis` for posteriors, the
recommender and the planner, `batch` for scoring frames) and no layer imports it back; they take
the compiled `Diagnoser` it holds.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis._cases import FaultMix, simulate
from syncdx.diagnosis._diagnoser import Diagnoser, check_frame
from syncdx.diagnosis._repairs import with_failures
from syncdx.network._limits import Limits
from syncdx.network._network import Network

if TYPE_CHECKING:  # pandas and the planner load on first use, to keep `import syncdx` fast
    import pandas as pd

    from syncdx.diagnosis._explain import Explanation, Method
    from syncdx.diagnosis._plan import Step
    from syncdx.diagnosis._recommend import Criterion, Ranking
    from syncdx.learn._fit import FitResult


class Model:
    """A diagnostic model, compiled once for exact inference and reused for every query.

    Evidence is a mapping {node id: answer} or a pandas Series (a row of a frame); answers
    follow the model's states (case-insensitive where that names one state; yes/no also as
    true/false, 1/0, y/n); a blank answer, or one of the model's `unknown_words` ("don't know",
    "not sure", "maybe", ...) that is no state of the node, means "not observed". `soft`
    evidence maps a node to a
    weight for every one of its states, 0 ruling a state out:
    {"internet_works": {"yes": 0.8, "no": 0.2}}; only the ratios matter to a posterior.
    """

    def __init__(self, network: Network, *, limits: Limits | None = None) -> None:
        """Compile `network`; `limits` bounds the memory compiling may take (`syncdx.Limits`)."""
        self._diagnoser = Diagnoser(network, limits=limits)
        self._document: dict[str, Any] | None = None  # set by fit/update (syncdx.learn)
        self._fit_result: FitResult | None = None

    # -- what the model holds ------------------------------------------------------------
    @property
    def network(self) -> Network:
        """The underlying network specification."""
        return self._diagnoser.network

    @property
    def name(self) -> str:
        """The model's short name."""
        return self._diagnoser.name

    @property
    def causes(self) -> tuple[str, ...]:
        """Cause ids, in model order."""
        return self._diagnoser.causes

    @property
    def observations(self) -> tuple[str, ...]:
        """Observation ids, in model order."""
        return self._diagnoser.observations

    def states(self, node: str) -> tuple[str, ...]:
        """The states of `node`, in model order."""
        return self._diagnoser.states(node)

    @property
    def unknown_words(self) -> frozenset[str]:
        """The answers that mean "don't know" (no evidence) for a node with no state spelled
        so, as compared (lower case, single spaces; default `syncdx.UNKNOWN_WORDS`)."""
        return ev.words(self.network)

    def with_unknown_words(self, words: str | Iterable[str] | None) -> Model:
        """This model with `words` as its "don't know" answers (None: the default set, an
        empty list: none), for every query, session and scoring run on it."""
        chosen = None if words is None else ev.word_set(words)
        model = Model(dataclasses.replace(self.network, unknown_words=chosen))
        model._document, model._fit_result = self._document, self._fit_result
        return model

    @property
    def actions(self) -> pd.DataFrame:
        """Repair actions: text, cost, the causes each fixes and how often, last resort."""
        from syncdx.diagnosis._plan import actions_table

        return actions_table(self.network)

    @property
    def questions(self) -> pd.DataFrame:
        """Observations a person can check: text, cost (minutes), states."""
        from syncdx.diagnosis._plan import questions_table

        return questions_table(self.network)

    def to_pgmpy(self) -> Any:
        """The equivalent pgmpy `DiscreteBayesianNetwork` (node names are ids)."""
        from syncdx.network._bif import to_pgmpy

        return to_pgmpy(self.network)

    # -- posteriors ----------------------------------------------------------------------
    def posterior(
        self, evidence: ev.Evidence | None = None, *, soft: ev.SoftEvidence | None = None
    ) -> pd.Series:
        """P(cause present | evidence) for every cause, most probable first."""
        return self._diagnoser.posterior(evidence, soft=soft)

    def marginals(
        self,
        evidence: ev.Evidence | None = None,
        variables: str | Iterable[str] | None = None,
        *,
        soft: ev.SoftEvidence | None = None,
    ) -> dict[str, pd.Series]:
        """{node: P(node = state | evidence) over its states} for a node or several; None means
        every node."""
        return self._diagnoser.marginals(evidence, variables, soft=soft)

    def probability_of_evidence(
        self, evidence: ev.Evidence | None = None, *, soft: ev.SoftEvidence | None = None
    ) -> float:
        """P(evidence): zero for impossible evidence (no error here); with soft evidence, the
        sum over states of P(x, evidence) times the product of x's soft weights."""
        return self._diagnoser.probability_of_evidence(evidence, soft=soft)

    def log_probability_of_evidence(
        self, evidence: ev.Evidence | None = None, *, soft: ev.SoftEvidence | None = None
    ) -> float:
        """log P(evidence), exact even where P(evidence) underflows; -inf if impossible."""
        return self._diagnoser.log_probability_of_evidence(evidence, soft=soft)

    def posteriors(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Batch posterior: one row of P(cause present) per row of `frame`, same index and order.

        Columns named after nodes (case and spaces around the name ignored), causes included,
        are evidence; other columns are ignored (`score`, instead, carries cause columns
        through as labels). Errors name the row and column (`EvidenceError`) or the row
        (`ImpossibleEvidenceError`); a duplicate column is an `InputError`.
        """
        return self._diagnoser.posteriors(frame)

    def sample(
        self,
        n: int,
        *,
        seed: int | None = None,
        evidence: ev.Evidence | None = None,
        missing: float = 0.0,
        fault_mix: FaultMix = "prior",
    ) -> pd.DataFrame:
        """`n` simulated cases drawn from the model, reproducible by `seed`.

        Columns: one per observation (its state, blank where unreported: each answer is left
        out with probability `missing`), `cause_<id>` (1 if the cause is present) per cause, and
        `confirmed_cause` (the present cause; with several, the one the answers make most
        probable; None with none). `evidence` holds in every case (drawn conditionally on it).
        `fault_mix="single"` draws exactly one present cause per case, in proportion to the
        causes' prior odds; `"prior"` lets the priors mix them.
        """
        return simulate(
            self._diagnoser, n, seed=seed, evidence=evidence, missing=missing, fault_mix=fault_mix
        )

    # -- learning from resolved cases (syncdx.learn) -------------------------------------
    def fit(
        self,
        cases: pd.DataFrame,
        *,
        confidence: float = 20.0,
        max_iter: int = 50,
        tol: float = 1e-4,
    ) -> Model:
        """A new model whose numbers are fitted to resolved `cases` by EM, the expert's numbers
        acting as a prior worth `confidence` equivalent cases each (`confidence:` in the model
        file overrides it per number; `frozen: true` keeps a number as written).

        `cases` has a column per observation (blank = not reported) and, where known, the
        truth: `confirmed_cause` and/or `cause_<id>` (1/0). Noisy-OR and noisy-MAX nodes keep
        their form (links and leak are learned); `cpt` rows are learned row by row. The new
        model's `learned` tells what moved; `save` writes it with `learned: {cases, from,
        interval}` beside each number.
        """
        return self._learn(cases, confidence, max_iter, tol, sequential=False)

    def update(
        self,
        cases: pd.DataFrame,
        *,
        confidence: float = 20.0,
        max_iter: int = 50,
        tol: float = 1e-4,
    ) -> Model:
        """`fit` carrying on from this model's own fit: each number's prior weight is its
        `confidence` plus the cases it was already fitted on, so folding in each week's cases
        equals fitting them all at once (exactly, on complete data)."""
        return self._learn(cases, confidence, max_iter, tol, sequential=True)

    @property
    def learned(self) -> FitResult | None:
        """What the fit that made this model did (penalised log likelihood per EM iteration,
        the numbers that moved, most first); None for a model that was not fitted."""
        return self._fit_result

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model as a YAML model file (structure, texts, costs, sources and "don't
        know" words kept; after a fit, each learned number with `learned: {cases, from,
        interval}`)."""
        from syncdx.network._writer import write_yaml_model

        document = dict(self._learned_document())
        document.pop("unknown_words", None)
        if self.network.unknown_words is not None:  # the model's "don't know" words go with it
            document["unknown_words"] = sorted(self.network.unknown_words)
        write_yaml_model(document, path)

    def _learn(
        self, cases: pd.DataFrame, confidence: float, max_iter: int, tol: float, *, sequential: bool
    ) -> Model:
        from syncdx.learn._fit import fit  # on first use: keeps `import syncdx` fast

        check_frame(cases)
        result = fit(
            self.network,
            self._learned_document(),
            cases,
            confidence=confidence,
            max_iter=max_iter,
            tol=tol,
            sequential=sequential,
        )
        fitted = Model(result.network)
        fitted._document, fitted._fit_result = result.document, result
        return fitted

    def _learned_document(self) -> dict[str, Any]:
        """The YAML document behind this model: its own after a fit, else its file's, else
        one describing the network."""
        from syncdx.learn._fit import model_document

        return self._document if self._document is not None else model_document(self.network)

    # -- what to ask and do next ---------------------------------------------------------
    def recommend(
        self,
        evidence: ev.Evidence | None = None,
        *,
        soft: ev.SoftEvidence | None = None,
        k: int | None = None,
        criterion: Criterion = "marginal",
        by: Ranking = "gain",
        candidates: str | Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Unanswered questions ranked by expected information gain (bits), best first."""
        from syncdx.diagnosis._recommend import recommend

        return recommend(
            self._diagnoser,
            evidence,
            soft=soft,
            k=k,
            criterion=criterion,
            by=by,
            candidates=candidates,
        )

    def plan(
        self,
        evidence: ev.Evidence | None = None,
        *,
        soft: ev.SoftEvidence | None = None,
        failed: str | Iterable[str] = (),
        skipped: str | Iterable[str] = (),
    ) -> Step:
        """The next troubleshooting step (a question or a repair), by expected cost of repair."""
        from syncdx.diagnosis._plan import plan

        return plan(self._diagnoser, evidence, soft=soft, failed=failed, skipped=skipped)

    def explain(
        self,
        evidence: ev.Evidence | None = None,
        cause: str | None = None,
        *,
        soft: ev.SoftEvidence | None = None,
        failed: str | Iterable[str] = (),
        method: Method = "sequential",
        samples: int = 1000,
        seed: int | None = 0,
    ) -> Explanation:
        """How much each finding moved `cause` (default: the likeliest), in bits, and whether
        the findings conflict.

        Findings are the answers in the order given, then the soft evidence, then the
        `failed` repairs. `method="sequential"` weighs each finding given those before it;
        `"shapley"` averages over every order (exact up to 12 findings, else from `samples`
        random orders, reproducible by `seed`, with a standard error). Either way the weights
        add up to posterior minus prior log-odds. See `syncdx.diagnosis.Explanation`.
        """
        from syncdx.diagnosis._explain import explain
        from syncdx.diagnosis._findings import findings_of

        failed = ev.names(failed, "failed")
        found = findings_of(self.network, evidence, soft, failed)
        self._diagnoser.check_possible(evidence, soft=with_failures(self.network, soft, failed))
        return explain(self._diagnoser, found, cause, method=method, samples=samples, seed=seed)

    # -- batch scoring -------------------------------------------------------------------
    def score(
        self, frame: pd.DataFrame, *, top: int = 3, next_question: bool = False
    ) -> pd.DataFrame:
        """`frame` with P(cause present), top causes, log P(e) and an error per row appended.

        Only observation columns are answers; cause columns are carried through as labels
        (unlike `posteriors`, where they are evidence). See `syncdx.score_file` for files.
        """
        from syncdx.batch._scorer import score_frame

        check_frame(frame)
        if not isinstance(next_question, bool | np.bool_):
            raise TypeError(f"next_question must be True or False, got {next_question!r}")
        return score_frame(self._diagnoser, frame, top=top, next_question=next_question)

    @property
    def diagnoser(self) -> Diagnoser:
        """The compiled network every query runs on (what the lower layers take)."""
        return self._diagnoser

    # -- display ----------------------------------------------------------------------------------
    def __repr__(self) -> str:
        n = self.network
        return (
            f"<Model {n.name!r}: {len(self.causes)} causes, {len(self.observations)} "
            f"observations, {len(n.actions)} actions>"
        )

    @functools.cached_property
    def _picture(self) -> str:
        """The network as inline SVG, drawn once (about a second): the model never changes."""
        return _svg(self)

    def _repr_html_(self) -> str:
        """Causes with priors and provenance, questions, repairs, documents, and the network
        picture (inline SVG) when matplotlib is installed."""
        from syncdx.diagnosis._display import model_html

        prior = self.posterior()
        return model_html(
            self.network, list(zip(map(str, prior.index), prior.tolist())), self._picture
        )


def _svg(model: Model) -> str:
    """The network picture as inline SVG (scaled to the notebook's width); empty without
    matplotlib."""
    import io

    try:  # on first use: matplotlib is optional, and slow to import
        import matplotlib.pyplot as plt

        from syncdx.plot import plot_network
    except ImportError:
        return ""
    figure = plot_network(model).figure
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    plt.close(figure)  # drawn here only: a notebook must not show it a second time
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    return svg.replace("<svg ", "<svg style='max-width:100%;height:auto' ", 1)
