"""How probabilities read on a terminal: percentages and bars, shared by the CLI commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

#: Characters of a bar at probability 1.
BAR_WIDTH = 30


def percent(p: float) -> str:
    """`p` as a whole percentage, never rounded to a certainty it is not: "<1%" and ">99%"."""
    text = f"{p:.0%}"
    if text == "0%" and p > 0.0:
        return "<1%"
    if text == "100%" and p < 1.0:
        return ">99%"
    return text


def bars(probabilities: pd.Series) -> list[str]:
    """One line per entry: its label, its probability to 0.1% and a bar as long as it."""
    width = max(len(str(label)) for label in probabilities.index)
    return [
        f"  {label!s:<{width}}  {p:6.1%}  {'█' * round(float(p) * BAR_WIDTH)}"
        for label, p in zip(probabilities.index, probabilities.to_numpy())
    ]


CAUSES_HELP = "comma-separated nodes to diagnose (default: the model's causes; for BIF, its roots)"


def causes_list(text: str) -> list[str]:
    """The node ids of a --causes value ("tub,lung,bronc")."""
    return [name.strip() for name in text.split(",") if name.strip()]
