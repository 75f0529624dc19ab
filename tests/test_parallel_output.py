"""Pieces of output made on threads come back in order, errors at their turn."""

from __future__ import annotations

import threading
import time

import pytest

from syncdx.batch import _parallel
from syncdx.batch._parallel import both, ordered


@pytest.mark.parametrize("workers", [1, 2])
def test_pieces_come_back_in_order(workers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """ordered() gives make(item) for every item in the items' order, whatever finishes first."""
    monkeypatch.setattr(_parallel, "WORKERS", workers)

    def make(item: int) -> int:
        time.sleep(0.001 * (item % 3))  # later items often finish first
        return item * item

    assert list(ordered(make, range(20), ahead=3)) == [i * i for i in range(20)]


def test_at_most_ahead_pieces_are_in_hand() -> None:
    """ordered() never has more than `ahead` + 1 pieces started but not yet handed back."""
    started, lock = [0], threading.Lock()
    most = 0

    def make(item: int) -> int:
        with lock:
            started[0] += 1
        return item

    for handed, item in enumerate(ordered(make, range(30), ahead=2), start=1):
        most = max(most, started[0] - handed)
        assert item == handed - 1
    assert most <= 2


def test_an_error_is_raised_at_its_turn() -> None:
    """A piece that fails raises its error when its turn comes; the pieces before it arrive."""

    def make(item: int) -> int:
        if item == 5:
            raise ValueError("piece 5")
        return item

    pieces = ordered(make, range(10))
    assert [next(pieces) for _ in range(5)] == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="piece 5"):
        next(pieces)


def test_both_runs_two_calls_and_keeps_their_places() -> None:
    """both() returns the first call's result first, the second's second."""
    assert both(lambda: "first", lambda: "second") == ("first", "second")
