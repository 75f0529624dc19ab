"""Fault-set beliefs per evidence row, computed once and remembered by the evidence.

The planner (`_lookahead.Search.infer`) needs, for each evidence row it looks at, the weights
log P(e, X = S) of every fault set S and P(Q = s | e, X = S) for the questions. A planning call
looks at the evidence so far, then with one answer added, then two; the next call, once one of
those answers is given, looks at rows the previous call already computed, and the same pair of
answers is often reached in both orders within one call. So each row is keyed by what it says
(each variable's likelihood row, variables without evidence left out: evidence is a set, not a
sequence), looked up in a bounded per-model store, and only the rows not seen before go to the
engine (or the tabulated network, `inference._clamped`), in one batched pass. The store holds
every observation's answers (not only the questions open in one call), so a row serves every
later call whatever has been answered.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from syncdx.diagnosis._faults import FaultSets, IntArray, cause_states, clamp_causes
from syncdx.inference._clamped import Clamped
from syncdx.network._network import FloatArray

if TYPE_CHECKING:
    from syncdx.diagnosis._diagnoser import Diagnoser

#: How many evidence rows a model remembers (each (sets, 1 + answers) floats: ~70 kB on the
#: shipped model); a planning call looks at a few dozen.
CAPACITY = 256
#: ECR tables remembered per evidence row (one per set of failures and repairs left).
COSTS_PER_ROW = 4

Key = tuple[tuple[int, bytes], ...]


@dataclass(frozen=True, slots=True)
class Belief:
    """One evidence row over the fault sets: `log_weights` (sets,) log P(e, X = S) and
    `answers` (columns, sets) P(Q = s | e, X = S), a column per state of every observation in
    model order (0 where e is impossible)."""

    log_weights: FloatArray
    answers: FloatArray


@dataclass(frozen=True, slots=True)
class Costs:
    """What acting costs from one evidence row, with given failures and repairs: `ecr`, the
    ECR now (column 0) and after each answer of every observation (the `Belief.answers`
    columns, shifted by one), `first` each sequence's first action, `known` where computed;
    `mass`, P(not fixed yet | e) in each column (at least where known): P(e, not fixed yet)
    over the row's unshrunk weights, whose scale varies from call to call."""

    ecr: FloatArray
    first: IntArray
    known: npt.NDArray[np.bool_]
    mass: FloatArray


class Beliefs:
    """The fault-set beliefs of one model's evidence rows, least recently used dropped first."""

    def __init__(self, model: Diagnoser, sets: FaultSets, capacity: int = CAPACITY) -> None:
        self._model, self._sets, self._capacity = model, sets, capacity
        network = model.network
        self.observations = tuple(network.index[o] for o in model.observations)
        cards = [network.cards[q] for q in self.observations]
        starts = np.cumsum([0, *cards[:-1]]).tolist()
        self.start = dict(zip(self.observations, starts))
        self._store: OrderedDict[Key, Belief] = OrderedDict()
        self._costs: OrderedDict[tuple[Key, bytes, tuple[str, ...]], Costs] = OrderedDict()
        self._lock = threading.Lock()
        states = cause_states(network, model.causes, sets)
        causes = [network.index[c] for c in model.causes]
        self._clamped = None if states is None else Clamped.of(network, causes, states)

    def rows(self, likelihoods: Mapping[int, FloatArray]) -> tuple[list[Key], list[Belief]]:
        """The key and the belief of each row of (rows, states) `likelihoods`, in order."""
        keys = row_keys(likelihoods)
        found: dict[Key, Belief] = {}
        with self._lock:
            for key in keys:
                if key in self._store and key not in found:
                    self._store.move_to_end(key)
                    found[key] = self._store[key]
        first = {key: r for r, key in reversed(list(enumerate(keys))) if key not in found}
        if first:
            computed = self._compute(likelihoods, list(first.values()))
            found.update(zip(first, computed))
            with self._lock:
                for key, belief in zip(first, computed):
                    self._store[key] = belief
                while len(self._store) > self._capacity:
                    self._store.popitem(last=False)
        return keys, [found[key] for key in keys]

    def costs(self, key: Key, stay: FloatArray, repairs: tuple[str, ...]) -> Costs:
        """The ECR table of evidence `key` with (causes,) `stay` and `repairs` (made empty on
        first use; its holder fills what it computes)."""
        full = (key, stay.tobytes(), repairs)
        with self._lock:
            table = self._costs.get(full)
            if table is None:
                width = 1 + sum(self._model.network.cards[q] for q in self.observations)
                table = Costs(
                    np.zeros(width),
                    np.zeros(width, dtype=np.intp),
                    np.zeros(width, bool),
                    np.zeros(width),
                )
                self._costs[full] = table
                while len(self._costs) > self._capacity * COSTS_PER_ROW:
                    self._costs.popitem(last=False)
            else:
                self._costs.move_to_end(full)
            return table

    def _compute(self, likelihoods: Mapping[int, FloatArray], rows: list[int]) -> list[Belief]:
        """The beliefs of `rows`: with every cause clamped, from the tabulated network when it
        has one (`_clamped`), else by one batched engine pass (a row per evidence row and
        set)."""
        model, sets = self._model, self._sets
        subset = {v: lik[rows] for v, lik in likelihoods.items()}
        if self._clamped is not None:
            log_weights, marginals = self._clamped.run(subset, self.observations, len(rows))
            columns = [marginals[q] for q in self.observations]
        else:
            clamped = clamp_causes(model.network, model.causes, sets, subset)
            result = model.infer(clamped, self.observations)
            log_weights = result.log_evidence.reshape(len(rows), sets.size)
            shape = (len(rows), sets.size, -1)
            columns = [np.nan_to_num(result.marginals[q]).reshape(shape) for q in self.observations]
        answers = (
            np.concatenate(columns, axis=2) if columns else np.zeros((len(rows), sets.size, 0))
        )
        answers = np.ascontiguousarray(answers.transpose(0, 2, 1))  # a set's weights scale rows
        return [Belief(w, a) for w, a in zip(log_weights, answers)]


def row_keys(likelihoods: Mapping[int, FloatArray]) -> list[Key]:
    """Per row, what it says: (variable, likelihood bytes) of each variable with evidence in
    it, by variable; a row of ones (no evidence) is left out."""
    rows = len(next(iter(likelihoods.values()))) if likelihoods else 1
    said = [
        (v, lik, ~(lik == 1.0).all(axis=1))
        for v, lik in sorted(likelihoods.items(), key=lambda item: item[0])
    ]
    return [
        tuple((v, lik[r].tobytes()) for v, lik, informative in said if informative[r])
        for r in range(rows)
    ]


_MODELS: weakref.WeakKeyDictionary[Diagnoser, Beliefs] = weakref.WeakKeyDictionary()
_MODELS_LOCK = threading.Lock()


def beliefs(model: Diagnoser, sets: FaultSets) -> Beliefs:
    """The store of `model`'s beliefs over `sets` (made on first use, dropped with the model)."""
    with _MODELS_LOCK:
        store = _MODELS.get(model)
        if store is None or store._sets is not sets:
            store = Beliefs(model, sets)
            _MODELS[model] = store
        return store
