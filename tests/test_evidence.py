"""Evidence at the edge: how answers as people write them map to states, and what is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncdx import EvidenceError, Model
from syncdx.diagnosis import _evidence as ev
from syncdx.network._network import CAUSE_STATES, Network, Variable


def _model(*states: tuple[str, ...]) -> Model:
    """A cause `c` with one observation per tuple of states: `o0`, `o1`, ..."""
    observations = [Variable(f"o{k}", s) for k, s in enumerate(states)]
    tables = [np.array([np.full(len(s), 1 / len(s)), np.eye(len(s))[0]]) for s in states]
    return Model(
        Network(
            (Variable("c", CAUSE_STATES, "cause"), *observations),
            ((), *[(0,)] * len(states)),
            (np.array([0.7, 0.3]), *tables),
        )
    )


@given(st.lists(st.text(min_size=1).filter(str.strip), min_size=2, max_size=6, unique=True))
def test_an_exact_spelling_always_names_its_own_state(states: list[str]) -> None:
    """Whatever the other states look like, a state spelled exactly is that state."""
    variable = Variable("x", tuple(states))
    for i, state in enumerate(states):
        assert ev.state_index(variable, state) == i


def test_states_differing_only_in_case() -> None:
    """`on` and `ON` are both reachable; `On` could be either, so it is refused naming both."""
    variable = Variable("a", ("on", "ON", "off"))
    assert ev.state_index(variable, "on") == 0
    assert ev.state_index(variable, "ON") == 1
    assert ev.state_index(variable, " on ") == 0
    assert ev.state_index(variable, "OFF") == 2  # unambiguous: case-insensitive as usual
    with pytest.raises(EvidenceError, match=r"'On' is ambiguous for 'a': the states on, ON"):
        ev.state_index(variable, "On")


def test_a_frame_cell_differing_only_in_case_is_refused_by_row() -> None:
    """The batch path resolves spellings the same way and names the ambiguous cell."""
    model = _model(("on", "ON"))
    out = model.posteriors(pd.DataFrame({"o0": ["on", "ON"]}))
    assert out["c"].tolist() == pytest.approx(
        [model.posterior({"o0": s})["c"] for s in ("on", "ON")]
    )
    with pytest.raises(EvidenceError, match=r"row 1, column 'o0': 'On' is ambiguous"):
        model.posteriors(pd.DataFrame({"o0": ["on", "On"]}))


@pytest.mark.parametrize("value", [2, 2.0, np.float64(2.0), np.float32(2.0), np.int64(2), "2"])
def test_integral_numbers_match_numeric_state_names(value: object) -> None:
    """A state spelled "2" (as BIF files spell numbers) is matched by 2.0 and other numbers."""
    assert ev.state_index(Variable("b", ("1", "2")), value) == 1


def test_float_column_with_blanks_matches_numeric_states() -> None:
    """Integers with blanks become a float column in pandas; its cells still match "1" and "2"."""
    model = _model(("1", "2"))
    column = pd.Series([1, 2, None], dtype="float64")
    out = model.posteriors(pd.DataFrame({"o0": column}))
    expected = [model.posterior({"o0": s})["c"] for s in ("1", "2", None)]
    assert out["c"].tolist() == pytest.approx(expected)


@pytest.mark.parametrize(("value", "shown"), [(np.float64(1.5), "1.5"), (np.int64(7), "7")])
def test_messages_show_plain_values(value: object, shown: str) -> None:
    """An error shows a numpy scalar as the number it is, not as `np.float64(1.5)`."""
    with pytest.raises(EvidenceError) as info:
        ev.state_index(Variable("b", ("1", "2")), value)
    assert str(info.value).startswith(f"{shown} is not a state of 'b'")


@pytest.mark.parametrize("blank", [np.float32("nan"), np.float64("nan"), pd.NaT, pd.NA, None, ""])
def test_every_kind_of_missing_value_is_blank(blank: object) -> None:
    """NaN of any float type, pandas' NA and NaT, None and empty text mean "not observed"."""
    assert ev.state_index(Variable("b", ("yes", "no")), blank) == ev.UNOBSERVED
