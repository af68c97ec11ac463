"""Buffer-level ARD and DMC (docs/cost_model.md section 3).

One global clock (units: elements). Every write or read of a buffer of `size` elements advances it
by `size`; a write stamps the buffer with the clock before it advances; a read's distance is the
clock before it advances minus the buffer's stamp (reads of a never-written buffer are left out).

    ARD = sum(size * distance) / sum(size) over reads      (elements)
    DMC = sum(size * sqrt(distance)) over reads             (no ceiling)

    ard(events), dmc(events)       events: iterable of (kind, buffer, size), kind "write"/"read"
    ard_dmc(events) -> (ard, dmc)
    ard_dmc_arrays(kind, buffer_id, size) -> (ard, dmc)   kind 0 = write, 1 = read (trace form)
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from metrics.trace import READ, WRITE

_KINDS = {"write": WRITE, "read": READ}


@njit(cache=True)
def _ard_dmc(kind, dense, size, n_buffers):
    stamp = np.full(n_buffers, -1, np.int64)
    clock = 0
    num = 0.0
    den = 0.0
    dmc = 0.0
    for i in range(kind.shape[0]):
        s = size[i]
        b = dense[i]
        if kind[i] == 0:
            stamp[b] = clock
        elif stamp[b] >= 0:
            dist = clock - stamp[b]
            num += s * float(dist)
            den += s
            dmc += s * np.sqrt(float(dist))
        clock += s
    return num, den, dmc


# The compiled kernel keeps the clock in int64: a trace whose sizes sum past this uses the exact
# Python-int loop instead (no wrap-around into negative distances).
_INT64_CLOCK_LIMIT = 2 ** 62


def _ard_dmc_python(kind, dense, size):
    """The kernel's loop with Python ints for the clock and distances (any sizes)."""
    stamp = {}
    clock, num, den, dmc = 0, 0.0, 0, 0.0
    for k, b, s in zip(kind.tolist(), dense.tolist(), size):
        if k == 0:
            stamp[b] = clock
        elif b in stamp:
            dist = clock - stamp[b]
            num += s * float(dist)
            den += s
            dmc += s * math.sqrt(dist)
        clock += s
    return num, den, dmc


def _sizes(size):
    """Sizes as an int64 array, or as a list of Python ints when one does not fit int64."""
    try:
        return np.asarray(size, np.int64)
    except OverflowError:
        return [int(v) for v in np.asarray(size, dtype=object).ravel()]


def ard_dmc_arrays(kind, buffer_id, size) -> tuple[float, float]:
    """ARD (elements) and DMC of buffer events given as arrays (kind 0 = write, 1 = read).
    ARD is 0.0 when no read has a prior write. Sizes whose total reaches 2^62 elements are
    handled exactly in Python integers (slow, but never a wrapped-around negative distance)."""
    kind = np.asarray(kind)
    buffer_id = np.asarray(buffer_id)
    size = _sizes(size)
    if isinstance(size, list):
        if not (kind.shape == buffer_id.shape == (len(size),)):
            raise ValueError("ard_dmc_arrays: kind, buffer_id and size must be 1-D of equal "
                             f"length; got {kind.shape}, {buffer_id.shape}, ({len(size)},)")
        if min(size) < 0:
            raise ValueError("ard_dmc_arrays: sizes must be non-negative")
        if ((kind != WRITE) & (kind != READ)).any():
            raise ValueError("ard_dmc_arrays: kind must be 0 (write) or 1 (read)")
        _, dense = np.unique(buffer_id, return_inverse=True)
        num, den, dmc = _ard_dmc_python(kind, dense.ravel(), size)
        return (num / den if den else 0.0), float(dmc)
    if not (kind.shape == buffer_id.shape == size.shape) or kind.ndim != 1:
        raise ValueError("ard_dmc_arrays: kind, buffer_id and size must be 1-D of equal length; "
                         f"got {kind.shape}, {buffer_id.shape}, {size.shape}")
    if kind.size == 0:
        return 0.0, 0.0
    if ((kind != WRITE) & (kind != READ)).any():
        raise ValueError("ard_dmc_arrays: kind must be 0 (write) or 1 (read)")
    if (size < 0).any():
        raise ValueError("ard_dmc_arrays: sizes must be non-negative")
    uniq, dense = np.unique(buffer_id, return_inverse=True)
    if float(size.sum(dtype=np.float64)) >= _INT64_CLOCK_LIMIT:
        num, den, dmc = _ard_dmc_python(kind, dense.ravel(), size.tolist())
        return (num / den if den else 0.0), float(dmc)
    num, den, dmc = _ard_dmc(kind.astype(np.uint8), dense.astype(np.int64).ravel(), size,
                             len(uniq))
    return (num / den if den else 0.0), float(dmc)


def ard_dmc(events) -> tuple[float, float]:
    """ARD and DMC of (kind, buffer, size) events; buffers are any hashable names."""
    kinds, bufs, sizes, names = [], [], [], {}
    for i, ev in enumerate(events):
        try:
            kind, buf, size = ev
        except (TypeError, ValueError):
            raise ValueError(f"event {i}: expected (kind, buffer, size), got {ev!r}") from None
        if kind not in _KINDS:
            raise ValueError(f"event {i}: unknown event kind {kind!r} (expected 'write' or 'read')")
        try:
            whole = not isinstance(size, bool) and int(size) == size and size >= 0
        except (TypeError, ValueError, OverflowError):
            whole = False
        if not whole:
            raise ValueError(f"event {i}: size must be a non-negative integer, got {size!r}")
        kinds.append(_KINDS[kind])
        bufs.append(names.setdefault(buf, len(names)))
        sizes.append(int(size))
    return ard_dmc_arrays(np.asarray(kinds, np.uint8), np.asarray(bufs, np.int64),
                          _sizes(sizes))


def ard(events) -> float:
    """Average reuse distance (elements) of (kind, buffer, size) events."""
    return ard_dmc(events)[0]


def dmc(events) -> float:
    """Data-movement complexity sum(size * sqrt(distance)) of (kind, buffer, size) events."""
    return ard_dmc(events)[1]
