"""Explanations: weights of evidence in bits, exact decompositions, and conflict triage."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import syncdx
from syncdx import EvidenceError, ImpossibleEvidenceError
from syncdx.network import bundled_network

EVIDENCE = {
    "storage_full_alert": "yes",
    "paused_banner": "yes",
    "other_icloud_sync_failing": "no",
    "internet_works": "yes",
}


@pytest.fixture(scope="module")
def model() -> syncdx.Model:
    return syncdx.load_model()


@pytest.fixture(scope="module")
def asia() -> syncdx.Model:
    return syncdx.load_model(bundled_network("asia"))


def _log_odds_bits(model: syncdx.Model, cause: str, evidence: dict[str, str]) -> float:
    p = float(model.posterior(evidence)[cause])
    return math.log2(p / (1.0 - p))


@pytest.mark.parametrize("method", ["sequential", "shapley"])
def test_weights_add_up_to_the_change_in_log_odds(model: syncdx.Model, method: str) -> None:
    """Both methods decompose posterior minus prior log-odds exactly (1e-9 bits)."""
    explanation = model.explain(EVIDENCE, method=method)  # type: ignore[arg-type]
    cause = explanation.cause
    assert cause == model.posterior(EVIDENCE).index[0]
    change = _log_odds_bits(model, cause, EVIDENCE) - _log_odds_bits(model, cause, {})
    assert explanation.total == pytest.approx(change, abs=1e-9)
    assert explanation.posterior_log_odds - explanation.prior_log_odds == pytest.approx(
        change, abs=1e-9
    )
    assert list(explanation.table["finding"]) == list(EVIDENCE)


def test_sequential_weights_follow_the_chain_rule(model: syncdx.Model) -> None:
    """Each sequential weight is the log-odds change when its finding joins those before it,
    and the posterior column is P(cause | findings so far)."""
    cause = "icloud_storage_full"
    explanation = model.explain(EVIDENCE, cause)
    items = list(EVIDENCE.items())
    for k, row in explanation.table.iterrows():
        before, after = dict(items[: int(k)]), dict(items[: int(k) + 1])  # type: ignore[call-overload]
        expected = _log_odds_bits(model, cause, after) - _log_odds_bits(model, cause, before)
        assert row["weight"] == pytest.approx(expected, abs=1e-9)
        assert row["posterior"] == pytest.approx(model.posterior(after)[cause], abs=1e-12)


def _brute_shapley(model: syncdx.Model, cause: str, evidence: dict[str, str]) -> list[float]:
    names = list(evidence)
    totals = dict.fromkeys(names, 0.0)
    orders = list(itertools.permutations(names))
    for order in orders:
        seen: dict[str, str] = {}
        for name in order:
            before = _log_odds_bits(model, cause, seen)
            seen[name] = evidence[name]
            totals[name] += _log_odds_bits(model, cause, seen) - before
    return [totals[n] / len(orders) for n in names]


def test_exact_shapley_is_the_average_over_orders(model: syncdx.Model) -> None:
    """Shapley weights equal the mean of the sequential weights over every order."""
    explanation = model.explain(EVIDENCE, "icloud_storage_full", method="shapley")
    expected = _brute_shapley(model, "icloud_storage_full", EVIDENCE)
    np.testing.assert_allclose(explanation.table["weight"], expected, atol=1e-9)
    assert "std_error" not in explanation.table


def test_asia_weights_match_pgmpy_exact_inference(asia: syncdx.Model) -> None:
    """On asia (BIF), each sequential weight matches log-odds from pgmpy's variable elimination
    on the exported network."""
    from pgmpy.inference import VariableElimination

    evidence = {"xray": "yes", "dysp": "yes", "either": "yes", "bronc": "no"}
    explanation = asia.explain(evidence, "smoke")
    engine = VariableElimination(asia.to_pgmpy())
    normal = asia.network.variable("smoke").normal
    odds = []
    items = list(evidence.items())
    for k in range(len(items) + 1):
        factor = engine.query(["smoke"], evidence=dict(items[:k]), show_progress=False)
        p_normal = float(factor.get_value(smoke=normal))
        odds.append(math.log2((1.0 - p_normal) / p_normal))
    np.testing.assert_allclose(explanation.table["weight"], np.diff(odds), atol=1e-9)
    assert explanation.total == pytest.approx(odds[-1] - odds[0], abs=1e-9)


def test_sampled_shapley_above_twelve_findings_is_exact_in_sum(model: syncdx.Model) -> None:
    """With more than 12 findings Shapley weights are sampled, carry a standard error, still add
    up exactly, and are reproducible by seed."""
    sample = model.sample(1, seed=3)
    evidence = {o: sample[o].loc[0] for o in model.observations[:14]}
    first = model.explain(evidence, method="shapley", samples=200, seed=1)
    again = model.explain(evidence, method="shapley", samples=200, seed=1)
    assert len(first.table) == 14
    assert (first.table["std_error"] >= 0).all()
    np.testing.assert_array_equal(first.table["weight"], again.table["weight"])
    cause = first.cause
    change = _log_odds_bits(model, cause, evidence) - _log_odds_bits(model, cause, {})
    assert first.total == pytest.approx(change, abs=1e-9)


def test_soft_evidence_and_failed_repairs_are_findings(model: syncdx.Model) -> None:
    """Soft evidence and failed repairs get rows of their own, and the sum still holds."""
    soft = {"internet_works": {"yes": 0.9, "no": 0.1}}
    failed = ["restart_device"]
    explanation = model.explain({"paused_banner": "yes"}, soft=soft, failed=failed)
    table = explanation.table
    assert list(table["kind"]) == ["answer", "soft", "failed"]
    assert table.at[2, "answer"] == "tried, not fixed"
    session = syncdx.Session(model)
    session.answer("paused_banner", "yes")
    session.did("restart_device", fixed=False)
    posterior = model.posterior(
        {"paused_banner": "yes"},
        soft={**soft, **_failure(model, "restart_device")},
    )
    p = float(posterior[explanation.cause])
    prior = float(model.posterior()[explanation.cause])
    change = math.log2(p / (1 - p)) - math.log2(prior / (1 - prior))
    assert explanation.total == pytest.approx(change, abs=1e-9)


def _failure(model: syncdx.Model, action: str) -> dict[str, dict[str, float]]:
    from syncdx.diagnosis._repairs import failure_evidence

    return failure_evidence(model.network, [action])


def test_session_explains_in_the_order_asked(model: syncdx.Model) -> None:
    """Session.explain weighs answers and failures in the order they were given."""
    session = syncdx.Session(model)
    session.answer("internet_works", "yes")
    session.did("restart_device", fixed=False)
    session.answer("storage_full_alert", "yes")
    table = session.explain().table
    assert list(table["finding"]) == ["internet_works", "restart_device", "storage_full_alert"]
    assert session.explain(method="shapley").total == pytest.approx(
        session.explain().total, abs=1e-9
    )


def test_conflict_matches_its_definition(model: syncdx.Model) -> None:
    """conf(e) = log2 prod P(e_i) / P(e), the shares add up to it, and P(answer | others) is
    P(e) / P(e without it)."""
    conflict = model.explain(EVIDENCE).conflict
    log_e = model.log_probability_of_evidence(EVIDENCE)
    alone = [model.log_probability_of_evidence({n: s}) for n, s in EVIDENCE.items()]
    assert conflict.score == pytest.approx((sum(alone) - log_e) / math.log(2), abs=1e-9)
    assert conflict.table["share"].sum() == pytest.approx(conflict.score, abs=1e-9)
    for k, name in enumerate(EVIDENCE):
        others = {n: s for n, s in EVIDENCE.items() if n != name}
        given = math.exp(log_e - model.log_probability_of_evidence(others))
        assert conflict.table.at[k, "p_given_others"] == pytest.approx(given, rel=1e-9)


def test_surprising_answers_are_flagged_and_consistent_ones_are_not(model: syncdx.Model) -> None:
    """A positive conflict is flagged, naming the answer to re-check; answers with a common
    cause are not."""
    odd = {"internet_works": "no", "other_icloud_sync_failing": "no", "paused_banner": "no"}
    flagged = model.explain(odd).conflict
    assert flagged.flagged
    assert flagged.score > 0
    assert "re-check" in flagged.message
    fitting = {"storage_full_alert": "yes", "other_icloud_sync_failing": "yes"}
    calm = model.explain(fitting).conflict
    assert not calm.flagged
    assert calm.score <= 0


def test_explanation_displays_rounded(model: syncdx.Model) -> None:
    """The repr and HTML show each finding with its rounded weight and the cause's posterior."""
    explanation = model.explain(EVIDENCE)
    text = repr(explanation)
    assert "storage_full_alert = yes" in text
    assert "bits" in text
    weight = explanation.table["weight"].loc[0]
    assert f"{weight:+.2f}" in text
    html = explanation._repr_html_()
    assert html.count("<tr>") == len(EVIDENCE) + 1
    assert f"{explanation.posterior:.1%}" in html


def test_explain_refuses_bad_input(model: syncdx.Model) -> None:
    """An unknown cause or method, and impossible evidence, are refused clearly."""
    with pytest.raises(EvidenceError, match="not a cause"):
        model.explain(EVIDENCE, "paused_banner")
    with pytest.raises(ValueError, match="method"):
        model.explain(EVIDENCE, method="lime")  # type: ignore[arg-type]
    asia = syncdx.load_model(bundled_network("asia"))
    with pytest.raises(ImpossibleEvidenceError):
        asia.explain({"either": "no", "tub": "yes"})


def test_no_findings_explains_nothing(model: syncdx.Model) -> None:
    """Without findings the table is empty and the prior is the posterior."""
    explanation = model.explain({})
    assert explanation.table.empty
    assert explanation.prior == pytest.approx(explanation.posterior)
    assert not explanation.conflict.flagged
