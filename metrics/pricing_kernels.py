"""The engine's forward pass (docs/engine.md): price every read of a chunk against the live
stack (metrics.stack_index), then move the instruction's distinct inputs to the top, drop the
values read for the last time (metrics.liveness) and push its output.

numba kernels; the engine's scalar state is the int64 array `st`, indexed by the names in
metrics.stack_index (st[NEWEST_TS], st[ERROR_READ], ...).
"""
from __future__ import annotations

import numba as nb
import numpy as np

from metrics.costs import _read_cost
from metrics.stack_index import (COMPACTIONS, ERROR_READ, HASH_BITS, HASH_SIZE, LIVE,  # noqa: F401
                                 LIVE_BYTES, NEWEST_TS, PEAK_BYTES, PEAK_LIVE, READ_POS, _compact,
                                 _fen_append, _fen_range, _fen_sub, _hdelete, _hfind,
                                 _hinsert_new, _hrehash)


@nb.njit(cache=True)
def _forward_run(v0, first_value, nreads, reads, value_bytes, wu, phase, label, last_bits,
                 push_bits, tree, ctree, val_at, w_at, lab_at, ring, hkeys, hvals, st,
                 phase_cost, phase_reads, label_cost, label_reads, depths, want_depths, ctab):
    """Price instructions v0.. of one chunk until the chunk ends (returns n), the timestamps
    run out or the hash map is half full (returns the instruction to resume at, after
    _forward_chunk has compacted or rehashed), or a read names a value not on the stack
    (st[ERROR_READ] = read index).  The arrays are never reallocated in here."""
    n = nreads.shape[0]
    has_label = label.shape[0] > 0
    use_ctree = ctree.shape[0] > 1
    R = np.int64(ring.shape[0])
    rmask = R - 1
    QT = np.int64(ctab.shape[0])
    cap = tree.shape[0] - 1
    hcap = hkeys.shape[0]
    tsbuf = np.empty(256, np.int64)
    p = st[READ_POS]
    t = st[NEWEST_TS]
    bits = st[HASH_BITS]
    hsize = st[HASH_SIZE]
    live = st[LIVE]
    live_bytes = st[LIVE_BYTES]
    peak_bytes = st[PEAK_BYTES]
    peak_live = st[PEAK_LIVE]
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
                    st[ERROR_READ] = p + j
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
            if st[ERROR_READ] >= 0:
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
        #    to the hash map); it is pushed at no cost unless it is never read and not kept.
        #    (This push repeats the one in step 2 on purpose: one inline="always" helper for
        #    both measured 1.8x slower, 2.5 against 4.6 M reads/s on a 5M-read BPTT trace,
        #    interleaved A/B in one process, 2026-12-06.)
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
    st[READ_POS] = p
    st[NEWEST_TS] = t
    st[HASH_SIZE] = hsize
    st[LIVE] = live
    st[LIVE_BYTES] = live_bytes
    st[PEAK_BYTES] = peak_bytes
    st[PEAK_LIVE] = peak_live
    return v


@nb.njit(cache=True)
def _forward_chunk(first_value, nreads, reads, value_bytes, wu, phase, label, last_bits,
                   push_bits, tree, ctree, val_at, w_at, lab_at, ring, hkeys, hvals, st,
                   phase_cost, phase_reads, label_cost, label_reads, depths, want_depths, ctab):
    """Price one chunk.  st: the engine state (metrics.stack_index: st[NEWEST_TS], ...).

    wu > 0: every value is wu bytes wide; `tree` then counts live values (weight 1), w_at has
    length 1 and ctab[q] is the cost of a read at element depth q < len(ctab).  wu == 0: widths
    from value_bytes; `tree` holds byte weights, w_at[ts] the width, ctree (if longer than 1)
    counts values for element depths.  label has length 0 (no labels: lab_at has length 1 and
    label_cost is left to the caller) or n.
    Value id -> timestamp: `ring[u & (R-1)]` for the R newest values (0 = not on the stack),
    the hash map (hkeys, hvals) for older values still on the stack."""
    n = nreads.shape[0]
    st[READ_POS] = 0
    v = np.int64(0)
    while True:
        v = _forward_run(v, first_value, nreads, reads, value_bytes, wu, phase, label,
                         last_bits, push_bits, tree, ctree, val_at, w_at, lab_at, ring, hkeys,
                         hvals, st, phase_cost, phase_reads, label_cost, label_reads, depths,
                         want_depths, ctab)
        if v >= n or st[ERROR_READ] >= 0:
            break
        k = np.int64(nreads[v])
        if st[NEWEST_TS] + k + 1 > tree.shape[0] - 1:
            tree, ctree, val_at, w_at, lab_at = _compact(k + 1, first_value + v, wu, tree, ctree,
                                                        val_at, w_at, lab_at, ring, hkeys,
                                                        hvals, st)
        if 2 * (st[HASH_SIZE] + 1) > hkeys.shape[0]:
            hkeys, hvals, b = _hrehash(hkeys, hvals, st[HASH_BITS])
            st[HASH_BITS] = b
    return tree, ctree, val_at, w_at, lab_at, hkeys, hvals
