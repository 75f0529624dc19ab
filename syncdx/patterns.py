"""Distinct patterns of answers: the numbers inference gives each, remembered across chunks.

Batches of reports repeat themselves: the same few answers come back again and again. Each
pattern (a row of state codes) is packed into one integer key, inferred once, and kept in a
bounded `Memo` so that later chunks of the same file reuse it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from syncdx import evidence as ev
from syncdx.model import Model
from syncdx.network import FloatArray

IntArray = npt.NDArray[np.intp]
KeyArray = npt.NDArray[np.int64]
#: Most patterns a memo keeps (about 170 bytes each with 17 causes).
MEMO_CAPACITY = 100_000


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
    model: Model, codes: ev.CodeArray, columns: tuple[int, ...], next_question: bool
) -> Numbers:
    """The numbers of each row of `codes` (distinct rows, -1 for unobserved)."""
    targets = tuple(model.network.index[c] for c in model.causes)
    result = model.infer_codes(codes, columns, targets)
    present = model.cause_probabilities(result)
    question = np.full(len(codes), -1, dtype=np.intp)
    gain = np.full(len(codes), np.nan)
    possible = result.possible
    if next_question and possible.any():
        from syncdx.recommend import next_questions

        ids, gains = next_questions(model, codes[possible], columns)
        lookup = {name: i for i, name in enumerate(model.observations)}
        question[possible] = [lookup.get(name, -1) if name else -1 for name in ids]
        gain[possible] = gains
    return Numbers(present, result.log_evidence, question, gain)


def pattern_keys(codes: ev.CodeArray, cards: Sequence[int]) -> KeyArray | None:
    """One int64 per row identifying its pattern (codes >= -1); None if they would not fit."""
    radix = np.asarray(cards, dtype=np.int64) + 1
    if sum(math.log2(r) for r in radix.tolist()) >= 62:
        return None
    weights = np.cumprod(np.concatenate([[1], radix[:-1]])).astype(np.int64)
    return np.asarray((codes.astype(np.int64) + 1) @ weights, dtype=np.int64)


class Memo:
    """A bounded store of `Numbers` by pattern key; when full it starts afresh with the newest.

    It belongs to one scorer and one set of evidence columns (the keys depend on both).
    """

    def __init__(self, capacity: int = MEMO_CAPACITY) -> None:
        self.capacity = capacity
        self._keys: KeyArray = np.zeros(0, dtype=np.int64)
        self._numbers: Numbers | None = None

    def __len__(self) -> int:
        return len(self._keys)

    def find(self, keys: KeyArray) -> tuple[npt.NDArray[np.bool_], Numbers | None]:
        """Which `keys` are known, and their numbers (in the order of the known keys)."""
        if self._numbers is None or not len(keys):
            return np.zeros(len(keys), dtype=bool), None
        position = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        known = self._keys[position] == keys
        return known, self._numbers.take(position[known])

    def remember(self, keys: KeyArray, numbers: Numbers) -> None:
        """Keep the numbers of new `keys` (keys not already known)."""
        if len(keys) > self.capacity:
            keys, numbers = keys[: self.capacity], numbers.take(np.arange(self.capacity))
        if self._numbers is None or len(self._keys) + len(keys) > self.capacity:
            merged_keys, merged = keys, numbers
        else:
            merged_keys = np.concatenate([self._keys, keys])
            merged = _concat(self._numbers, numbers)
        order = np.argsort(merged_keys, kind="stable")
        self._keys, self._numbers = merged_keys[order], merged.take(order)


def _concat(first: Numbers, second: Numbers) -> Numbers:
    return Numbers(
        *(np.concatenate([getattr(first, f.name), getattr(second, f.name)]) for f in fields(first))
    )
