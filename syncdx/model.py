"""`Model`: a network compiled for diagnosis, and the questions one asks of it.

Every answer comes from one primitive, `Model.infer`: a batched exact inference over likelihood
arrays. Posteriors, marginals, P(evidence) and batch posteriors are views of its result.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

from syncdx import evidence as ev
from syncdx.conflict import smallest_conflict
from syncdx.engine import Limits, Result, compile_network
from syncdx.errors import ImpossibleEvidenceError
from syncdx.network import FloatArray, Network
from syncdx.ranking import descending_row

if TYPE_CHECKING:  # pandas is imported where results are built, to keep `import syncdx` fast
    import pandas as pd

    from syncdx.plan import Step  # recommender and planner: see the end of `Model`
    from syncdx.recommend import Criterion, Ranking


class Model:
    """A diagnostic model, compiled once for exact inference and reused for every query.

    Evidence is a mapping {node id: answer} or a pandas Series (a row of a frame); answers
    follow the model's states (case-insensitive where that names one state; yes/no also as
    true/false, 1/0, y/n; see `syncdx.evidence`); a blank answer means "not observed". `soft`
    evidence maps a node to a weight for every one of its states, 0 ruling a state out:
    {"internet_works": {"yes": 0.8, "no": 0.2}}; only the ratios matter to a posterior.
    """

    def __init__(self, network: Network, *, limits: Limits | None = None) -> None:
        self._network = network
        self._tree = compile_network(network, limits=limits)  # limits: see syncdx._limits
        self._causes = network.ids("cause")
        self._cause_index = tuple(network.index[c] for c in self._causes)
        self._labels: pd.Index | None = None
        self._one_hot = tuple(
            tuple(_read_only(row[np.newaxis]) for row in np.eye(card)) for card in network.cards
        )
        self._normal_state = tuple(
            network.variables[i].states.index(network.variables[i].normal)
            for i in self._cause_index
        )
        self._cause_normal = tuple(zip(self._cause_index, self._normal_state))

    # -- what the model holds ---------------------------------------------------------------
    @property
    def network(self) -> Network:
        """The underlying network specification."""
        return self._network

    @property
    def name(self) -> str:
        """The model's short name."""
        return self._network.name

    @property
    def causes(self) -> tuple[str, ...]:
        """Cause ids, in model order."""
        return self._causes

    @property
    def observations(self) -> tuple[str, ...]:
        """Observation ids, in model order."""
        return self._network.ids("observation")

    def states(self, node: str) -> tuple[str, ...]:
        """The states of `node`, in model order."""
        return ev.node(self._network, node).states

    def to_pgmpy(self) -> Any:
        """The equivalent pgmpy `DiscreteBayesianNetwork` (node names are ids)."""
        from syncdx.interop import to_pgmpy

        return to_pgmpy(self._network)

    # -- queries ------------------------------------------------------------------------------
    def posterior(
        self, evidence: ev.Evidence | None = None, *, soft: ev.SoftEvidence | None = None
    ) -> pd.Series:
        """P(cause present | evidence) for every cause, most probable first."""
        import pandas as pd

        marginals = self._query(evidence, soft, self._cause_index).marginals
        present = [1.0 - marginals[i].item(n) for i, n in self._cause_normal]
        order = np.array(descending_row(present), dtype=np.intp)
        labels = self._cause_labels().take(order)
        return pd.Series(np.array(present)[order], index=labels, name="probability", copy=False)

    def marginals(
        self,
        evidence: ev.Evidence | None = None,
        variables: str | Iterable[str] | None = None,
        *,
        soft: ev.SoftEvidence | None = None,
    ) -> dict[str, pd.Series]:
        """{node: P(node = state | evidence) over its states} for a node or several; None means
        every node."""
        import pandas as pd

        names = self._network.ids() if variables is None else ev.names(variables)
        indices = tuple(self._network.index[ev.node(self._network, n).id] for n in names)
        result = self._query(evidence, soft, indices)
        return {
            name: pd.Series(
                result.marginals[i][0],
                index=pd.Index(self._network.variables[i].states, name="state"),
                name=name,
            )
            for name, i in zip(names, indices)
        }

    def probability_of_evidence(
        self, evidence: ev.Evidence | None = None, *, soft: ev.SoftEvidence | None = None
    ) -> float:
        """P(evidence): zero for impossible evidence (no error here).

        With soft evidence this is sum_x P(x, evidence) * L(x), L(x) the product of the soft
        weights of x's states: a probability when each weight is P(report | state) <= 1, and
        possibly above 1 with weights above 1.
        """
        return float(np.exp(self.log_probability_of_evidence(evidence, soft=soft)))

    def log_probability_of_evidence(
        self, evidence: ev.Evidence | None = None, *, soft: ev.SoftEvidence | None = None
    ) -> float:
        """log P(evidence), exact even where P(evidence) underflows; -inf if impossible.

        With soft evidence, the log of the weighted sum described in `probability_of_evidence`.
        """
        likelihoods = self._likelihoods(evidence, soft)
        return float(self.infer(likelihoods, ()).log_evidence[0])

    def posteriors(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Batch posterior: one row of P(cause present) per row of `frame`, same index and order.

        Columns named after nodes (case and spaces around the name ignored), causes included,
        are evidence (blank = not observed); other columns are ignored. (`score` differs: it
        reads only observation columns and carries cause columns through untouched, as
        labels.) A duplicate column raises an `InputError` as `score` does; a bad value an
        `EvidenceError` naming the row and column; a row with impossible evidence an
        `ImpossibleEvidenceError` naming the row.
        """
        import pandas as pd

        from syncdx.tables import check_columns

        check_columns(tuple(str(c) for c in frame.columns), None)
        encoded = ev.encode_frame(self._network, frame)
        _raise_first_invalid(self._network, frame, encoded)
        result = self.infer_codes(encoded.codes, encoded.columns, self._cause_index)
        bad = np.flatnonzero(~result.possible)
        if bad.size:
            row = int(bad[0])
            findings = {
                encoded.names[j]: frame.iloc[row][encoded.names[j]]
                for j in np.flatnonzero(encoded.codes[row] >= 0)
            }
            raise self._impossible(findings, None, row=frame.index[row])
        return pd.DataFrame(
            self.cause_probabilities(result), index=frame.index, columns=self._causes
        )

    # -- the primitive --------------------------------------------------------------------------
    def infer(self, likelihoods: dict[int, FloatArray], targets: Sequence[int] | None) -> Result:
        """Exact inference on a batch: log P(e) per row and the marginals of `targets`."""
        return self._tree.run(likelihoods, targets)

    def infer_codes(
        self, codes: ev.CodeArray, columns: tuple[int, ...], targets: Sequence[int] | None
    ) -> Result:
        """`infer` on rows of state codes, computing each distinct row once."""
        unique, inverse = distinct_rows(codes)
        likelihoods = ev.likelihoods(self._network.cards, unique, columns)
        result = self.infer(likelihoods, targets)
        return Result(
            result.log_evidence[inverse], {v: m[inverse] for v, m in result.marginals.items()}
        )

    def cause_probabilities(self, result: Result) -> FloatArray:
        """(rows, causes) P(cause present) from a result that holds every cause's marginal."""
        return np.column_stack(
            [1.0 - result.marginals[i][:, n] for i, n in zip(self._cause_index, self._normal_state)]
        )

    # -- helpers ----------------------------------------------------------------------------------
    def _cause_labels(self) -> pd.Index:
        """The causes as a pandas Index, built on first use (pandas loads lazily)."""
        if self._labels is None:
            import pandas as pd

            self._labels = pd.Index(self._causes, dtype=object, name="cause")
        return self._labels

    def _likelihoods(
        self, evidence: ev.Evidence | None, soft: ev.SoftEvidence | None
    ) -> dict[int, FloatArray]:
        likelihoods = {
            v: self._one_hot[v][s] for v, s in ev.encode(self._network, evidence).items()
        }
        for v, weights in ev.encode_soft(self._network, soft).items():
            likelihoods[v] = likelihoods.get(v, 1.0) * weights[np.newaxis]
        return likelihoods

    def _query(
        self, evidence: ev.Evidence | None, soft: ev.SoftEvidence | None, targets: Sequence[int]
    ) -> Result:
        result = self.infer(self._likelihoods(evidence, soft), targets)
        if not math.isfinite(result.log_evidence[0]):
            raise self._impossible({} if evidence is None else evidence, soft)
        return result

    def _impossible(
        self, evidence: ev.Evidence, soft: ev.SoftEvidence | None, row: object = None
    ) -> ImpossibleEvidenceError:
        variables = self._network.variables
        likelihoods = {v: lik[0] for v, lik in self._likelihoods(evidence, soft).items()}
        conflict = [variables[v].id for v in smallest_conflict(self._tree, likelihoods)]
        hard = {  # by the state's own name, however the answer was spelled
            variables[v].id: variables[v].states[s]
            for v, s in ev.encode(self._network, evidence).items()
        }
        weights = soft or {}
        found, shown = {}, []
        for name in conflict:
            said = [f"{name}={hard[name]}"] if name in hard else []
            said += [ev.describe_soft(name, weights[name])] if name in weights else []
            found[name] = hard.get(name) or said[0]
            shown.append(" and ".join(said))
        return ImpossibleEvidenceError(found, row=row, shown=shown)

    # -- display ----------------------------------------------------------------------------------
    def __repr__(self) -> str:
        n = self._network
        return (
            f"<Model {n.name!r}: {len(self._causes)} causes, {len(self.observations)} "
            f"observations, {len(n.actions)} actions>"
        )

    def _repr_html_(self) -> str:
        prior = self.posterior()
        rows = "".join(
            f"<tr><td><code>{escape(c)}</code></td><td>{escape(self._meaning(c))}</td>"
            f"<td style='text-align:right'>{p:.3f}</td></tr>"
            for c, p in zip(map(str, prior.index), prior.to_numpy())
        )
        title = escape(self._network.title or self._network.name)
        return (
            f"<p><b>{title}</b>: {len(self._causes)} causes, {len(self.observations)} "
            f"observations, {len(self._network.actions)} actions</p><table><thead><tr>"
            f"<th>cause</th><th>meaning</th><th>prior</th></tr></thead><tbody>{rows}</tbody></table>"
        )

    def _meaning(self, cause: str) -> str:
        """The cause's text or, with none beyond its id (as from BIF), which states are present."""
        variable = self._network.variable(cause)
        if variable.text not in ("", variable.id):
            return variable.text
        present = " or ".join(s for s in variable.states if s != variable.normal)
        return f"{cause} = {present}"

    # -- recommender and planner (syncdx.recommend, syncdx.plan) ------------------------------
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
        """Unanswered questions ranked by expected information gain (bits): `syncdx.recommend`."""
        from syncdx.recommend import recommend

        return recommend(
            self, evidence, soft=soft, k=k, criterion=criterion, by=by, candidates=candidates
        )

    def plan(
        self,
        evidence: ev.Evidence | None = None,
        *,
        soft: ev.SoftEvidence | None = None,
        failed: str | Iterable[str] = (),
        skipped: str | Iterable[str] = (),
    ) -> Step:
        """The next troubleshooting step, by expected cost of repair: `syncdx.plan`."""
        from syncdx.plan import plan

        return plan(self, evidence, soft=soft, failed=failed, skipped=skipped)

    @property
    def actions(self) -> pd.DataFrame:
        """Repair actions: text, cost, the causes each fixes and how often, last resort."""
        from syncdx.plan import actions_table

        return actions_table(self._network)

    @property
    def questions(self) -> pd.DataFrame:
        """Observations a person can check: text, cost (minutes), states."""
        from syncdx.plan import questions_table

        return questions_table(self._network)

    # -- batch scoring (syncdx.batch) ---------------------------------------------------------
    def score(
        self, frame: pd.DataFrame, *, top: int = 3, next_question: bool = False
    ) -> pd.DataFrame:
        """`frame` with P(cause present), top causes, log P(e) and an error per row appended.

        Only observation columns are answers; cause columns are carried through as labels
        (unlike `posteriors`, where they are evidence). See `syncdx.batch`.
        """
        from syncdx.batch import score_frame

        return score_frame(self, frame, top=top, next_question=next_question)


def _read_only(array: FloatArray) -> FloatArray:
    array.setflags(write=False)
    return array


def distinct_rows(codes: ev.CodeArray) -> tuple[ev.CodeArray, np.ndarray]:
    """The distinct rows of `codes` and, for each row, the index of its distinct row."""
    if codes.shape[1] == 0 or len(codes) == 0:
        return codes[:1], np.zeros(len(codes), dtype=np.intp)
    keys = ev.pattern_keys(codes, np.maximum(codes.max(axis=0), 0) + 1)
    if keys is None:
        unique, inverse = np.unique(codes, axis=0, return_inverse=True)
        return unique, inverse.ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return codes[first], inverse


def _raise_first_invalid(network: Network, frame: pd.DataFrame, encoded: ev.EncodedFrame) -> None:
    invalid = encoded.invalid
    if not invalid.any():
        return
    row, col = (int(x[0]) for x in np.nonzero(invalid))
    name = encoded.names[col]
    error = ev.describe_invalid(network, encoded.columns[col], frame.iloc[row][name])
    raise type(error)(
        f"row {frame.index[row]!r}, column {name!r}: {error}",
        node=name,
        value=error.value,
        allowed=error.allowed,
    )
