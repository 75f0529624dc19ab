"""One row's walk over a compiled tree: the products of a clique's live inputs, and the
messages behind them, computed or found in each link's memo.

The walk goes from a target clique towards the evidence: a message with evidence behind it is
taken from its link's memo under the row's evidence key (masked to the link's field), or
computed from the messages behind it first, recursively (on an explicit stack past `_DEPTH`).
What a pass remembers between rows (memos, gather indices, kernels) is `_rowpass`'s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

import numpy as np
import numpy.typing as npt

from syncdx.inference._factored import FactoredKernel
from syncdx.inference._kernels import Fixed, RowKernel
from syncdx.inference._tree import Cliques
from syncdx.network._network import FloatArray

#: Nested messages computed by recursion before the walk uses an explicit stack.
_DEPTH = 100
#: Largest product of a large clique's inputs formed before its kernel runs.
_PRODUCT = 1 << 16

IndexArray = npt.NDArray[np.intp]
#: How a vector over some of a clique's variables covers the clique: a gather index over its
#: joint states (flat), or, for a large clique, the shape that broadcasts it over its axes.
Spread = IndexArray | tuple[int, ...]
#: A clique's live inputs: their product, flat, or (a large clique) factors broadcasting over it.
Factors = FloatArray | tuple[FloatArray, ...]
#: (variable, how its states cover the clique) of each variable homed in a clique.
Homed = tuple[tuple[int, Spread], ...]
#: (sending side's clique mask, link, how the separator covers the receiving clique) of each
#: message a clique may receive.
Senders = tuple[tuple[int, "Link", Spread], ...]
#: A memoised message: its ratio to the prior message (flat over the separator) and its `acc`.
Entry = tuple[FloatArray, float]


class Link:
    """A directed edge as the walk uses it: what its message depends on, and its kernel."""

    __slots__ = (
        "bit",
        "compact",
        "edge",
        "field",
        "homed",
        "kernel",
        "memo",
        "prior_log",
        "senders",
        "side",
    )

    def __init__(self, edge: tuple[int, int], prior_log: float, side: int) -> None:
        self.edge = edge
        self.side = side  # the sending side's clique mask
        self.field = 0  # bits of a row's evidence key on the sending side (set by the pass
        # before a walk reads the link)
        self.prior_log = prior_log
        self.homed: Homed = ()  # the variables homed in the sending clique
        self.senders: Senders | None = None  # messages into the sending clique, from its other
        # neighbours (set on first use)
        self.kernel: RowKernel | FactoredKernel | None = None  # built on first use
        self.compact = False  # whether its messages hold only the hard findings' states
        # in the separator (with the kernel: see `RowPass.link_kernel`)
        self.bit = 1 << 0  # the sender's place among the receiver's neighbours, as a bit
        self.memo: dict[int, Entry] = {}  # by the row's evidence key masked to `field`


class Inputs(Protocol):
    """What a walk reads of its pass: each clique's inputs and each link's kernel."""

    def inputs(self, clique: int) -> tuple[Homed, Senders]:
        """The clique's homed variables and the messages into it, with how each covers it
        (every link's field set)."""
        ...

    def link_kernel(self, link: Link) -> RowKernel | FactoredKernel:
        """Build (and set) the link's kernel and whether it is compact."""
        ...


class Walk:
    """One row's walk: its evidence vectors, evidence key and evidence clique mask, its hard
    findings' states, and how many messages it computed."""

    __slots__ = ("computed", "depth", "hard", "key", "mask", "rows", "tree", "vectors")

    def __init__(
        self,
        rows: Inputs,
        tree: Cliques,
        vectors: dict[int, FloatArray],
        key: int,
        mask: int,
        hard: dict[int, int],
    ) -> None:
        self.rows, self.tree = rows, tree
        self.vectors, self.key, self.mask, self.hard = vectors, key, mask, hard
        self.computed = self.depth = 0

    def fixed(self, clique: int) -> Fixed:
        """(axis, state) of each of the clique's variables with a hard finding: a belief's
        inputs are zero off that state, and a message's are too or its receiver's are (see
        `_rowpass`), and whatever the row computes from either meets the finding before the
        variable is summed out (the cliques holding a variable are connected)."""
        hard = self.hard
        return tuple((a, hard[v]) for a, v in enumerate(self.tree.cliques[clique]) if v in hard)

    def product(
        self, clique: int, homed: Homed, senders: Senders, kernel: RowKernel | FactoredKernel
    ) -> tuple[Factors, float, int]:
        """The product of a clique's live inputs (its own evidence, then messages with evidence
        behind them) as `kernel` reads it, the sum of the messages' accs, and the live
        messages' bits: flat over the clique's joint states, or (a kernel that reads the table
        by its axes) factors that broadcast over them, multiplied only while small (a factored
        kernel joins them as it plans)."""
        vectors, mask, key = self.vectors, self.mask, self.key
        x: FloatArray | None = None
        parts: list[FloatArray] = []
        for v, index in homed:
            vector = vectors.get(v)
            if vector is not None:
                if type(index) is tuple:  # a large clique
                    parts.append(vector.reshape(index))
                elif x is None:
                    x = vector[index]
                else:
                    x *= vector[index]
        acc = 0.0
        live = 0
        for side, link, index in senders:
            if side & mask:
                live |= link.bit
                masked = key & link.field
                entry = link.memo.get(masked)
                if entry is None:
                    entry = self.message(link, masked)
                if type(index) is tuple:
                    if link.compact and self.hard:  # one state at each hard finding
                        index = _sliced(self.tree.cliques[clique], index, self.hard)
                    parts.append(entry[0].reshape(index))
                elif x is None:
                    x = entry[0][index]
                else:
                    x *= entry[0][index]
                acc += entry[1]
        if parts:
            if type(kernel) is FactoredKernel:
                return tuple(parts), acc, live
            factors = _combine(parts)
            if kernel.axes:
                return factors, acc, live
            shape = self.tree.base[clique].shape  # the clique's
            flat = np.broadcast_to(math.prod(factors[1:], start=factors[0]), shape).ravel()
            return flat, acc, live
        assert x is not None, "every clique has evidence in it or on some neighbour's side"
        return x, acc, live

    def message(self, link: Link, masked: int) -> Entry:
        """Compute the message of `link` (as a ratio to the prior) and its acc; memoise them
        under `masked`, the row's evidence key masked to the link's field. Recursive (the
        messages behind it first) up to `_DEPTH` levels, then on an explicit stack: a chain
        of a thousand cliques would pass Python's recursion limit."""
        if self.depth >= _DEPTH:
            return self._stacked(link, masked)
        senders = link.senders
        if senders is None:
            senders = self._prepare(link)
        kernel = link.kernel
        if kernel is None:
            kernel = self.rows.link_kernel(link)
        self.depth += 1
        x, acc, live = self.product(link.edge[0], link.homed, senders, kernel)
        self.depth -= 1
        # every hard finding in the sending clique: homed behind it, or in the separator
        # (then part of the memo key: see `_rowpass`)
        total, ratio = run(
            kernel, x, self.fixed(link.edge[0]) if kernel.axes and self.hard else (), live
        )
        entry = link.memo[masked] = ratio, acc + log(total, self.tree.tiny) - link.prior_log
        self.computed += 1
        return entry

    def _stacked(self, link: Link, masked: int) -> Entry:
        """`message`, computing the missing messages behind it first, deepest first."""
        stack = [(link, masked)]
        while stack:
            top, key = stack[-1]
            senders = top.senders
            if senders is None:
                senders = self._prepare(top)
            missing = []
            for side, sender, _ in senders:
                if side & self.mask and self.key & sender.field not in sender.memo:
                    missing.append((sender, self.key & sender.field))
            if missing:
                stack += missing
            else:
                stack.pop()
                if key not in top.memo:  # every live message behind it known: no recursion
                    depth, self.depth = self.depth, 0
                    self.message(top, key)
                    self.depth = depth
        return link.memo[masked]

    def _prepare(self, link: Link) -> Senders:
        """Set (and return) the messages into the link's sending clique from its other
        neighbours, and the variables homed there."""
        source, target = link.edge
        link.homed, into = self.rows.inputs(source)
        senders = link.senders = tuple(s for s in into if s[1].edge[0] != target)
        return senders


def run(
    kernel: RowKernel | FactoredKernel, x: Factors, fixed: Fixed, live: int
) -> tuple[float, FloatArray]:
    """`kernel`'s total and outputs for the product `x`; a factored kernel leaves out the
    priors of the `live` messages (those that come whole)."""
    if type(kernel) is FactoredKernel:
        return kernel(x, fixed, live)
    return kernel(x, fixed)


def _combine(parts: list[FloatArray]) -> tuple[FloatArray, ...]:
    """Factors broadcasting over a large clique, the smallest multiplied together while their
    product stays below `_PRODUCT` entries; the rest are left to the kernel's `einsum`, which
    multiplies them entry by entry without a clique-sized product."""
    parts.sort(key=lambda a: a.size)
    out = [parts[0]]
    for part in parts[1:]:
        # every part has the clique's axes, each of size 1 or the variable's states
        if math.prod(map(max, out[-1].shape, part.shape)) <= _PRODUCT:
            out[-1] = out[-1] * part
        else:
            out.append(part)
    return tuple(out)


def _sliced(
    own: tuple[int, ...], shape: tuple[int, ...], hard: Mapping[int, int]
) -> tuple[int, ...]:
    """`shape` (an input broadcasting over the clique `own`) with one state at each variable
    that has a hard finding."""
    return tuple(1 if v in hard else n for v, n in zip(own, shape))


def log(total: float, tiny: float) -> float:
    """log of a row total; -inf for zero and for NaN (impossible evidence upstream), but NaN
    if `tiny` is set and the total is below it or infinite (the row must be redone)."""
    if total >= tiny and 0.0 < total < math.inf:
        return math.log(total)
    return math.nan if tiny else -math.inf
