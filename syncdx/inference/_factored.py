"""Large clique tables kept as their factors, for single rows: contracted, never multiplied out.

A large clique's table is the product of the conditional tables assigned to it and the prior
messages into it; most large cliques of a triangulated network hold few or none of the former
(on mildew the 1.5M-entry clique holds none: its table is three separator-sized messages).
Reading the joint table costs a pass over every entry per message; contracting the factors
pairwise (as pyAgrum's LazyPropagation combines its potentials only when it must) costs a few
small matrix products instead: 0.17 ms against 1.7 ms for mildew's largest message.

A `FactoredKernel` is a drop-in for a large `RowKernel`: the same inputs (factors broadcasting
over the clique's axes, hard findings as fixed states) and outputs. Its contraction order is
found once per pattern of input shapes (see `_contract`) and remembered.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from syncdx.inference._contract import Contraction
from syncdx.inference._kernels import BROADCAST_ENTRIES, Fixed
from syncdx.inference._tree import Cliques
from syncdx.inference._triangulate import smallest
from syncdx.network._network import FloatArray, Network

#: A table factorises enough to be contracted when its largest factor is at most this share of it.
_SHARE = 4
#: Most contraction plans a kernel remembers before it forgets them all.
_PLANS = 1 << 10

#: How one operand is sliced: its index (0 on broadcast axes, all of a free one) and the axes
#: whose place in it takes the fixed state.
_Cut = tuple[tuple[Any, ...], tuple[int, ...]]
_ALL = slice(None)
#: (bit, prior message) of each neighbour's prior a kernel leaves out where that neighbour's
#: message is live (the bit is the neighbour's place among the clique's neighbours).
Priors = tuple[tuple[int, FloatArray], ...]


class _Output(NamedTuple):
    """One output of a `_Plan`: its contraction and how its values are laid out."""

    contraction: Contraction
    full: tuple[int, ...]  # the states of its kept axes
    sliced: tuple[int, ...]  # the same, one state at each fixed axis
    at: tuple[tuple[int, int], ...]  # (place among the kept axes, axis) of each fixed one:
    # the output is then spread back over its kept axes, zero off the fixed states
    size: int  # its flat entries


class _Plan(NamedTuple):
    """How a `FactoredKernel` runs for one pattern of input shapes and fixed axes."""

    cuts: tuple[_Cut, ...]  # of each input factor
    parts: tuple[tuple[FloatArray, _Cut | None], ...]  # each part, sliced already or its cut
    outputs: tuple[_Output, ...]


class FactoredKernel:
    """A clique's table as `parts` (arrays broadcasting over its axes of `shape`), read as a
    `RowKernel` with `axes` (per output, the axes summed away) and outputs times `scale`.

    A `compact` kernel leaves each output at the fixed states only (a kept fixed axis has one
    state), for a receiver that reads no further: a message between two large cliques."""

    __slots__ = ("_plans", "axes", "compact", "parts", "priors", "scale", "shape")

    def __init__(
        self,
        parts: tuple[FloatArray, ...],
        shape: tuple[int, ...],
        axes: tuple[tuple[int, ...], ...],
        scale: FloatArray | None,
        compact: bool = False,
        priors: Priors = (),
    ) -> None:
        self.parts, self.shape, self.axes, self.scale = parts, shape, axes, scale
        self.compact = compact
        self.priors = priors
        self._plans: dict[tuple[object, ...], _Plan] = {}

    def __call__(
        self, x: FloatArray | tuple[FloatArray, ...], fixed: Fixed = (), live: int = 0
    ) -> tuple[float, FloatArray]:
        """The row's total and its flat outputs divided by it (NaN if the total is not
        positive), as `RowKernel` computes them; the `priors` whose bits are in `live` are
        left out (their messages are among the inputs, whole, not as ratios)."""
        factors = x if type(x) is tuple else (x.reshape(self.shape),)  # type: ignore[union-attr]
        key = (live, *[f.shape for f in factors], *[a for a, _ in fixed])
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(factors, dict(fixed), live)
        states = dict(fixed)
        operands = [f[_index(cut, states)] for f, cut in zip(factors, plan.cuts)]
        for part, cut in plan.parts:
            operands.append(part if cut is None else part[_index(cut, states)])
        outs = [output.contraction(operands) for output in plan.outputs]
        total = float(outs[0].sum())
        if not total > 0.0:
            return total, np.full(sum(output.size for output in plan.outputs), np.nan)
        scale = self.scale if len(outs) == 1 else None  # multiplies a lone output (a message)
        flat = [
            self._spread(out, output, states, scale, total) if output.at else (out / total).ravel()
            for out, output in zip(outs, plan.outputs)
        ]
        out = flat[0] if len(flat) == 1 else np.concatenate(flat)
        if scale is not None and not plan.outputs[0].at:
            out *= scale
        return total, out

    def _plan(self, factors: Sequence[FloatArray], fixed: dict[int, int], live: int) -> _Plan:
        """(Remember and return) the plan for factors of these shapes, these fixed axes and
        these `live` priors left out: each operand sliced at the fixed states (their axes and
        broadcast axes dropped), and per output its contraction and, where it keeps a fixed
        axis, its kept axes."""
        letters = string.ascii_letters
        own = (*self.parts, *[prior for bit, prior in self.priors if not bit & live])
        cuts, inputs, shapes = [], [], []
        for op in (*factors, *own):
            shape = op.shape
            free = [a for a, n in enumerate(shape) if n > 1 and a not in fixed]
            at = tuple(a for a, n in enumerate(shape) if n > 1 and a in fixed)
            cuts.append((tuple(0 if n == 1 else _ALL for n in shape), at))
            inputs.append("".join([letters[a] for a in free]))
            shapes.append(tuple([shape[a] for a in free]))
        outputs = []
        for summed in self.axes:
            kept = [a for a in range(len(self.shape)) if a not in summed]
            labels = "".join(letters[a] for a in kept if a not in fixed and self.shape[a] > 1)
            full = tuple(self.shape[a] for a in kept)
            sliced = tuple(1 if a in fixed else self.shape[a] for a in kept)
            held = tuple((k, a) for k, a in enumerate(kept) if a in fixed)
            size = math.prod(sliced if self.compact else full)
            outputs.append(_Output(Contraction(inputs, shapes, labels), full, sliced, held, size))
        parts = [
            (part[_index(cut, fixed)], None) if not cut[1] else (part, cut)
            for part, cut in zip(own, cuts[len(factors) :])
        ]
        plan = _Plan(tuple(cuts[: len(factors)]), tuple(parts), tuple(outputs))
        if len(self._plans) >= _PLANS:
            self._plans.clear()
        self._plans[(live, *[f.shape for f in factors], *fixed)] = plan
        return plan

    def _spread(
        self,
        out: FloatArray,
        output: _Output,
        states: dict[int, int],
        scale: FloatArray | None,
        total: float,
    ) -> FloatArray:
        """An output that keeps a fixed axis divided by `total` and times `scale` (flat over
        its kept axes, or None), flat, zero off the fixed states (unless `compact`: the slice
        alone): only the slice at those states is computed."""
        index: list[slice] = [_ALL] * len(output.full)
        for k, a in output.at:
            index[k] = slice(states[a], states[a] + 1)
        at = tuple(index)
        values = out.reshape(output.sliced) / total
        if scale is not None:
            values *= scale.reshape(output.full)[at]
        if self.compact:
            return values.ravel()
        full = np.zeros(output.full, dtype=out.dtype)
        full[at] = values
        return full.ravel()


def _index(cut: _Cut, states: dict[int, int]) -> tuple[Any, ...]:
    """An operand's index for the row: its cut with the fixed axes at their states."""
    index, at = cut
    if not at:
        return index
    out = list(index)
    for a in at:
        out[a] = states[a]
    return tuple(out)


def factored_kernel(
    tree: Cliques,
    clique: int,
    senders: Sequence[int],
    segments: Sequence[tuple[int, ...]],
    scale: FloatArray | None = None,
    compact: bool = False,
    whole: bool = False,
) -> FactoredKernel | None:
    """The kernel of `clique`'s table times the prior messages from `senders`, to the joint
    states of each segment (a tuple of axes, in table order), outputs times `scale` (and
    `compact`, see `FactoredKernel`); None where the table is better read whole (see
    `factored`). With `whole`, messages into the clique come whole, not as ratios to their
    priors: the kernel leaves out the prior of each live one."""
    own = tree.cliques[clique]
    shape = tuple(tree.cards[v] for v in own)
    priors = []
    for n in senders:
        sep = tree.separators[(n, clique)]
        priors.append(
            tree.prior[(n, clique)].reshape([k if v in sep else 1 for v, k in zip(own, shape)])
        )
    parts = factored(tree.parts[clique], shape, priors)
    if parts is None:
        return None
    axes = tuple(tuple(a for a in range(len(own)) if a not in s) for s in segments or [()])
    flat = None if scale is None else scale.ravel()
    if not whole:
        return FactoredKernel(parts, shape, axes, flat, compact)
    held = len(tree.parts[clique])
    bits = tuple(1 << tree.neighbours[clique].index(n) for n in senders)
    kept = (*parts[:held], *parts[held + len(priors) :])  # the tables and the ones
    return FactoredKernel(kept, shape, axes, flat, compact, tuple(zip(bits, priors)))


def takes_whole(tree: Cliques, clique: int) -> bool:
    """Whether every kernel of `clique` (its belief, its message to each neighbour) reads its
    table as factors (see `factored`), so that messages into it can come whole: each kernel
    leaves out the prior of a live one, where a ratio to it would be multiplied back by it."""
    shape = tuple(tree.cards[v] for v in tree.cliques[clique])
    sizes = [p.size for p in tree.parts[clique]]
    sizes += [tree.prior[(n, clique)].size for n in tree.neighbours[clique]]
    size = math.prod(shape)
    if size < BROADCAST_ENTRIES or len(shape) > len(string.ascii_letters) or len(sizes) < 2:
        return False  # (fewer than two factors: a message kernel may have none)
    return max(sizes) * _SHARE <= size


def factored(
    parts: Sequence[FloatArray], shape: tuple[int, ...], priors: Sequence[FloatArray]
) -> tuple[FloatArray, ...] | None:
    """The factors of a large table (its conditional tables, then `priors`, all broadcasting
    over `shape`), or None where the table is small or one factor is a large share of it (a
    pass over the joint table is then as cheap), or has too many axes for einsum's letters."""
    size = math.prod(shape)
    every = (*parts, *priors)
    if size < BROADCAST_ENTRIES or len(shape) > len(string.ascii_letters) or not every:
        return None
    if max(p.size for p in every) * _SHARE > size:
        return None
    covered = [any(p.shape[a] > 1 for p in every) for a in range(len(shape))]
    ones = tuple(
        np.ones([n if b == a else 1 for b in range(len(shape))])
        for a, n in enumerate(shape)
        if n > 1 and not covered[a]
    )
    return (*every, *ones)


def table_parts(
    network: Network, cliques: Sequence[tuple[int, ...]], holding: Sequence[Sequence[int]]
) -> tuple[tuple[FloatArray, ...], ...]:
    """Per clique, the conditional tables multiplied into it (as `base_potentials` assigns
    them), each with its axes in the clique's order, broadcasting over the clique's axes."""
    out: list[list[FloatArray]] = [[] for _ in cliques]
    for var, (parents, cpt) in enumerate(zip(network.parents, network.cpts)):
        family = (*parents, var)
        c = smallest(cliques, (c for c in holding[var] if set(family) <= set(cliques[c])))
        own = cliques[c]
        order = sorted(range(len(family)), key=lambda i: own.index(family[i]))
        view = np.ascontiguousarray(np.transpose(cpt, order))  # a matrix product reads it
        # without a copy (a copy per call was most of a large clique's message)
        missing = [a for a, v in enumerate(own) if v not in family]
        out[c].append(np.expand_dims(view, missing) if missing else view)
    return tuple(tuple(parts) for parts in out)
