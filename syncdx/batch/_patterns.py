"""Distinct patterns of answers: the numbers inference gives each, remembered across chunks.

Batches of reports repeat themselves: the same few answers come back again and again. Each
pattern (a row of state codes) is packed into one integer key, inferred once, and kept in a
bounded `Memo` so that later chunks of the same file reuse it (when full, the memo keeps
the patterns used most, so the common ones stay).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from syncdx.diagnosis import _evidence as ev
from syncdx.diagnosis import _likelihoods
from syncdx.diagnosis._diagnoser import Diagnoser
from syncdx.network._network import FloatArray

IntArray = npt.NDArray[np.intp]
KeyArray = npt.NDArray[np.int64]
#: Most patterns a memo keeps (about 190 bytes each with 17 causes: under 60 MB).
MEMO_CAPACITY = 300_000


@dataclass(frozen=True, slots=True)
class Numbers:
    """What inference says about U distinct patterns, row for row.

    `present` is (U, causes) P(cause present) (NaN where impossible); `question` the index of
    the best next question among the model's observations (-1 if none or not asked) and `gain`
    its expected information gain in bits.
    """

    present: FloatArray
    log_evidence: FloatArray
    question: IntArray
    gain: FloatArray

    def __len__(self) -> int:
        return len(self.log_evidence)

    @classmethod
    def empty(cls, rows: int, causes: int) -> Numbers:
        """Placeholder numbers for `rows` patterns, to be filled with `put`."""
        return cls(
            np.full((rows, causes), np.nan),
            np.full(rows, np.nan),
            np.full(rows, -1, dtype=np.intp),
            np.full(rows, np.nan),
        )

    @property
    def possible(self) -> npt.NDArray[np.bool_]:
        """Patterns whose answers can all be true together."""
        return np.isfinite(self.log_evidence)

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> Numbers:
        """The numbers of the patterns at `index`."""
        return Numbers(*(getattr(self, f.name)[index] for f in fields(self)))

    def put(self, mask: npt.NDArray[np.bool_], other: Numbers) -> Numbers:
        """These numbers, with the rows where `mask` is True taken from `other` in order."""
        parts = []
        for f in fields(self):
            mine = getattr(self, f.name).copy()
            mine[mask] = getattr(other, f.name)
            parts.append(mine)
        return Numbers(*parts)


def infer_patterns(
    model: Diagnoser, codes: ev.CodeArray, columns: tuple[int, ...], next_question: bool
) -> Numbers:
    """The numbers of each row of `codes` (distinct rows, -1 for unobserved)."""
    targets = tuple(model.network.index[c] for c in model.causes)
    # the rows are distinct already: `infer` directly, not `infer_codes` (which would look
    # for repeats again and copy every marginal back through an identity gather)
    likelihoods = _likelihoods.likelihoods(model.network.cards, codes, columns, states_major=True)
    if likelihoods and len(codes):
        result = model.infer(likelihoods, targets)
    else:  # no evidence at all: `infer` cannot tell the number of rows
        result = model.infer_codes(codes, columns, targets)
    present = model.cause_probabilities(result)
    question = np.full(len(codes), -1, dtype=np.intp)
    gain = np.full(len(codes), np.nan)
    possible = result.possible
    if next_question and possible.any():
        from syncdx.diagnosis._recommend import next_questions

        ids, gains = next_questions(model, codes[possible], columns)
        lookup = {name: i for i, name in enumerate(model.observations)}
        question[possible] = [lookup.get(name, -1) if name else -1 for name in ids]
        gain[possible] = gains
    return Numbers(present, result.log_evidence, question, gain)


class Memo:
    """A bounded store of `Numbers` by pattern key; when full it keeps its most used half.

    It belongs to one scorer and one set of evidence columns (the keys depend on both). The
    numbers live in arrays of `capacity` rows, filled slot by slot (pages are touched as they
    fill); a sorted copy of the keys, with each key's slot, finds them.
    """

    def __init__(self, capacity: int = MEMO_CAPACITY) -> None:
        self.capacity = capacity
        self._keys: KeyArray = np.zeros(0, dtype=np.int64)  # sorted
        self._slots: IntArray = np.zeros(0, dtype=np.intp)  # the slot of each sorted key
        self._store: Numbers | None = None
        self._hits: KeyArray = np.zeros(capacity, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._keys)

    def find(self, keys: KeyArray) -> tuple[npt.NDArray[np.bool_], Numbers | None]:
        """Which `keys` are known, and their numbers (in the order of the known keys)."""
        if self._store is None or not len(keys) or not len(self._keys):
            return np.zeros(len(keys), dtype=bool), None
        position = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        known = self._keys[position] == keys
        slots = self._slots[position[known]]
        self._hits[slots] += 1
        return known, self._store.take(slots)

    def remember(self, keys: KeyArray, numbers: Numbers) -> None:
        """Keep the numbers of `keys` (distinct; those already known are left as they are)."""
        if len(self._keys):
            position = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
            new = self._keys[position] != keys
            if not new.all():
                keys, numbers = keys[new], numbers.take(new)
        if len(keys) > self.capacity:
            keys, numbers = keys[: self.capacity], numbers.take(np.arange(self.capacity))
        if self._store is None:
            self._store = _allocate(numbers, self.capacity)
        if len(self._keys) + len(keys) > self.capacity:
            self._evict(min(self.capacity // 2, self.capacity - len(keys)))
        start, stop = len(self._keys), len(self._keys) + len(keys)  # the next free slots
        for f in fields(self._store):
            getattr(self._store, f.name)[start:stop] = getattr(numbers, f.name)
        self._hits[start:stop] = 0
        self._merge(keys, np.arange(start, stop))

    def _evict(self, keep: int) -> None:
        """Keep the `keep` most used patterns, moved to the first slots."""
        assert self._store is not None
        used = self._slots[np.argsort(-self._hits[self._slots], kind="stable")[:keep]]
        kept = np.zeros(len(self._hits), dtype=bool)
        kept[used] = True
        old = np.flatnonzero(kept)  # slots in order, so moving them down never overwrites
        slot_of = np.full(len(self._hits), -1, dtype=np.intp)
        slot_of[old] = np.arange(len(old))
        for f in fields(self._store):
            array = getattr(self._store, f.name)
            array[: len(old)] = array[old]
        self._hits[: len(old)] = self._hits[old]
        stay = slot_of[self._slots] >= 0
        self._index(self._keys[stay], slot_of[self._slots[stay]])

    def _merge(self, keys: KeyArray, slots: IntArray) -> None:
        """Add `keys` (none known yet) with their `slots` to the sorted index: sorted on their
        own and inserted, rather than the whole index sorted again."""
        order = np.argsort(keys, kind="stable")
        keys, slots = keys[order], slots[order]
        at = np.searchsorted(self._keys, keys)
        self._keys, self._slots = np.insert(self._keys, at, keys), np.insert(self._slots, at, slots)

    def _index(self, keys: KeyArray, slots: IntArray) -> None:
        order = np.argsort(keys, kind="stable")
        self._keys, self._slots = keys[order], slots[order]


def _allocate(like: Numbers, rows: int) -> Numbers:
    """Empty numbers for `rows` patterns, shaped and typed like `like`."""
    return Numbers(
        *(
            np.empty((rows, *getattr(like, f.name).shape[1:]), getattr(like, f.name).dtype)
            for f in fields(like)
        )
    )
