"""Evidence as the engine reads it: one (rows, states) likelihood array per node with evidence,
from one case's answers and soft evidence or from rows of state codes."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from syncdx.diagnosis._evidence import UNOBSERVED, CodeArray, Evidence, SoftEvidence, encode
from syncdx.diagnosis._soft import encode_soft
from syncdx.inference._threads import share_out
from syncdx.network._network import FloatArray, Network

#: Variables with at most this many states get their likelihoods by one gather (`likelihoods`).
_GATHERED_STATES = 64
_NOTHING: FloatArray = np.empty((0, 0))


def case_likelihoods(
    network: Network, evidence: Evidence | None, soft: SoftEvidence | None
) -> dict[int, FloatArray]:
    """Hard and soft evidence of one case as (1, states) likelihood arrays: one-hot for an
    answer (a shared read-only row), times the weights of any soft evidence on the node."""
    cards = network.cards
    out = {v: one_hot(cards[v], s) for v, s in encode(network, evidence).items()}
    for v, weights in encode_soft(network, soft).items():
        out[v] = out.get(v, 1.0) * weights[np.newaxis]
    return out


@lru_cache(maxsize=4096)
def one_hot(card: int, state: int) -> FloatArray:
    """The (1, card) read-only one-hot row of `state`, built on first use: linear in the
    states (an identity matrix per cardinality was states^2: 12.8 GB for 40,000 states)."""
    row = np.zeros((1, card))
    row[0, state] = 1.0
    row.setflags(write=False)
    return row


def likelihoods(
    cards: tuple[int, ...],
    codes: CodeArray,
    columns: tuple[int, ...],
    *,
    states_major: bool = False,
    threaded: bool = False,
) -> dict[int, FloatArray]:
    """One (rows, states) likelihood array per column of `codes`: one-hot, or ones if blank
    (zeros for any other negative code). With `states_major`, each is the transposed view of
    a (states, rows) array: the layout the batch engine reads, so it copies nothing. With
    `threaded`, many rows are built on the engine's threads, a share of the columns each
    (batch scoring keeps them for its engine: its own threads format text meanwhile)."""
    # one column per row, contiguous: a column of a row-major code array is read with a stride
    # of a whole row, which made each pass over it several times slower (most of the time here)
    by_column = np.ascontiguousarray(codes.T)
    blank = (by_column == UNOBSERVED).all(axis=1)
    kept = [j for j in range(len(columns)) if not blank[j]]
    built: list[FloatArray] = [_NOTHING] * len(kept)

    def build(k: int) -> None:
        j = kept[k]
        built[k] = _column(cards[columns[j]], by_column[j], states_major)

    share_out(build, len(kept), by_column.size if threaded else 0)
    return {columns[j]: lik for j, lik in zip(kept, built)}  # in column order


def _column(card: int, column: CodeArray, states_major: bool) -> FloatArray:
    """The (rows, states) likelihoods of one column of codes (see `likelihoods`)."""
    if card > _GATHERED_STATES:
        states = np.arange(card)
        lik = ((column[:, None] == states) | (column[:, None] == UNOBSERVED)).astype(float)
        return np.asfortranarray(lik) if states_major else lik
    index = column.astype(np.intp)
    index += 1  # a blank (-1) is column 0 of the table, state s column s + 1
    index[index < 0] = card + 1  # any other negative code: the zeros
    wide = _evidence_columns(card).take(index, axis=1)  # (states, rows)
    return wide.T if states_major else np.ascontiguousarray(wide.T)


@lru_cache(maxsize=_GATHERED_STATES)
def _evidence_columns(card: int) -> FloatArray:
    """(card, card + 2) read-only: the likelihood of a blank (ones), of each state (one-hot),
    then of a bad code (zeros), as columns."""
    table = np.zeros((card, card + 2))
    table[:, 0] = 1.0
    table[:, 1 : card + 1] = np.eye(card)
    table.setflags(write=False)
    return table
