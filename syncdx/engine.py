"""Exact inference, compiled once per network and run on a batch of evidence rows at a time.

`compile_network` triangulates the moral graph (greedy min-fill, ties broken by table size),
builds a junction tree and multiplies each conditional table into one clique. `JunctionTree.run`
then takes evidence for B rows at once, as likelihood vectors with a leading batch axis, and
passes Shafer-Shenoy messages (every message an `einsum` with a fixed subscript). Each message is
rescaled to sum to one per row, and the logs of the scale factors add up to log P(evidence), so
long evidence lists neither underflow nor lose precision. A row whose evidence has probability
zero gets log P(e) = -inf and no marginals (NaN): the caller decides how to report it.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from syncdx.network import FloatArray, Network

IntArray = npt.NDArray[np.int64]
_LETTERS = string.ascii_letters
#: Most table entries (rows x clique size) a batch chunk may hold in one clique.
_CHUNK_ENTRIES = 1 << 21


@dataclass(frozen=True, slots=True)
class Message:
    """One message of the schedule: from clique `source` to `target`, given earlier messages."""

    source: int
    target: int
    inputs: tuple[int, ...]
    subscripts: str


@dataclass(frozen=True, slots=True)
class Result:
    """What one run returns: log P(e) per row and the requested marginals, each (B, states)."""

    log_evidence: FloatArray
    marginals: Mapping[int, FloatArray]

    @property
    def possible(self) -> npt.NDArray[np.bool_]:
        """Rows whose evidence has non-zero probability."""
        return np.isfinite(self.log_evidence)


@dataclass(frozen=True, slots=True, eq=False)
class JunctionTree:
    """A compiled network: cliques, their base potentials and the message schedule.

    `width` is the largest clique table (entries); batches are cut into chunks so that one
    clique's batched table stays around two million entries.
    """

    cards: tuple[int, ...]
    cliques: tuple[tuple[int, ...], ...]
    base: tuple[FloatArray, ...]
    home: tuple[int, ...]
    collect: tuple[Message, ...]
    distribute: tuple[Message, ...]
    root: int
    root_subscripts: str
    belief_subscripts: tuple[str, ...]
    incoming: tuple[tuple[int, ...], ...]
    width: int

    def run(
        self,
        likelihoods: Mapping[int, FloatArray],
        targets: Iterable[int] | None = None,
    ) -> Result:
        """Posterior marginals of `targets` (all variables if None) and log P(e), per row.

        `likelihoods` maps a variable index to a (B, states) array of non-negative evidence
        weights: a one-hot row for a hard finding, any weights for soft evidence, ones for none.
        Every array must have the same B.
        """
        wanted = tuple(range(len(self.cards)) if targets is None else targets)
        rows = _batch_size(likelihoods)
        step = max(1, _CHUNK_ENTRIES // self.width)
        if rows <= step:
            return self._run(likelihoods, wanted, rows)
        parts = [
            self._run(
                {v: lik[i : i + step] for v, lik in likelihoods.items()},
                wanted,
                min(step, rows - i),
            )
            for i in range(0, rows, step)
        ]
        return Result(
            np.concatenate([p.log_evidence for p in parts]),
            {v: np.concatenate([p.marginals[v] for p in parts]) for v in wanted},
        )

    def _run(
        self, likelihoods: Mapping[int, FloatArray], wanted: Sequence[int], rows: int
    ) -> Result:
        psi = self._potentials(likelihoods)
        log_z = np.zeros(rows)
        messages: list[FloatArray] = []
        for message in self.collect:
            log_z += _send(message, psi, messages)
        root = np.einsum(
            self.root_subscripts, psi[self.root], *(messages[k] for k in self.incoming[self.root])
        )
        log_z = log_z + _safe_log(root)
        for message in self.distribute:
            _send(message, psi, messages)
        return Result(log_z, self._marginals(psi, messages, wanted, np.isfinite(log_z)))

    def _potentials(self, likelihoods: Mapping[int, FloatArray]) -> list[FloatArray]:
        psi = list(self.base)
        for var, lik in likelihoods.items():
            clique = self.home[var]
            shape = [1] * (len(self.cliques[clique]) + 1)
            shape[0], shape[1 + self.cliques[clique].index(var)] = lik.shape
            psi[clique] = psi[clique] * lik.reshape(shape)
        return psi

    def _marginals(
        self,
        psi: Sequence[FloatArray],
        messages: Sequence[FloatArray],
        wanted: Sequence[int],
        possible: npt.NDArray[np.bool_],
    ) -> dict[int, FloatArray]:
        beliefs: dict[int, FloatArray] = {}
        out: dict[int, FloatArray] = {}
        for var in wanted:
            c = self.home[var]
            if c not in beliefs:
                inputs = (messages[k] for k in self.incoming[c])
                beliefs[c] = np.einsum(self.belief_subscripts[c], psi[c], *inputs)
            belief = beliefs[c]
            axes = tuple(a for a in range(-len(self.cliques[c]), 0) if self.cliques[c][a] != var)
            marginal = np.broadcast_to(belief.sum(axis=axes), (possible.size, self.cards[var]))
            total = marginal.sum(axis=1, keepdims=True)
            out[var] = np.where(possible[:, None], marginal / np.where(total > 0, total, 1), np.nan)
        return out


def _batch_size(likelihoods: Mapping[int, FloatArray]) -> int:
    sizes = {lik.shape[0] for lik in likelihoods.values()}
    if len(sizes) > 1:
        raise ValueError(f"likelihood arrays disagree on the batch size: {sorted(sizes)}")
    return sizes.pop() if sizes else 1


def _send(message: Message, psi: Sequence[FloatArray], messages: list[FloatArray]) -> FloatArray:
    """Compute a message, rescale it to sum to one per row, and return the log scale factors."""
    inputs = (messages[k] for k in message.inputs)
    m = np.einsum(message.subscripts, psi[message.source], *inputs)
    total = m.reshape(m.shape[0], -1).sum(axis=1)
    safe = np.where(total > 0, total, 1.0)
    messages.append(m / safe.reshape((-1,) + (1,) * (m.ndim - 1)))
    return _safe_log(total)


def _safe_log(values: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore"):
        return np.log(values)


# -- compilation --------------------------------------------------------------------------
def compile_network(network: Network) -> JunctionTree:
    """Compile `network` into a junction tree ready for batched queries."""
    cards = network.cards
    families = [(*ps, i) for i, ps in enumerate(network.parents)]
    order, elimination_cliques = _eliminate(_moral_graph(len(cards), families), cards)
    cliques, tree = _clique_tree(order, elimination_cliques)
    root = max(range(len(cliques)), key=lambda c: (len(cliques[c]), -c))
    home = tuple(
        min((c for c in range(len(cliques)) if v in cliques[c]), key=lambda c: len(cliques[c]))
        for v in range(len(cards))
    )
    base = _base_potentials(network, cliques, cards)
    collect, distribute, incoming = _schedule(cliques, tree, root)
    letters = [_letters_for(c) for c in cliques]
    return JunctionTree(
        cards=cards,
        cliques=cliques,
        base=base,
        home=home,
        collect=collect,
        distribute=distribute,
        root=root,
        root_subscripts=_subscripts(cliques, root, incoming[root], collect + distribute, ""),
        belief_subscripts=tuple(
            _subscripts(cliques, c, incoming[c], collect + distribute, letters[c])
            for c in range(len(cliques))
        ),
        incoming=incoming,
        width=max(int(np.prod([cards[v] for v in c])) for c in cliques),
    )


def _letters_for(clique: tuple[int, ...]) -> str:
    return "".join(_LETTERS[k] for k in range(len(clique)))


def _moral_graph(n: int, families: Sequence[tuple[int, ...]]) -> list[set[int]]:
    adjacency: list[set[int]] = [set() for _ in range(n)]
    for family in families:
        for a in family:
            adjacency[a].update(b for b in family if b != a)
    return adjacency


def _eliminate(
    adjacency: list[set[int]], cards: Sequence[int]
) -> tuple[list[int], list[frozenset[int]]]:
    """Greedy min-fill elimination order (ties: smallest clique table) and its cliques."""
    graph = [set(nbrs) for nbrs in adjacency]
    alive = set(range(len(graph)))
    order: list[int] = []
    cliques: list[frozenset[int]] = []

    def cost(v: int) -> tuple[int, float]:
        nbrs = list(graph[v])
        fill = sum(1 for i, a in enumerate(nbrs) for b in nbrs[i + 1 :] if b not in graph[a])
        return fill, float(np.sum(np.log([cards[u] for u in (v, *nbrs)])))

    while alive:
        v = min(sorted(alive), key=cost)
        nbrs = graph[v]
        for a in nbrs:
            graph[a].update(nbrs - {a})
            graph[a].discard(v)
        order.append(v)
        cliques.append(frozenset({v, *nbrs}))
        alive.remove(v)
    return order, cliques


def _clique_tree(
    order: Sequence[int], cliques: Sequence[frozenset[int]]
) -> tuple[tuple[tuple[int, ...], ...], list[set[int]]]:
    """The elimination tree over maximal cliques: a junction tree (a forest joined at roots)."""
    position = {v: i for i, v in enumerate(order)}
    parent: list[int | None] = []
    for i, clique in enumerate(cliques):
        rest = [position[u] for u in clique if u != order[i]]
        parent.append(min(rest) if rest else None)
    roots = [i for i, p in enumerate(parent) if p is None]
    for r in roots[:-1]:
        parent[r] = roots[-1]  # join a forest's trees through empty separators
    edges = [set[int]() for _ in cliques]
    for i, p in enumerate(parent):
        if p is not None:
            edges[i].add(p)
            edges[p].add(i)
    keep = _absorb_subsets(list(cliques), edges)
    renumber = {old: new for new, old in enumerate(keep)}
    tree = [{renumber[n] for n in edges[old]} for old in keep]
    return tuple(tuple(sorted(cliques[old])) for old in keep), tree


def _absorb_subsets(cliques: list[frozenset[int]], edges: list[set[int]]) -> list[int]:
    """Contract every tree edge whose one end is a subset of the other; return the survivors."""
    alive = set(range(len(cliques)))
    changed = True
    while changed:
        changed = False
        for a in sorted(alive):
            b = next((b for b in sorted(edges[a]) if cliques[a] <= cliques[b]), None)
            if b is None:
                continue
            for n in edges[a] - {b}:
                edges[n].discard(a)
                edges[n].add(b)
                edges[b].add(n)
            edges[b].discard(a)
            alive.remove(a)
            changed = True
    return sorted(alive)


def _base_potentials(
    network: Network, cliques: Sequence[tuple[int, ...]], cards: Sequence[int]
) -> tuple[FloatArray, ...]:
    tables: list[list[tuple[FloatArray, tuple[int, ...]]]] = [[] for _ in cliques]
    for var, (parents, cpt) in enumerate(zip(network.parents, network.cpts)):
        family = (*parents, var)
        fits = [c for c in range(len(cliques)) if set(family) <= set(cliques[c])]
        tables[min(fits, key=lambda c: len(cliques[c]))].append((cpt, family))
    base = []
    for clique, assigned in zip(cliques, tables):
        operands: list[object] = [np.ones([cards[v] for v in clique]), list(range(len(clique)))]
        for cpt, family in assigned:
            operands += [cpt, [clique.index(v) for v in family]]
        potential = np.einsum(*operands, list(range(len(clique))))
        base.append(np.ascontiguousarray(potential[np.newaxis], dtype=np.float64))
    return tuple(base)


def _schedule(
    cliques: Sequence[tuple[int, ...]], tree: Sequence[set[int]], root: int
) -> tuple[tuple[Message, ...], tuple[Message, ...], tuple[tuple[int, ...], ...]]:
    """Collect (leaves to root) and distribute (root to leaves) messages, Shafer-Shenoy style."""
    parent: dict[int, int] = {}
    order = [root]
    for c in order:
        for n in sorted(tree[c]):
            if n != parent.get(c):
                parent[n] = c
                order.append(n)
    index: dict[tuple[int, int], int] = {}
    edges = [(c, parent[c]) for c in reversed(order[1:])] + [(parent[c], c) for c in order[1:]]
    messages = []
    for source, target in edges:
        inputs = tuple(index[(n, source)] for n in sorted(tree[source]) if n != target)
        index[(source, target)] = len(messages)
        sep = [v for v in cliques[source] if v in cliques[target]]
        out = "".join(_LETTERS[cliques[source].index(v)] for v in sep)
        messages.append(Message(source, target, inputs, ""))
        messages[-1] = Message(
            source, target, inputs, _subscripts(cliques, source, inputs, messages, out)
        )
    incoming = tuple(tuple(index[(n, c)] for n in sorted(tree[c])) for c in range(len(cliques)))
    n = len(order) - 1
    return tuple(messages[:n]), tuple(messages[n:]), incoming


def _subscripts(
    cliques: Sequence[tuple[int, ...]],
    clique: int,
    inputs: Sequence[int],
    messages: Sequence[Message],
    out: str,
) -> str:
    """`einsum` subscripts: clique potential times incoming messages, summed down to `out`."""
    own = cliques[clique]
    terms = ["..." + _letters_for(own)]
    for k in inputs:
        other = cliques[messages[k].source]
        terms.append("..." + "".join(_LETTERS[own.index(v)] for v in other if v in own))
    return ",".join(terms) + "->..." + out
