"""The live stack, indexed for O(log n) depths (docs/engine.md): a Fenwick tree over timestamps
and a map from value id to timestamp; and the engine's scalar state.

Every live value holds a timestamp (its last move to the top); the Fenwick tree holds each live
value's weight at its timestamp (1 when all widths are equal, else its width in bytes), so a
depth is the tree's sum over [its timestamp, newest timestamp]. Tree nodes above the newest
timestamp are not maintained. When the timestamps run out, `_compact` renumbers the live values
1..L in order. Value id -> timestamp: a ring for the newest values, an open-addressing hash map
(int64 -> int64, keys >= 0, -1 = empty, linear probing, backward-shift deletion) for older ones.

The engine's scalar state is one int64 array `st` shared with the numba kernels (numba cannot
update a NamedTuple in place); the constants below name its fields, and `EngineState` reads it
out in Python.
"""
from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

# ---- the engine state: st[NAME] ------------------------------------------------------------
NEWEST_TS = 0        # newest timestamp in use
HASH_SIZE = 1        # entries in the hash map
HASH_BITS = 2        # log2 of the hash map's capacity
LIVE = 3             # values on the stack
LIVE_BYTES = 4       # bytes on the stack
PEAK_BYTES = 5       # largest LIVE_BYTES seen
COMPACTIONS = 6      # timestamp renumberings done
ERROR_READ = 7       # -1, or the index of a read naming a value not on the stack
PEAK_LIVE = 8        # largest LIVE seen
READ_POS = 9         # position in the chunk's reads
N_STATE = 10


class EngineState(NamedTuple):
    """The state array read out, field by field (same order as the constants above)."""
    newest_ts: int
    hash_size: int
    hash_bits: int
    live: int
    live_bytes: int
    peak_bytes: int
    compactions: int
    error_read: int
    peak_live: int
    read_pos: int

    @classmethod
    def of(cls, st: np.ndarray) -> "EngineState":
        return cls(*(int(x) for x in st))


def new_state(hash_bits: int) -> np.ndarray:
    st = np.zeros(N_STATE, np.int64)
    st[HASH_BITS] = hash_bits
    st[ERROR_READ] = -1
    return st


# ---- hash map: value id -> timestamp --------------------------------------------------------
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



# ---- Fenwick tree over timestamps -----------------------------------------------------------


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
    t = st[NEWEST_TS]
    bits = st[HASH_BITS]
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
    st[NEWEST_TS] = L
    st[COMPACTIONS] += 1
    return tree, ctree, val_at, w_at, lab_at
