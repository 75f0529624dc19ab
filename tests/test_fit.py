"""`Model.fit` / `Model.update` / `syncdx fit`: EM with the expert model as prior."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import syncdx
from syncdx.cli import main
from syncdx.diagnosis._diagnoser import Diagnoser
from syncdx.learn._estep import expected_counts
from syncdx.learn._fit import FitResult, _patterns, model_document
from syncdx.learn._params import families
from syncdx.network._authoring import parse_model

TINY = """
syncdx_model: 1
name: tiny
causes:
  - {id: a, prior: 0.2, assumption: x}
  - {id: b, prior: 0.3, assumption: x}
hidden:
  - id: h
    assumption: x
    noisy_or:
      state: 'yes'
      leak: {p: 0.05, assumption: x}
      links:
        a: {p: 0.7, assumption: x}
        b: {p: 0.6, assumption: x}
observations:
  - id: s
    question: s?
    cost: 1
    assumption: x
    noisy_or:
      state: 'yes'
      leak: {p: 0.1, assumption: x}
      links:
        a: {p: 0.8, assumption: x}
        h: {p: 0.5, when: 'yes', assumption: x}
  - id: t
    question: t?
    cost: 1
    states: [lo, mid, hi]
    assumption: x
    noisy_max:
      leak: {p: {mid: 0.1, hi: 0.05}, assumption: x}
      links:
        b: {p: {mid: 0.3, hi: 0.5}, assumption: x}
  - id: u
    question: u?
    cost: 1
    parents: [a]
    assumption: x
    cpt:
      - {when: {a: absent}, p: {'yes': 0.2, 'no': 0.8}, assumption: x}
      - {when: {a: present}, p: {'yes': 0.9, 'no': 0.1}, assumption: x}
"""


def _tiny(text: str = TINY) -> syncdx.Model:
    model = syncdx.Model(parse_model(yaml.safe_load(text)))
    model._document = yaml.safe_load(text)
    return model


def _perturbed() -> syncdx.Model:
    """The tiny model with every number moved: the truth cases are drawn from."""
    text = TINY
    for old, new in [
        ("0.7,", "0.45,"),
        ("p: 0.8,", "p: 0.6,"),
        ("{mid: 0.3, hi: 0.5}", "{mid: 0.5, hi: 0.2}"),
        ("0.9, 'no': 0.1", "0.7, 'no': 0.3"),
    ]:
        text = text.replace(old, new)
    return _tiny(text)


def _number(model: syncdx.Model, node: str) -> np.ndarray:
    return model.network.cpts[model.network.index[node]]


def test_em_never_lowers_the_penalised_log_likelihood() -> None:
    """Each EM iteration's log P(cases) + log prior is at least the previous one's."""
    cases = _perturbed().sample(400, seed=1, missing=0.3)
    fitted = _tiny().fit(cases[["s", "t", "u"]], max_iter=15, tol=0.0)
    trace = np.array(_learned(fitted).trace)
    assert len(trace) > 3
    assert (np.diff(trace) >= -1e-9 * np.abs(trace[1:])).all()


def test_error_falls_as_cases_grow() -> None:
    """Fitted tables approach the truth's as the number of cases grows, from the expert's."""
    truth = _perturbed()
    error = {}
    for n in (0, 300, 5000):
        cases = truth.sample(max(n, 1), seed=2, missing=0.2)
        model = _tiny() if n == 0 else _tiny().fit(cases, max_iter=30)
        error[n] = sum(
            np.abs(_number(model, v) - _number(truth, v)).sum() for v in ("h", "s", "t", "u")
        )
    assert error[5000] < error[300] < error[0]


def test_twenty_cases_barely_move_the_expert() -> None:
    """With 20 cases and the default confidence, no number moves by more than 0.15, and each
    moves less than with 2,000 cases."""
    truth = _perturbed()
    small = _learned(_tiny().fit(truth.sample(20, seed=3), max_iter=20)).changes
    large = _learned(_tiny().fit(truth.sample(2000, seed=3), max_iter=20)).changes
    assert small["change"].abs().max() < 0.15
    assert small["change"].abs().max() < large["change"].abs().max()


def test_frozen_numbers_never_move() -> None:
    """A link, a row and a cause marked frozen keep their values and get no `learned`."""
    text = TINY.replace("a: {p: 0.8, assumption: x}", "a: {p: 0.8, frozen: true, assumption: x}")
    text = text.replace(
        "{id: a, prior: 0.2, assumption: x}", "{id: a, prior: 0.2, frozen: true, assumption: x}"
    )
    fitted = _tiny(text).fit(_perturbed().sample(2000, seed=4), max_iter=10)
    doc = fitted._learned_document()
    assert doc["causes"][0]["prior"] == 0.2
    assert "learned" not in doc["causes"][0]
    link = doc["observations"][0]["noisy_or"]["links"]["a"]
    assert link["p"] == 0.8
    assert "learned" not in link
    assert _number(fitted, "a")[1] == 0.2
    assert "learned" in doc["causes"][1]


def _learned(model: syncdx.Model) -> FitResult:
    """What `fit` recorded on a fitted model (present by construction)."""
    assert model.learned is not None
    return model.learned


def _brute_family(model: syncdx.Model, node: str, evidence: dict[str, str]) -> np.ndarray:
    """P(parents = c, node | evidence) for each configuration c, by enumerating every node."""
    net = model.network
    joint = np.ones(net.cards)
    for i, (parents, cpt) in enumerate(zip(net.parents, net.cpts)):
        shape = [1] * len(net)
        for p in parents:
            shape[p] = net.cards[p]
        shape[i] = net.cards[i]
        joint = joint * cpt.reshape(shape)
    for name, state in evidence.items():
        v = net.index[name]
        mask = np.zeros(net.cards[v])
        mask[net.variables[v].states.index(state)] = 1
        joint = joint * mask.reshape([-1 if j == v else 1 for j in range(len(net))])
    joint /= joint.sum()
    v = net.index[node]
    keep = (*net.parents[v], v)
    family = joint.sum(axis=tuple(j for j in range(len(net)) if j not in keep))
    order = np.argsort(np.argsort(keep))
    return np.transpose(family, tuple(order[list(range(len(keep)))]))


@pytest.mark.parametrize("node", ["h", "s"])
def test_noisy_or_expected_counts_match_the_configuration_formula(node: str) -> None:
    """E[link i fires | case] = sum over parent configurations c where i is active of
    P(c, node on | case) * q_i / P(on | c): the E-step's modified-model runs (hidden node)
    and its one-run shortcut (childless node) both give it."""
    model = _tiny()
    net = model.network
    evidence = {"s": "yes", "t": "mid", "u": "no"}
    fams = families(model._learned_document(), net, 20.0)
    family = next(f for f in fams if net.variables[f.node].id == node)
    patterns = _patterns(Diagnoser(net), pd.DataFrame([evidence]))
    counts = expected_counts(net, fams, patterns).counts[fams.index(family)]
    joint = _brute_family(model, node, evidence)  # axes: parents in table order, then node
    on = family.levels[1]
    cpt = _number(model, node)
    for i, (parent, state) in enumerate(family.active, start=1):
        axis = net.parents[family.node].index(parent)
        q = family.rows[i, 1]
        expected = sum(
            joint[c][on] * q / cpt[c][on]
            for c in itertools.product(*(range(n) for n in joint.shape[:-1]))
            if c[axis] == state
        )
        assert counts[i, 1] == pytest.approx(expected, rel=1e-9)


def test_update_equals_the_batch_fit_on_complete_data() -> None:
    """Folding in two batches of complete cases equals fitting both at once (to 1e-12)."""
    text = TINY[: TINY.index("hidden:")] + "observations:\n" + TINY[TINY.index("  - id: u") :]
    model = _tiny(text)
    cases = model.sample(600, seed=6)
    first, second = cases.iloc[:250], cases.iloc[250:]
    batch = model.fit(cases)
    sequential = model.fit(first).update(second)
    for a, b in zip(batch.network.cpts, sequential.network.cpts):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert not np.allclose(batch.network.cpts[0], model.network.cpts[0])


def test_fitted_model_is_written_and_reads_back(tmp_path: Path) -> None:
    """`save` writes the fitted numbers with `learned`, keeping texts and provenance."""
    fitted = _tiny().fit(_perturbed().sample(500, seed=7), max_iter=5)
    path = tmp_path / "fitted.yaml"
    fitted.save(path)
    again = syncdx.load_model(path)
    for node in ("a", "h", "s", "t", "u"):
        np.testing.assert_allclose(_number(again, node), _number(fitted, node), atol=1e-5)
    text = path.read_text()
    assert "learned:" in text
    assert "question: s?" in text
    learned = yaml.safe_load(text)["causes"][1]["learned"]
    assert learned["from"] == 0.3
    assert learned["cases"] == 500
    assert (
        learned["interval"][0] < yaml.safe_load(text)["causes"][1]["prior"] < learned["interval"][1]
    )


def test_shipped_model_document_is_its_file() -> None:
    """The shipped model's document is its YAML file (texts and sources kept)."""
    document = model_document(syncdx.load_model().network)
    assert document["name"] == "icloud_sync"
    assert document["causes"][0]["source"]


def test_fit_command_writes_a_model_and_reports(tmp_path: Path) -> None:
    """`syncdx fit CASES -o NEW.yaml --report` writes a loadable model and lists what moved."""
    cases = syncdx.load_model().sample(300, seed=8, missing=0.3)
    path = tmp_path / "cases.csv"
    cases.to_csv(path, index=False)
    out = io.StringIO()
    argv = ["fit", str(path), "-o", str(tmp_path / "new.yaml"), "--max-iter", "2", "--report"]
    assert main(argv, out) == 0
    assert "fitted 300 cases" in out.getvalue()
    assert "parameter" in out.getvalue()
    assert syncdx.load_model(tmp_path / "new.yaml").causes == syncdx.load_model().causes


ACTIONS = """
actions:
  - id: fix_a
    text: fix a
    cost: 2
    assumption: x
    fixes:
      a: {p: 0.6, assumption: x}
  - id: fix_both
    text: fix both
    cost: 5
    assumption: x
    fixes:
      a: {p: 0.5, assumption: x}
      b: {p: 0.7, assumption: x}
  - id: support
    text: support
    cost: 60
    last_resort: true
    assumption: x
    fixes_rest: {p: 0.8, assumption: x}
"""
#: The fix probabilities repair histories are drawn from: (action, cause) -> q.
TRUE_FIXES = {("fix_a", "a"): 0.35, ("fix_both", "a"): 0.8, ("fix_both", "b"): 0.4}
TRUE_REST = 0.95


def _with_actions(text: str = TINY + ACTIONS) -> syncdx.Model:
    return _tiny(text)


def _histories(n: int, seed: int, *, order: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Single-fault cases with repair histories: actions tried in a random order (or `order`)
    until one succeeds with its TRUE_FIXES probability."""
    rng = np.random.default_rng(seed)
    cases = _with_actions().sample(n, seed=seed, missing=0.2, fault_mix="single")
    fixed, tried = [], []
    for cause in cases["confirmed_cause"]:
        steps = list(order) if order else list(rng.permutation(["fix_a", "fix_both"]))
        history: list[str] = []
        winner = ""
        for action in [*steps, "support"]:
            q = TRUE_REST if action == "support" else TRUE_FIXES.get((action, cause), 0.0)
            if rng.random() < q:
                winner = action
                break
            history.append(action)
        fixed.append(winner)
        tried.append(";".join(history))
    return cases.assign(fixed_by=fixed, tried=tried)


def _fix_error(model: syncdx.Model) -> float:
    actions = {a.id: a for a in model.network.actions}
    error = sum(abs(actions[a].fixes[c] - q) for (a, c), q in TRUE_FIXES.items())
    return error + abs(actions["support"].fixes_rest - TRUE_REST)


@pytest.mark.parametrize("known_cause", [True, False])
def test_fix_probabilities_approach_the_truth_as_cases_grow(known_cause: bool) -> None:
    """With `fixed_by` and `tried`, fix probabilities (and the last resort's fixes_rest) move
    from the expert's values toward the truth as cases grow, with or without the cause known."""
    error = {0: _fix_error(_with_actions())}
    for n in (200, 5000):
        cases = _histories(n, seed=n)
        if not known_cause:
            cases = cases.drop(columns="confirmed_cause")
        error[n] = _fix_error(_with_actions().fit(cases, max_iter=5))
    assert error[5000] < error[200] < error[0]
    assert error[5000] < 0.25 * error[0]


def test_fixed_by_alone_reads_the_expert_order() -> None:
    """Without `tried`, actions the expert ranks first (q / cost) count as tried and failed:
    on histories that followed that order, the rates are recovered."""
    cases = _histories(5000, seed=4, order=("fix_a", "fix_both")).drop(columns="tried")
    assert _fix_error(_with_actions().fit(cases, max_iter=5)) < 0.25 * _fix_error(_with_actions())


def test_frozen_fix_never_moves_and_learned_ones_say_so() -> None:
    """A fix written `frozen: true` keeps its value; the others record learned: {cases, from}."""
    text = (TINY + ACTIONS).replace(
        "a: {p: 0.6, assumption: x}", "a: {p: 0.6, frozen: true, assumption: x}"
    )
    fitted = _with_actions(text).fit(_histories(2000, seed=5), max_iter=5)
    actions = {a.id: a for a in fitted.network.actions}
    assert actions["fix_a"].fixes["a"] == 0.6
    assert actions["fix_both"].fixes["b"] != 0.7
    document = fitted._learned_document()["actions"]
    assert "learned" not in document[0]["fixes"]["a"]
    learned = document[1]["fixes"]["b"]["learned"]
    assert learned["from"] == 0.7
    assert learned["interval"][0] < document[1]["fixes"]["b"]["p"] < learned["interval"][1]
    assert "fix_both.fixes.b" in set(_learned(fitted).changes["parameter"])


def test_unknown_action_in_fixed_by_is_named() -> None:
    """A `fixed_by` naming no action of the model is an InputError naming the column."""
    cases = _histories(10, seed=6).assign(fixed_by="reinstall")
    with pytest.raises(syncdx.errors.InputError, match=r"reinstall"):
        _with_actions().fit(cases, max_iter=1)


def _confirmed_only(model: syncdx.Model, confirmed: list[str | None]) -> pd.DataFrame:
    """Cases giving only their confirmed cause: every answer blank."""
    frame = pd.DataFrame({o: [None] * len(confirmed) for o in model.observations})
    frame["confirmed_cause"] = confirmed
    return frame


def test_confirmed_cause_alone_recovers_the_confirmed_frequencies() -> None:
    """Cases naming only their confirmed cause fit each prior to its confirmed frequency:
    the MAP (w * expert + n_c) / (w + N), a blank confirming no cause."""
    model = syncdx.load_model()
    counts = {c: 10 * (k + 1) for k, c in enumerate(model.causes[:5])}
    confirmed = [c for c, n in counts.items() for _ in range(n)] + [None] * 300
    fitted = model.fit(_confirmed_only(model, confirmed), confidence=20)
    expert, after = model.posterior(), fitted.posterior()
    for cause in model.causes:
        n = counts.get(cause, 0)
        assert after[cause] == pytest.approx((20 * expert[cause] + n) / (20 + len(confirmed)))
    big = model.fit(_confirmed_only(model, confirmed * 40), confidence=20).posterior()
    for cause in model.causes:
        assert big[cause] == pytest.approx(
            counts.get(cause, 0) / len(confirmed), rel=0.02, abs=1e-3
        )


def test_confirmed_cause_reads_as_the_cause_columns_of_single_fault_cases() -> None:
    """With one cause per case, fitting on confirmed_cause alone gives the numbers that the
    cause_<id> columns give."""
    model = syncdx.load_model()
    cases = model.sample(1_500, seed=3, missing=0.3, fault_mix="single")
    causes = [f"cause_{c}" for c in model.causes]
    by_confirmed = model.fit(cases.drop(columns=causes)).network.cpts
    by_columns = model.fit(cases.drop(columns="confirmed_cause")).network.cpts
    for a, b in zip(by_confirmed, by_columns):
        np.testing.assert_allclose(a, b, rtol=1e-9)


def test_cause_cells_outrank_the_confirmed_reading() -> None:
    """A cause_<id> cell given as 1 counts that cause present beside the confirmed one."""
    model = syncdx.load_model()
    first, second = model.causes[:2]
    frame = _confirmed_only(model, [first] * 50)
    frame[f"cause_{second}"] = 1
    after = model.fit(frame, confidence=20).posterior()
    assert after[second] == pytest.approx((20 * model.posterior()[second] + 50) / 70)
