"""Numbers as CSV text, formatted once per column with NumPy: fixed decimals, or round-trip.

Probabilities need a fixed number of decimals, not the 17 significant digits of a round-trip
repr: `fixed_text` writes every finite number with exactly `decimals` digits after the point
(`0.764259`, `-15.047954`, `1.000000`), rounded half to even from the double scaled by
10**decimals, so each printed value is within half a unit of its last digit of the double
(`abs(float(text) - x) <= 0.5 * 10**-decimals`, up to one rounding of the scaling). NaN is an
empty cell (null), infinities `inf` and `-inf` (as Arrow writes them). `ROUND_TRIP` (None) asks
for Arrow's shortest round-trip text instead (`float(text) == x` exactly).

The digits are cut from one integer per value into a (rows, width) byte matrix, right aligned,
then packed into an Arrow string array: no Python object per cell.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

#: Decimals written unless asked otherwise: probabilities to within 5e-7.
DEFAULT_PRECISION = 6
#: Asks for the shortest text that reads back as the same double (`--precision full`).
ROUND_TRIP = None
#: Most decimals asked for: 10**15 times a probability is still exact to a fraction of a unit
#: in a double (for more, ask for the round trip).
MAX_PRECISION = 15
#: Decimal digits of the largest unsigned 64-bit integer.
_DIGITS = 20
_POWERS = np.array([10**k for k in range(_DIGITS)], dtype=np.uint64)
#: "000" .. "999" as rows of ASCII digits.
_TRIPLES = np.frombuffer("".join(f"{k:03d}" for k in range(1000)).encode(), np.uint8).reshape(-1, 3)

Precision = int | None


def check_precision(precision: Precision) -> Precision:
    """`precision` checked: None (round trip) or decimals from 0 to MAX_PRECISION."""
    if precision is ROUND_TRIP:
        return precision
    if isinstance(precision, bool) or not isinstance(precision, int):
        raise TypeError(f"precision must be an int or None, got {precision!r}")
    if not 0 <= precision <= MAX_PRECISION:
        raise ValueError(f"precision must be from 0 to {MAX_PRECISION} decimals, got {precision}")
    return precision


def number_text(column: Any, precision: Precision) -> Any:
    """An Arrow float column (or array) as CSV cell text: `fixed_text`, or Arrow's round-trip
    text (each distinct value cast once) for `ROUND_TRIP`; nulls stay null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if precision is ROUND_TRIP or not pa.types.is_floating(column.type):
        encoded = pc.dictionary_encode(column)
        return pc.take(pc.cast(encoded.dictionary, pa.string()), encoded.indices)
    values = column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    return fixed_text(values, precision)


def fixed_text(values: npt.NDArray[np.float64], decimals: int) -> Any:
    """`values` as an Arrow string array, each with `decimals` decimals (see the module)."""
    import pyarrow as pa

    finite = np.isfinite(values)
    with np.errstate(over="ignore"):  # too large to scale: written by Python below
        scaled = np.abs(np.where(finite, values, 0.0)) * 10.0**decimals
    huge = scaled >= 2.0**63  # beyond uint64: formatted by Python (never a probability)
    digits = np.rint(np.where(huge, 0.0, scaled)).astype(np.uint64)
    negative = np.signbit(values) & finite
    data, offsets = _packed(digits, negative, decimals)
    text = pa.StringArray.from_buffers(
        len(values), pa.py_buffer(offsets), pa.py_buffer(data), _validity(~np.isnan(values))
    )
    odd = huge | np.isinf(values)
    if odd.any():
        text = _patched(text, values, odd, decimals)
    return text


def _packed(
    digits: npt.NDArray[np.uint64], negative: npt.NDArray[np.bool_], decimals: int
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]:
    """The bytes of every value back to back, and the Arrow offsets of each value's text."""
    whole = digits // _POWERS[decimals]
    places = np.searchsorted(_POWERS[1:], whole, side="right") + 1  # digits before the point
    most = int(places.max(initial=1))
    point = 1 if decimals else 0
    width = 1 + most + point + decimals  # a sign, the digits, the point
    matrix = np.empty((len(digits), width), dtype=np.uint8)
    figures = _figures(digits, most + decimals)
    matrix[:, width - decimals :] = figures[:, figures.shape[1] - decimals :]
    matrix[:, 1 : 1 + most] = figures[
        :, figures.shape[1] - decimals - most : figures.shape[1] - decimals
    ]
    if point:
        matrix[:, 1 + most] = ord(".")
    lengths = (places + point + decimals + negative).astype(np.int32)
    signed = np.flatnonzero(negative)
    matrix[signed, width - lengths[signed]] = ord("-")
    keep = np.arange(width)[None, :] >= (width - lengths)[:, None]
    offsets = np.zeros(len(digits) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return matrix[keep], offsets


def _figures(digits: npt.NDArray[np.uint64], count: int) -> npt.NDArray[np.uint8]:
    """The last `count` (or a few more) decimal digits of each value as ASCII, zero padded:
    three at a time from a table of the 1,000 triples."""
    groups = -(-count // 3)
    out = np.empty((len(digits), 3 * groups), dtype=np.uint8)
    rest = digits.copy()
    for g in range(groups - 1, -1, -1):
        out[:, 3 * g : 3 * g + 3] = _TRIPLES[(rest % 1000).astype(np.intp)]
        rest //= 1000
    return out


def _validity(valid: npt.NDArray[np.bool_]) -> Any:
    """Arrow's validity bitmap for `valid` (None when every value is valid)."""
    import pyarrow as pa

    if valid.all():
        return None
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def _patched(text: Any, values: npt.NDArray[np.float64], odd: Any, decimals: int) -> Any:
    """`text` with the infinities and the numbers too large to scale written by Python."""
    import pyarrow as pa

    cells = text.to_pylist()
    for i in np.flatnonzero(odd).tolist():
        value = float(values[i])
        cells[i] = ("-inf" if value < 0 else "inf") if np.isinf(value) else f"{value:.{decimals}f}"
    return pa.array(cells, type=pa.string())
