"""`syncdx.evaluate` and `syncdx evaluate`: scores of posteriors against resolved cases."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import syncdx
from syncdx.cli import main
from syncdx.errors import InputError
from syncdx.learn import _metrics as m


@pytest.fixture(scope="module")
def model() -> syncdx.Model:
    return syncdx.load_model()


@pytest.fixture(scope="module")
def cases(model: syncdx.Model) -> pd.DataFrame:
    return model.sample(3_000, seed=21, missing=0.3)


@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), st.booleans()),
        min_size=2,
        max_size=30,
    )
)
def test_auc_equals_the_pairwise_count_with_ties_as_halves(rows: list[tuple[float, bool]]) -> None:
    """AUC is the share of (positive, negative) pairs ranked right, ties counting 1/2."""
    scores = np.array([s for s, _ in rows])
    labels = np.array([y for _, y in rows])
    pairs = list(itertools.product(scores[labels], scores[~labels]))
    if not pairs:
        assert np.isnan(m.auc(scores, labels))
        return
    expected = np.mean([1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs])
    assert m.auc(scores, labels) == pytest.approx(expected, rel=1e-12)


def test_log_loss_brier_and_top_k_on_a_known_example() -> None:
    """The scores of two cases and two causes, worked by hand."""
    p = np.array([[0.8, 0.5], [0.1, 0.9]])
    truth = np.array([[True, False], [False, False]])
    np.testing.assert_allclose(
        m.log_loss(p, truth), [-(np.log(0.8) + np.log(0.9)) / 2, -(np.log(0.5) + np.log(0.1)) / 2]
    )
    np.testing.assert_allclose(m.brier(p, truth), [(0.04 + 0.01) / 2, (0.25 + 0.81) / 2])
    confirmed = np.array([0, 0])
    np.testing.assert_array_equal(m.top_k(p, confirmed, 1), [1.0, 0.0])
    np.testing.assert_array_equal(m.top_k(p, confirmed, 2), [1.0, 1.0])


def test_a_tie_for_first_is_not_a_top_1_hit() -> None:
    """A confirmed cause tied with another for first is not counted as ranked first alone."""
    np.testing.assert_array_equal(m.top_k(np.array([[0.5, 0.5]]), np.array([1]), 1), [0.0])


def test_reliability_and_ece_on_a_known_example() -> None:
    """Bins hold their cells; ECE weighs each bin's gap by its count."""
    p = np.array([[0.05, 0.05], [0.95, 0.55]])
    truth = np.array([[False, True], [True, True]])
    _, count, predicted, observed = m.reliability(p, truth, bins=2)
    np.testing.assert_array_equal(count, [2, 2])
    np.testing.assert_allclose(predicted, [0.05, 0.75])
    np.testing.assert_allclose(observed, [0.5, 1.0])
    assert m.expected_calibration_error(count, predicted, observed) == pytest.approx(
        (2 * 0.45 + 2 * 0.25) / 4
    )


def test_surprises_count_confident_misses() -> None:
    """Causes given < 5% that were present, and > 95% that were absent, are counted."""
    p = np.array([[0.01, 0.99], [0.02, 0.5]])
    truth = np.array([[True, False], [False, True]])
    assert m.surprises(p, truth) == (2, 1, 1, 1)


def test_evaluation_matches_the_posteriors(model: syncdx.Model, cases: pd.DataFrame) -> None:
    """Overall log loss, Brier and top-1 are those of `Model.posteriors` on the answers."""
    report = syncdx.evaluate(model, cases, replay=0)
    answers = cases[list(model.observations)]
    p = model.posteriors(answers)[list(model.causes)].to_numpy()
    truth = cases[[f"cause_{c}" for c in model.causes]].to_numpy().astype(bool)
    assert report.log_loss == pytest.approx(m.log_loss(p, truth).mean(), rel=1e-9)
    assert report.brier == pytest.approx(m.brier(p, truth).mean(), rel=1e-9)
    top = np.array(model.causes)[np.argmax(p, axis=1)]
    confirmed = cases["confirmed_cause"].notna().to_numpy()
    hits = top[confirmed] == cases["confirmed_cause"].to_numpy()[confirmed]
    assert report.top1 == pytest.approx(hits.mean(), abs=1e-3)  # ties aside
    assert report.cases == len(cases)
    assert report.table().splitlines()[0] == report.headline
    assert "log loss" in report.headline
    assert "<table" in report._repr_html_()


def test_confirmed_cause_alone_is_enough_truth(model: syncdx.Model, cases: pd.DataFrame) -> None:
    """Without cause columns, the confirmed cause is the one present; top-1 is unchanged."""
    slim = cases[[*model.observations, "confirmed_cause"]]
    full, only = syncdx.evaluate(model, cases, replay=0), syncdx.evaluate(model, slim, replay=0)
    assert only.top1 == full.top1
    assert only.per_cause["present"].sum() == cases["confirmed_cause"].notna().sum()


def test_cases_without_truth_are_refused(model: syncdx.Model, cases: pd.DataFrame) -> None:
    """Cases with neither confirmed_cause nor cause columns raise an InputError saying so."""
    with pytest.raises(InputError, match="confirmed_cause"):
        syncdx.evaluate(model, cases[list(model.observations)])


def test_impossible_cases_are_left_out_and_counted() -> None:
    """A case the model deems impossible is counted apart, not scored."""
    cause = syncdx.Variable("c", ("absent", "present"), role="cause")
    symptom = syncdx.Variable("s", ("yes", "no"))
    tiny = syncdx.Model(
        syncdx.Network(
            (cause, symptom),
            ((), (0,)),
            (np.array([0.5, 0.5]), np.array([[0.0, 1.0], [0.0, 1.0]])),
        )
    )
    cases = pd.DataFrame({"s": ["yes", "no", "no"], "cause_c": [1, 1, 0]})
    report = syncdx.evaluate(tiny, cases, replay=0)
    assert (report.cases, report.impossible) == (2, 1)
    assert report.per_cause.loc["c", "present"] == 1


def test_replay_stops_when_the_confirmed_cause_ranks_first(model: syncdx.Model) -> None:
    """A case whose cause already ranks first needs no question; the others ask at least one
    question each, and never more than there are answers to reveal."""
    cases = model.sample(200, seed=2, fault_mix="single")
    report = syncdx.evaluate(model, cases, replay=None)
    assert report.replayed == 200
    assert 0 < report.questions <= len(model.observations)
    first = model.posterior().index[0]
    lone = cases[cases["confirmed_cause"] == first].head(1)
    assert syncdx.evaluate(model, lone, replay=None).questions == 0


def test_evaluate_command_prints_the_report_and_the_figures(
    tmp_path: Path, cases: pd.DataFrame
) -> None:
    """`syncdx evaluate CASES --plot DIR` prints the headline first and writes three PNGs."""
    path = tmp_path / "cases.csv"
    cases.head(500).to_csv(path, index=False)
    out = io.StringIO()
    argv = ["evaluate", str(path), "--plot", str(tmp_path / "figs"), "--replay", "50"]
    assert main(argv, out) == 0
    assert out.getvalue().startswith("icloud_sync: log loss ")
    for name in ("reliability.png", "confusion.png", "auc.png"):
        assert (tmp_path / "figs" / name).read_bytes()[:4] == b"\x89PNG"


def test_unreadable_truth_cells_name_their_row_and_column(
    model: syncdx.Model, cases: pd.DataFrame
) -> None:
    """A cause cell that is not 1/0, or a confirmed cause the model lacks, is an InputError
    naming the first such row; yes/no and blanks read as 1/0 and unknown."""
    frame = cases.head(6).copy()
    column = f"cause_{model.causes[0]}"
    frame[column] = ["yes", "no", None, "maybe", "1", "maybe"]
    with pytest.raises(InputError, match=r"row 3: 'maybe' is not 1/0") as raised:
        syncdx.evaluate(model, frame, replay=0)
    assert raised.value.column == column
    frame[column] = ["yes", "no", None, "0", "1", "PRESENT"]
    frame["confirmed_cause"] = [None, model.causes[1], "gremlins", None, None, "gremlins"]
    with pytest.raises(InputError, match=r"row 2: 'gremlins' is not a cause"):
        syncdx.evaluate(model, frame, replay=0)
    frame["confirmed_cause"] = [None, model.causes[1], None, None, model.causes[0], None]
    assert syncdx.evaluate(model, frame, replay=0).cases == 6
