"""Evidence patterns split on their known roots, so the E-step runs far fewer rows.

A root (a node without parents: every cause) whose likelihood in a pattern is non-zero at one
state only is *known* there. Given its known roots K, a pattern's other nodes fall apart into
components: the connected parts of the network once K is removed (a known root is never a
collider, so it blocks every path through it). A component C depends on the rest only through
the known roots adjacent to it, A(C), so

    P(e) = prod over k in K of L_k(x_k) P(x_k)  *  prod over C of P(e_C | x_A(C))

and every family of a node in C has the same posterior given e as given (e_C, x_A(C)) alone.
Each component's *sub-pattern* (the evidence on C and A(C), nothing else) is therefore run
once however many patterns share it: with every cause known (a `confirmed_cause` column, or
all the `cause_<id>` columns), a question with only causes as parents has a handful of
sub-patterns, and 100,000 distinct cases shrink to a few thousand rows. A sub-pattern holds
each adjacent known root as a point mass (likelihood 1 at x_k), so its run returns
log P(e_C, x_A(C)) = log P(e_C | x_A(C)) + sum over A(C) of log P(x_k), and that sum is taken
back off. Patterns sharing the same set of known roots share the split
(with no known root: one component per connected part of the network, the patterns as given).
The split depends on the structure and the patterns only; `_estep` recomputes the terms that
hold the tables (the roots' priors) at each iteration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from syncdx.network._network import FloatArray, Network

IntArray = npt.NDArray[np.intp]

#: Patterns are split on the roots they know in at most this many sets of known roots.
_MOST_GROUPS = 1000


@dataclass(frozen=True, slots=True)
class Split:
    """Sub-patterns (R rows) and how the B patterns are made of them.

    `likelihoods`: the sub-patterns (R, states), all-ones off their component and adjacent
    roots. `pattern`, `row` (L,): pattern `pattern[j]` has sub-pattern `row[j]` as one of its
    components. `inside[v]`: the sub-patterns whose component holds node v. `known[k]` (B,)
    and `adjacent[k]` (R,): root k's state in each pattern split on it, and in each
    sub-pattern whose component it is adjacent to (-1 elsewhere: a root known in a pattern
    that is not split on it is evidence inside a component); `scale[k]` (B,): L_k there;
    `size`: R.
    """

    likelihoods: dict[int, FloatArray]
    pattern: IntArray
    row: IntArray
    inside: dict[int, IntArray]
    known: dict[int, IntArray]
    adjacent: dict[int, IntArray]
    scale: dict[int, FloatArray]
    size: int


def split_patterns(network: Network, likelihoods: dict[int, FloatArray], rows: int) -> Split:
    """The split of `rows` patterns given as `likelihoods` (see the module docstring).

    Patterns are grouped by which roots they know, and the groups' components pooled: a
    component (its nodes and adjacent known roots) met in several groups is one set of
    sub-patterns. Past the `_MOST_GROUPS` largest groups, the other patterns are split
    together on the roots all of them know."""
    known, scale = _known_roots(network, likelihoods)
    roots = list(known)
    flags = [((known[k] >= 0).astype(np.intp), 2) for k in roots]
    first, group_of = _distinct(flags, np.arange(rows))
    order = np.argsort(group_of, kind="stable")
    bounds = np.searchsorted(group_of[order], np.arange(len(first) + 1))
    by_size = np.argsort(-np.diff(bounds), kind="stable")
    groups = [order[bounds[g] : bounds[g + 1]] for g in by_size[:_MOST_GROUPS]]
    if len(by_size) > _MOST_GROUPS:
        rest = np.concatenate([order[bounds[g] : bounds[g + 1]] for g in by_size[_MOST_GROUPS:]])
        groups.append(rest)
        for k in roots:  # split on only where every pattern of the rest knows it
            if (known[k][rest] < 0).any():
                known[k][rest] = -1
    pooled: dict[tuple[tuple[int, ...], tuple[int, ...]], list[IntArray]] = {}
    for members in groups:
        conditioned = {k for k in roots if known[k][members[0]] >= 0}
        for component in _components(network, conditioned):
            pooled.setdefault(component, []).append(members)
    builder = _Builder(network, likelihoods, roots)
    for component, parts in pooled.items():
        builder.add(np.concatenate(parts), component, known)
    return builder.build(known, scale)


def _known_roots(
    network: Network, likelihoods: dict[int, FloatArray]
) -> tuple[dict[int, IntArray], dict[int, FloatArray]]:
    """Per root with evidence: its state where the pattern's likelihood allows one state only
    (-1 elsewhere), and the likelihood there."""
    known, scale = {}, {}
    for v, lik in likelihoods.items():
        if network.parents[v]:
            continue
        single = (lik > 0).sum(axis=1) == 1
        state = np.where(single, lik.argmax(axis=1), -1)
        if (state >= 0).any():
            known[v] = state.astype(np.intp)
            scale[v] = np.where(single, lik.max(axis=1), 1.0)
    return known, scale


def _components(
    network: Network, removed: set[int]
) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The connected parts of the network without `removed`, each with the removed nodes
    adjacent to it (parents of its nodes: `removed` holds roots only)."""
    seen: set[int] = set(removed)
    children: list[list[int]] = [[] for _ in network.parents]
    for v, ps in enumerate(network.parents):
        for p in ps:
            children[p].append(v)
    out = []
    for start in range(len(network)):
        if start in seen:
            continue
        seen.add(start)
        stack, nodes = [start], []
        while stack:
            v = stack.pop()
            nodes.append(v)
            for u in (*network.parents[v], *children[v]):
                if u not in seen:
                    seen.add(u)
                    stack.append(u)
        adjacent = sorted({p for v in nodes for p in network.parents[v] if p in removed})
        out.append((tuple(sorted(nodes)), tuple(adjacent)))
    return out


class _Builder:
    """Accumulates the sub-patterns of each (group of patterns, component)."""

    def __init__(
        self, network: Network, likelihoods: dict[int, FloatArray], roots: list[int]
    ) -> None:
        self.network, self.likelihoods = network, likelihoods
        self.ids = {v: _row_ids(lik) for v, lik in likelihoods.items()}
        self.blocks: dict[int, list[FloatArray]] = {v: [] for v in likelihoods}
        self.adjacent: dict[int, list[IntArray]] = {k: [] for k in roots}
        self.pattern: list[IntArray] = []
        self.row: list[IntArray] = []
        self.inside: dict[int, list[IntArray]] = {v: [] for v in range(len(network))}
        self.rows = 0

    def add(
        self,
        members: IntArray,
        component: tuple[tuple[int, ...], tuple[int, ...]],
        known: dict[int, IntArray],
    ) -> None:
        """The distinct sub-patterns of `component` among the patterns `members`."""
        nodes, adjacent = component
        evidence = [v for v in (*nodes, *adjacent) if v in self.likelihoods]
        first, inverse = _distinct([self.ids[v] for v in evidence], members)
        count = len(first)
        picked = members[first]
        for v, blocks in self.blocks.items():
            card = self.network.cards[v]
            if v in adjacent:  # a known root: its state, weight 1 (L_k is the pattern's)
                blocks.append(np.eye(card)[known[v][picked]])
            elif v in evidence:
                blocks.append(self.likelihoods[v][picked])
            else:
                blocks.append(np.ones((count, card)))
        for k, blocks_k in self.adjacent.items():
            blocks_k.append(known[k][picked] if k in adjacent else np.full(count, -1, np.intp))
        span = np.arange(self.rows, self.rows + count)
        for v in nodes:
            self.inside[v].append(span)
        self.pattern.append(members)
        self.row.append(self.rows + inverse.reshape(-1))
        self.rows += count

    def build(self, known: dict[int, IntArray], scale: dict[int, FloatArray]) -> Split:
        def join(parts: list[IntArray]) -> IntArray:
            return np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)

        return Split(
            {
                v: np.concatenate(b) if b else np.ones((0, self.network.cards[v]))
                for v, b in self.blocks.items()
            },
            join(self.pattern),
            join(self.row),
            {v: join(parts) for v, parts in self.inside.items()},
            known,
            {k: join(parts) for k, parts in self.adjacent.items()},
            scale,
            self.rows,
        )


def _row_ids(lik: FloatArray) -> tuple[IntArray, int]:
    """Each row's index among the possible rows of `lik` (exact), and how many indices there
    are: 0 all ones, 1 + s one-hot at s where every row is one of those, else the distinct
    rows compared as bytes."""
    card = lik.shape[1]
    plain = np.concatenate([np.ones((1, card)), np.eye(card)])
    guess = np.where((lik == 1.0).all(axis=1), 0, lik.argmax(axis=1) + 1)
    if (lik == plain[guess]).all():
        return guess.astype(np.intp), card + 1
    raw = np.ascontiguousarray(lik).view(np.dtype((np.void, lik.dtype.itemsize * card)))
    unique, inverse = np.unique(raw.reshape(-1), return_inverse=True)
    return inverse.reshape(-1).astype(np.intp), len(unique)


def _distinct(ids: list[tuple[IntArray, int]], members: IntArray) -> tuple[IntArray, IntArray]:
    """One member with each distinct combination of `ids` among `members`, and which
    combination each member has (the ids combined into one integer, renumbered densely
    before it overflows)."""
    if not ids:
        return np.zeros(1, dtype=np.intp), np.zeros(len(members), dtype=np.intp)
    key = np.zeros(len(members), dtype=np.int64)
    radix = 1
    for values, count in ids:
        if radix * count >= 2**62:  # would overflow: number the combinations so far densely
            key, radix = _dense(key, radix)
        key = key * count + values[members]
        radix *= count
    key, radix = _dense(key, radix)
    first = np.zeros(radix, dtype=np.intp)
    first[key] = np.arange(len(key))  # any member of a combination stands for it
    return first, key.astype(np.intp)


def _dense(key: npt.NDArray[np.int64], radix: int) -> tuple[npt.NDArray[np.int64], int]:
    """`key` renumbered 0..k-1 (k distinct values) keeping order: by counting when the range
    is small, else by sorting."""
    if radix <= max(4 * len(key), 1 << 22):
        present = np.zeros(radix, dtype=bool)
        present[key] = True
        number = np.cumsum(present) - 1
        return number[key].astype(np.int64), int(present.sum())
    distinct, inverse = np.unique(key, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), len(distinct)
