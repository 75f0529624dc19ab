"""Value of information: which unobserved observation to ask about next, ranked in bits.

The gain of asking question Q, given evidence e, is the expected drop in uncertainty about the
causes, exact over Q's states:

    gain(Q) = U(e) - sum_s P(Q = s | e) * U(e, Q = s)

Two measures of uncertainty U are offered:

- ``"marginal"`` (the default): the sum over causes of the binary entropy of P(cause present).
  The gain is then the sum of the mutual informations I(cause; Q | e), so it is never negative,
  and it counts every cause, which suits models where several causes can be present at once.
- ``"single_fault"``: the entropy of "which cause is it", taking the vector of P(cause present)
  normalised to sum to one. This matches the single-fault view of troubleshooting (exactly one
  cause is behind the problem). It is a heuristic under syncdx's models, whose causes are
  independent a priori, so a question's gain under it can come out slightly negative.

Every hypothetical answer of every candidate question is one row of a single batched call to
`Diagnoser.infer` (the base evidence repeated, plus the answer), so a full ranking costs one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from syncdx._counts import count
from syncdx._ranking import best, descending
from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis import _likelihoods, _rows
from syncdx.network._network import FloatArray, Network

if TYPE_CHECKING:
    import pandas as pd

    from syncdx.diagnosis._diagnoser import Diagnoser

Criterion = Literal["marginal", "single_fault"]
Ranking = Literal["gain", "gain_per_cost"]
CRITERIA: tuple[Criterion, ...] = ("marginal", "single_fault")
RANKINGS: tuple[Ranking, ...] = ("gain", "gain_per_cost")
#: Gains at or below this many bits count as "nothing to learn".
GAIN_EPS = 1e-12
#: Most hypothetical rows sent to `Diagnoser.infer` in one call by `next_questions`.
CHUNK_ROWS = 8192


@dataclass(frozen=True, slots=True)
class Layout:
    """The hypothetical answers of a set of questions, one column per (question, state).

    `questions` are variable indices; question k owns columns `offsets[k]` to
    `offsets[k] + cards[questions[k]] - 1`, one per state, in state order.
    """

    questions: tuple[int, ...]
    offsets: tuple[int, ...]
    size: int

    @classmethod
    def of(cls, network: Network, questions: Iterable[int]) -> Layout:
        """The layout of `questions` (variable indices) in `network`."""
        qs = tuple(questions)
        all_cards = network.cards
        cards = [all_cards[q] for q in qs]
        offsets = tuple(int(x) for x in np.cumsum([0, *cards[:-1]])) if qs else ()
        return cls(qs, offsets, int(sum(cards)))


@dataclass(frozen=True, slots=True)
class Outcomes:
    """Cause probabilities now and after each hypothetical answer, for R evidence rows.

    `present` (R, causes): P(cause present | e). `answers` (R, S): P(Q = s | e) for each column
    of the layout. `after` (R, S, causes): P(cause present | e, Q = s), NaN where that answer is
    impossible. `possible` (R,): rows whose evidence e has non-zero probability (the others
    are NaN throughout).
    """

    present: FloatArray
    answers: FloatArray
    after: FloatArray
    possible: np.ndarray


def answer_outcomes(
    model: Diagnoser, likelihoods: Mapping[int, FloatArray], rows: int, layout: Layout
) -> Outcomes:
    """Cause probabilities given each of `rows` evidence rows and each hypothetical answer.

    `likelihoods` holds (rows, states) arrays, as for `Diagnoser.infer`. All rows go to one
    `Diagnoser.infer` call: each evidence row, then that row with each answer of the layout added.
    """
    network, cards = model.network, model.network.cards
    width = 1 + layout.size
    stacked = {v: np.repeat(lik, width, axis=0) for v, lik in likelihoods.items()}
    for q, start in zip(layout.questions, layout.offsets):
        card = cards[q]
        pattern = np.ones((width, card))
        pattern[1 + start : 1 + start + card] = np.eye(card)
        tiled = np.tile(pattern, (rows, 1))
        stacked[q] = stacked[q] * tiled if q in stacked else tiled
    if not stacked:  # no evidence and no question: one row of prior
        stacked = {0: np.ones((rows * width, cards[0]))}
    targets = tuple(network.index[c] for c in model.causes)
    # in variable order: the engine keeps a batch's plan by its evidence variables in order,
    # and an answer moves a variable from the questions to the evidence
    result = model.infer(dict(sorted(stacked.items())), targets)
    log_z = result.log_evidence.reshape(rows, width)
    present = model.cause_probabilities(result).reshape(rows, width, len(targets))
    possible = np.isfinite(log_z[:, 0])
    with np.errstate(invalid="ignore"):
        answers = np.exp(log_z[:, 1:] - log_z[:, :1])
    answers = np.where(possible[:, None], answers, np.nan)
    return Outcomes(present[:, 0], answers, present[:, 1:], possible)


def uncertainty(present: FloatArray, criterion: Criterion = "marginal") -> FloatArray:
    """U in bits over the last axis of P(cause present): see the module docstring."""
    if criterion == "marginal":
        return np.asarray(-(_plog2p(present) + _plog2p(1.0 - present)).sum(axis=-1))
    if criterion == "single_fault":
        total = present.sum(axis=-1, keepdims=True)
        shares = present / np.where(total > 0, total, 1.0)
        return np.asarray(-_plog2p(shares).sum(axis=-1))
    raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")


def _plog2p(p: FloatArray) -> FloatArray:
    positive = p > 0
    return np.where(positive, p * np.log2(np.where(positive, p, 1.0)), 0.0)


def information_gain(look: Outcomes, layout: Layout, criterion: Criterion) -> FloatArray:
    """(R, questions) expected drop of U in bits from asking each question of the layout."""
    before = uncertainty(look.present, criterion)
    after = uncertainty(look.after, criterion)
    weighted = np.where(look.answers > 0, look.answers * np.nan_to_num(after), 0.0)
    expected = np.add.reduceat(weighted, np.asarray(layout.offsets, dtype=np.intp), axis=1)
    gain = before[:, None] - expected
    if criterion == "marginal":  # a sum of mutual informations: only rounding makes it negative
        gain = np.maximum(gain, 0.0)
    return np.where(look.possible[:, None], gain, np.nan)


def question_cost(network: Network, question: int) -> float:
    """Minutes to answer a question; one minute when the model gives no cost."""
    cost = network.variables[question].cost
    return 1.0 if cost is None else float(cost)


def recommend(
    model: Diagnoser,
    evidence: ev.Evidence | None = None,
    *,
    soft: ev.SoftEvidence | None = None,
    k: int | None = None,
    criterion: Criterion = "marginal",
    by: Ranking = "gain",
    candidates: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """Rank the questions not yet answered by expected information gain about the causes.

    One row per candidate observation (index `observation`), best first: `question` (its text),
    `gain` (bits), `cost` (minutes; 1 when the model gives none), `gain_per_minute`, and
    `p_<state>` = P(answer is that state | evidence) for each state of the questions shown (NaN
    for a question without that state). `by="gain_per_cost"` ranks by gain per minute.
    `candidates` limits the questions considered (a name or several; default: every
    observation not answered). `k` (None: all) is how many rows to return. Raises
    `ImpossibleEvidenceError` if the evidence has probability zero.
    """
    if by not in RANKINGS:
        raise ValueError(f"by must be one of {RANKINGS}, got {by!r}")
    k = None if k is None else count(k, "k")
    network = model.network
    likelihoods = _likelihoods.case_likelihoods(network, evidence, soft)
    layout = Layout.of(network, _candidates(model, evidence, candidates))
    look = answer_outcomes(model, likelihoods, 1, layout)
    if not look.possible[0]:
        raise model.impossible(evidence, soft)
    gain = information_gain(look, layout, criterion)[0]
    costs = np.array([question_cost(network, q) for q in layout.questions])
    with np.errstate(divide="ignore", invalid="ignore"):
        per_minute = np.where(costs > 0, gain / np.where(costs > 0, costs, 1.0), np.inf)
    order = descending(gain if by == "gain" else per_minute)[:k]
    return _table(network, layout, order, gain, costs, per_minute, look.answers[0])


def _candidates(
    model: Diagnoser, evidence: ev.Evidence | None, candidates: str | Iterable[str] | None
) -> list[int]:
    network = model.network
    if candidates is not None:
        chosen = (
            network.index[ev.node(network, name).id] for name in ev.names(candidates, "candidates")
        )
        return list(dict.fromkeys(chosen))
    observed = ev.encode(network, evidence)
    return [network.index[o] for o in model.observations if network.index[o] not in observed]


def _table(
    network: Network,
    layout: Layout,
    order: np.ndarray,
    gain: FloatArray,
    costs: FloatArray,
    per_minute: FloatArray,
    answers: FloatArray,
) -> pd.DataFrame:
    import pandas as pd

    variables = [network.variables[layout.questions[i]] for i in order.tolist()]
    columns: dict[str, object] = {
        "question": [v.text for v in variables],
        "gain": gain[order],
        "cost": costs[order],
        "gain_per_minute": per_minute[order],
    }
    states = list(dict.fromkeys(s for v in variables for s in v.states))
    for state in states:  # one column per state: P(answer = state), NaN if not its state
        columns[f"p_{state}"] = [
            answers[layout.offsets[i] + v.states.index(state)] if state in v.states else np.nan
            for v, i in zip(variables, order.tolist())
        ]
    return pd.DataFrame(columns, index=pd.Index([v.id for v in variables], name="observation"))


def next_questions(
    model: Diagnoser,
    codes: ev.CodeArray,
    columns: tuple[int, ...],
    *,
    criterion: Criterion = "marginal",
) -> tuple[list[str | None], FloatArray]:
    """For each row of state codes, the question with the highest gain, and that gain in bits.

    `codes` is (rows, len(columns)) with -1 for "not observed"; `columns` are the variable
    indices of its columns. Every observation of the model is a candidate unless the row
    answers it. A row with nothing left to learn gets None and 0; a row whose evidence is
    impossible gets None and NaN. Each distinct row is computed once.
    """
    network = model.network
    layout = Layout.of(network, (network.index[o] for o in model.observations))
    codes = np.asarray(codes, dtype=np.int16).reshape(len(codes), len(columns))
    if not len(codes):
        return [], np.zeros(0)
    distinct = _rows.distinct_rows(codes)
    unique, inverse = distinct.rows, distinct.inverse
    step = max(1, CHUNK_ROWS // (1 + layout.size))
    parts = [
        _row_gains(model, unique[i : i + step], columns, layout, criterion)
        for i in range(0, len(unique), step)
    ]
    best, ids = _best(network, layout, np.concatenate(parts))
    return [ids[i] for i in inverse], best[inverse]


def _row_gains(
    model: Diagnoser,
    codes: ev.CodeArray,
    columns: tuple[int, ...],
    layout: Layout,
    criterion: Criterion,
) -> FloatArray:
    """(rows, 1 + questions) gains, the first column for asking nothing: 0, or NaN if impossible."""
    likelihoods = _likelihoods.likelihoods(model.network.cards, codes, columns)
    look = answer_outcomes(model, likelihoods, len(codes), layout)
    gain = information_gain(look, layout, criterion)
    position = {q: k for k, q in enumerate(layout.questions)}
    for j, var in enumerate(columns):
        if var in position:  # an answered question has nothing left to tell
            answered = (codes[:, j] >= 0) & look.possible
            gain[:, position[var]] = np.where(answered, 0.0, gain[:, position[var]])
    return np.column_stack([np.where(look.possible, 0.0, np.nan), gain])


def _best(
    network: Network, layout: Layout, gains: FloatArray
) -> tuple[FloatArray, list[str | None]]:
    top = best(gains)
    gain = gains[np.arange(len(gains)), top]
    ids: list[str | None] = [
        network.variables[layout.questions[t - 1]].id if t and g > GAIN_EPS else None
        for t, g in zip(top.tolist(), gain.tolist())
    ]
    return np.where(np.isnan(gain) | (gain > GAIN_EPS), gain, 0.0), ids
