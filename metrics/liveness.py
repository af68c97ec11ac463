"""Liveness, the engine's backward pass (docs/engine.md): which read is its value's last, and
which values are pushed at all (read later or kept: docs/cost_model.md section 1.4).

The chunks are walked in reverse, each instruction in reverse: its output first (pushed iff its
bit in `seen`, a bitmap over value ids seeded with `trace.keep`, is set), then its reads in
reverse order (a read whose value's bit is still clear is that value's last read; the bit is
set). Output: 1 bit per read ("last read") and 1 bit per value ("pushed onto the stack"),
spilled to disk for big traces.
"""
from __future__ import annotations

import os
import tempfile

import numba as nb
import numpy as np

from metrics.trace import Trace
from metrics.trace_store import PackedChunk, check_free_space

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
        if spill and spill_dir is not None:
            os.makedirs(spill_dir, exist_ok=True)
        self.tmp = tempfile.TemporaryDirectory(prefix="bytedmd_flags_", dir=spill_dir) if spill else None

    def put(self, i, last_bits, push_bits):
        if self.tmp is None:
            self.items[i] = (last_bits, push_bits)
        else:
            check_free_space(self.tmp.name, last_bits.nbytes + push_bits.nbytes + (1 << 20),
                             "the liveness flags")
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
        if isinstance(c, PackedChunk):          # stored from arrays of equal length
            expect += n
            continue
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
