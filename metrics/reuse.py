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

from metrics.reuse_kernel import (check_trace_reads, element_distances, escaped_flags,
                                  trace_chunk_distances)
from metrics.trace import Trace


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
    return element_distances(a)


def trace_reuse_distances(trace: Trace) -> np.ndarray:
    """Reuse distance of every read of a tracked run, in read order (units: distinct values).

    The touches are every read and every creation (write) of a value: instruction v reads its
    operands, then creates value v. A value's first read therefore always has a distance (the
    values touched since it was created); no liveness is applied (section 4). An escape's
    output (trace.escape_runs) is a Python number, not a value: its creation is no touch."""
    n_reads, n_values = trace.n_reads, trace.n_values
    out = np.empty(n_reads, np.int64)
    if n_reads == 0:
        return out
    check_trace_reads(trace)
    idx = np.int32 if n_reads + n_values < 2**31 - 1 else np.int64
    last = np.full(n_values, -1, idx)
    tree = np.zeros(n_reads + n_values + 1, idx)
    acc = np.zeros((8, 1), np.int64)
    no_width, no_caps, no_flags = (np.zeros(0, np.uint8), np.zeros(0, np.int64),
                                   np.zeros(0, np.uint8))
    escaped = escaped_flags(trace)
    t, pos = 0, 0
    for c in trace.chunks:
        m = int(c.reads.shape[0])
        t = trace_chunk_distances(int(c.first_value), c.nreads, c.reads, no_width, True, True, t,
                                  last, tree, out[pos:pos + m], False, no_caps, no_flags,
                                  acc, escaped)
        pos += m
    return out


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
