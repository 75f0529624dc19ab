"""How probabilities read on a terminal: percentages and bars, shared by the CLI commands."""

from __future__ import annotations

import re
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

#: Characters of a bar at probability 1.
BAR_WIDTH = 30
#: The shortest bar at probability 1, on a narrow terminal.
MIN_BAR = 10


def percent(p: float) -> str:
    """`p` as a whole percentage, never rounded to a certainty it is not: "<1%" and ">99%"."""
    text = f"{p:.0%}"
    if text == "0%" and p > 0.0:
        return "<1%"
    if text == "100%" and p < 1.0:
        return ">99%"
    return text


def bars(probabilities: pd.Series, width: int | None = None) -> list[str]:
    """One line per entry: its label, its probability to 0.1% and a bar as long as it; within
    `width` characters if given (long labels cut with "…", a shorter bar)."""
    bar = BAR_WIDTH if width is None else max(MIN_BAR, min(BAR_WIDTH, width // 4))
    labels = [str(label) for label in probabilities.index]
    longest = max(len(label) for label in labels)
    if width is not None:
        longest = min(longest, max(8, width - bar - 12))
        labels = [cut(label, longest) for label in labels]
    return [
        f"  {label:<{longest}}  {p:6.1%}  {'█' * round(float(p) * bar)}"
        for label, p in zip(labels, probabilities.to_numpy())
    ]


def cut(text: str, width: int) -> str:
    """`text` in at most `width` characters, ending in "…" when it was cut."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


#: A list item's indent and percentage ("  80%  "): its text continues under the text.
_PERCENT_ITEM = re.compile(r" *[<>]?\d+% +")


def wrapped(text: str, width: int) -> str:
    """`text` with each line longer than `width` wrapped on spaces (never inside a word, unless
    a word alone is wider), its continuation lines indented to where the line's item text
    starts ("  80%  A transient stall ..." continues under "A"; other lines two columns
    further in than they start)."""
    out: list[str] = []
    for line in text.splitlines():
        if len(line) <= width:
            out.append(line)
            continue
        item = _PERCENT_ITEM.match(line)
        start = item.end() if item else len(line) - len(line.lstrip(" ")) + 2
        indent = min(start, width // 2)
        out += textwrap.wrap(
            line,
            width=width,
            subsequent_indent=" " * indent,
            break_on_hyphens=False,
            drop_whitespace=True,
        )
    return "\n".join(out)


CAUSES_HELP = "comma-separated nodes to diagnose (default: the model's causes; for BIF, its roots)"


def causes_list(text: str) -> list[str]:
    """The node ids of a --causes value ("tub,lung,bronc")."""
    return [name.strip() for name in text.split(",") if name.strip()]
