"""Each concept has one home: the count check, 'is it possible?', 'not fixed', distinct rows."""

from __future__ import annotations

import numpy as np
import pytest

import syncdx
from syncdx import EvidenceError, ImpossibleEvidenceError, Model
from syncdx._counts import count
from syncdx.diagnosis import _rows
from syncdx.diagnosis._repairs import failure_evidence, fix_probabilities, not_fixed

#: A cause pinned present, and soft evidence that rules "present" out.
PINNED = {"imessage_off": "present"}
RULED_OUT = {"imessage_off": {"absent": 1.0, "present": 0.0}}


@pytest.fixture(scope="module")
def sync() -> Model:
    return syncdx.load_model()


@pytest.mark.parametrize(
    ("value", "minimum", "error", "message"),
    [
        (-1, 0, ValueError, "n must be a non-negative integer, got -1"),
        (1.5, 0, TypeError, "n must be a non-negative integer, got 1.5"),
        (True, 0, TypeError, "got True"),
        ("3", 0, TypeError, "got '3'"),
        (1, 2, ValueError, "n must be an integer >= 2, got 1"),
    ],
)
def test_count_refuses_what_is_not_a_count(
    value: object, minimum: int, error: type[Exception], message: str
) -> None:
    """One count check: a TypeError for a non-integer (bool included), a ValueError below it."""
    with pytest.raises(error, match=message):
        count(value, "n", minimum=minimum)


def test_count_accepts_numpy_integers() -> None:
    """A numpy integer is a count, returned as a Python int."""
    assert count(np.int64(3), "n") == 3
    assert type(count(np.int64(3), "n")) is int


def test_check_possible_raises_what_posterior_raises(sync: Model) -> None:
    """check_possible says nothing for possible evidence and raises posterior's error otherwise."""
    diagnoser = sync.diagnoser
    diagnoser.check_possible({"paused_banner": "yes"})  # no error
    with pytest.raises(ImpossibleEvidenceError) as expected:
        sync.posterior(PINNED, soft=RULED_OUT)
    with pytest.raises(ImpossibleEvidenceError) as raised:
        diagnoser.check_possible(PINNED, soft=RULED_OUT)
    assert str(raised.value) == str(expected.value)


def test_not_fixed_is_the_product_of_failures(sync: Model) -> None:
    """P(still present) is the product of 1 - P(fix) over the failed actions, and
    failure_evidence weighs the present states with it."""
    network = sync.network
    failed = ["restart_device", "sign_out_and_in"]
    stay, targeted = not_fixed(network, failed)
    by_hand = np.ones(len(sync.causes))
    for action in failed:
        by_hand *= 1.0 - np.array(fix_probabilities(network.action(action), sync.causes))
    np.testing.assert_array_equal(stay, by_hand)
    soft = failure_evidence(network, failed)
    assert set(soft) == {c for c, hit in zip(sync.causes, targeted) if hit}
    for cause, weights in soft.items():
        variable = network.variable(cause)
        present = [w for s, w in weights.items() if s != variable.normal]
        assert present == [stay[sync.causes.index(cause)]] * len(present)


def test_unknown_action_is_one_evidence_error(sync: Model) -> None:
    """Looking an action up by name raises the EvidenceError that lists the actions."""
    with pytest.raises(EvidenceError, match=r"unknown action 'reboot'; the model's actions"):
        sync.network.action("reboot")


def test_distinct_rows_with_cards_give_stable_keys() -> None:
    """With the cards fixed, a row's key is the same in every call; inverse rebuilds the rows."""
    codes = np.array([[0, 1], [1, -1], [0, 1], [-1, -1]], dtype=np.int16)
    whole = _rows.distinct_rows(codes, [2, 2])
    part = _rows.distinct_rows(codes[1:2], [2, 2])
    np.testing.assert_array_equal(whole.rows[whole.inverse], codes)
    assert whole.keys is not None
    assert part.keys is not None
    assert part.keys[0] in whole.keys.tolist()
    assert len(whole.rows) == 3
