"""Hypothesis strategies shared by the tests: random networks and evidence, models to plan
on, probabilities at every scale, CSV text, and the values hostile inputs hold."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from syncdx import Action, Model
from syncdx.network._network import CAUSE_STATES, OUTPUT_COLUMNS, Network, Variable

# -- networks and evidence ------------------------------------------------------------------


@st.composite
def networks(
    draw: st.DrawFn, max_nodes: int = 10, max_parents: int = 3, zeros: bool = False
) -> Network:
    """A random DAG with 2-4 states per node and random tables (exact zeros if `zeros`)."""
    n = draw(st.integers(2, max_nodes))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    variables, parents, cpts = [], [], []
    for i in range(n):
        ps = tuple(sorted(draw(st.sets(st.integers(0, i - 1), max_size=max_parents)))) if i else ()
        root = not ps
        card = 2 if root else draw(st.integers(2, 4))
        states = CAUSE_STATES if root else tuple(f"s{k}" for k in range(card))
        variables.append(Variable(f"v{i}", states, "cause" if root else "observation", cost=1.0))
        table = rng.dirichlet(np.full(card, 0.7), size=[variables[p].card for p in ps] or None)
        if zeros:
            table = np.where(rng.random(table.shape) < 0.2, 0.0, table)
            table[..., 0] += np.where(table.sum(axis=-1) == 0, 1.0, 0.0)
            table = table / table.sum(axis=-1, keepdims=True)
        parents.append(ps)
        cpts.append(np.asarray(table, dtype=np.float64))
    return Network(tuple(variables), tuple(parents), tuple(cpts), name="random")


@st.composite
def hard_evidence(draw: st.DrawFn, network: Network) -> dict[int, int]:
    """A random partial assignment: variable index -> state index."""
    chosen = draw(st.sets(st.integers(0, len(network) - 1)))
    return {v: draw(st.integers(0, network.cards[v] - 1)) for v in sorted(chosen)}


# -- models to plan on ------------------------------------------------------------------------


@st.composite
def troubleshooting_models(draw: st.DrawFn) -> Model:
    """2-3 causes, 1-2 noisy-OR questions on random causes, 2-3 actions, a last resort."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(2, 3))
    priors = [draw(st.sampled_from([0.1, 0.2, 0.3, 0.5])) for _ in range(n)]
    variables = [Variable(f"c{k}", CAUSE_STATES, "cause") for k in range(n)]
    parents: list[tuple[int, ...]] = [()] * n
    cpts = [np.array([1 - p, p]) for p in priors]
    for j in range(draw(st.integers(1, 2))):
        ps = tuple(sorted(draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=2))))
        cost = draw(st.sampled_from([0.5, 1.0]))
        variables.append(Variable(f"q{j}", ("no", "yes"), "observation", cost=cost))
        parents.append(ps)
        cpts.append(_noisy_or(rng, len(ps)))
    actions = [
        Action(
            f"a{j}",
            f"a{j}",
            draw(st.sampled_from([5.0, 10.0, 20.0])),
            {
                f"c{k}": draw(st.sampled_from([0.3, 0.6, 0.9, 1.0]))
                for k in range(n)
                if rng.random() < 0.6
            },
        )
        for j in range(draw(st.integers(2, 3)))
    ]
    rest = draw(st.sampled_from([0.5, 0.8, 1.0]))
    cost = draw(st.sampled_from([30.0, 60.0]))
    actions.append(Action("support", "support", cost, {}, last_resort=True, fixes_rest=rest))
    return Model(Network(tuple(variables), tuple(parents), tuple(cpts), tuple(actions)))


def _noisy_or(rng: np.random.Generator, parents: int) -> np.ndarray:
    """A random leaky noisy-OR table (no, yes) over `parents` binary causes."""
    links, leak = rng.uniform(0.5, 0.95, parents), rng.uniform(0.02, 0.2)
    active = np.array(list(itertools.product((0, 1), repeat=parents))).reshape([2] * parents + [-1])
    no = (1 - leak) * np.prod((1 - links) ** active, axis=-1)
    return np.stack([no, 1 - no], axis=-1)


# -- probabilities and scores -----------------------------------------------------------------

#: Any probability, 0 and 1 included.
unit_floats = st.floats(0.0, 1.0, allow_nan=False)
#: Probabilities across every scale: tiny (down to 1e-300), ordinary, near 1, and 0 and 1.
probabilities = st.one_of(
    st.floats(-300, 0).map(lambda e: 10.0**e),
    st.floats(0, 1),
    st.floats(-300, -1).map(lambda e: 1.0 - 10.0**e),
    st.sampled_from([0.0, 1.0]),
)
#: Probabilities from 1e-300 to 1e-4.
tiny_probabilities = st.floats(-300, -4).map(lambda e: 10.0**e)


@st.composite
def state_weights(draw: st.DrawFn, states: Sequence[str]) -> dict[str, float]:
    """Weights on states above the first (the first takes the rest), at any scale."""
    chosen = draw(st.lists(st.sampled_from(states[1:]), unique=True, max_size=3))
    weights = {state: draw(probabilities) for state in chosen}
    total = sum(weights.values())
    if total > 1:
        weights = {state: w / total / (1 + 1e-15) for state, w in weights.items()}
    assume(sum(map(Fraction, weights.values())) <= 1)  # the first state takes 1 - the sum
    return weights


#: Weights of the ten fault sets of four causes (three rows).
fault_set_weights = arrays(np.float64, (3, 10), elements=st.floats(0, 1))
#: P(a cause stays) after a repair: never, sometimes, always.
stay_probabilities = st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0])
#: Exact scores drawn from a few well-separated values, so that ties are common.
score_levels = st.sampled_from([0.0, 0.05, 0.25, 0.25 + 1e-6, 0.5, 1.0])


@st.composite
def noisy_scores(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """A (rows, columns) table of exact scores, and the same plus last-bit noise."""
    rows, columns = draw(st.integers(1, 5)), draw(st.integers(1, 8))
    exact = draw(arrays(np.float64, (rows, columns), elements=score_levels))
    noise = draw(arrays(np.float64, (rows, columns), elements=st.floats(-1e-14, 1e-14)))
    return exact, exact + noise


# -- tables of reports and CSV text -----------------------------------------------------------

#: Answers as people write them: states in any case, blanks, NA words, wrong values, CSV syntax.
answer_cells = st.one_of(
    st.sampled_from(["yes", "No", "TRUE", "y", "0", "", " ", "NA", "None", "perhaps", "yes?"]),
    st.text(st.sampled_from('ab ,"\né'), max_size=6),
)


@st.composite
def report_files(draw: st.DrawFn) -> tuple[list[str], list[list[str] | None]]:
    """A header (evidence and extra columns, shuffled) and rows; None rows are empty lines."""
    evidence = draw(st.lists(st.sampled_from(["paused_banner", "internet_works"]), min_size=1))
    header = list(dict.fromkeys([*evidence, "ticket", "note"]))
    header = draw(st.permutations(header))
    rows = draw(
        st.lists(
            st.one_of(
                st.none(), st.lists(answer_cells, min_size=len(header), max_size=len(header))
            ),
            max_size=25,
        )
    )
    return header, rows


#: CSV data of every shape: quotes, commas, each line ending, non-ASCII text.
csv_texts = st.text(st.sampled_from(["a", ",", '"', "\r", "\n", "é"]), max_size=60)
#: Cells that spell answers or break CSV syntax.
csv_cells = st.text(st.sampled_from(["y", "e", "s", "n", "o", " ", ",", '"', "\n"]), max_size=5)


@st.composite
def stray_quote_files(draw: st.DrawFn) -> str:
    """A well-formed CSV (header `id,note,paused_banner`) with one quote put anywhere after
    the header."""
    rows = draw(st.lists(st.lists(csv_cells, min_size=3, max_size=3), min_size=1, max_size=12))
    text = io.StringIO()
    csv.writer(text, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"]))).writerows(rows)
    body = text.getvalue()
    at = draw(st.integers(0, len(body)))
    return body[:at] + '"' + body[at:]


# -- hostile model files ----------------------------------------------------------------------

#: Nested lists and mappings of text and integers, as a YAML field may hold.
nested_values: st.SearchStrategy[Any] = st.recursive(
    st.text(max_size=5) | st.integers(),
    lambda inner: st.lists(inner, min_size=1, max_size=4) | st.dictionaries(st.text(), inner),
    max_leaves=30,
)
#: Names of the columns scoring appends, in any case, with spaces around.
reserved_column_names = st.sampled_from([*OUTPUT_COLUMNS, "top_1", "top_12", "p_c"]).flatmap(
    lambda name: st.tuples(
        st.sampled_from(["", " "]), st.booleans(), st.sampled_from(["", " "])
    ).map(lambda t: t[0] + (name.upper() if t[1] else name) + t[2])
)
