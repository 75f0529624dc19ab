"""`Diagnoser`: a network compiled for exact inference, and the questions every layer above asks.

Every answer comes from one primitive, `Diagnoser.infer`: a batched exact inference over
likelihood arrays. Posteriors, marginals, P(evidence) and batch posteriors are views of its
result; the recommender, the planner and batch scoring take a `Diagnoser` as input. On a tiny
network a single row is read off the network's joint (`inference._joint`; `infer` takes it
for one row of likelihoods, `posterior` and `marginals` for hard findings straight from their
states), exactly as the junction tree would answer it. Evidence is
turned into likelihoods in one place (`_evidence.case_likelihoods`, `_evidence.likelihoods` for
rows of codes), and "is this impossible, and why?" is answered in one place (`check_possible`,
with the error built by `impossible`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from syncdx._ranking import descending_row
from syncdx.diagnosis import _columns, _likelihoods, _rows, _soft
from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis._series import series, several
from syncdx.errors import ImpossibleEvidenceError
from syncdx.inference._compile import compile_network
from syncdx.inference._conflict import smallest_conflict
from syncdx.inference._engine import Result
from syncdx.inference._joint import Joint
from syncdx.network._limits import Limits
from syncdx.network._network import FloatArray, Network

if TYPE_CHECKING:  # pandas is imported where results are built, to keep `import syncdx` fast
    import pandas as pd

#: How many orders of the causes a Diagnoser keeps a posterior's index for.
_KEPT_ORDERS = 4096


class Diagnoser:
    """A network compiled once for exact inference and reused for every query.

    Evidence is a mapping {node id: answer} or a pandas Series (a row of a frame); answers
    follow the model's states (case-insensitive where that names one state; yes/no also as
    true/false, 1/0, y/n; see `_evidence`); a blank answer means "not observed"; two
    answers for one node (a Series with a repeated index) are an `EvidenceError` unless they
    name the same state. `soft`
    evidence maps a node to a weight for every one of its states, 0 ruling a state out:
    {"internet_works": {"yes": 0.8, "no": 0.2}}; only the ratios matter to a posterior.
    """

    def __init__(self, network: Network, *, limits: Limits | None = None) -> None:
        if not isinstance(network, Network):
            raise TypeError(
                "Model needs a syncdx Network (syncdx.load_model reads one from a file), "
                f"got {type(network).__name__}"
            )
        self._network = network
        self._tree = compile_network(network, limits=limits)
        self._causes = network.ids("cause")
        self._cause_index = tuple(network.index[c] for c in self._causes)
        self._ordered: dict[tuple[int, ...], pd.Index] = {}
        self._states: list[pd.Index] | None = None
        self._normal_state = tuple(
            network.variables[i].states.index(network.variables[i].normal)
            for i in self._cause_index
        )
        self._cause_normal = tuple(zip(self._cause_index, self._normal_state))
        #: the joint for single queries on a tiny network (see `_joint`), else None
        self._joint = Joint.of(network)
        self._every = (network.ids(), tuple(range(len(network))))

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

    @property
    def cause_index(self) -> tuple[int, ...]:
        """The causes' positions among the network's variables."""
        return self._cause_index

    def states(self, node: str) -> tuple[str, ...]:
        """The states of `node`, in model order."""
        return ev.node(self._network, node).states

    # -- queries ------------------------------------------------------------------------------
    def posterior(
        self, evidence: ev.Evidence | None = None, *, soft: ev.SoftEvidence | None = None
    ) -> pd.Series:
        """P(cause present | evidence) for every cause, most probable first."""
        marginals = self._query(evidence, soft, self._cause_index).marginals
        present = [1.0 - marginals[i].item(n) for i, n in self._cause_normal]
        order = tuple(descending_row(present))
        values = np.array([present[k] for k in order])
        return series(values, self._cause_labels(order), "probability")

    def marginals(
        self,
        evidence: ev.Evidence | None = None,
        variables: str | Iterable[str] | None = None,
        *,
        soft: ev.SoftEvidence | None = None,
    ) -> dict[str, pd.Series]:
        """{node: P(node = state | evidence) over its states} for a node or several; None means
        every node."""
        names, indices = self._every if variables is None else self._named(variables)
        flat = self._every_share(evidence, soft) if variables is None else None
        if flat is None:
            marginals = self._query(evidence, soft, indices).marginals
            flat = np.concatenate([marginals[i][0] for i in indices]) if indices else np.zeros(0)
        labels, cards = self._state_labels(), self._network.cards
        # each a slice of one fresh array, its index a view of a cached one
        return several(flat, names, [labels[i] for i in indices], [cards[i] for i in indices])

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
        likelihoods = self.likelihoods(evidence, soft)
        return float(self.infer(likelihoods, ()).log_evidence[0])

    def posteriors(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Batch posterior: one row of P(cause present) per row of `frame`, same index and order.

        Columns named after nodes (case and spaces around the name ignored), causes included,
        are evidence (blank = not observed); other columns are ignored. (`score` differs: it
        reads only observation columns and carries cause columns through untouched, as
        labels.) A duplicate column, or no column named after a node, raises an `InputError`
        as `score` does; a bad value an `EvidenceError` naming the row and column; a row with
        impossible evidence an `ImpossibleEvidenceError` naming the row.
        """
        import pandas as pd

        check_frame(frame)
        _columns.check_column_names(tuple(str(c) for c in frame.columns))
        encoded = _columns.encode_frame(self._network, frame)
        if not encoded.columns:
            nodes = self._network.ids()
            raise _columns.no_columns(list(frame.columns), nodes, "an observation or a cause")
        _raise_first_invalid(self._network, frame, encoded)
        result, inverse = self._distinct(encoded.codes, encoded.columns, self._cause_index)
        bad = np.flatnonzero(~result.possible)
        if bad.size:
            row = int(np.flatnonzero(np.isin(inverse, bad))[0])
            findings = {
                encoded.names[j]: frame.iloc[row][encoded.names[j]]
                for j in np.flatnonzero(encoded.codes[row] >= 0)
            }
            raise self.impossible(findings, None, row=frame.index[row])
        # each distinct row's probabilities, then every row's in one take: column-major, as
        # the frame holds them (one block, not copied)
        present = _rows_taken(self.cause_probabilities(result), inverse)
        return pd.DataFrame(present, index=frame.index, columns=self._causes, copy=False)

    # -- the primitive --------------------------------------------------------------------------
    def infer(self, likelihoods: dict[int, FloatArray], targets: Sequence[int] | None) -> Result:
        """Exact inference on a batch: log P(e) per row and the marginals of `targets`."""
        joint = self._joint
        if joint is not None and likelihoods and self._one_row(likelihoods):
            result = joint.run(likelihoods, targets)
            if result is not None:
                return result
        return self._tree.run(likelihoods, targets)

    def families(
        self, likelihoods: dict[int, FloatArray], families: Sequence[tuple[int, ...]]
    ) -> tuple[FloatArray, list[FloatArray]]:
        """log P(e) per row and each family's joint posterior (B, *states, in the given order)."""
        return self._tree.families(likelihoods, families)

    def infer_codes(
        self, codes: ev.CodeArray, columns: tuple[int, ...], targets: Sequence[int] | None
    ) -> Result:
        """`infer` on rows of state codes, computing each distinct row once."""
        result, inverse = self._distinct(codes, columns, targets)
        return Result(
            result.log_evidence.take(inverse),
            {v: _rows_taken(m, inverse) for v, m in result.marginals.items()},
        )

    def _distinct(
        self, codes: ev.CodeArray, columns: tuple[int, ...], targets: Sequence[int] | None
    ) -> tuple[Result, npt.NDArray[np.intp]]:
        """`infer` on the distinct rows of `codes`, and each row's place among them."""
        distinct = _rows.distinct_rows(codes)
        likelihoods = _likelihoods.likelihoods(
            self._network.cards, distinct.rows, columns, states_major=True, threaded=True
        )
        return self.infer(likelihoods, targets), distinct.inverse

    def cause_probabilities(self, result: Result) -> FloatArray:
        """(rows, causes) P(cause present) from a result that holds every cause's marginal.

        Column-major (Fortran order): each cause's column is written whole from its marginal's
        column, not scattered across rows (and read whole by the batch scorer)."""
        columns = [result.marginals[i][:, n] for i, n in zip(self._cause_index, self._normal_state)]
        rows = len(columns[0]) if columns else len(result.log_evidence)
        present = np.empty((len(columns), rows))
        for row, column in zip(present, columns):
            np.subtract(1.0, column, out=row)
        return present.T

    # -- helpers ----------------------------------------------------------------------------------
    def _cause_labels(self, order: tuple[int, ...]) -> pd.Index:
        """The causes in `order` as a pandas Index: a fresh view (its name is the caller's to
        change) of one kept per order, up to `_KEPT_ORDERS` of them, taken from the one in model
        order (kept under `()`; pandas loads lazily)."""
        labels = self._ordered.get(order)
        if labels is None:
            model_order = self._ordered.get(())
            if model_order is None:
                import pandas as pd

                model_order = pd.Index(self._causes, dtype=object, name="cause")
                self._ordered[()] = model_order
            labels = model_order.take(order)  # 3 us; a fresh Index of 17 causes took 11
            if len(self._ordered) < _KEPT_ORDERS:
                self._ordered[order] = labels
        return labels.view()

    def _named(self, variables: str | Iterable[str]) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """The nodes `variables` names (EvidenceError for an unknown one), and their indices."""
        names = ev.names(variables, "variables")
        return names, tuple(self._network.index[ev.node(self._network, n).id] for n in names)

    def _state_labels(self) -> list[pd.Index]:
        """Each variable's states as a pandas Index named "state", built on first use."""
        if self._states is None:
            import pandas as pd

            self._states = [pd.Index(v.states, name="state") for v in self._network.variables]
        return self._states

    def likelihoods(
        self, evidence: ev.Evidence | None, soft: ev.SoftEvidence | None
    ) -> dict[int, FloatArray]:
        """One case's evidence as (1, states) likelihood arrays, for `infer`."""
        return _likelihoods.case_likelihoods(self._network, evidence, soft)

    def _one_row(self, likelihoods: dict[int, FloatArray]) -> bool:
        """Whether `likelihoods` are one row of doubles, each (1, its variable's states)."""
        cards, double = self._network.cards, np.dtype(np.float64)
        return all(
            lik.shape == (1, cards[v]) and lik.dtype == double for v, lik in likelihoods.items()
        )

    def _query(
        self, evidence: ev.Evidence | None, soft: ev.SoftEvidence | None, targets: Sequence[int]
    ) -> Result:
        found = self._hard_codes(evidence, soft)
        if found is not None:
            result = found[0].hard(found[1], targets)
        else:
            result = self.infer(self.likelihoods(evidence, soft), targets)
        if not math.isfinite(result.log_evidence[0]):
            raise self.impossible(evidence, soft)
        return result

    def _every_share(
        self, evidence: ev.Evidence | None, soft: ev.SoftEvidence | None
    ) -> FloatArray | None:
        """Every variable's marginal, one after another in model order, read off the joint
        (None where `_hard_codes` finds no joint to read)."""
        found = self._hard_codes(evidence, soft)
        if found is None:
            return None
        log_z, shares = found[0].shares(found[1])
        if not math.isfinite(log_z):
            raise self.impossible(evidence, soft)
        return shares

    def _hard_codes(
        self, evidence: ev.Evidence | None, soft: ev.SoftEvidence | None
    ) -> tuple[Joint, dict[int, int]] | None:
        """The network's joint and the findings' states where a query can be read off the
        joint (a tiny network, at least one finding, all of them hard), else None."""
        joint = self._joint if not soft else None
        if joint is None:
            return None
        codes = ev.encode(self._network, evidence)
        return (joint, codes) if codes else None

    def check_possible(
        self, evidence: ev.Evidence | None = None, *, soft: ev.SoftEvidence | None = None
    ) -> None:
        """Check the evidence as `posterior` does: an `ImpossibleEvidenceError` naming the
        smallest conflict if it has probability zero (and the `EvidenceError` of a bad answer)."""
        if not math.isfinite(self.log_probability_of_evidence(evidence, soft=soft)):
            raise self.impossible(evidence, soft)

    def impossible(
        self, evidence: ev.Evidence | None, soft: ev.SoftEvidence | None, row: object = None
    ) -> ImpossibleEvidenceError:
        """The error for evidence of probability zero: the smallest set of findings that
        conflict, each as it was given (`row`: where it was found, for a table)."""
        variables = self._network.variables
        likelihoods = {v: lik[0] for v, lik in self.likelihoods(evidence, soft).items()}
        conflict = [variables[v].id for v in smallest_conflict(self._tree, likelihoods)]
        hard = {  # by the state's own name, however the answer was spelled
            variables[v].id: variables[v].states[s]
            for v, s in ev.encode(self._network, evidence).items()
        }
        weights = soft or {}
        found, shown = {}, []
        for name in conflict:
            said = [f"{name}={hard[name]}"] if name in hard else []
            said += [_soft.describe_soft(name, weights[name])] if name in weights else []
            found[name] = hard.get(name) or said[0]
            shown.append(" and ".join(said))
        return ImpossibleEvidenceError(found, row=row, shown=shown)


def check_frame(frame: object) -> None:
    """A TypeError unless `frame` is a pandas DataFrame."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            "frame must be a pandas DataFrame (a row per case, columns named after nodes), "
            f"got {type(frame).__name__}"
        )


def _raise_first_invalid(
    network: Network, frame: pd.DataFrame, encoded: _columns.EncodedFrame
) -> None:
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


def _rows_taken(values: FloatArray, rows: npt.NDArray[np.intp]) -> FloatArray:
    """`values[rows]` by `take` along contiguous memory (the batch engine's marginals are
    (rows, states) views of (states, rows) arrays): fancy indexing was 5-7x slower."""
    if values.flags.f_contiguous and values.ndim == 2:
        return values.T.take(rows, axis=1).T
    return values.take(rows, axis=0)
