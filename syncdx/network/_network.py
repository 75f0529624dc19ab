"""What a diagnostic model *is*: variables, their conditional probability tables, repair actions.

A `Network` is a frozen, validated specification. It knows nothing about inference: the engine,
the recommender and the scorer take a network as input.

Conditional probability tables are numpy arrays with one axis per parent (in the order of
`parents`) and the variable's own states on the last axis, so `cpt[a, b, :]` is the distribution of
the variable given its parents in states `a` and `b`.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt

from syncdx.errors import EvidenceError, ModelError
from syncdx.network._limits import check_table

Role = Literal["cause", "observation", "hidden"]
ROLES: tuple[Role, ...] = ("cause", "observation", "hidden")
CAUSE_STATES = ("absent", "present")
#: How far from 1 a distribution's probabilities may sum, wherever a table is checked (here, for
#: every network, and in YAML authoring, with the field named). Tables written to six decimals
#: (1/3 as 0.333333) miss 1 by about 1e-6; a typo in a written probability misses it by far more.
SUM_TOLERANCE = 1e-6
#: The columns batch scoring appends to a table (see `batch/_scorer.py`), besides `p_<cause>` for
#: each cause and `top_1` .. `top_K`: an observation named like one could never be scored.
OUTPUT_COLUMNS = (
    "top_cause",
    "top_probability",
    "log_evidence",
    "next_question",
    "next_question_gain",
    "error",
)
#: Nodes of a cycle named in the error about it.
CYCLE_SHOWN = 8


@dataclass(frozen=True, slots=True)
class Variable:
    """A node: its states and what it means to a person.

    `role` says whether it is a cause (a hypothesis to diagnose), an observation (something a
    person can report, at `cost` minutes, answering `text`) or hidden (neither). A cause is
    "present" when it is in any state but `normal` (`absent` in syncdx's own models).
    """

    id: str
    states: tuple[str, ...]
    role: Role = "observation"
    text: str = ""
    cost: float | None = None
    source: tuple[str, ...] = ()
    assumption: str = ""
    normal: str = "absent"

    @property
    def card(self) -> int:
        """Number of states."""
        return len(self.states)


@dataclass(frozen=True, slots=True)
class Action:
    """A repair step: costs `cost` minutes and fixes each cause in `fixes` with that probability.

    A `last_resort` action also fixes every cause not listed in `fixes`, with probability
    `fixes_rest`, and always ends a troubleshooting plan.
    """

    id: str
    text: str
    cost: float
    fixes: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    last_resort: bool = False
    fixes_rest: float = 0.0
    source: tuple[str, ...] = ()
    assumption: str = ""


FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class Network:
    """A discrete Bayesian network with diagnostic roles, validated at construction.

    `variables` are in a topological order (parents first), `cards` their numbers of states;
    `parents[i]` holds the indices of variable i's parents; `cpts[i]` is its conditional
    probability table. `documents` maps the keys that `source` references cite to the documents'
    titles; `file` is where it was read from. `unknown_words` are the answers that mean "don't
    know" (no evidence) in reports on this model (None: the default set, see
    `syncdx.diagnosis._evidence.UNKNOWN_WORDS`).
    """

    variables: tuple[Variable, ...]
    parents: tuple[tuple[int, ...], ...]
    cpts: tuple[FloatArray, ...]
    actions: tuple[Action, ...] = ()
    name: str = "network"
    title: str = ""
    documents: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    file: str | None = None
    unknown_words: frozenset[str] | None = None
    index: Mapping[str, int] = field(init=False, repr=False)
    cards: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        index = {v.id: i for i, v in enumerate(self.variables)}
        object.__setattr__(self, "index", MappingProxyType(index))
        object.__setattr__(self, "cards", tuple(v.card for v in self.variables))
        self._validate()
        for cpt in self.cpts:
            cpt.setflags(write=False)

    # -- lookup ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.variables)

    def variable(self, node: str) -> Variable:
        """The variable called `node` (a `ModelError` if there is none)."""
        try:
            return self.variables[self.index[node]]
        except KeyError:
            raise ModelError("no such node", file=self.file, node=node) from None

    def ids(self, role: Role | None = None) -> tuple[str, ...]:
        """Variable ids in model order, optionally only those with a given role."""
        return tuple(v.id for v in self.variables if role is None or v.role == role)

    def parent_ids(self, node: str) -> tuple[str, ...]:
        """Ids of the parents of `node`, in the order of its table's axes."""
        return tuple(self.variables[p].id for p in self.parents[self.index[node]])

    def action(self, action_id: str) -> Action:
        """The repair action called `action_id`; an `EvidenceError` listing the actions if
        there is none (the one lookup of an action by name)."""
        for action in self.actions:
            if action.id == action_id:
                return action
        ids = tuple(a.id for a in self.actions)
        raise EvidenceError(
            f"unknown action {action_id!r}; the model's actions are: {', '.join(ids)}",
            node=action_id,
            allowed=ids,
        )

    # -- validation -----------------------------------------------------------------------
    def _validate(self) -> None:
        if not self.variables:
            raise ModelError("the model has no nodes", file=self.file)
        if len(self.index) != len(self.variables):
            ids = [v.id for v in self.variables]
            dup = next(i for n, i in enumerate(ids) if i in ids[:n])
            raise ModelError("duplicate id", file=self.file, node=dup, field="id")
        if not (len(self.parents) == len(self.cpts) == len(self.variables)):
            raise ModelError("variables, parents and cpts differ in length", file=self.file)
        for i, (var, parents, cpt) in enumerate(zip(self.variables, self.parents, self.cpts)):
            self._validate_variable(i, var, parents, cpt)
        self._check_reserved()
        action_ids = [a.id for a in self.actions]
        for action in self.actions:
            if action_ids.count(action.id) > 1 or action.id in self.index:
                raise ModelError("duplicate id", file=self.file, node=action.id, field="id")
            _check_probabilities(
                [action.fixes_rest, *action.fixes.values()], self.file, action.id, "fixes"
            )
            if not _positive_minutes(action.cost):
                raise ModelError(_COST, file=self.file, node=action.id, field="cost")
            for cause in action.fixes:
                if (
                    self.index.get(cause) is None
                    or self.variables[self.index[cause]].role != "cause"
                ):
                    raise ModelError(
                        f"fixes {cause!r}, which is not a cause of this model",
                        file=self.file,
                        node=action.id,
                        field="fixes",
                    )

    def _check_reserved(self) -> None:
        """Reject an observation named like a column that batch scoring appends."""
        causes = {cause.strip().casefold() for cause in self.ids("cause")}
        for node in self.ids("observation"):
            if reserved_column(node, causes):
                raise ModelError(
                    f"{node!r} is the name of a column that scoring appends: an observation "
                    f"cannot be called {', '.join(RESERVED_NAMES)} (in any case); rename it",
                    file=self.file,
                    node=node,
                    field="id",
                )

    def _validate_variable(
        self, i: int, var: Variable, parents: tuple[int, ...], cpt: FloatArray
    ) -> None:
        where = {"file": self.file, "node": var.id}
        if var.role not in ROLES:
            raise ModelError(f"role must be one of {ROLES}", **where, field="role")
        if var.card < 2 or len(set(var.states)) != var.card:
            raise ModelError("needs at least two distinct states", **where, field="states")
        if var.role == "cause" and var.normal not in var.states:
            raise ModelError(
                f"a cause's normal state {var.normal!r} is not one of its states {var.states}",
                **where,
                field="states",
            )
        if var.cost is not None and not _positive_minutes(var.cost):
            raise ModelError(_COST, **where, field="cost")
        if len(set(parents)) != len(parents) or any(not 0 <= p < i for p in parents):
            raise ModelError(
                "parents must be distinct variables that come earlier (the graph must be acyclic)",
                **where,
                field="parents",
            )
        expected = (*(self.variables[p].card for p in parents), var.card)
        if cpt.shape != expected:
            raise ModelError(
                f"table has shape {cpt.shape}, expected {expected}", **where, field="cpt"
            )
        check_table(var.id, expected, parents=len(parents), file=self.file)  # before reading it
        outside = cpt[~((cpt >= 0.0) & (cpt <= 1.0))]  # NaN too; no Python float per entry
        _check_probabilities(outside.ravel().tolist(), self.file, var.id, "cpt")
        sums = cpt.sum(axis=-1)
        if not (np.abs(sums - 1.0) <= SUM_TOLERANCE).all():
            bad = np.unravel_index(int(np.argmax(np.abs(sums - 1.0))), sums.shape)
            config = {
                self.variables[p].id: self.variables[p].states[s] for p, s in zip(parents, bad)
            }
            raise ModelError(
                f"probabilities sum to {float(sums[bad]):.6g}, not 1, given {config}",
                **where,
                field="cpt",
            )


_COST = "cost must be a positive finite number of minutes"


def _positive_minutes(cost: float) -> bool:
    """Whether `cost` is a usable number of minutes: finite and above 0 (a free step would be
    worth infinitely much per minute)."""
    return math.isfinite(cost) and cost > 0


def unknown_key(text: str) -> str:
    """A "don't know" word as compared: case and runs of blanks ignored, ’ read as '."""
    return " ".join(text.replace("\u2019", "'").casefold().split())


def cause_column(cause: str) -> str:
    """The column batch scoring fills with P(cause present)."""
    return f"p_{cause}"


def top_column(rank: int) -> str:
    """The column batch scoring fills with the `rank`-th likeliest cause (from 1)."""
    return f"top_{rank}"


#: The output column names an observation cannot take, as a person reads them.
RESERVED_NAMES = (*OUTPUT_COLUMNS, "top_<N>", "p_<cause>")
_TOP_COLUMN = re.compile(r"top_[0-9]+")


def reserved_column(name: str, causes: AbstractSet[str]) -> bool:
    """Whether a column called `name` would be taken for one that batch scoring appends
    (compared as input columns are matched to observations: spaces around and case ignored;
    `causes` folded alike)."""
    folded = name.strip().casefold()
    if folded in OUTPUT_COLUMNS or _TOP_COLUMN.fullmatch(folded):
        return True
    return folded.startswith("p_") and folded[2:] in causes


def _check_probabilities(values: Iterable[float], file: str | None, node: str, name: str) -> None:
    for value in values:
        if not 0.0 <= value <= 1.0:  # also rejects NaN
            raise ModelError(
                f"probability {value!r} is outside [0, 1]", file=file, node=node, field=name
            )


def topological_order(
    parents: Mapping[str, Iterable[str]], *, file: str | None = None
) -> list[str]:
    """Node ids ordered parents-first, moving a node only when one of its parents comes later
    (each step places the earliest node whose parents are all placed: linear up to a log).

    Raises a `ModelError` naming a parent that is not a node, or nodes on a cycle.
    """
    position = {node: i for i, node in enumerate(parents)}
    waiting = dict.fromkeys(parents, 0)
    children: dict[str, list[str]] = {node: [] for node in parents}
    for node, ps in parents.items():
        for parent in set(ps):
            if parent not in position:
                message = f"unknown parent {parent!r} (not a node of the model)"
                raise ModelError(message, file=file, node=node, field="parents")
            children[parent].append(node)
            waiting[node] += 1
    ready = [position[node] for node, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    nodes = list(parents)
    while ready:
        node = nodes[heapq.heappop(ready)]
        order.append(node)
        for child in children[node]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, position[child])
    if len(order) < len(nodes):
        _raise_cycle(parents, {node for node, count in waiting.items() if count}, file)
    return order


def _raise_cycle(parents: Mapping[str, Iterable[str]], stuck: set[str], file: str | None) -> None:
    """Raise the `ModelError` naming a cycle among `stuck`: nodes each with a parent in `stuck`."""
    path: list[str] = []
    seen: dict[str, int] = {}
    node = next(iter(stuck))
    while node not in seen:  # walk up through parents that are stuck too: it must loop
        seen[node] = len(path)
        path.append(node)
        node = next(p for p in parents[node] if p in stuck)
    cycle = path[seen[node] :][::-1]  # parent -> child
    shown = [*cycle, cycle[0]]
    if len(cycle) > CYCLE_SHOWN:
        shown = [*cycle[: CYCLE_SHOWN // 2], "...", *cycle[-CYCLE_SHOWN // 2 :], cycle[0]]
    message = f"the graph has a cycle of {len(cycle)} nodes (parent -> child): {' -> '.join(shown)}"
    raise ModelError(message, file=file, node=cycle[0], field="parents")
