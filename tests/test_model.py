"""The Python API of a loaded model: posteriors, marginals, P(e), batches, errors."""

from __future__ import annotations

import math
import re
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import syncdx
from syncdx import EvidenceError, ImpossibleEvidenceError, InputError, Model
from syncdx._ranking import TIE
from syncdx.network._network import CAUSE_STATES, FloatArray, Network, Variable
from tests.oracle import posterior_marginals
from tests.strategies import hard_evidence, networks


@pytest.fixture(scope="module")
def sync() -> Model:
    return syncdx.load_model()


def test_shipped_model_has_contract_vocabulary(sync: Model) -> None:
    """The shipped model exposes the contract's ids and states."""
    assert "icloud_storage_full" in sync.causes
    assert "paused_banner" in sync.observations
    assert sync.states("system_status") == ("all_green", "icloud_issue", "imessage_issue")
    assert sync.states("affected_devices") == ("one_device", "several_devices")


def test_posterior_is_sorted_series_of_causes(sync: Model) -> None:
    """posterior() gives P(present) for every cause, most probable first (ties in model order)."""
    post = sync.posterior({"storage_full_alert": "yes"})
    assert set(post.index) == set(sync.causes)
    assert np.all(np.diff(post.to_numpy()) <= TIE)
    assert post.index[0] == "icloud_storage_full"
    assert ((post >= 0) & (post <= 1)).all()


@pytest.mark.parametrize("spelling", ["yes", "YES", " Yes ", "true", "True", "1", "y", True, 1])
def test_yes_spellings_are_equivalent(sync: Model, spelling: object) -> None:
    """Evidence values are matched case-insensitively, with the contract's yes/no aliases."""
    expected = sync.posterior({"storage_full_alert": "yes"})
    got = sync.posterior({"storage_full_alert": spelling})
    pd.testing.assert_series_equal(got, expected)


@pytest.mark.parametrize("blank", [None, "", "  ", float("nan")])
def test_blank_is_unobserved(sync: Model, blank: object) -> None:
    """A blank answer is no evidence at all."""
    pd.testing.assert_series_equal(sync.posterior({"paused_banner": blank}), sync.posterior())


def test_unknown_node_names_the_node(sync: Model) -> None:
    """An unknown node is an EvidenceError (a ValueError) naming it."""
    with pytest.raises(EvidenceError, match="unknown node 'paused_baner'") as info:
        sync.posterior({"paused_baner": "yes"})
    assert isinstance(info.value, ValueError)
    assert info.value.node == "paused_baner"


def test_unknown_state_lists_allowed_values(sync: Model) -> None:
    """An unknown state names the node, the value and the allowed states."""
    with pytest.raises(EvidenceError, match="'perhaps' is not a state of 'system_status'") as info:
        sync.posterior({"system_status": "perhaps"})
    assert info.value.allowed == ("all_green", "icloud_issue", "imessage_issue")


def test_marginals_cover_every_node_and_sum_to_one(sync: Model) -> None:
    """marginals(evidence) has one distribution per node, each summing to 1."""
    marginals = sync.marginals({"paused_banner": "yes"})
    assert set(marginals) == set(sync.network.ids())
    for series in marginals.values():
        assert math.isclose(series.sum(), 1.0, abs_tol=1e-12)
    assert marginals["paused_banner"]["yes"] == 1.0


def test_marginals_are_fresh_series_on_the_engine_values(sync: Model) -> None:
    """Each marginal is a float Series indexed by the node's states (named "state") with the
    engine's values; changing one result (its values or its index name) leaves later ones
    as they were."""
    evidence = {"paused_banner": "yes"}
    diagnoser = sync.diagnoser
    engine = diagnoser.infer(diagnoser.likelihoods(evidence, None), None).marginals
    first = sync.marginals(evidence)
    for i, (name, series) in enumerate(first.items()):
        assert series.name == name
        assert series.index.name == "state"
        assert list(series.index) == list(sync.states(name))
        assert series.dtype == np.float64
        np.testing.assert_array_equal(series.to_numpy(), engine[i][0])
    series = first["internet_works"]
    series.index.name = "changed"
    series.iloc[0] = -1.0
    again = sync.marginals(evidence, "internet_works")["internet_works"]
    assert again.index.name == "state"
    assert again.iloc[0] == engine[sync.network.index["internet_works"]][0, 0]
    assert sync.marginals(evidence, []) == {}


def test_posteriors_are_fresh_series_in_descending_order(sync: Model) -> None:
    """A posterior is a float Series over every cause (index named "cause"), most probable
    first; changing one result (its values or its index name) leaves later ones as they were,
    though the index of each order of the causes is kept between calls."""
    evidence = {"paused_banner": "yes"}
    first = sync.posterior(evidence)
    assert first.index.name == "cause"
    assert first.name == "probability"
    assert sorted(first.index) == sorted(sync.causes)
    assert (np.diff(first.to_numpy()) <= 1e-12).all()
    expected = first.copy()
    first.index.name = "changed"
    first.iloc[0] = -1.0
    again = sync.posterior(evidence)
    pd.testing.assert_series_equal(again, expected)
    other = sync.posterior({"paused_banner": "no"})
    assert other.index.name == "cause"
    assert sorted(other.index) == sorted(sync.causes)


def test_marginals_agree_with_posterior(sync: Model) -> None:
    """P(present) from marginals() equals posterior()."""
    evidence = {"internet_works": "no", "paused_banner": "yes"}
    post = sync.posterior(evidence)
    marginals = sync.marginals(evidence, variables=sync.causes)
    for cause in sync.causes:
        assert marginals[cause]["present"] == pytest.approx(post[cause], abs=1e-15)


def test_soft_evidence_interpolates(sync: Model) -> None:
    """Certain soft evidence equals hard evidence; uniform soft evidence equals none."""
    hard = sync.posterior({"internet_works": "no"})
    certain = sync.posterior(soft={"internet_works": {"yes": 0.0, "no": 1.0}})
    uniform = sync.posterior(soft={"internet_works": {"yes": 0.5, "no": 0.5}})
    pd.testing.assert_series_equal(certain, hard)
    pd.testing.assert_series_equal(uniform.sort_index(), sync.posterior().sort_index())
    probably = sync.posterior(soft={"internet_works": {"yes": 0.2, "no": 0.8}})
    prior = sync.posterior()
    assert prior["network_unreliable"] < probably["network_unreliable"] < hard["network_unreliable"]


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"yes": 0.8}, "'internet_works' gives no weight to no; give every state a weight"),
        ({"yes": 0.0, "no": 0.0}, "gives every state weight 0"),
        ({"yes": -1.0, "no": 1.0}, "needs a finite real weight >= 0, got -1.0 for 'yes'"),
        ({"yes": math.inf, "no": 1.0}, "needs a finite real weight >= 0, got inf"),
        ({"yes": "0.5", "no": 0.5}, "needs a finite real weight >= 0, got '0.5'"),
        ({"yes": None, "no": 0.5}, "needs a finite real weight >= 0, got None"),
        ({"": 1.0, "yes": 1.0, "no": 1.0}, "has a blank state name"),
        ({"yes": 0.5, "YES": 0.9, "no": 0.1}, "weighs 'yes' twice"),
        ([0.5, 0.5], "must map each state to a weight"),
        ({"maybe": 1.0}, "'maybe' is not a state of 'internet_works'"),
    ],
)
def test_bad_soft_evidence_is_rejected(sync: Model, weights: object, message: str) -> None:
    """Soft evidence needs a finite real weight >= 0 for every state, not all zero: a state
    left out is an error, not a silent 0 that would turn "probably" into certainty."""
    with pytest.raises(EvidenceError, match=re.escape(message)) as info:
        sync.posterior(soft={"internet_works": cast(Any, weights)})
    assert info.value.node == "internet_works"


def _tiny() -> Model:
    """a -> b, where b = yes is impossible unless a is present."""
    variables: tuple[Variable, ...] = (
        Variable("a", CAUSE_STATES, "cause"),
        Variable("b", ("yes", "no")),
    )
    cpts: tuple[FloatArray, ...] = (np.array([0.9, 0.1]), np.array([[0.0, 1.0], [0.7, 0.3]]))
    variables += (Variable("c", ("yes", "no")),)
    cpts += (np.array([[0.5, 0.5], [0.2, 0.8]]),)
    return Model(Network(variables, ((), (0,), (0,)), cpts))


def test_impossible_evidence_names_smallest_conflict() -> None:
    """Impossible evidence raises ImpossibleEvidenceError with a smallest conflicting set."""
    model = _tiny()
    with pytest.raises(ImpossibleEvidenceError) as info:
        model.posterior({"a": "absent", "b": "yes", "c": "no"})
    assert info.value.conflict == {"a": "absent", "b": "yes"}
    with pytest.raises(ImpossibleEvidenceError) as info:
        model.posterior({"a": " ABSENT ", "b": True})  # named by the model's own states
    assert info.value.conflict == {"a": "absent", "b": "yes"}
    assert model.probability_of_evidence({"a": "absent", "b": "yes"}) == 0.0
    assert model.log_probability_of_evidence({"a": "absent", "b": "yes"}) == -math.inf


def test_probability_of_evidence_matches_enumeration(sync: Model) -> None:
    """P(e) sums to 1 over the states of one observation."""
    total = sum(sync.probability_of_evidence({"paused_banner": s}) for s in ("yes", "no"))
    assert total == pytest.approx(1.0, abs=1e-12)
    assert sync.probability_of_evidence() == pytest.approx(1.0, abs=1e-12)


def test_posteriors_batch_matches_single_queries(sync: Model) -> None:
    """posteriors(frame) equals posterior() row by row, keeps index and order, ignores extras."""
    frame = pd.DataFrame(
        {
            "ticket": ["t1", "t2", "t3", "t4"],
            "paused_banner": ["yes", "", None, "no"],
            "internet_works": ["no", "yes", None, "No"],
            "note": ["x", "y", "z", "w"],
        },
        index=[10, 5, 7, 1],
    )
    out = sync.posteriors(frame)
    assert list(out.index) == [10, 5, 7, 1]
    assert list(out.columns) == list(sync.causes)
    for label, row in frame.iterrows():
        assert isinstance(label, int)  # the frame's own integer labels
        evidence = {k: row[k] for k in ("paused_banner", "internet_works")}
        expected = sync.posterior(evidence)
        np.testing.assert_allclose(
            out.loc[label, list(expected.index)], expected.to_numpy(), atol=1e-12
        )


def test_posteriors_bad_cell_names_row_and_column(sync: Model) -> None:
    """A bad value in a batch names its row, its column and the allowed states."""
    frame = pd.DataFrame({"paused_banner": ["yes", "perhaps"]}, index=["a", "b"])
    with pytest.raises(EvidenceError, match=r"row 'b', column 'paused_banner'.*allowed: yes, no"):
        sync.posteriors(frame)


def test_posteriors_impossible_row_is_named() -> None:
    """A batch row with impossible evidence raises naming that row."""
    frame = pd.DataFrame({"a": ["present", "absent"], "b": ["yes", "yes"]})
    with pytest.raises(ImpossibleEvidenceError, match="row 1") as info:
        _tiny().posteriors(frame)
    assert info.value.conflict == {"a": "absent", "b": "yes"}


def test_to_pgmpy_round_trip(sync: Model) -> None:
    """to_pgmpy() gives a valid pgmpy network with the model's ids and states."""
    bn = sync.to_pgmpy()
    assert bn.check_model()
    assert set(bn.nodes()) == set(sync.network.ids())
    assert bn.get_cpds("icloud_outage").state_names["icloud_outage"] == ["absent", "present"]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_evidence_order_does_not_matter(data: st.DataObject) -> None:
    """The posterior does not depend on the order in which findings are given."""
    network = data.draw(networks(max_nodes=8))
    codes = data.draw(hard_evidence(network))
    model = Model(network)
    evidence = {network.variables[v].id: network.variables[v].states[s] for v, s in codes.items()}
    lik = {v: np.eye(network.cards[v])[s] for v, s in codes.items()}
    p_e, marginals = posterior_marginals(network, lik)
    if p_e == 0:
        with pytest.raises(ImpossibleEvidenceError):
            model.posterior(evidence)
        return
    forward = model.marginals(evidence)
    backward = model.marginals(dict(reversed(list(evidence.items()))))
    for name, series in forward.items():
        np.testing.assert_allclose(series.to_numpy(), backward[name].to_numpy(), atol=1e-12)
        np.testing.assert_allclose(series.to_numpy(), marginals[network.index[name]], atol=1e-9)
    assert model.probability_of_evidence(evidence) == pytest.approx(p_e, rel=1e-9)


def test_posteriors_of_no_rows_is_an_empty_frame(sync: Model) -> None:
    """Zero rows in, zero rows out, with a column per cause and the frame's index."""
    frame = pd.DataFrame({"paused_banner": []}, index=pd.Index([], name="ticket"))
    out = sync.posteriors(frame)
    assert out.shape == (0, len(sync.causes))
    assert list(out.columns) == list(sync.causes)
    assert out.index.name == "ticket"


def test_posteriors_refuses_duplicate_columns_as_score_does(sync: Model) -> None:
    """A column given twice is the same InputError in posteriors() as in score()."""
    frame = pd.DataFrame([["yes", "no"]], columns=["paused_banner", "paused_banner"])
    errors = []
    for method in (sync.posteriors, sync.score):
        with pytest.raises(InputError, match="column 'paused_banner': duplicate column") as info:
            method(frame)
        errors.append(str(info.value))
    assert errors[0] == errors[1]


def test_cause_columns_are_evidence_in_posteriors_and_labels_in_score(sync: Model) -> None:
    """posteriors() reads a cause column as evidence; score() carries it through untouched."""
    frame = pd.DataFrame({"icloud_storage_full": ["present"], "paused_banner": ["yes"]})
    assert sync.posteriors(frame).loc[0, "icloud_storage_full"] == 1.0
    scored = sync.score(frame)
    expected = sync.posterior({"paused_banner": "yes"})["icloud_storage_full"]
    assert scored.loc[0, "p_icloud_storage_full"] == pytest.approx(expected)
    assert scored.loc[0, "icloud_storage_full"] == "present"


def test_a_single_variable_name_is_one_name(sync: Model) -> None:
    """marginals(e, "paused_banner") is the marginal of that node, not of its letters."""
    marginals = sync.marginals({}, "paused_banner")
    assert list(marginals) == ["paused_banner"]
    pd.testing.assert_series_equal(
        marginals["paused_banner"], sync.marginals({}, ["paused_banner"])["paused_banner"]
    )


def test_a_frame_row_is_evidence(sync: Model) -> None:
    """A pandas Series (a row of a frame, blanks as NaN) works as a mapping of answers."""
    frame = pd.DataFrame({"paused_banner": ["yes"], "internet_works": [np.nan]})
    row = frame.iloc[0]
    expected = sync.posterior({"paused_banner": "yes"})
    pd.testing.assert_series_equal(sync.posterior(row), expected)
    assert sync.probability_of_evidence(row) == sync.probability_of_evidence(
        {"paused_banner": "yes"}
    )
    assert sync.recommend(row).index[0] == sync.recommend({"paused_banner": "yes"}).index[0]


def test_evidence_that_is_not_a_mapping_is_a_type_error(sync: Model) -> None:
    """A bare string or a list of pairs is refused, saying what evidence must be."""
    for bad in ("paused_banner", [("paused_banner", "yes")]):
        with pytest.raises(TypeError, match="evidence must be a mapping"):
            sync.posterior(bad)  # type: ignore[arg-type]


def test_impossible_soft_evidence_reads_as_soft_evidence() -> None:
    """A conflict through soft evidence names it with its weights, not an internal form; a
    blank hard answer on the same node is not shown as `a=None`."""
    model = _tiny()
    soft = {"a": {"absent": 1, "present": 0}}
    with pytest.raises(ImpossibleEvidenceError) as info:
        model.posterior({"a": None, "b": "yes"}, soft=soft)
    message = str(info.value)
    assert "soft evidence on 'a' ({'absent': 1, 'present': 0})" in message
    assert "b=yes" in message
    assert "None" not in message


def test_a_conflict_with_a_soft_zero_mentions_the_soft_evidence() -> None:
    """Hard and soft evidence on one node that exclude each other: both are named."""
    model = _tiny()
    with pytest.raises(
        ImpossibleEvidenceError,
        match=re.escape("a=absent and soft evidence on 'a' ({'absent': 0.0, 'present': 1.0})"),
    ) as info:
        model.posterior({"a": "absent"}, soft={"a": {"absent": 0.0, "present": 1.0}})
    assert info.value.conflict == {"a": "absent"}


def test_posteriors_match_column_names_as_score_does(sync: Model) -> None:
    """Headers typed with other case or spaces around them are still the nodes they name (as
    in `score`), and two columns naming one node are an InputError."""
    typed = pd.DataFrame({"Paused_Banner": ["yes"], " storage_full_alert": ["yes"]})
    exact = pd.DataFrame({"paused_banner": ["yes"], "storage_full_alert": ["yes"]})
    pd.testing.assert_frame_equal(sync.posteriors(typed), sync.posteriors(exact))
    scored = sync.score(typed)["p_icloud_storage_full"].to_numpy()
    np.testing.assert_allclose(sync.posteriors(typed)["icloud_storage_full"], scored)
    with pytest.raises(InputError, match="columns 'paused_banner' and 'PAUSED_BANNER' both"):
        sync.posteriors(pd.DataFrame({"paused_banner": ["yes"], "PAUSED_BANNER": ["no"]}))


@pytest.mark.parametrize(
    "columns",
    [
        ["paused_baner"],  # a typo
        ["ticket", "notes"],
        [0, 1],  # integer column names
        pd.MultiIndex.from_tuples(
            [("answers", "paused_banner"), ("answers", "storage_full_alert")]
        ),
        [],
    ],
    ids=["typo", "unrelated", "integers", "multiindex", "none"],
)
def test_posteriors_refuse_a_frame_with_no_node_column_as_score_does(
    sync: Model, columns: list[object] | pd.MultiIndex
) -> None:
    """posteriors() refuses a frame where no column names a node, as score() does, instead of
    returning the priors for every row; the message names close spellings and odd names."""
    frame = pd.DataFrame([["yes"] * len(columns)] if len(columns) else [[]], columns=columns)
    with pytest.raises(InputError, match="no column is named after an observation") as info:
        sync.posteriors(frame)
    if isinstance(columns, list) and columns and not isinstance(columns[0], str):
        assert "column names must be strings" in str(info.value)
    if isinstance(columns, list) and columns == ["paused_baner"]:
        assert "'paused_baner' for 'paused_banner'" in str(info.value)
    with pytest.raises(InputError, match="no column is named after an observation"):
        sync.score(frame)


@given(
    cell=st.one_of(
        st.lists(st.sampled_from(["yes", "no"]), max_size=2),
        st.dictionaries(st.sampled_from(["yes", "no"]), st.booleans(), max_size=1),
        st.sets(st.sampled_from(["yes", "no"]), max_size=1),
    ),
    row=st.integers(0, 2),
)
def test_a_cell_holding_a_list_is_a_bad_value_naming_row_and_column(
    sync: Model, cell: object, row: int
) -> None:
    """A list, dict or set in a cell is not a state: posteriors() names its row and column,
    score() puts it in the row's error; never "unhashable type"."""
    values: list[object] = ["yes", "no", None]
    values[row] = cell
    frame = pd.DataFrame({"paused_banner": pd.Series(values, dtype=object)})
    with pytest.raises(
        EvidenceError, match=f"row {row}, column 'paused_banner': .* is not a state"
    ):
        sync.posteriors(frame)
    errors = sync.score(frame)["error"].tolist()
    assert "is not a state" in errors[row]
    assert [e for i, e in enumerate(errors) if i != row] == [None, None]
