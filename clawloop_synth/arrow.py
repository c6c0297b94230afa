"""Arrow arrays from Python lists, built from numpy buffers.

``pa.array`` on Python objects imports pandas on its first call in a process (to recognise pandas
values among them): about half a second, paid by every stage that writes records or looks ids up, though
they hold only strings and numbers; ``Array.to_numpy`` imports it too. :func:`array` builds the same
array from buffers for the four types the record datasets use and leaves anything else to ``pa.array``;
:func:`to_numpy` reads a numeric array's buffer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["array", "to_numpy"]

_INT32_MAX = 2**31 - 1
# The Python types each Arrow type is built from here; a value of any other type goes to ``pa.array``,
# which converts or refuses it as it always did (a bool among floats, bytes among strings).
_PLAIN = {pa.string(): (str,), pa.float64(): (float, int), pa.int64(): (int,), pa.bool_(): (bool,)}
_NUMPY = {pa.float64(): np.dtype(np.float64), pa.int64(): np.dtype(np.int64)}
_FROM_BUFFER = {**_NUMPY, pa.uint64(): np.dtype(np.uint64)}


def array(values: Sequence[Any] | np.ndarray, arrow_type: pa.DataType) -> pa.Array:
    """``pa.array(values, type=arrow_type)``, None as null, without importing pandas where it can
    (``values`` a list, or a 1-D numpy array of the type's own dtype)."""
    if isinstance(values, np.ndarray):
        if values.ndim == 1 and values.dtype == _NUMPY.get(arrow_type):
            data = np.ascontiguousarray(values)
            return pa.Array.from_buffers(arrow_type, len(data), [None, pa.py_buffer(data)], 0)
        return pa.array(values, type=arrow_type)
    plain = _PLAIN.get(arrow_type)
    if plain is None or not all(v is None or type(v) in plain for v in values):
        return pa.array(values, type=arrow_type)
    n = len(values)
    present = np.fromiter((v is not None for v in values), dtype=bool, count=n)
    nulls = n - int(present.sum())
    validity = pa.py_buffer(np.packbits(present, bitorder="little")) if nulls else None
    if arrow_type == pa.string():
        encoded = [b"" if v is None else v.encode() for v in values]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        if offsets[-1] > _INT32_MAX:  # more than 32-bit offsets hold: let pyarrow say so
            return pa.array(values, type=arrow_type)
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.astype(np.int32)),
                                           pa.py_buffer(b"".join(encoded)), validity, nulls)
    if arrow_type == pa.bool_():
        bits = np.packbits(np.fromiter((bool(v) for v in values), dtype=bool, count=n), bitorder="little")
        return pa.Array.from_buffers(arrow_type, n, [validity, pa.py_buffer(bits)], nulls)
    dtype = np.float64 if arrow_type == pa.float64() else np.int64
    try:
        data = np.array([0 if v is None else v for v in values], dtype=dtype)
    except OverflowError:  # an int beyond 64 bits: pyarrow's error names it
        return pa.array(values, type=arrow_type)
    return pa.Array.from_buffers(arrow_type, n, [validity, pa.py_buffer(data)], nulls)


def to_numpy(values: pa.Array) -> np.ndarray:
    """``values.to_numpy()`` for an int64, uint64 or float64 array without nulls, read from its buffer."""
    dtype = _FROM_BUFFER.get(values.type)
    if dtype is None or values.null_count:
        return values.to_numpy(zero_copy_only=False)
    return np.frombuffer(values.buffers()[1], dtype=dtype, count=len(values),
                         offset=values.offset * dtype.itemsize).copy()
