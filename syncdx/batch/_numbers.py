"""Numbers as CSV text, formatted once per column with NumPy: fixed decimals, or round-trip.

Probabilities need a fixed number of decimals, not the 17 significant digits of a round-trip
repr: `fixed_text` writes every finite number with exactly `decimals` digits after the point
(`0.764259`, `-15.047954`, `1.000000`), rounded half to even from the double scaled by
10**decimals, so each printed value is within half a unit of its last digit of the double
(`abs(float(text) - x) <= 0.5 * 10**-decimals`, up to one rounding of the scaling). NaN is an
empty cell (null), infinities `inf` and `-inf` (as Arrow writes them). `ROUND_TRIP` (None) asks
for Arrow's shortest round-trip text instead (`float(text) == x` exactly).

The digits are cut from one integer per value into a (rows, columns, width) byte matrix, each
cell right aligned in its slot and followed by a comma, then packed into an Arrow string array
(the cells of a row joined, see `number_run`): no Python object, no Arrow join per cell.
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
#: Values formatted together: their intermediate arrays stay in the CPU's cache.
BLOCK_VALUES = 1 << 15
_POWERS = np.array([10**k for k in range(_DIGITS)], dtype=np.uint64)
#: "0000" .. "9999" in ASCII, each read as one 32-bit word.
_QUADS = np.frombuffer("".join(f"{k:04d}" for k in range(10_000)).encode(), "<u4")

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
    return fixed_text(_floats(column), precision)


def number_run(columns: list[Any], precision: Precision) -> list[Any]:
    """Arrow float columns as CSV text, a null or NaN an empty cell (see `number_text`): one
    column of each row's cells joined by commas, or for `ROUND_TRIP` one column per column
    (joined with the others' in one pass by the caller)."""
    import pyarrow.compute as pc

    if precision is ROUND_TRIP:
        return [pc.fill_null(number_text(c, precision), "") for c in columns]
    return [fixed_run(np.column_stack([_floats(c) for c in columns]), precision)]


def _floats(column: Any) -> npt.NDArray[np.float64]:
    """An Arrow float column as float64, nulls as NaN."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)


def fixed_text(values: npt.NDArray[np.float64], decimals: int) -> Any:
    """`values` as an Arrow string array, each with `decimals` decimals, NaN null (see the
    module)."""
    import pyarrow as pa

    text = fixed_run(values[:, None], decimals)
    valid = ~np.isnan(values)
    if valid.all():
        return text
    offsets, data = text.buffers()[1:]
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.StringArray.from_buffers(len(values), offsets, data, bitmap)


def fixed_run(values: npt.NDArray[np.float64], decimals: int) -> Any:
    """The rows of `values` (rows, columns) as an Arrow string array: each row's numbers with
    `decimals` decimals, joined by commas (NaN: an empty cell)."""
    import pyarrow as pa

    step = max(1, BLOCK_VALUES // max(1, values.shape[1]))
    pieces = []
    for start in range(0, len(values), step):  # block by block: temporaries stay in cache
        block = values[start : start + step]
        digits = _scaled(block, decimals)
        if digits is None:  # beyond uint64 (never a probability): Python formats them
            return _by_python(values, decimals)
        pieces.append(_packed(digits, block, decimals))
    data = np.concatenate([p[0] for p in pieces]) if pieces else np.zeros(0, np.uint8)
    ends = [p[1][1:] for p in pieces]
    shift = np.cumsum([0] + [int(e[-1]) for e in ends[:-1]])
    offsets = np.concatenate([np.zeros(1, np.int64), *(e + d for e, d in zip(ends, shift))])
    offsets = _checked(offsets)
    return pa.StringArray.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(data))


def _scaled(values: npt.NDArray[np.float64], decimals: int) -> npt.NDArray[np.uint64] | None:
    """Each value's magnitude times 10**decimals, rounded half to even (0 where not finite);
    None if one is too large for an unsigned 64-bit integer."""
    finite = np.isfinite(values)
    with np.errstate(over="ignore", invalid="ignore"):  # too large to scale: see _by_python
        scaled = np.abs(np.where(finite, values, 0.0)) * 10.0**decimals
    if (scaled >= 2.0**63).any():
        return None
    return np.rint(scaled).astype(np.uint64)


def _packed(
    digits: npt.NDArray[np.uint64], values: npt.NDArray[np.float64], decimals: int
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """The bytes of every row's cells back to back (commas between), and each row's offset."""
    rows, columns = digits.shape
    nan, infinite = np.isnan(values), np.isinf(values)
    negative = np.signbit(values) & ~nan
    whole = digits // _POWERS[decimals]
    if whole.max(initial=0) < 10:  # one figure before the point everywhere (probabilities)
        places = np.ones(digits.shape, dtype=np.intp)
    else:
        places = np.searchsorted(_POWERS[1:], whole, side="right") + 1
    most = max(int(places.max(initial=1)), 3 if infinite.any() else 1)
    point = 1 if decimals else 0
    sign = 1 if negative.any() else 0
    width = sign + most + point + decimals
    matrix = np.empty((rows, columns, width + 1), dtype=np.uint8)  # + a comma
    _write_figures(matrix, digits, most, decimals, sign)
    if point:
        matrix[:, :, sign + most] = ord(".")
    matrix[:, :, width] = ord(",")
    lengths = places + point + decimals + negative
    if not sign and not nan.any() and not infinite.any() and (places == most).all():
        line = columns * (width + 1) - 1  # every cell as wide: no packing
        offsets = np.arange(rows + 1, dtype=np.int64) * line
        return matrix.reshape(rows, -1)[:, :line].ravel(), offsets
    if infinite.any():
        lengths[infinite] = 3 + negative[infinite]
        matrix[infinite, width - 3 : width] = np.frombuffer(b"inf", np.uint8)
    lengths[nan] = 0
    signed = np.nonzero(negative)
    matrix[(*signed, width - lengths[signed])] = ord("-")
    keep = np.arange(width + 1) >= (width - lengths)[:, :, None]
    keep[:, -1, width] = False  # no comma after a row's last cell
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(lengths.sum(axis=1) + columns - 1, out=offsets[1:])
    return matrix[keep], offsets


def _checked(offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
    """`offsets` as Arrow string offsets (32-bit)."""
    if offsets[-1] >= 2**31:
        raise ValueError("too much text for one Arrow string array: score smaller chunks")
    return offsets.astype(np.int32)


def _write_figures(
    matrix: npt.NDArray[np.uint8],
    digits: npt.NDArray[np.uint64],
    most: int,
    decimals: int,
    sign: int,
) -> None:
    """Write the last `most + decimals` decimal figures of each value into its cell of
    `matrix` (rows, columns, cell bytes; C-contiguous): `most` zero-padded figures from byte
    `sign`, then (after the point's byte, if any) the `decimals` figures.

    Four figures at a time come from a table of "0000".."9999" read as 32-bit words, and go
    into every cell at once, as words written at the cells' stride (a copy of one byte per
    cell is four times slower); 32-bit arithmetic where the values fit."""
    count = most + decimals
    rest: npt.NDArray[np.unsignedinteger] = (
        digits.astype(np.uint32) if digits.max(initial=0) < 2**32 else digits
    )
    ten_thousand = rest.dtype.type(10_000)
    for group in range(-(-count // 4)):  # figures 4g .. 4g + 3, counted from the last
        high = rest // ten_thousand
        quad = np.take(_QUADS, (rest - high * ten_thousand).ravel())  # "0123": 3 is the last
        rest = high
        first, last = 4 * group, min(4 * group + 4, count)
        for lo, hi in _split(first, last, decimals):  # figures lo..hi-1 side by side in a cell
            # the figure `hi - 1` is the run's first byte: in the quad and in the cell
            source = 3 - (hi - 1 - first)
            if hi - 1 < decimals:
                target = sign + most + 1 + decimals - hi
            else:
                target = sign + most - 1 - (hi - 1 - decimals)
            _put_bytes(matrix, target, quad, source, hi - lo)


def _split(first: int, last: int, decimals: int) -> list[tuple[int, int]]:
    """Figures first..last-1 as runs that stay side by side in a cell (the point parts them)."""
    if first < decimals < last:
        return [(first, decimals), (decimals, last)]
    return [(first, last)]


def _put_bytes(
    matrix: npt.NDArray[np.uint8],
    target: int,
    words: npt.NDArray[np.uint32],  # little-endian
    source: int,
    size: int,
) -> None:
    """Copy bytes `source`..`source + size - 1` of each word into bytes `target`.. of its cell."""
    cell = matrix.shape[-1]
    cells = words.size
    while size:
        step = 4 if size == 4 else 2 if size >= 2 else 1
        kind = {4: "<u4", 2: "<u2", 1: "u1"}[step]  # little-endian: byte 0 is the low one
        into = np.ndarray((cells,), dtype=kind, buffer=matrix, offset=target, strides=(cell,))
        into[...] = words >> np.uint32(8 * source) if source else words  # (truncated to `kind`)
        target, source, size = target + step, source + step, size - step


def _by_python(values: npt.NDArray[np.float64], decimals: int) -> Any:
    """`fixed_run`, written by Python's formatting (for numbers too large to scale)."""
    import pyarrow as pa

    def cell(value: float) -> str:
        if np.isnan(value):
            return ""
        return ("-inf" if value < 0 else "inf") if np.isinf(value) else f"{value:.{decimals}f}"

    return pa.array([",".join(cell(v) for v in row) for row in values.tolist()], pa.string())
