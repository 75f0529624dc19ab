"""Evidence at the edge: how answers as people write them map to states, and what is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import syncdx
from syncdx import EvidenceError, Model
from syncdx.cli import main
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
        assert ev.state_index(variable, state, ev.UNKNOWN_WORDS) == i


def test_states_differing_only_in_case() -> None:
    """`on` and `ON` are both reachable; `On` could be either, so it is refused naming both."""
    variable = Variable("a", ("on", "ON", "off"))
    assert ev.state_index(variable, "on", ev.UNKNOWN_WORDS) == 0
    assert ev.state_index(variable, "ON", ev.UNKNOWN_WORDS) == 1
    assert ev.state_index(variable, " on ", ev.UNKNOWN_WORDS) == 0
    assert (
        ev.state_index(variable, "OFF", ev.UNKNOWN_WORDS) == 2
    )  # unambiguous: case-insensitive as usual
    with pytest.raises(EvidenceError, match=r"'On' is ambiguous for 'a': the states on, ON"):
        ev.state_index(variable, "On", ev.UNKNOWN_WORDS)


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
    assert ev.state_index(Variable("b", ("1", "2")), value, ev.UNKNOWN_WORDS) == 1


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
        ev.state_index(Variable("b", ("1", "2")), value, ev.UNKNOWN_WORDS)
    assert str(info.value).startswith(f"{shown} is not a state of 'b'")


@pytest.mark.parametrize("blank", [np.float32("nan"), np.float64("nan"), pd.NaT, pd.NA, None, ""])
def test_every_kind_of_missing_value_is_blank(blank: object) -> None:
    """NaN of any float type, pandas' NA and NaT, None and empty text mean "not observed"."""
    assert ev.state_index(Variable("b", ("yes", "no")), blank, ev.UNKNOWN_WORDS) == ev.UNOBSERVED


SYNC = syncdx.load_model()
NODES = SYNC.network.ids()


def _respelled(name: str, data: st.DataObject) -> str:
    """`name` in another case and with blanks around it, as a person might type it."""
    flips = data.draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    letters = "".join(c.upper() if f else c for c, f in zip(name, flips))
    return (
        data.draw(st.sampled_from(["", " ", "\t"]))
        + letters
        + data.draw(st.sampled_from(["", " "]))
    )


@given(data=st.data())
def test_two_different_answers_for_one_node_are_refused(data: st.DataObject) -> None:
    """Two answers naming different states of one node, from a Series with a repeated index or
    from keys differing only in case and spaces, are an EvidenceError naming the node and
    both answers, never the last one silently kept."""
    name = data.draw(st.sampled_from(NODES))
    first, second = data.draw(st.permutations(SYNC.states(name)))[:2]
    as_series = data.draw(st.booleans())
    twin = name if as_series else _respelled(name, data)
    assume(as_series or twin != name)
    pairs = [(name, first), (twin, second)]
    if data.draw(st.booleans()):
        pairs.reverse()
    other = data.draw(st.sampled_from(NODES))
    if other != name:
        pairs.insert(data.draw(st.integers(0, 2)), (other, SYNC.states(other)[0]))
    keys, values = zip(*pairs)
    evidence = pd.Series(values, index=keys, dtype=object) if as_series else dict(pairs)
    with pytest.raises(EvidenceError, match=f"two answers for {name!r}") as info:
        SYNC.posterior(evidence)
    assert repr(first) in str(info.value)
    assert repr(second) in str(info.value)
    assert info.value.node == name


@given(data=st.data())
def test_one_answer_given_twice_is_one_answer(data: st.DataObject) -> None:
    """The same state given twice for one node (any spelling of it) counts as one answer."""
    name = data.draw(st.sampled_from(NODES))
    state = data.draw(st.sampled_from(SYNC.states(name)))
    again = data.draw(st.sampled_from([state, state.upper(), f" {state} "]))
    evidence = pd.Series([state, again], index=[name, name], dtype=object)
    pd.testing.assert_series_equal(SYNC.posterior(evidence), SYNC.posterior({name: state}))


@pytest.mark.parametrize(
    "argv",
    [
        ["paused_banner=yes", "paused_banner=no"],
        ["paused_banner=no", " paused_banner = yes"],
        ["paused_banner=yes", "Paused_Banner=no"],
    ],
)
def test_the_command_line_refuses_two_answers_for_one_node(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`syncdx posterior` with two different answers for one node exits 2 naming both."""
    assert main(["posterior", *argv]) == 2
    error = capsys.readouterr().err
    assert "two answers for 'paused_banner'" in error
    assert "'yes'" in error
    assert "'no'" in error


def test_the_command_line_takes_one_answer_given_twice(capsys: pytest.CaptureFixture[str]) -> None:
    """The same answer twice (yes and YES) is one answer on the command line too."""
    assert main(["posterior", "paused_banner=yes", "paused_banner=YES"]) == 0
    assert "paused_banner=yes" in capsys.readouterr().out


@pytest.mark.parametrize("word", sorted(ev.UNKNOWN_WORDS))
def test_a_dont_know_word_that_is_a_state_keeps_meaning_the_state(word: str) -> None:
    """Every default "don't know" word is no evidence for a yes/no node, but a node with a
    state spelled so (any case) keeps that state; soft evidence never reads one as blank."""
    assert ev.state_index(Variable("b", ("yes", "no")), word, ev.UNKNOWN_WORDS) == ev.UNOBSERVED
    own = Variable("c", ("yes", "no", word.upper()))
    assert ev.state_index(own, word, ev.UNKNOWN_WORDS) == 2
    with pytest.raises(EvidenceError, match="is not a state"):
        ev.state_index(Variable("b", ("yes", "no")), word, ev.NO_WORDS)


def test_a_models_words_are_its_own() -> None:
    """Two models with different words read the same answer differently, each its own way;
    `word_set` compares as people type (case, inner spaces, curly apostrophe)."""
    assert ev.word_set(["Don\u2019t  Know", " "]) == frozenset({"don't know"})
    assert ev.word_set(None) == ev.UNKNOWN_WORDS
    with pytest.raises(TypeError, match="unknown_words"):
        ev.word_set([1])  # type: ignore[list-item]
    model = _model(("yes", "no"))
    other = model.with_unknown_words(["idk"])
    assert model.posterior({"o0": "maybe"}).equals(model.posterior())
    with pytest.raises(EvidenceError):
        other.posterior({"o0": "maybe"})
    assert other.posterior({"o0": "IDK"}).equals(model.posterior())


@pytest.mark.parametrize("words", [["idk", "Don\u2019t  Know"], []])
def test_a_saved_model_keeps_its_words(tmp_path: Path, words: list[str]) -> None:
    """`Model.save` writes the model's "don't know" words (`unknown_words:` in the YAML file,
    an empty list for none) and loading the file gives them back; a model on the default
    words writes none, so it keeps following the default."""
    path = tmp_path / "model.yaml"
    syncdx.load_model().with_unknown_words(words).save(path)
    loaded = syncdx.load_model(path)
    assert loaded.unknown_words == ev.word_set(words)
    syncdx.load_model(path).with_unknown_words(None).save(path)
    assert "unknown_words" not in path.read_text(encoding="utf-8")
    assert syncdx.load_model(path).unknown_words == ev.UNKNOWN_WORDS


def test_unknown_words_in_a_model_file_must_be_a_list_of_words(tmp_path: Path) -> None:
    """A model file whose `unknown_words` is not a list of text is refused, naming the key."""
    path = tmp_path / "model.yaml"
    syncdx.load_model().save(path)
    path.write_text(path.read_text(encoding="utf-8") + "unknown_words: idk\n", encoding="utf-8")
    with pytest.raises(syncdx.ModelError, match=r"unknown_words.*list of words"):
        syncdx.load_model(path)


_SPELLINGS = ["yes", "no", "maybe", "YES", " no ", "Yes", "", "  ", "unknown", "?", "N/A", "sí"]


@given(
    st.lists(st.sampled_from(["yes", "no", "maybe"]), min_size=1, max_size=4, unique=True),
    st.lists(st.one_of(st.sampled_from(_SPELLINGS), st.none(), st.text(max_size=3)), max_size=40),
    st.sampled_from(["string", "large_string"]),
)
def test_pyarrow_text_columns_encode_as_python_objects_do(
    states: list[str], cells: list[str | None], kind: str
) -> None:
    """A column of pyarrow text gets the codes the same cells get as Python objects, whatever
    their spelling (exact, cased, padded, blank, missing, "don't know", or not a state)."""
    import pyarrow as pa

    from syncdx.diagnosis._columns import encode_column

    variable = Variable("v", tuple(states), role="observation")
    unknown = ev.word_set(None)
    text = pd.Series(pd.arrays.ArrowStringArray(pa.array(cells, getattr(pa, kind)())))
    assert isinstance(text.dtype, pd.StringDtype)
    assert text.dtype.storage == "pyarrow"
    plain = pd.Series(cells, dtype=object)
    np.testing.assert_array_equal(
        encode_column(variable, text, unknown), encode_column(variable, plain, unknown)
    )
