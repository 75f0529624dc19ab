"""Hostile model files: aliases, deep nesting, long chains, big cycles, reserved and empty models.

Each must end in a `ModelError` that says what is wrong and where, never a raw traceback, a
`RecursionError` or a message that grows with the input.
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import syncdx
from syncdx._loading import load_model
from syncdx._model import Model
from syncdx.batch._scorer import Scorer
from syncdx.errors import MAX_MESSAGE, ModelError, shown
from syncdx.network._authoring import MAX_DEPTH, _Loader, parse_model, read_yaml_model
from syncdx.network._limits import MAX_TABLE_ENTRIES
from syncdx.network._network import (
    CAUSE_STATES,
    Variable,
    reserved_column,
    topological_order,
)
from tests.models import YAML_BODY, YAML_HEAD
from tests.strategies import nested_values, reserved_column_names

HEAD, BODY = YAML_HEAD, YAML_BODY


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _noisy(parent: str, when: str = "yes") -> dict[str, Any]:
    """A noisy-OR table with one link from `parent` (active in state `when`)."""
    link = {"p": 0.5, "when": when, "assumption": "a"}
    return {"leak": {"p": 0.1, "assumption": "a"}, "links": {parent: link}}


def _document(hidden: list[dict[str, Any]], last: str) -> dict[str, Any]:
    """One cause `c`, the `hidden` nodes, and an observation linked to `last`."""
    observation = {"id": "o", "question": "?", "cost": 1, "assumption": "a"}
    return {
        "syncdx_model": 1,
        "causes": [{"id": "c", "prior": 0.1, "assumption": "a"}],
        "hidden": hidden,
        "observations": [{**observation, "noisy_or": _noisy(last)}],
    }


# -- YAML aliases and anchors ----------------------------------------------------------------

ALIASED = [
    ("title alias", "t: &t hello\n", "title: *t\n"),
    ("anchor only", "", "title: &t hello\n"),
    ("list anchor", "", "name: x\ntitle: &t [a, b]\n"),
    ("merge key", "", "documents:\n  d: &d {title: D}\n  e: {<<: *d}\n"),
]


@pytest.mark.parametrize(("before", "after"), [c[1:] for c in ALIASED], ids=[c[0] for c in ALIASED])
def test_anchors_and_aliases_are_refused(tmp_path: Path, before: str, after: str) -> None:
    """Any anchor or alias in a model file is a ModelError naming the file and the line."""
    path = _write(tmp_path, HEAD + before + after + BODY)
    with pytest.raises(ModelError, match=r"model\.yaml: line \d+, column \d+: .*aliases"):
        read_yaml_model(path)


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    """An alias bomb expanding `links` to 9**8 entries is refused before anything expands."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    text = HEAD + "\n".join(lines) + "\n" + BODY.replace("c: {p: 0.5", "c: *a8\n        d: {p: 0.5")
    with pytest.raises(ModelError, match="aliases") as caught:
        read_yaml_model(_write(tmp_path, text))
    assert len(str(caught.value)) < MAX_MESSAGE


@given(depth=st.integers(MAX_DEPTH, 30_000), kind=st.sampled_from(["[", "{a: "]))
@settings(max_examples=10, deadline=None)
def test_deep_nesting_is_a_model_error(tmp_path_factory: Any, depth: int, kind: str) -> None:
    """YAML nested any depth past the limit is a ModelError, never a RecursionError."""
    close = "]" if kind == "[" else "}"
    text = HEAD + "title: " + kind * depth + "x" + close * depth + "\n" + BODY
    path = _write(tmp_path_factory.mktemp("deep"), text)
    with pytest.raises(ModelError, match=rf"line 2, .*nested more than {MAX_DEPTH} levels"):
        read_yaml_model(path)


def test_nesting_within_the_limit_reads() -> None:
    """Nesting below the limit is read (and judged on its content)."""
    text = HEAD + "title: " + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2) + "\n" + BODY
    document = yaml.load(text, Loader=_Loader)
    with pytest.raises(ModelError, match="field 'title': must be text"):
        parse_model(document, file="m.yaml")


# -- what an error message shows ---------------------------------------------------------------


@given(value=nested_values, copies=st.integers(1, 10**6))
def test_error_messages_are_bounded(value: Any, copies: int) -> None:
    """Whatever value a field holds, however big or shared, the message stays short."""
    huge = [value] * copies  # a million references: the shape an alias bomb builds
    document = {"syncdx_model": 1, "title": huge, "causes": []}
    with pytest.raises(ModelError) as caught:
        parse_model(document, file="m.yaml")
    assert len(str(caught.value)) <= MAX_MESSAGE + 60


@given(text=st.text(min_size=100, max_size=10_000))
def test_shown_cuts_long_values(text: str) -> None:
    """`shown` keeps a long value's start and end only."""
    assert len(shown(text)) <= 90
    assert len(shown([[[[[text]]]]])) <= 90


# -- long chains and big cycles ---------------------------------------------------------------


@given(n=st.integers(2, 1_500), seed=st.randoms(use_true_random=False))
@settings(max_examples=5, deadline=None)
def test_long_chain_in_any_order_loads(n: int, seed: Any) -> None:
    """A chain of hidden nodes listed in any order (child-first included) loads, parents first."""
    hidden = [{"id": f"h{i}", "assumption": "a", "noisy_or": _noisy(f"h{i + 1}")} for i in range(n)]
    hidden[-1]["noisy_or"] = _noisy("c", "present")
    seed.shuffle(hidden)
    network = parse_model(_document(hidden, "h0"), file="m.yaml")
    assert network.ids()[: n + 1] == ("c", *(f"h{i}" for i in reversed(range(n))))


def test_chain_listed_child_first_compiles() -> None:
    """1,200 hidden nodes listed child-first load and compile into a model."""
    n = 1_200
    hidden = [{"id": f"h{i}", "assumption": "a", "noisy_or": _noisy(f"h{i + 1}")} for i in range(n)]
    hidden[-1]["noisy_or"] = _noisy("c", "present")
    model = Model(parse_model(_document(hidden, "h0"), file="m.yaml"))
    assert model.posterior({"o": "yes"}).index[0] == "c"


@given(n=st.integers(1, 3_000), tail=st.integers(0, 50), start=st.integers(0, 10**6))
@settings(max_examples=10, deadline=None)
def test_a_cycle_of_any_length_is_named(n: int, tail: int, start: int) -> None:
    """A cycle of n nodes (with nodes hanging below it) says "the graph has a cycle", how long
    it is, and names nodes on it, each followed by one of its children."""
    ring = [f"r{(i + start) % n}" for i in range(n)]
    hidden = [
        {"id": node, "assumption": "a", "noisy_or": _noisy(ring[(i - 1) % n])}
        for i, node in enumerate(ring)
    ]
    below = ["r0", *(f"t{j}" for j in range(tail))]
    hidden += [
        {"id": f"t{j}", "assumption": "a", "noisy_or": _noisy(below[j])} for j in range(tail)
    ]
    with pytest.raises(ModelError, match=rf"the graph has a cycle of {n} nodes") as caught:
        parse_model(_document(hidden, below[-1]), file="m.yaml")
    message = str(caught.value)
    assert caught.value.node in ring
    assert len(message) < 400
    shown_nodes = message.split("(parent -> child): ")[1].split(" -> ")
    for parent, child in itertools.pairwise(shown_nodes):
        if "..." not in (parent, child):
            assert ring.index(child) == (ring.index(parent) + 1) % n


def _reference_order(parents: dict[str, list[str]]) -> list[str]:
    """The order as first defined: repeatedly the earliest node whose parents are placed."""
    remaining = dict(parents)
    order: list[str] = []
    while remaining:
        node = next(n for n, ps in remaining.items() if set(ps) <= set(order))
        order.append(node)
        del remaining[node]
    return order


@given(
    edges=st.lists(st.tuples(st.integers(0, 14), st.integers(0, 14)), max_size=40),
    names=st.permutations(range(15)),
)
def test_topological_order_matches_its_definition(
    edges: list[tuple[int, int]], names: list[int]
) -> None:
    """On any DAG in any file order, the order is the earliest-ready-first one."""
    parents: dict[str, list[str]] = {f"n{k}": [] for k in names}
    for a, b in edges:
        if a < b and f"n{a}" not in parents[f"n{b}"]:  # a < b: acyclic
            parents[f"n{b}"].append(f"n{a}")
    assert topological_order(parents) == _reference_order(parents)


# -- empty models and reserved names ------------------------------------------------------------


def _base() -> dict[str, Any]:
    """A valid one-cause, one-observation document."""
    return copy.deepcopy(_document([], "c") | {"observations": [_observation("o")]})


def _observation(node: str) -> dict[str, Any]:
    """An observation `node` of cause `c`."""
    base = {"id": node, "question": "?", "cost": 1, "assumption": "a"}
    return {**base, "noisy_or": _noisy("c", "present")}


@pytest.mark.parametrize("section", ["causes", "observations"])
def test_empty_models_are_refused(section: str) -> None:
    """A model without causes or without observations is a ModelError naming the section."""
    document = _base()
    document[section] = []
    with pytest.raises(ModelError, match=rf"m\.yaml, field '{section}': the model has no"):
        parse_model(document, file="m.yaml")


def test_empty_model_via_diagnose_is_a_model_error(tmp_path: Path) -> None:
    """`diagnose --model` on a model with no nodes exits with the model error, no traceback."""
    from syncdx.cli._main import main

    path = _write(tmp_path, HEAD + "causes: []\n")
    assert main(["diagnose", "--model", str(path)]) != 0


@given(name=reserved_column_names)
def test_reserved_observation_names_are_refused(name: str) -> None:
    """An observation named like a scoring output column (any case, spaces) is refused."""
    document = _base()
    document["observations"].append(_observation(name))
    with pytest.raises(ModelError, match=r"field 'id': .* column that scoring appends.*p_<cause>"):
        parse_model(document, file="m.yaml")


@given(name=st.sampled_from(["p_value", "top_x", "errors", "top", "p_"]))
def test_names_near_reserved_ones_are_allowed(name: str) -> None:
    """Names that only look like output columns (p_ of no cause, top_ of no number) load."""
    document = _base()
    document["observations"].append(_observation(name))
    assert name in parse_model(document, file="m.yaml").ids("observation")


@functools.cache
def _shipped() -> Model:
    """The shipped model, read once."""
    return load_model()


@settings(deadline=None)  # the first example loads the model
@given(top=st.integers(0, 30), next_question=st.booleans())
def test_every_scoring_column_is_reserved(top: int, next_question: bool) -> None:
    """Every column the scorer appends is a reserved name, so no observation can clash."""
    model = _shipped()
    causes = {cause.casefold() for cause in model.causes}
    columns = Scorer(model.diagnoser, top=top, next_question=next_question).columns
    assert all(reserved_column(column, causes) for column in columns)


def _naive_bayes(children: int) -> syncdx.Model:
    """A cause with `children` yes/no observations, each P(yes | absent) = 0.2, 0.7 if present."""
    observations = (
        Variable(f"o{i}", ("yes", "no"), "observation", cost=1.0) for i in range(children)
    )
    variables = (Variable("c", CAUSE_STATES, "cause"), *observations)
    cpts = (np.array([0.9, 0.1]), *(np.array([[0.2, 0.8], [0.7, 0.3]]),) * children)
    return syncdx.Model(syncdx.Network(variables, ((), *((0,),) * children), cpts))


@pytest.fixture(scope="module")
def thousand_children() -> syncdx.Model:
    """The naive-Bayes model with 1,100 children (compiled once: about 3 s)."""
    return _naive_bayes(1100)


@pytest.mark.slow
@pytest.mark.parametrize("answered", [50, 1100])
def test_a_cause_with_a_thousand_children_is_exact(
    thousand_children: syncdx.Model, answered: int
) -> None:
    """A cause with 1,100 children compiles (its thousand messages of 1/2 once underflowed to
    a math domain error) and gives the closed-form posterior and log P(e), on the single-row
    and the batched path, even where P(e) = 1e-374 leaves a double's range."""
    model = thousand_children
    evidence = {f"o{i}": "yes" if i % 2 else "no" for i in range(answered)}
    yes = answered // 2
    absent = math.log(0.9) + yes * math.log(0.2) + (answered - yes) * math.log(0.8)
    present = math.log(0.1) + yes * math.log(0.7) + (answered - yes) * math.log(0.3)
    log_p = np.logaddexp(absent, present)
    assert model.log_probability_of_evidence(evidence) == pytest.approx(log_p, rel=1e-12)
    posterior = math.exp(present - log_p)
    assert model.posterior(evidence)["c"] == pytest.approx(posterior, rel=1e-12)
    frame = pd.DataFrame([evidence, evidence, {}])
    batch = model.posteriors(frame)["c"].tolist()
    assert batch == pytest.approx([posterior, posterior, 0.1], rel=1e-12)


# -- tables too big for memory ------------------------------------------------------------------


def _wide(kind: str, parents: int) -> dict[str, Any]:
    """A model whose observation `o` has a `kind` table over `parents` causes."""
    causes = [f"c{i}" for i in range(parents)]
    link = {"assumption": "a"}
    if kind == "noisy_or":
        table = {"leak": {"p": 0.1, **link}, "links": {c: {"p": 0.5, **link} for c in causes}}
    elif kind == "noisy_max":
        table = {
            "leak": {"p": {"yes": 0.1}, **link},
            "links": {c: {"p": {"yes": 0.5}, **link} for c in causes},
        }
    else:
        row = {"when": dict.fromkeys(causes, "absent"), "p": {"yes": 0.1, "no": 0.9}, **link}
        table = {"parents": causes, "cpt": [row]}
    observation = {"id": "o", "question": "?", "cost": 1, "assumption": "a"}
    return {
        "syncdx_model": 1,
        "causes": [{"id": c, "prior": 0.1, "assumption": "a"} for c in causes],
        "observations": [{**observation, **({kind: table} if kind != "cpt" else table)}],
    }


@pytest.mark.parametrize("kind", ["noisy_or", "noisy_max", "cpt"])
@pytest.mark.parametrize("parents", [27, 30, 40])
def test_a_yaml_table_too_big_is_refused_before_it_is_allocated(
    tmp_path: Path, kind: str, parents: int
) -> None:
    """A YAML node whose table would pass the table limit (27 or more binary parents) is a
    ModelError naming the file, the node, its table field, its size and the limit, raised
    before the table is allocated (40 parents would ask for 8 TiB: a MemoryError before)."""
    path = _write(tmp_path, yaml.safe_dump(_wide(kind, parents), sort_keys=False))
    entries = 2 ** (parents + 1)
    with pytest.raises(ModelError) as caught:
        read_yaml_model(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, node 'o', field '{kind}': its table would hold ")
    assert f"{entries:,} entries" in message
    assert f"{MAX_TABLE_ENTRIES:,}" in message
