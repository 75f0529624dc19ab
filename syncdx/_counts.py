"""The one check of a count argument (k, top, n, samples, chunk_size, max_bytes ...)."""

from __future__ import annotations

import operator


def count(value: object, name: str, *, minimum: int = 0) -> int:
    """`value` as an int: a TypeError naming `name` unless it is an integer (a bool is not; a
    numpy integer is), a ValueError unless it is at least `minimum`."""
    wanted = "a non-negative integer" if minimum == 0 else f"an integer >= {minimum}"
    message = f"{name} must be {wanted}, got {value!r}"
    if isinstance(value, bool):
        raise TypeError(message)
    try:
        number = operator.index(value)  # type: ignore[arg-type]  # checked here, at run time
    except TypeError:
        raise TypeError(message) from None
    if number < minimum:
        raise ValueError(message)
    return number
