"""Id arrays laid out like the data they describe (units: elements; ids are int64, -1 = a
constant). Every view or copy decision numpy makes for an array's data it must make for its ids,
so the ids get the data's memory layout."""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

I64 = np.int64


def ids_like(data: np.ndarray) -> np.ndarray:
    """An uninitialized int64 array with the memory layout of `data`, in element units, so that
    every view/copy decision numpy makes for `data` (reshape, ravel, ...) it makes for the ids."""
    if data.flags.c_contiguous or data.size <= 1:
        return np.empty(data.shape, I64)
    if data.flags.f_contiguous:
        return np.empty(data.shape, I64, order="F")
    isz = data.itemsize
    if any(s % isz for s in data.strides) or any(s == 0 for s, n in zip(data.strides, data.shape) if n > 1):
        return np.empty(data.shape, I64)
    su = [s // isz for s in data.strides]
    lo = sum(s * (n - 1) for s, n in zip(su, data.shape) if s < 0)
    hi = sum(s * (n - 1) for s, n in zip(su, data.shape) if s > 0)
    buf = np.empty(hi - lo + 1, I64)
    return as_strided(buf[-lo:], data.shape, [s * 8 for s in su])


def same_pattern(a: np.ndarray, b: np.ndarray) -> bool:
    """Do a and b (of any itemsizes) have the same shape and element strides?"""
    if a.shape != b.shape:
        return False
    if a.size <= 1:
        return True
    return all(sa * b.itemsize == sb * a.itemsize for sa, sb, n in zip(a.strides, b.strides, a.shape)
               if n > 1)


def fresh_ids(data: np.ndarray, ids_c: np.ndarray) -> np.ndarray:
    """Ids (given in C order, any shape with data.size elements) laid out like `data`."""
    if data.flags.c_contiguous or data.size <= 1:
        return np.ascontiguousarray(ids_c, dtype=I64).reshape(data.shape)
    out = ids_like(data)
    out[...] = ids_c.reshape(data.shape)
    return out


def constant_ids(data: np.ndarray) -> np.ndarray:
    """All -1 (constants), laid out like `data`."""
    if data.flags.c_contiguous or data.size <= 1:
        return np.full(data.shape, -1, I64)
    ids = ids_like(data)
    ids[...] = -1
    return ids


def norm_axes(axis, ndim) -> tuple:
    """numpy's `axis` argument (None, int or sequence) as sorted non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(int(a) for a in axis)
    else:
        axes = (int(axis),)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim)
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError("duplicate value in 'axis'")
    return tuple(sorted(out))
