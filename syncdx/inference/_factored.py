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
from typing import Any

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
#: (contraction, each operand's cut) of one output.
_Plan = tuple[Contraction, tuple[_Cut, ...]]


class FactoredKernel:
    """A clique's table as `parts` (arrays broadcasting over its axes of `shape`), read as a
    `RowKernel` with `axes` (per output, the axes summed away) and outputs times `scale`."""

    __slots__ = ("_plans", "axes", "parts", "scale", "shape")

    def __init__(
        self,
        parts: tuple[FloatArray, ...],
        shape: tuple[int, ...],
        axes: tuple[tuple[int, ...], ...],
        scale: FloatArray,
    ) -> None:
        self.parts, self.shape, self.axes, self.scale = parts, shape, axes, scale
        self._plans: dict[tuple[object, ...], list[_Plan]] = {}

    def __call__(
        self, x: FloatArray | tuple[FloatArray, ...], fixed: Fixed = ()
    ) -> tuple[float, FloatArray]:
        """The row's total and its flat outputs divided by it (NaN if the total is not
        positive), as `RowKernel` computes them."""
        factors = x if isinstance(x, tuple) else (x.reshape(self.shape),)
        operands = (*factors, *self.parts)
        key = (tuple(op.shape for op in operands), tuple(a for a, _ in fixed))
        plans = self._plans.get(key)
        if plans is None:
            plans = self._plan(operands, dict(fixed))
            if len(self._plans) >= _PLANS:
                self._plans.clear()
            self._plans[key] = plans
        states = dict(fixed)
        outs = []
        for (contraction, cuts), summed in zip(plans, self.axes):
            out = contraction([op[_index(cut, states)] for op, cut in zip(operands, cuts)])
            outs.append(self._spread(out, summed, states))
        total = float(outs[0].sum())
        out = (outs[0] if len(outs) == 1 else np.concatenate(outs)) * self.scale
        return total, out / total if total > 0.0 else np.full_like(out, np.nan)

    def _plan(self, operands: Sequence[FloatArray], fixed: dict[int, int]) -> list[_Plan]:
        """Per output, the einsum subscripts and contraction path over the operands sliced at
        the fixed states (their axes dropped), and each operand's index template."""
        letters = string.ascii_letters
        cuts, inputs = [], []
        for op in operands:
            index: list[Any] = []
            labels = ""
            for a, n in enumerate(op.shape):
                if n > 1 and a not in fixed:
                    labels += letters[a]
                index.append(0 if n == 1 else slice(None))
            at = tuple(a for a, n in enumerate(op.shape) if n > 1 and a in fixed)
            cuts.append((tuple(index), at))
            inputs.append(labels)
        shapes = [op[_index(cut, fixed)].shape for op, cut in zip(operands, cuts)]
        plans = []
        for summed in self.axes:
            kept = "".join(
                letters[a]
                for a in range(len(self.shape))
                if a not in summed and a not in fixed and self.shape[a] > 1
            )
            plans.append((Contraction(inputs, shapes, kept), tuple(cuts)))
        return plans

    def _spread(
        self, out: FloatArray, summed: tuple[int, ...], states: dict[int, int]
    ) -> FloatArray:
        """An output over its kept axes, flat, zero off the fixed states of any of them."""
        kept = [a for a in range(len(self.shape)) if a not in summed]
        if not any(a in states for a in kept):
            return out.ravel()
        full = np.zeros([self.shape[a] for a in kept], dtype=out.dtype)
        full[
            tuple(slice(states[a], states[a] + 1) if a in states else slice(None) for a in kept)
        ] = out.reshape([1 if a in states else self.shape[a] for a in kept])
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
) -> FactoredKernel | None:
    """The kernel of `clique`'s table times the prior messages from `senders`, to the joint
    states of each segment (a tuple of axes, in table order), outputs times `scale`; None where
    the table is better read whole (see `factored`)."""
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
    return FactoredKernel(parts, shape, axes, np.ones(1) if scale is None else scale.ravel())


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
    them), each a view broadcasting over the clique's axes."""
    out: list[list[FloatArray]] = [[] for _ in cliques]
    for var, (parents, cpt) in enumerate(zip(network.parents, network.cpts)):
        family = (*parents, var)
        c = smallest(cliques, (c for c in holding[var] if set(family) <= set(cliques[c])))
        own = cliques[c]
        order = sorted(range(len(family)), key=lambda i: own.index(family[i]))
        view = np.transpose(cpt, order)
        missing = [a for a, v in enumerate(own) if v not in family]
        out[c].append(np.expand_dims(view, missing) if missing else view)
    return tuple(tuple(parts) for parts in out)
