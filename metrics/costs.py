"""Exact ByteDMD read costs (docs/cost_model.md section 1), in Python integers and as numba kernels.

    byte_prefix_cost(N)            S(N) = sum_{i=1..N} ceil(sqrt(i)), N a depth in bytes
    read_cost(byte_depth, nbytes)  cost of reading an element whose deepest byte is at byte_depth
    _read_cost / _cost_table       the same inside the numba pricing kernels (int64, exact)
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

def byte_prefix_cost(n: int) -> int:
    """S(N) = sum_{i=1..N} ceil(sqrt(i)) = M(6N - 2M^2 + 3M - 1)/6, M = ceil(sqrt(N)); exact
    (Python integers).  N is a depth in bytes."""
    if n <= 0:
        return 0
    m = math.isqrt(n)
    if m * m < n:
        m += 1
    return m * (6 * n - 2 * m * m + 3 * m - 1) // 6


def read_cost(byte_depth: int, nbytes: int) -> int:
    """Cost of reading an element of `nbytes` bytes whose deepest byte is at depth `byte_depth`
    (bytes, top byte = 1): S(byte_depth) - S(byte_depth - nbytes).  Python integers."""
    return byte_prefix_cost(byte_depth) - byte_prefix_cost(byte_depth - nbytes)


@nb.njit(cache=True, inline="always")
def _ceil_sqrt(n):
    # exact for every int64 n >= 0 (the float estimate is corrected in integers)
    r = np.int64(math.sqrt(np.float64(n)))
    while r * r < n:
        r += 1
    while r > 0 and (r - 1) * (r - 1) >= n:
        r -= 1
    return r


@nb.njit(cache=True, inline="always")
def _read_cost(depth, nbytes):
    """sum_{i=depth-nbytes+1..depth} ceil(sqrt(i)) in int64, by runs of equal ceil(sqrt)."""
    c = np.int64(0)
    hi = depth
    lo = depth - nbytes
    while hi > lo:
        m = _ceil_sqrt(hi)
        base = (m - 1) * (m - 1)
        if base < lo:
            base = lo
        c += m * (hi - base)
        hi = base
    return c


@nb.njit(cache=True)
def _read_cost_many(depth, nbytes):
    out = np.empty(depth.shape[0], np.int64)
    for i in range(depth.shape[0]):
        out[i] = _read_cost(depth[i], nbytes[i])
    return out



@nb.njit(cache=True)
def _cost_table(wu, n):
    """ctab[q] = cost of reading a wu-byte element at element depth q (ctab[0] unused)."""
    out = np.zeros(n, np.int64)
    for q in range(1, n):
        out[q] = _read_cost(q * wu, wu)
    return out


_CTAB = {}


def _cost_table_for(wu: int):
    if wu <= 0:
        return np.zeros(0, np.int64)
    if wu not in _CTAB:
        _CTAB[wu] = _cost_table(np.int64(wu), 1 << 15)
    return _CTAB[wu]
