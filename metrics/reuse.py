"""Element-level reuse distance (docs/cost_model.md section 4): LRU stack distances, their histogram
and the miss-ratio curve they imply.

The stack distance of an access is the number of distinct *other* addresses touched since the
previous access to the same address (-1 for a first access). Computed in O(n log n): a Fenwick
tree over access times holds a 1 at the latest access time of every address, so the distance of
an access at time t whose address was last touched at time p is the number of ones in (p, t).

    reuse_distances(addresses) -> int64 ndarray        one distance per access
    reuse_histogram(d) -> DataFrame(bin_lo, bin_hi, count)   log2 bins over d >= 0 (units: addresses)
    miss_ratio_curve(d, sizes=None) -> DataFrame(cache_size, misses, miss_ratio)
    trace_reuse_distances(trace) -> int64 ndarray      one distance per read of a tracked run
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from metrics.trace import Trace


@njit(cache=True)
def _stack_distances(dense, n_addresses, report):
    """dense: int64 address ids in [0, n_addresses); report: bool mask of accesses whose distance
    is wanted. Returns distances of the reported accesses, in order."""
    n = dense.shape[0]
    tree = np.zeros(n + 1, np.int32)            # Fenwick over times 1..n
    last = np.full(n_addresses, -1, np.int64)   # latest access time (0-based) per address
    n_out = 0
    for t in range(n):
        if report[t]:
            n_out += 1
    out = np.empty(n_out, np.int64)
    k = 0
    for t in range(n):
        a = dense[t]
        p = last[a]
        if report[t]:
            if p < 0:
                out[k] = -1
            else:
                # ones in times p+1 .. t-1 (0-based) = prefix(t) - prefix(p+1) in 1-based Fenwick
                s = 0
                i = t
                while i > 0:
                    s += tree[i]
                    i -= i & (-i)
                i = p + 1
                while i > 0:
                    s -= tree[i]
                    i -= i & (-i)
                out[k] = s
            k += 1
        if p >= 0:
            i = p + 1
            while i <= n:
                tree[i] -= 1
                i += i & (-i)
        i = t + 1
        while i <= n:
            tree[i] += 1
            i += i & (-i)
        last[a] = t
    return out


def reuse_distances(addresses) -> np.ndarray:
    """LRU stack distance of every access of an integer address trace (units: distinct
    addresses); -1 for a first access."""
    a = np.asarray(addresses)
    if a.ndim != 1:
        raise ValueError(f"reuse_distances: addresses must be 1-D, got shape {a.shape}")
    if a.size == 0:
        return np.zeros(0, np.int64)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"reuse_distances: addresses must be integers, got dtype {a.dtype}")
    uniq, dense = np.unique(a, return_inverse=True)
    return _stack_distances(dense.astype(np.int64).ravel(), len(uniq),
                            np.ones(a.size, np.bool_))


def trace_reuse_distances(trace: Trace) -> np.ndarray:
    """Reuse distance of every read of a tracked run, in read order (units: distinct values).

    The touches are every read and every creation (write) of a value: instruction v reads its
    operands, then creates value v. A value's first read therefore always has a distance (the
    values touched since it was created); no liveness is applied (section 4)."""
    parts_addr, parts_report = [], []
    for c in trace.chunks:
        nr = np.asarray(c.nreads, np.int64)
        n = nr.shape[0]
        if n == 0:
            continue
        # each instruction contributes its reads followed by one write of its own value
        width = nr + 1
        total = int(width.sum())
        addr = np.empty(total, np.int64)
        is_read = np.ones(total, np.bool_)
        ends = np.cumsum(width) - 1                     # position of each write
        addr[ends] = c.first_value + np.arange(n, dtype=np.int64)
        is_read[ends] = False
        addr[is_read] = np.asarray(c.reads, np.int64)
        parts_addr.append(addr)
        parts_report.append(is_read)
    if not parts_addr:
        return np.zeros(0, np.int64)
    addr = np.concatenate(parts_addr)
    report = np.concatenate(parts_report)
    n_values = int(addr.max()) + 1
    return _stack_distances(addr, n_values, report)


def _as_distances(d) -> np.ndarray:
    d = np.asarray(d)
    if d.ndim != 1:
        raise ValueError(f"distances must be 1-D, got shape {d.shape}")
    return d.astype(np.int64, copy=False)


def reuse_histogram(d) -> pd.DataFrame:
    """Histogram of reuse distances d >= 0 in log2 bins: [0,1), [1,2), [2,4), [4,8), ...
    First accesses (-1) are not binned; `miss_ratio_curve` counts them."""
    d = _as_distances(d)
    d = d[d >= 0]
    if d.size == 0:
        return pd.DataFrame({"bin_lo": np.zeros(0, np.int64), "bin_hi": np.zeros(0, np.int64),
                             "count": np.zeros(0, np.int64)})
    top = int(d.max())
    edges = [0, 1]
    while edges[-1] <= top:
        edges.append(edges[-1] * 2)
    edges = np.asarray(edges, np.int64)
    counts, _ = np.histogram(d, bins=edges)
    # np.histogram closes the last bin on the right; top < edges[-1] so nothing lands on it
    return pd.DataFrame({"bin_lo": edges[:-1], "bin_hi": edges[1:],
                         "count": counts.astype(np.int64)})


def miss_ratio_curve(d, sizes=None) -> pd.DataFrame:
    """Misses of a fully associative LRU cache of each size (units: values/addresses): an access
    hits a cache of c entries iff its stack distance is < c; first accesses always miss.
    `sizes` defaults to 1, 2, 4, ... up to one past the largest distance."""
    d = _as_distances(d)
    n = d.size
    if sizes is None:
        top = int(d.max()) + 1 if n and d.max() >= 0 else 1
        sizes, c = [], 1
        while True:
            sizes.append(c)
            if c >= top:
                break
            c *= 2
    sizes = np.asarray(sizes, np.int64)
    if sizes.ndim != 1 or (sizes < 0).any():
        raise ValueError("miss_ratio_curve: sizes must be a 1-D list of non-negative integers")
    warm = np.sort(d[d >= 0])
    cold = n - warm.size
    hits = np.searchsorted(warm, sizes, side="left")     # distances < size
    misses = n - hits
    ratio = misses / n if n else np.zeros(sizes.size)
    return pd.DataFrame({"cache_size": sizes, "misses": misses.astype(np.int64),
                         "miss_ratio": ratio, "cold": np.full(sizes.size, cold, np.int64)})
