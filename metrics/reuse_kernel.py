"""Compiled kernels for LRU stack (reuse) distances: one pass, O(log(reuse time)) per access.

Shared by `metrics.reuse` (element distances, docs/cost_model.md section 4) and `metrics.energy_model`
(distances in bytes). Imports only numpy, numba and nothing above metrics.trace.

Algorithm. Every touch gets the next time t = 0, 1, 2, ...; a Fenwick tree over times holds, at
the latest touch time of every address, that address's weight (1 for element distances, its width
for byte distances). The reuse distance of a touch at time t whose address was last touched at
time p is the tree's sum over times p+1 .. t-1. Three refinements over the textbook kernel (two
prefix sums, two updates up to the end of the tree):

* the range sum walks down from both ends until they meet, so it costs O(log(t - p)) and touches
  only nodes near the recent end of the tree;
* nodes above the newest time are not kept up to date: the removal at p stops at t, and the node
  of a new time is built when it is appended from its children (O(1) amortized);
* address -> last time is a direct table when the addresses span a range not much larger than
  the number of accesses (the usual case: value ids), else an open-addressing hash table; either
  way no sort and no separate pass to make dense ids.

Counts are int32 while they fit (fewer than 2^31 accesses), else int64.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from metrics.trace import run_mask

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_I32_MAX = 2**31 - 1


@nb.njit(cache=True, inline="always")
def _range_sum(tree, lo, hi):
    """Sum of the tree over 1-based positions lo+1 .. hi (lo <= hi): walk both ends down until
    they meet."""
    s = tree[0] * 0
    i = hi
    j = lo
    while i != j:
        if i > j:
            s += tree[i]
            i -= i & (-i)
        else:
            s -= tree[j]
            j -= j & (-j)
    return s


@nb.njit(cache=True, inline="always")
def _remove(tree, pos, newest, w):
    """Subtract w at 1-based position pos; nodes above `newest` are not maintained."""
    i = pos
    while i <= newest:
        tree[i] -= w
        i += i & (-i)


@nb.njit(cache=True, inline="always")
def _append(tree, pos, w):
    """Build the node of the new newest position pos (all positions < pos are built): w plus the
    sum of its children."""
    s = w
    j = pos - 1
    stop = pos - (pos & (-pos))
    while j > stop:
        s += tree[j]
        j -= j & (-j)
    tree[pos] = s


@nb.njit(cache=True)
def _distances_table(a, lo, last, tree, out):
    """Element distances of a, addresses a - lo indexing `last` (filled with -1)."""
    for t in range(a.shape[0]):
        k = a[t] - lo
        p = last[k]
        if p < 0:
            out[t] = -1
        else:
            out[t] = _range_sum(tree, p + 1, t)
            _remove(tree, p + 1, t, 1)
        _append(tree, t + 1, 1)
        last[k] = t


@nb.njit(cache=True)
def _rehash(table, bits):
    """The same (key, time) slots in a table of 2^bits slots (interleaved key, time; time -1 =
    empty), linear probing."""
    new = np.full(2 << bits, -1, np.int64)
    mask = np.uint64((1 << bits) - 1)
    shift = np.uint64(64 - bits)
    for s in range(table.shape[0] // 2):
        if table[2 * s + 1] >= 0:
            key = table[2 * s]
            h = (np.uint64(key) * _GOLD) >> shift
            while new[2 * h + 1] >= 0:
                h = (h + np.uint64(1)) & mask
            new[2 * h] = key
            new[2 * h + 1] = table[2 * s + 1]
    return new


@nb.njit(cache=True)
def _distances_hash(a, tree, out):
    """Element distances of a with address -> last time in an open-addressing hash table (key
    and time interleaved, so a probe is one cache line; linear probing), doubled when 3/4 full."""
    bits = 12
    table = np.full(2 << bits, -1, np.int64)
    used = 0
    for t in range(a.shape[0]):
        key = a[t]
        mask = np.uint64((1 << bits) - 1)
        h = (np.uint64(key) * _GOLD) >> np.uint64(64 - bits)
        while True:
            p = table[2 * h + 1]
            if p < 0 or table[2 * h] == key:
                break
            h = (h + np.uint64(1)) & mask
        if p < 0:
            out[t] = -1
            table[2 * h] = key
            used += 1
        else:
            out[t] = _range_sum(tree, p + 1, t)
            _remove(tree, p + 1, t, 1)
        _append(tree, t + 1, 1)
        table[2 * h + 1] = t
        if 4 * used > 3 * (1 << bits):
            bits += 1
            table = _rehash(table, bits)


def element_distances(a: np.ndarray) -> np.ndarray:
    """LRU stack distance (units: distinct other addresses) of every access of the 1-D integer
    array `a`; -1 for a first access. int64 out."""
    n = a.shape[0]
    out = np.empty(n, np.int64)
    if n == 0:
        return out
    idx = np.int32 if n < _I32_MAX else np.int64
    tree = np.zeros(n + 1, idx)
    if a.dtype.kind == "u" and a.dtype.itemsize == 8 and int(a.max()) > np.iinfo(np.int64).max:
        raise ValueError("reuse_distances: uint64 addresses above 2^63 - 1 are not supported")
    a = a.astype(np.int64, copy=False)
    lo, hi = int(a.min()), int(a.max())
    span = hi - lo + 1
    if span <= 4 * n + (1 << 16):
        _distances_table(a, np.int64(lo), np.full(span, -1, idx), tree, out)
    else:
        _distances_hash(a, tree, out)
    return out


def check_trace_reads(trace) -> None:
    """One-line ValueError unless every read of the trace names a value id 0..n_values-1 (the
    kernels index tables by value id without bounds checks)."""
    n = trace.n_values
    for c in trace.chunks:
        r = c.reads
        if r.shape[0] and (int(r.min()) < 0 or int(r.max()) >= n):
            raise ValueError(f"trace reads a value id outside 0..{n - 1} "
                             f"(min {int(r.min())}, max {int(r.max())})")


# --------------------------------------------------------------------------------------------
# distances over a trace (metrics.trace): the touches are reads and creations of values
# --------------------------------------------------------------------------------------------

@nb.njit(cache=True)
def trace_chunk_distances(first_value, nreads, reads, width, uniform, push_touch, t0,
                          last, tree, out, price, caps, read_yet, acc, escaped):
    """Walk one chunk of a trace: instruction v reads reads[...] (one touch each) and then creates
    value v (one touch; a push, nreads == 0, is a touch only if push_touch; an escape's output,
    escaped[v] != 0 when `escaped` is non-empty, is a Python number and no touch). Returns the
    next time.

    width[v]: weight of value v (bytes; unused when uniform, where every weight is 1).
    out: if non-empty, gets the distance of every read in order, the read value's own weight
    excluded (units: values when uniform, else bytes); -1 for a read with no earlier touch.
    price: if true, with caps the capacities (same unit, own weight included) of every level but
    the last, each read is assigned to the first level l with distance + own weight <= caps[l]
    (or the last level; cold reads too) and accumulated into acc (int64, 8 x n_levels):
        acc[0, l] reads, acc[1, l] read weight, acc[2, l] writes, acc[3, l] write weight,
        acc[4, 0] cold reads, acc[5, 0] instructions with reads, acc[6, 0] values created by
        them, acc[7, 0] their total weight.
    A created value's write is accumulated at the level of its first read (read_yet marks values
    read or pushed); metrics.energy_model prices the never-read ones at the first level."""
    t = t0
    pos = 0
    n_caps = caps.shape[0]
    record = out.shape[0] > 0
    for i in range(nreads.shape[0]):
        v = first_value + i
        k = nreads[i]
        for j in range(k):
            r = reads[pos + j]
            p = last[r]
            w = 1 if uniform else width[r]
            if p < 0:
                d = -1
            else:
                d = _range_sum(tree, p + 1, t)
                _remove(tree, p + 1, t, w)
            if record:
                out[pos + j] = d
            if price:
                lvl = n_caps
                if d >= 0:
                    lvl = 0
                    while lvl < n_caps and d + w > caps[lvl]:
                        lvl += 1
                else:
                    acc[4, 0] += 1
                acc[0, lvl] += 1
                acc[1, lvl] += w
                if read_yet[r] == 0:
                    read_yet[r] = 1
                    acc[2, lvl] += 1
                    acc[3, lvl] += w
            _append(tree, t + 1, w)
            last[r] = t
            t += 1
        pos += k
        w = 1 if uniform else width[v]
        if k > 0:
            acc[5, 0] += 1
            acc[6, 0] += 1
            acc[7, 0] += w
        else:
            if price:
                read_yet[v] = 1
            if not push_touch:
                continue
        if escaped.shape[0] > 0 and escaped[v] != 0:
            continue
        _append(tree, t + 1, w)
        last[v] = t
        t += 1
    return t


def escaped_flags(trace) -> np.ndarray:
    """uint8 flags over value ids, 1 for the outputs of escape instructions (trace.escape_runs),
    which are Python numbers and not touched values; an empty array when the trace has none."""
    runs = np.asarray(trace.escape_runs, np.int64).reshape(-1, 2)
    if runs.shape[0] == 0:
        return np.zeros(0, np.uint8)
    return run_mask(runs, trace.n_values).view(np.uint8)
