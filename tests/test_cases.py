"""Simulated cases (`Model.sample`, `syncdx simulate`): frequencies, evidence, blanks, truth."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import syncdx
from syncdx.cli import main

N = 20_000
#: Standard errors a sampled frequency may stray from its expectation (a 5-sigma bound fails
#: about once in 1.7 million runs per comparison).
SIGMAS = 5.0


@pytest.fixture(scope="module")
def model() -> syncdx.Model:
    return syncdx.load_model()


@pytest.fixture(scope="module")
def cases(model: syncdx.Model) -> pd.DataFrame:
    return model.sample(N, seed=11, missing=0.3)


def _within(observed: float, expected: float, n: int) -> bool:
    """Whether a frequency over n draws is within SIGMAS standard errors of its expectation."""
    return abs(observed - expected) <= SIGMAS * math.sqrt(expected * (1 - expected) / n) + 1e-12


def test_cause_frequencies_match_the_priors(model: syncdx.Model, cases: pd.DataFrame) -> None:
    """Each cause is present in a fraction of cases within 5 standard errors of its prior."""
    prior = model.posterior()
    for cause in model.causes:
        assert _within(cases[f"cause_{cause}"].mean(), prior[cause], N), cause


def test_missing_fraction_of_answers_is_blank(model: syncdx.Model, cases: pd.DataFrame) -> None:
    """About `missing` of all answers are blank, and every observation has blanks."""
    blank = cases[list(model.observations)].isna()
    assert _within(blank.to_numpy().mean(), 0.3, N * len(model.observations))
    assert blank.any().all()


def test_evidence_holds_in_every_row(model: syncdx.Model) -> None:
    """Evidence on a root and on a child holds in every case, and is never blanked."""
    evidence = {"icloud_outage": "present", "paused_banner": "yes"}
    cases = model.sample(500, seed=3, evidence=evidence, missing=0.5)
    assert (cases["cause_icloud_outage"] == 1).all()
    assert (cases["paused_banner"] == "yes").all()


def test_single_fault_mix_gives_exactly_one_cause(model: syncdx.Model) -> None:
    """fault_mix='single': one present cause per case, which is the confirmed one."""
    cases = model.sample(2_000, seed=5, fault_mix="single")
    present = cases[[f"cause_{c}" for c in model.causes]].to_numpy()
    assert (present.sum(axis=1) == 1).all()
    confirmed = np.array(model.causes)[present.argmax(axis=1)]
    assert (cases["confirmed_cause"].to_numpy() == confirmed).all()


def test_same_seed_same_cases(model: syncdx.Model) -> None:
    """Two draws with one seed are the same frame; another seed gives other cases."""
    first = model.sample(1_000, seed=7, missing=0.2)
    pd.testing.assert_frame_equal(first, model.sample(1_000, seed=7, missing=0.2))
    assert not first.equals(model.sample(1_000, seed=8, missing=0.2))


def test_confirmed_cause_is_a_present_cause(model: syncdx.Model, cases: pd.DataFrame) -> None:
    """confirmed_cause names a present cause, and is blank exactly when no cause is present."""
    present = cases[[f"cause_{c}" for c in model.causes]].to_numpy().astype(bool)
    confirmed = cases["confirmed_cause"].to_numpy()
    none = ~present.any(axis=1)
    assert pd.isna(confirmed[none]).all()
    index = {c: j for j, c in enumerate(model.causes)}
    rows = np.flatnonzero(~none)
    assert present[rows, [index[c] for c in confirmed[rows]]].all()
    assert (present.sum(axis=1) > 1).any()  # the mix has cases with several causes


def test_confirmed_cause_does_not_depend_on_blanks(model: syncdx.Model) -> None:
    """The truth of a case (causes, confirmed cause) is the same at any blank fraction."""
    full = model.sample(3_000, seed=9)
    blanked = model.sample(3_000, seed=9, missing=0.6)
    truth = [*(f"cause_{c}" for c in model.causes), "confirmed_cause"]
    pd.testing.assert_frame_equal(full[truth], blanked[truth])


def test_simulate_command_writes_the_cases(tmp_path: Path, model: syncdx.Model) -> None:
    """`syncdx simulate` writes N rows with the model's columns, the same as `Model.sample`."""
    out = tmp_path / "cases.csv"
    argv = ["simulate", "-n", "300", "--seed", "4", "--missing", "0.25", "-o", str(out)]
    assert main(argv) == 0
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    expected = model.sample(300, seed=4, missing=0.25)
    assert list(written.columns) == list(expected.columns)
    answers = expected["paused_banner"].cat.add_categories("").fillna("")
    assert (written["paused_banner"] == answers.astype(object)).all()


def test_simulate_command_writes_csv_to_stdout() -> None:
    """Without -o the cases go to stdout as CSV, single-fault mix included."""
    out = io.StringIO()
    assert main(["simulate", "-n", "20", "--seed", "1", "--fault-mix", "single"], out) == 0
    frame = pd.read_csv(io.StringIO(out.getvalue()))
    assert len(frame) == 20
    assert frame["confirmed_cause"].notna().all()


@pytest.mark.parametrize("argv", [["-n", "-1"], ["-n", "5", "--missing", "1.5"]])
def test_simulate_command_refuses_bad_arguments(argv: list[str]) -> None:
    """A negative count or a blank fraction outside [0, 1] is a usage error (exit code 2)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", *argv])
    assert exit_info.value.code == 2
