"""One row on the requisite part of a network only: the conditional tables of the ancestors of
its evidence and targets, passed along the junction tree between the cliques that hold them.

The joint distribution of an ancestral set (a set of variables holding every parent of each
of its members) is the product of its members' conditional tables: every other variable is
barren for the query (no finding and no target at or below it) and sums out to exactly one.
So P(e) and the targets' posteriors need only the tables of the evidence's and the targets'
ancestors, as pyAgrum's relevance reasoning finds too. A cause posterior on munin (1,041
nodes) with 4-8 leaf findings needs 100-175 of them, about 10,000-20,000 table entries,
where the full walk contracts cliques of up to 784,000.

The junction tree still says where to sum: each table goes to the smallest clique holding its
family, and messages are passed on the smallest subtree joining those cliques (collected
towards its top clique, then sent down to the cliques holding targets), each keeping the
separator's variables that its tables mention. No prior message enters, so each message is
exact as computed (not a ratio to a prior), and rescaled to sum to one: the logs of the scale
factors and of the top clique's total add up to log P(e).

A message up from a subtree depends only on what the subtree holds: its cliques, their
tables (sliced at which findings) and soft findings. Each subtree is named by its clique,
its tables' keys and its children's names, and its message remembered under that name: on
munin 60-80% of a fresh cause posterior's messages up come from subtrees holding no
finding, met in earlier rows. The messages down carry the row's evidence and are computed
every time.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from syncdx.inference._contract import Contraction
from syncdx.inference._tree import Cliques
from syncdx.inference._walk import log
from syncdx.network._network import FloatArray, Network

#: A factor: its values and the variables of its axes.
Factor = tuple[FloatArray, tuple[int, ...]]
#: A contraction over at most this many joint states is one einsum loop (see `_contract`),
#: not a remembered plan: half of a fresh query's contractions are new patterns, and each new
#: plan costs its search and the objects it keeps (more, and longer, garbage collections).
#: Fresh cause posteriors against pyAgrum, interleaved, 1,024 -> 8,192: munin 1.65-1.68x ->
#: 1.79-1.81x (16,384 as good, 32,768 and 65,536 worse), pigs 2.04x -> 2.17x, mildew
#: 2.67x -> 2.85x, diabetes even; all-marginals CPU even (mildew, water, munin).
_DIRECT = 1 << 13
#: Targets read from one clique come from one contraction to their joint states up to this size.
_JOINT = 1 << 12
#: Most contractions remembered before the cache is emptied.
_CACHE = 1 << 12
#: Most entries of remembered messages, and most subtrees named, before both are forgotten.
_KEPT = 1 << 22
_SUBTREES = 1 << 16
_LETTERS = string.ascii_letters  # a clique's variables, by their places in it (at most 52)


class Relevance:
    """A tree's cliques rooted at clique 0, and each conditional table's clique."""

    def __init__(self, tree: Cliques, network: Network, ancestry: Sequence[int]) -> None:
        self.tree, self.network, self.ancestry = tree, network, ancestry
        count = len(tree.cliques)
        self.parent, self.depth = [-1] * count, [0] * count
        self.up = [0] * count  # bit mask of each clique and the cliques above it
        self.up[0] = 1
        stack = [0]
        while stack:
            c = stack.pop()
            for n in tree.neighbours[c]:
                if n != self.parent[c]:
                    self.parent[n], self.depth[n] = c, self.depth[c] + 1
                    self.up[n] = self.up[c] | 1 << n
                    stack.append(n)
        members = [frozenset(c) for c in tree.cliques]
        self.places = [{v: a for a, v in enumerate(c)} for c in tree.cliques]
        self.above = [  # the separator with the parent clique
            members[c] & members[p] if p >= 0 else frozenset() for c, p in enumerate(self.parent)
        ]
        self.families = [(*ps, v) for v, ps in enumerate(network.parents)]
        self.children: list[list[int]] = [[] for _ in network.parents]
        for v, ps in enumerate(network.parents):
            for p in ps:
                self.children[p].append(v)
        self.family_masks = [sum(1 << u for u in set(f)) for f in self.families]
        holding: list[list[int]] = [[] for _ in tree.cards]
        for c, clique in enumerate(tree.cliques):
            for v in clique:
                holding[v].append(c)
        size = [math.prod(tree.cards[v] for v in c) for c in tree.cliques]
        self.clique = [
            min((c for c in holding[v] if members[c].issuperset(f)), key=lambda c: (size[c], c))
            for v, f in enumerate(self.families)
        ]
        self._contractions: dict[tuple[object, ...], Contraction] = {}
        # messages up from subtrees met before, by what their subtree holds (`_keep`)
        self._subtrees: dict[tuple[object, ...], int] = {}
        self._ups: dict[int, tuple[Factor, float]] = {}
        self._kept = 0  # entries in `_ups`
        self._named = 0  # the last subtree's name (never reused: `_ups` may be emptied mid-row)

    def _keep(self, subtree: int, up: tuple[Factor, float]) -> None:
        """Remember the message up from `subtree` (a number standing for the clique, what its
        tables are and the subtrees below it: its message is the same whatever the rest of
        the row), the memory emptied when full."""
        if self._kept >= _KEPT or len(self._subtrees) >= _SUBTREES:
            self._ups.clear()
            self._subtrees.clear()
            self._kept = 0
        self._ups[subtree] = up
        self._kept += up[0][0].size

    def run(
        self, likelihoods: Mapping[int, FloatArray], targets: Sequence[int]
    ) -> tuple[float, dict[int, FloatArray]]:
        """log P(e) and the (1, states) posteriors of `targets` (each one's ancestors must
        share an ancestor with the evidence: others keep their priors, not computed here)."""
        needed = 0
        for v in (*likelihoods, *targets):
            needed |= self.ancestry[v]
        factors, hard, where, marks = self._factors(likelihoods, needed)
        cliques = [where[t] for t in targets]
        steiner, top = self._subtree([*factors, *cliques])
        nodes = _bits(steiner)
        nodes.sort(key=self.depth.__getitem__, reverse=True)
        inbox: dict[int, list[tuple[int, Factor]]] = {c: [] for c in nodes}
        below: dict[int, list[int]] = {c: [] for c in nodes}  # the children's subtrees
        log_z, tiny, seen, ups = 0.0, self.tree.tiny, self._subtrees, self._ups
        for c in nodes[:-1]:  # collect towards the top, deepest first
            key = (c, marks.get(c, ()), tuple(below[c]))
            subtree = seen.get(key)
            if subtree is None:
                subtree = seen[key] = self._named = self._named + 1
            up = ups.get(subtree)
            if up is None:
                up = self._message(c, factors.get(c, []), inbox[c], self.above[c])
                self._keep(subtree, up)
            message, total = up
            log_z += log(total, tiny)
            inbox[self.parent[c]].append((c, message))
            below[self.parent[c]].append(subtree)
        _, total = self._message(top, factors.get(top, []), inbox[top], frozenset())
        log_z += log(total, tiny)
        if not math.isfinite(log_z):  # impossible evidence (-inf), or the row is redone (NaN)
            return log_z, {t: np.full((1, self.tree.cards[t]), np.nan) for t in targets}
        down = self._down(nodes, top, factors, inbox, cliques)
        out: dict[int, FloatArray] = {}
        held: dict[int, list[int]] = {}  # each clique's targets
        for t, c in zip(targets, cliques):
            if t in hard:
                out[t] = np.zeros((1, self.tree.cards[t]))
                out[t][0, hard[t]] = 1.0
            else:
                held.setdefault(c, []).append(t)
        for c, some in held.items():
            ins = [*factors.get(c, []), *(f for _, f in inbox[c])]
            if c in down:
                ins.append(down[c])
            out.update(self._marginals(c, ins, some))
        return log_z, out

    def _marginals(
        self, clique: int, ins: list[Factor], targets: list[int]
    ) -> dict[int, FloatArray]:
        """The (1, states) posteriors of `targets` from all the inputs of their `clique`: one
        contraction to their joint states where that is small, else one per target."""
        cards = self.tree.cards
        out: dict[int, FloatArray] = {}
        if len(targets) > 1 and math.prod(cards[t] for t in targets) <= _JOINT:
            joint = self._contract(clique, ins, tuple(targets))
            joint = joint / joint.sum()
            for a, t in enumerate(targets):
                others = tuple(b for b in range(len(targets)) if b != a)
                out[t] = joint.sum(axis=others)[None]
            return out
        for t in targets:
            marginal = self._contract(clique, ins, (t,))
            out[t] = (marginal / marginal.sum())[None]
        return out

    def _down(
        self,
        nodes: list[int],
        top: int,
        factors: dict[int, list[Factor]],
        inbox: dict[int, list[tuple[int, Factor]]],
        cliques: list[int],
    ) -> dict[int, Factor]:
        """The messages sent down from the top towards the cliques holding targets."""
        wanted = 0
        for c in cliques:
            wanted |= self.up[c]
        down: dict[int, Factor] = {}
        for c in reversed(nodes):  # shallowest first
            if c == top or not wanted >> c & 1:
                continue
            p = self.parent[c]
            ins = [f for s, f in inbox[p] if s != c] + ([down[p]] if p in down else [])
            down[c], _ = self._message(p, factors.get(p, []), [(p, f) for f in ins], self.above[c])
        return down

    def _message(
        self,
        clique: int,
        own: list[Factor],
        inbox: list[tuple[int, Factor]],
        keep: frozenset[int],
    ) -> tuple[Factor, float]:
        """The product of a clique's tables and incoming messages, summed to the variables of
        `keep` that they mention, rescaled to sum to one; and the scale (its total)."""
        ins = [*own, *(f for _, f in inbox)]
        if len(ins) == 1:  # passed on, summed over what the receiver lacks
            values, held = ins[0]
            labels = tuple(v for v in held if v in keep)
            if labels != held:
                values = values.sum(axis=tuple(a for a, v in enumerate(held) if v not in keep))
        else:
            labels = tuple(dict.fromkeys(v for _, held in ins for v in held if v in keep))
            values = self._contract(clique, ins, labels)
        total = float(values.sum())
        return (values / total if total > 0.0 else values, labels), total

    def _contract(self, clique: int, factors: list[Factor], output: tuple[int, ...]) -> FloatArray:
        """The product of `factors` (over variables of `clique`) summed to `output`: one
        einsum loop if small (labelled by the variables' places in the clique: a row of many
        findings makes most patterns new, and a remembered contraction cost more to build
        than to run), else a remembered `Contraction`."""
        place = self.places[clique]
        size, seen = 1, 0
        cards = self.tree.cards
        for _, held in factors:
            for v in held:
                if not seen >> place[v] & 1:
                    seen |= 1 << place[v]
                    size *= cards[v]
        if size <= _DIRECT:
            operands: list[Any] = []  # einsum's interleaved form, which numpy's stubs lack
            for f, held in factors:
                operands += [f, [place[v] for v in held]]
            return np.asarray(np.einsum(*operands, [place[v] for v in output]))
        factors = sorted(factors, key=_held)  # the same operands in any order: one plan
        key = (output, *[held for _, held in factors])  # (their shapes follow)
        contraction = self._contractions.get(key)
        if contraction is None:
            inputs = ["".join([_LETTERS[place[v]] for v in held]) for _, held in factors]
            shapes = [f.shape for f, _ in factors]
            contraction = Contraction(inputs, shapes, "".join(_LETTERS[place[v]] for v in output))
            if len(self._contractions) >= _CACHE:
                self._contractions.clear()
            self._contractions[key] = contraction
        return contraction([f for f, _ in factors])

    def _factors(
        self, likelihoods: Mapping[int, FloatArray], needed: int
    ) -> tuple[dict[int, list[Factor]], dict[int, int], dict[int, int], dict[int, tuple[Any, ...]]]:
        """Per clique, the tables of the `needed` variables (sliced at hard findings) and the
        soft findings' vectors; the hard findings' states; and each needed variable's clique:
        its family's smallest, but a root's table joins a needed child's (fewer cliques to
        pass messages between: on munin most targets are roots); and per clique what its
        factors are, as a key: a table's variable (with the states it is sliced at), a soft
        finding's variable and weights."""
        hard: dict[int, int] = {}
        soft: list[tuple[int, FloatArray]] = []
        for v, likelihood in likelihoods.items():
            vector = likelihood.ravel()
            nonzero = np.flatnonzero(vector)
            if nonzero.size == 1 and vector[nonzero[0]] == 1.0:
                hard[v] = int(nonzero[0])
            else:
                soft.append((v, vector))
        marked = sum(1 << v for v in hard)
        cpts, families, masks = self.network.cpts, self.families, self.family_masks
        factors: dict[int, list[Factor]] = {}
        marks: dict[int, tuple[Any, ...]] = {}
        where: dict[int, int] = {}
        for v in reversed(_bits(needed)):  # children first (the variables are in topological order)
            table, family = cpts[v], families[v]
            clique = self.clique[v]
            if len(family) == 1:
                clique = next((where[u] for u in self.children[v] if u in where), clique)
            where[v] = clique
            mark: Any = v
            if masks[v] & marked:
                index = tuple(hard.get(u, slice(None)) for u in family)
                mark = (v, *(hard.get(u, -1) for u in family))
                table = table[index]
                family = tuple(u for u in family if u not in hard)
            factors.setdefault(clique, []).append((table, family))
            marks[clique] = (*marks.get(clique, ()), mark)
        for v, vector in soft:
            factors.setdefault(where[v], []).append((vector, (v,)))
            marks[where[v]] = (*marks.get(where[v], ()), (v, vector.tobytes()))
        return factors, hard, where, marks

    def _subtree(self, cliques: Sequence[int]) -> tuple[int, int]:
        """The smallest subtree joining `cliques` (a bit mask) and its top clique."""
        union, common = 0, -1
        for c in cliques:
            union |= self.up[c]
            common &= self.up[c]
        top = max(_bits(common), key=self.depth.__getitem__)
        return union & ~(common & ~(1 << top)), top


def _held(factor: Factor) -> tuple[int, ...]:
    return factor[1]


def _bits(mask: int) -> list[int]:
    """The positions of the ones in `mask`."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out
