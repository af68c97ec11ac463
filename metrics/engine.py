"""Exact, fast ByteDMD pricing of a `metrics.trace.Trace` (docs/cost_model.md section 1).

`bytedmd_price(trace)` gives exactly what `metrics.oracle.oracle_bytedmd` gives (same cost, same
depth of every read, same per-phase split), in O(log n) work per read and memory bounded by the
live set plus one chunk (plus 1 bit per read and per value of liveness flags, spilled to disk for
big traces).

Algorithm (see docs/engine.md):

1. Liveness, backward pass.  The chunks are walked in reverse, each instruction in reverse: its
   output first (pushed iff its bit in `seen`, a bitmap over value ids seeded with `trace.keep`,
   is set), then its reads in reverse order (a read whose value's bit is still clear is that
   value's last read; the bit is set).  Output: 1 bit per read ("last read") and 1 bit per value
   ("pushed onto the stack"), spilled to disk for big traces.
2. Pricing, forward pass.  Every live value holds a timestamp (its last move to the top); a
   Fenwick tree over timestamps holds each live value's weight (1 when all widths are equal, int32;
   else its width in bytes, int64) at its timestamp, so a depth is the sum of the tree over
   [its timestamp, newest timestamp].  Timestamps only grow; when they run out the live values
   are renumbered 1..L in order (compaction, amortized O(1) per instruction).  Tree nodes above
   the newest timestamp are not maintained, so reading a recently moved value costs
   O(log(reuse distance)).  Value id -> timestamp: direct indexing into a ring for the `window`
   newest values, an open-addressing hash map for older values still on the stack.

Units: depths are element depths (the top element is depth 1); costs are in the ByteDMD unit
(sum over the bytes read of ceil(sqrt(byte depth))); widths are bytes.
"""
from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass

import numba as nb
import numpy as np

from metrics.trace import Trace

__all__ = ["PriceResult", "bytedmd_price", "liveness_flags", "byte_prefix_cost", "read_cost"]

# --------------------------------------------------------------------------------------------
# exact integer cost arithmetic
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# open-addressing hash map int64 -> int64 (keys >= 0; -1 = empty), linear probing,
# backward-shift deletion (no tombstones).  `hst` = [size, log2(capacity)].
# --------------------------------------------------------------------------------------------

_GOLD = np.uint64(0x9E3779B97F4A7C15)


@nb.njit(cache=True, inline="always")
def _hslot(key, bits):
    return np.int64((np.uint64(key) * _GOLD) >> np.uint64(64 - bits))


@nb.njit(cache=True, inline="always")
def _hfind(keys, key, bits):
    mask = keys.shape[0] - 1
    i = _hslot(key, bits)
    while True:
        k = keys[i]
        if k == key:
            return i
        if k == -1:
            return -1
        i = (i + 1) & mask


@nb.njit(cache=True, inline="always")
def _hdelete(keys, vals, i, bits):
    mask = keys.shape[0] - 1
    keys[i] = -1
    j = i
    while True:
        j = (j + 1) & mask
        kj = keys[j]
        if kj == -1:
            return
        h = _hslot(kj, bits)
        # the entry at j may stay iff its home slot h lies cyclically in (i, j]
        if i <= j:
            if i < h <= j:
                continue
        else:
            if h > i or h <= j:
                continue
        keys[i] = kj
        vals[i] = vals[j]
        keys[j] = -1
        i = j


@nb.njit(cache=True)
def _hrehash(keys, vals, bits):
    nb_ = bits + 1
    nk = np.full(np.int64(1) << nb_, -1, np.int64)
    nv = np.zeros(np.int64(1) << nb_, np.int64)
    mask = nk.shape[0] - 1
    for i in range(keys.shape[0]):
        k = keys[i]
        if k != -1:
            j = _hslot(k, nb_)
            while nk[j] != -1:
                j = (j + 1) & mask
            nk[j] = k
            nv[j] = vals[i]
    return nk, nv, nb_


@nb.njit(cache=True, inline="always")
def _hinsert_new(keys, vals, key, val, bits):
    """Insert a key known to be absent."""
    mask = keys.shape[0] - 1
    i = _hslot(key, bits)
    while keys[i] != -1:
        i = (i + 1) & mask
    keys[i] = key
    vals[i] = val


# --------------------------------------------------------------------------------------------
# backward liveness pass
# --------------------------------------------------------------------------------------------


@nb.njit(cache=True)
def _backward_chunk(first_value, nreads, reads, last_bits, push_bits, seen):
    """Mark last reads (bit per read) and pushed values (bit per value) of one chunk, walking it
    backwards.  `seen` is a bitmap over all value ids: bit u is set iff u is read after the
    current position (or kept).  Returns -1 or the index of a read naming a value not created
    before its instruction."""
    n = nreads.shape[0]
    p = np.int64(reads.shape[0])
    for v in range(n - 1, -1, -1):
        vid = first_value + v
        if (seen[vid >> 3] >> (vid & 7)) & 1:
            push_bits[v >> 3] |= np.uint8(1 << (v & 7))
        k = np.int64(nreads[v])
        for _ in range(k):
            p -= 1
            r = np.int64(reads[p])
            if r < 0 or r >= vid:
                return p
            b = seen[r >> 3]
            m = np.uint8(1 << (r & 7))
            if not (b & m):
                last_bits[p >> 3] |= np.uint8(1 << (p & 7))
                seen[r >> 3] = b | m
    return np.int64(-1)


@nb.njit(cache=True)
def _set_bits(bitmap, ids):
    for i in range(ids.shape[0]):
        u = ids[i]
        bitmap[u >> 3] |= np.uint8(1 << (u & 7))


# --------------------------------------------------------------------------------------------
# forward pricing pass
# --------------------------------------------------------------------------------------------


@nb.njit(cache=True, inline="always")
def _fen_range(tree, p, t):
    """sum of weights at timestamps p..t (t = newest timestamp)."""
    # The two descending chains (t, p - 1) meet where their binary forms stop differing: first
    # walk t down to that meeting point, then p - 1 (two loops, no unpredictable branch).
    s = np.int64(0)
    i = t
    j = p - 1
    while i > j:
        s += tree[i]
        i &= i - 1
    while j > i:
        s -= tree[j]
        j &= j - 1
    return s


@nb.njit(cache=True, inline="always")
def _fen_append(tree, p, w):
    """Append weight w at timestamp p = newest + 1 (nodes above the newest are not kept)."""
    s = w
    j = p - 1
    stop = p - (p & -p)
    while j > stop:
        s += tree[j]
        j -= j & -j
    tree[p] = s


@nb.njit(cache=True, inline="always")
def _fen_sub(tree, p, w, t):
    i = p
    while i <= t:
        tree[i] -= w
        i += i & -i


@nb.njit(cache=True, inline="always")
def _fen_build(tree, w_at, wu, L):
    for i in range(1, L + 1):
        tree[i] = 1 if wu > 0 else w_at[i]
    for i in range(1, L + 1):
        j = i + (i & -i)
        if j <= L:
            tree[j] += tree[i]


@nb.njit(cache=True)
def _compact(need, vid, wu, tree, ctree, val_at, w_at, lab_at, ring, hkeys, hvals, st):
    """Renumber the live timestamps 1..L keeping their order; grow the arrays so that at least
    half the capacity (and `need` slots) is free.  `vid` is the instruction about to run: the
    ring holds values vid - len(ring) .. vid - 1.  Returns the (possibly new) arrays."""
    t = st[0]
    bits = st[2]
    rlo = vid - ring.shape[0]
    rmask = ring.shape[0] - 1
    has_w = w_at.shape[0] > 1
    has_lab = lab_at.shape[0] > 1
    L = np.int64(0)
    for p in range(1, t + 1):
        u = val_at[p]
        if u >= 0:
            L += 1
            val_at[L] = u
            if has_w:
                w_at[L] = w_at[p]
            if has_lab:
                lab_at[L] = lab_at[p]
            if u >= rlo:
                ring[u & rmask] = L
            else:
                hvals[_hfind(hkeys, u, bits)] = L
    for p in range(L + 1, t + 1):
        val_at[p] = -1
    cap = tree.shape[0] - 1
    if 2 * (L + need) > cap:
        ncap = cap
        while 2 * (L + need) > ncap:
            ncap *= 2
        nval = np.full(ncap + 1, -1, np.int64)
        nval[: L + 1] = val_at[: L + 1]
        val_at = nval
        if has_w:
            nw = np.zeros(ncap + 1, w_at.dtype)
            nw[: L + 1] = w_at[: L + 1]
            w_at = nw
        if has_lab:
            nlab = np.zeros(ncap + 1, lab_at.dtype)
            nlab[: L + 1] = lab_at[: L + 1]
            lab_at = nlab
        tree = np.zeros(ncap + 1, tree.dtype)
        if ctree.shape[0] > 1:
            ctree = np.zeros(ncap + 1, ctree.dtype)
    _fen_build(tree, w_at, wu, L)
    if ctree.shape[0] > 1:
        _fen_build(ctree, w_at, 1, L)
    st[0] = L
    st[6] += 1
    return tree, ctree, val_at, w_at, lab_at


_ST_T, _ST_HSIZE, _ST_HBITS, _ST_LIVE, _ST_LIVEB, _ST_PEAKB, _ST_COMPACT, _ST_ERR, _ST_PEAKL, \
    _ST_P = range(10)


@nb.njit(cache=True)
def _forward_run(v0, first_value, nreads, reads, value_bytes, wu, phase, label, last_bits,
                 push_bits, tree, ctree, val_at, w_at, lab_at, ring, hkeys, hvals, st,
                 phase_cost, phase_reads, label_cost, label_reads, depths, want_depths, ctab):
    """Price instructions v0.. of one chunk until the chunk ends (returns n), the timestamps
    run out or the hash map is half full (returns the instruction to resume at, after
    _forward_chunk has compacted or rehashed), or a read names a value not on the stack
    (st[_ST_ERR] = read index).  The arrays are never reallocated in here."""
    n = nreads.shape[0]
    has_label = label.shape[0] > 0
    use_ctree = ctree.shape[0] > 1
    R = np.int64(ring.shape[0])
    rmask = R - 1
    QT = np.int64(ctab.shape[0])
    cap = tree.shape[0] - 1
    hcap = hkeys.shape[0]
    tsbuf = np.empty(256, np.int64)
    p = st[_ST_P]
    t = st[_ST_T]
    bits = st[_ST_HBITS]
    hsize = st[_ST_HSIZE]
    live = st[_ST_LIVE]
    live_bytes = st[_ST_LIVEB]
    peak_bytes = st[_ST_PEAKB]
    peak_live = st[_ST_PEAKL]
    v = v0
    while v < n:
        vid = first_value + v
        k = np.int64(nreads[v])
        if t + k + 1 > cap or 2 * (hsize + 1) > hcap:
            break
        if k > 0:
            rlo = vid - R
            icost = np.int64(0)
            # 1. price every input against the stack before the instruction
            for j in range(k):
                r = np.int64(reads[p + j])
                if r >= rlo:
                    ts = np.int64(ring[r & rmask])
                else:
                    hi = _hfind(hkeys, r, bits)
                    ts = hvals[hi] if hi >= 0 else np.int64(0)
                if ts == 0:
                    st[_ST_ERR] = p + j
                    break
                tsbuf[j] = ts
                q = _fen_range(tree, ts, t)
                if wu > 0:
                    w = wu
                    if q < QT:
                        c = ctab[q]
                    else:
                        c = _read_cost(q * wu, wu)
                else:
                    w = np.int64(w_at[ts])
                    c = _read_cost(q, w)
                icost += c
                if has_label:
                    lb = lab_at[ts]
                    label_cost[lb] += c
                    label_reads[lb] += 1
                if want_depths:
                    if wu > 0:
                        depths[p + j] = q
                    elif use_ctree:
                        depths[p + j] = _fen_range(ctree, ts, t)
                    else:
                        depths[p + j] = q // w
            if st[_ST_ERR] >= 0:
                break
            ph = phase[v]
            phase_cost[ph] += icost
            phase_reads[ph] += k
            # 2. distinct inputs move to the top in read order; a last read removes the value
            for j in range(k):
                r = np.int64(reads[p + j])
                q = p + j
                dies = (last_bits[q >> 3] >> (q & 7)) & 1
                if k > 1:
                    dup = False
                    for jj in range(j):
                        if reads[p + jj] == r:
                            dup = True
                            break
                    if dup:
                        continue
                    for jj in range(j + 1, k):
                        q = p + jj
                        if reads[q] == r and (last_bits[q >> 3] >> (q & 7)) & 1:
                            dies = 1
                ts = tsbuf[j]
                if wu > 0:
                    w = wu
                    _fen_sub(tree, ts, 1, t)
                else:
                    w = np.int64(w_at[ts])
                    _fen_sub(tree, ts, w, t)
                if use_ctree:
                    _fen_sub(ctree, ts, 1, t)
                val_at[ts] = -1
                if dies:
                    if r >= rlo:
                        ring[r & rmask] = 0
                    else:
                        _hdelete(hkeys, hvals, _hfind(hkeys, r, bits), bits)
                        hsize -= 1
                    live -= 1
                    live_bytes -= w
                else:
                    t += 1
                    if wu > 0:
                        _fen_append(tree, t, 1)
                    else:
                        _fen_append(tree, t, w)
                        w_at[t] = w
                    if use_ctree:
                        _fen_append(ctree, t, 1)
                    val_at[t] = r
                    if has_label:
                        lab_at[t] = lab_at[ts]
                    if r >= rlo:
                        ring[r & rmask] = t
                    else:
                        hvals[_hfind(hkeys, r, bits)] = t
            p += k
        # 3. value vid takes the ring slot of value vid - R (which, if still on the stack, moves
        #    to the hash map); it is pushed at no cost unless it is never read and not kept
        slot = vid & rmask
        old = np.int64(ring[slot])
        if old != 0:
            _hinsert_new(hkeys, hvals, vid - R, old, bits)
            hsize += 1
        if (push_bits[v >> 3] >> (v & 7)) & 1:
            w = wu if wu > 0 else np.int64(value_bytes[v])
            t += 1
            if wu > 0:
                _fen_append(tree, t, 1)
            else:
                _fen_append(tree, t, w)
                w_at[t] = w
            if use_ctree:
                _fen_append(ctree, t, 1)
            val_at[t] = vid
            if has_label:
                lab_at[t] = label[v]
            ring[slot] = t
            live += 1
            live_bytes += w
            if live_bytes > peak_bytes:
                peak_bytes = live_bytes
            if live > peak_live:
                peak_live = live
        else:
            ring[slot] = 0
        v += 1
    st[_ST_P] = p
    st[_ST_T] = t
    st[_ST_HSIZE] = hsize
    st[_ST_LIVE] = live
    st[_ST_LIVEB] = live_bytes
    st[_ST_PEAKB] = peak_bytes
    st[_ST_PEAKL] = peak_live
    return v


@nb.njit(cache=True)
def _forward_chunk(first_value, nreads, reads, value_bytes, wu, phase, label, last_bits,
                   push_bits, tree, ctree, val_at, w_at, lab_at, ring, hkeys, hvals, st,
                   phase_cost, phase_reads, label_cost, label_reads, depths, want_depths, ctab):
    """Price one chunk.  st = [newest timestamp, hash size, hash bits, live values, live bytes,
    peak live bytes, compactions, error read index (-1), peak live values, read position].

    wu > 0: every value is wu bytes wide; `tree` then counts live values (weight 1), w_at has
    length 1 and ctab[q] is the cost of a read at element depth q < len(ctab).  wu == 0: widths
    from value_bytes; `tree` holds byte weights, w_at[ts] the width, ctree (if longer than 1)
    counts values for element depths.  label has length 0 (no labels: lab_at has length 1 and
    label_cost is left to the caller) or n.
    Value id -> timestamp: `ring[u & (R-1)]` for the R newest values (0 = not on the stack),
    the hash map (hkeys, hvals) for older values still on the stack."""
    n = nreads.shape[0]
    st[_ST_P] = 0
    v = np.int64(0)
    while True:
        v = _forward_run(v, first_value, nreads, reads, value_bytes, wu, phase, label,
                         last_bits, push_bits, tree, ctree, val_at, w_at, lab_at, ring, hkeys,
                         hvals, st, phase_cost, phase_reads, label_cost, label_reads, depths,
                         want_depths, ctab)
        if v >= n or st[_ST_ERR] >= 0:
            break
        k = np.int64(nreads[v])
        if st[_ST_T] + k + 1 > tree.shape[0] - 1:
            tree, ctree, val_at, w_at, lab_at = _compact(k + 1, first_value + v, wu, tree, ctree,
                                                        val_at, w_at, lab_at, ring, hkeys,
                                                        hvals, st)
        if 2 * (st[_ST_HSIZE] + 1) > hkeys.shape[0]:
            hkeys, hvals, b = _hrehash(hkeys, hvals, st[_ST_HBITS])
            st[_ST_HBITS] = b
    return tree, ctree, val_at, w_at, lab_at, hkeys, hvals


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


# --------------------------------------------------------------------------------------------
# Python driver
# --------------------------------------------------------------------------------------------


@dataclass
class PriceResult:
    """ByteDMD of a trace.  cost: total (ByteDMD units); reads: number of element reads;
    depths: element depth (1 = top) of every read in order, or None; phase_cost/phase_reads:
    int64 arrays indexed like trace.phase_names (a read is attributed to the phase of the
    instruction making it); label_cost/label_reads: indexed like trace.label_names (a read is
    attributed to the label of the value read).  peak_live_values / peak_live_bytes: the largest
    stack (elements / bytes) seen; compactions: timestamp renumberings done."""
    cost: int
    reads: int
    depths: np.ndarray | None
    phase_cost: np.ndarray
    phase_reads: np.ndarray
    label_cost: np.ndarray
    label_reads: np.ndarray
    peak_live_values: int = 0
    peak_live_bytes: int = 0
    compactions: int = 0


def _as(a, dtype):
    a = np.asarray(a)
    if a.dtype != dtype or not a.flags.c_contiguous:
        a = np.ascontiguousarray(a, dtype=dtype)
    return a


def _as_ids(a):
    """Read ids as int64 or int32 (both are compiled for), without copying when possible."""
    a = np.asarray(a)
    if a.dtype in (np.int64, np.int32) and a.flags.c_contiguous:
        return a
    return np.ascontiguousarray(a, dtype=np.int64)


class _FlagStore:
    """Per-chunk liveness bits, kept in memory or spilled to .npy files and memory-mapped."""

    def __init__(self, n_chunks: int, spill: bool, spill_dir: str | None):
        self.items = [None] * n_chunks
        self.tmp = tempfile.TemporaryDirectory(prefix="bytedmd_flags_", dir=spill_dir) if spill else None

    def put(self, i, last_bits, push_bits):
        if self.tmp is None:
            self.items[i] = (last_bits, push_bits)
        else:
            a = os.path.join(self.tmp.name, f"{i}_r.npy")
            b = os.path.join(self.tmp.name, f"{i}_v.npy")
            np.save(a, last_bits)
            np.save(b, push_bits)
            self.items[i] = (a, b)

    def get(self, i):
        x = self.items[i]
        if self.tmp is None:
            return x
        return np.load(x[0]), np.load(x[1])

    def drop(self, i):
        x = self.items[i]
        self.items[i] = None
        if self.tmp is not None and x is not None:
            for f in x:
                os.remove(f)

    def close(self):
        if self.tmp is not None:
            self.tmp.cleanup()


def _check_chunks(trace: Trace):
    expect = 0
    for c in trace.chunks:
        if int(c.first_value) != expect:
            raise ValueError(f"chunk starts at value {c.first_value}, expected {expect}")
        n = c.n_values
        if not (c.value_bytes.shape[0] == n and c.phase.shape[0] == n):
            raise ValueError("chunk arrays nreads/value_bytes/phase differ in length")
        expect += n
    return expect


def liveness_flags(trace: Trace, spill: bool = False, spill_dir: str | None = None,
                   n_values: int | None = None) -> _FlagStore:
    """Backward pass: for chunk i, (last_bits, push_bits) as packed little-endian bit arrays:
    bit p of last_bits is set iff read p of the chunk is its value's last read (never for a kept
    value); bit v of push_bits iff value v of the chunk is pushed (read later or kept).
    Working memory: a bitmap of one bit per value of the trace."""
    if n_values is None:
        n_values = _check_chunks(trace)
    store = _FlagStore(len(trace.chunks), spill, spill_dir)
    seen = np.zeros((n_values + 7) >> 3, np.uint8)
    keep = _as(trace.keep, np.int64).ravel()
    if keep.shape[0]:
        bad = keep[(keep < 0) | (keep >= n_values)]
        if bad.shape[0]:
            raise ValueError(f"keep holds value {int(bad[0])}, not in 0..{n_values - 1}")
        _set_bits(seen, keep)
    for ci in range(len(trace.chunks) - 1, -1, -1):
        c = trace.chunks[ci]
        nreads = _as(c.nreads, np.uint8)
        reads = _as_ids(c.reads)
        tot = int(nreads.sum(dtype=np.int64))
        if tot != reads.shape[0]:
            raise ValueError(f"chunk {ci}: nreads sums to {tot} but it holds {reads.shape[0]} reads")
        last_bits = np.zeros((reads.shape[0] + 7) >> 3, np.uint8)
        push_bits = np.zeros((nreads.shape[0] + 7) >> 3, np.uint8)
        err = _backward_chunk(np.int64(c.first_value), nreads, reads, last_bits, push_bits, seen)
        if err >= 0:
            raise ValueError(f"chunk {ci}, read {err}: value {int(reads[err])} is read before it "
                             "is created (a read must name an earlier value)")
        store.put(ci, last_bits, push_bits)
        del c, nreads, reads
    return store


def bytedmd_price(trace: Trace, bytes_per_element: int | None = None, return_depths: bool = False,
                  *, ts_capacity: int = 1 << 16, spill: bool | None = None,
                  spill_dir: str | None = None, window: int = 1 << 20) -> PriceResult:
    """Exact ByteDMD of `trace` (docs/cost_model.md section 1), streaming over `trace.chunks`.

    bytes_per_element: if given, every value is that many bytes wide (else trace value_bytes).
    return_depths: also return the element depth of every read (an int64 array of n_reads).
    ts_capacity: initial timestamp capacity (tests force compaction with a tiny one).
    spill: keep the liveness bits (1 bit per read and per value) in .npy files under spill_dir
    instead of memory; default: spill when the trace has more than 2^27 reads.
    window: the newest `window` values (rounded up to a power of two) find their timestamp by
    direct indexing; older values still on the stack go through a hash map (tests shrink it).
    """
    bpe = 0 if bytes_per_element is None else int(bytes_per_element)
    if bytes_per_element is not None and not 1 <= bpe <= 1 << 20:
        raise ValueError("bytes_per_element must be a positive int")
    n_phases = max(1, len(trace.phase_names))
    n_labels = max(1, len(trace.label_names))
    n_values = _check_chunks(trace)
    total_reads = trace.n_reads
    if spill is None:
        spill = total_reads > (1 << 27)

    # uniform widths? then the tree counts values (element depth) and byte depth = depth * width
    wu = bpe
    if bpe == 0:
        lo, hi = 256, -1
        for c in trace.chunks:
            if c.n_values:
                vb = np.asarray(c.value_bytes)
                lo, hi = min(lo, int(vb.min())), max(hi, int(vb.max()))
        if hi >= 0 and lo < 1:
            raise ValueError("a value is 0 bytes wide")
        if lo >= hi:
            wu = max(hi, 1)
    use_ctree = bool(return_depths) and wu == 0
    has_label = trace.label is not None
    if has_label and np.asarray(trace.label).shape[0] < n_values:
        raise ValueError("trace.label is shorter than the trace")

    store = liveness_flags(trace, spill=spill, spill_dir=spill_dir, n_values=n_values)
    try:
        cap = max(1, int(ts_capacity))
        # int32 counts when widths are uniform (a live set < 2^31 values), int64 bytes otherwise
        tree = np.zeros(cap + 1, np.int32 if wu > 0 else np.int64)
        ctree = np.zeros(cap + 1 if use_ctree else 1, np.int32)
        val_at = np.full(cap + 1, -1, np.int64)
        w_at = np.zeros(cap + 1 if wu == 0 else 1, np.uint32)
        lab_at = np.zeros(cap + 1 if has_label else 1, np.uint16)
        R = 1
        while R < max(1, int(window)):
            R *= 2
        ring = np.zeros(R, np.int32)
        hb = 10
        hkeys = np.full(1 << hb, -1, np.int64)
        hvals = np.zeros(1 << hb, np.int64)
        st = np.array([0, 0, hb, 0, 0, 0, 0, -1, 0, 0], np.int64)
        ctab = _cost_table_for(wu)
        phase_cost = np.zeros(n_phases, np.int64)
        phase_reads = np.zeros(n_phases, np.int64)
        label_cost = np.zeros(n_labels, np.int64)
        label_reads = np.zeros(n_labels, np.int64)
        depth_parts = []
        empty_u16 = np.zeros(0, np.uint16)
        empty_i64 = np.zeros(0, np.int64)
        for ci in range(len(trace.chunks)):
            c = trace.chunks[ci]
            nreads = _as(c.nreads, np.uint8)
            reads = _as_ids(c.reads)
            vb = _as(c.value_bytes, np.uint8)
            ph = _as(c.phase, np.uint8)
            if ph.shape[0] and int(ph.max()) >= n_phases:
                raise ValueError(f"chunk {ci}: phase index {int(ph.max())} >= len(phase_names)")
            if not has_label:
                lab = empty_u16
            else:
                lab = _as(trace.label[c.first_value:c.first_value + c.n_values], np.uint16)
                if lab.shape[0] and int(lab.max()) >= n_labels:
                    raise ValueError(f"label index {int(lab.max())} >= len(label_names)")
            last_bits, push_bits = store.get(ci)
            depths = np.empty(reads.shape[0], np.int64) if return_depths else empty_i64
            tree, ctree, val_at, w_at, lab_at, hkeys, hvals = _forward_chunk(
                np.int64(c.first_value), nreads, reads, vb, np.int64(wu), ph, lab, last_bits,
                push_bits, tree, ctree, val_at, w_at, lab_at, ring, hkeys, hvals, st, phase_cost,
                phase_reads, label_cost, label_reads, depths, bool(return_depths), ctab)
            if st[7] >= 0:
                raise ValueError(f"chunk {ci}, read {int(st[7])}: value {int(reads[st[7]])} is "
                                 "not on the stack")
            store.drop(ci)
            if return_depths:
                depth_parts.append(depths)
            del c, nreads, reads, vb, ph, lab, last_bits, push_bits
    finally:
        store.close()
    if not has_label:
        label_cost[0] = phase_cost.sum()
        label_reads[0] = phase_reads.sum()
    depths_all = None
    if return_depths:
        depths_all = np.concatenate(depth_parts) if depth_parts else np.zeros(0, np.int64)
    return PriceResult(cost=int(phase_cost.sum()), reads=int(phase_reads.sum()), depths=depths_all,
                       phase_cost=phase_cost, phase_reads=phase_reads, label_cost=label_cost,
                       label_reads=label_reads, peak_live_values=int(st[8]),
                       peak_live_bytes=int(st[5]), compactions=int(st[6]))
