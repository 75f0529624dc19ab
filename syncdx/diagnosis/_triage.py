"""Conflict triage: are these answers unusual together (a rare case, or a wrong answer)?

For findings e_1..e_n, Hugin's conflict measure (Jensen, Chamberlain, Nordahl and Andersen,
1991) is conf(e) = log2 prod_i P(e_i) / P(e): positive when the findings are less probable
together than each is alone, which is what a mistaken answer tends to look like (findings
that share a cause are more probable together). Each finding's `share` is its term of the
chain rule in the order given, log2 P(e_i) / P(e_i | e_<i): the shares add up to conf(e).
`p_given_others` is P(e_i | every other finding), the answer to re-check when it is small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from syncdx.diagnosis._findings import Finding
from syncdx.network._network import FloatArray

if TYPE_CHECKING:
    import pandas as pd

LN2 = math.log(2.0)
#: A conflict above this many bits is flagged (rounding aside, any positive conflict).
FLAG_BITS = 1e-9


@dataclass(frozen=True, slots=True)
class Conflict:
    """The conflict triage of a set of findings (see the module).

    `table`: one row per finding (finding, answer, p_alone, p_given_others, share in bits).
    `score`: conf(e) in bits; `flagged`: whether it is positive; `message` says what to do.
    """

    score: float
    flagged: bool
    message: str
    table: pd.DataFrame

    def __repr__(self) -> str:
        return f"<Conflict {self.score:+.2f} bits: {self.message}>"


def conflict_masks(n: int) -> np.ndarray:
    """(2n + 1 + n, n) masks: the prefixes of the findings (n + 1, the last one all of them),
    each finding alone (n), and all but each finding (n)."""
    prefixes = np.tri(n + 1, n, -1, dtype=bool)
    alone = np.eye(n, dtype=bool)
    return np.concatenate([prefixes, alone, ~alone])


def triage(findings: tuple[Finding, ...], log_e: FloatArray) -> Conflict:
    """The conflict of `findings` from log P(e_S) over `conflict_masks` (natural logs)."""
    import pandas as pd

    n = len(findings)
    prefix, alone, others = log_e[: n + 1], log_e[n + 1 : 2 * n + 1], log_e[2 * n + 1 :]
    full = prefix[-1]
    with np.errstate(invalid="ignore", over="ignore"):
        share = (alone - np.diff(prefix)) / LN2
        given = np.exp(full - others)
    score = float(share.sum()) if n > 1 else 0.0
    table = pd.DataFrame(
        {
            "finding": [f.id for f in findings],
            "answer": [f.answer for f in findings],
            "p_alone": np.exp(alone),
            "p_given_others": given,
            "share": share if n > 1 else np.zeros(n),
        }
    )
    flagged = score > FLAG_BITS
    return Conflict(score, flagged, _message(table, score, flagged), table)


def _message(table: pd.DataFrame, score: float, flagged: bool) -> str:
    """What the conflict says to a person."""
    if len(table) < 2:
        return "fewer than two findings: nothing to conflict"
    if not flagged:
        return f"no conflict: the answers fit together ({score:+.2f} bits)"
    row = table.iloc[int(np.nanargmin(table["p_given_others"].to_numpy()))]
    return (
        f"these answers are unusual together ({score:+.2f} bits): re-check "
        f"{row['finding']} = {row['answer']} (P = {row['p_given_others']:.1%} given the others)"
    )
