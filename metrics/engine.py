"""Exact, fast ByteDMD pricing of a `metrics.trace.Trace` (docs/cost_model.md section 1).

`bytedmd_price(trace)` gives exactly what `metrics.oracle.oracle_bytedmd` gives (same cost, same
depth of every read, same per-phase split), in O(log n) work per read and memory bounded by the
live set plus one chunk (plus 1 bit per read and per value of liveness flags, spilled to disk for
big traces).

Algorithm (see docs/engine.md), one module per part:

1. Liveness, backward pass (metrics/liveness.py).  The chunks are walked in reverse, each instruction in reverse: its
   output first (pushed iff its bit in `seen`, a bitmap over value ids seeded with `trace.keep`,
   is set), then its reads in reverse order (a read whose value's bit is still clear is that
   value's last read; the bit is set).  Output: 1 bit per read ("last read") and 1 bit per value
   ("pushed onto the stack"), spilled to disk for big traces.
2. Pricing, forward pass (metrics/pricing_kernels.py over the stack index of
   metrics/stack_index.py; exact costs in metrics/costs.py).  Every live value holds a timestamp (its last move to the top); a
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

from dataclasses import dataclass

import numpy as np

from metrics.costs import _cost_table_for, byte_prefix_cost, read_cost  # noqa: F401  (public)
from metrics.liveness import _as, _as_ids, _check_chunks, liveness_flags
from metrics.pricing_kernels import _forward_chunk
from metrics.stack_index import ERROR_READ, EngineState, new_state
from metrics.trace import Trace
from metrics.trace_store import resolve_spill_dir

__all__ = ["PriceResult", "bytedmd_price", "liveness_flags", "byte_prefix_cost", "read_cost"]


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


def bytedmd_price(trace: Trace, bytes_per_element: int | None = None, return_depths: bool = False,
                  *, ts_capacity: int = 1 << 16, spill: bool | None = None,
                  spill_dir: str | None = None, window: int = 1 << 20) -> PriceResult:
    """Exact ByteDMD of `trace` (docs/cost_model.md section 1), streaming over `trace.chunks`.

    bytes_per_element: if given, every value is that many bytes wide (else trace value_bytes).
    return_depths: also return the element depth of every read (an int64 array of n_reads).
    ts_capacity: initial timestamp capacity (tests force compaction with a tiny one).
    spill: keep the liveness bits (1 bit per read and per value) in .npy files under spill_dir
    instead of memory; default: spill when the trace has more than 2^27 reads and a spill
    directory is set (spill_dir, else $RNN_DM_SPILL_DIR: metrics.trace_store.resolve_spill_dir).
    spill=True without a spill directory uses the system temp folder.
    window: the newest `window` values (rounded up to a power of two) find their timestamp by
    direct indexing; older values still on the stack go through a hash map (tests shrink it).
    """
    bpe = 0 if bytes_per_element is None else int(bytes_per_element)
    if bytes_per_element is not None and not 1 <= bpe <= 1 << 20:
        raise ValueError(f"bytes_per_element must be an integer from 1 to {1 << 20}, "
                         f"got {bytes_per_element!r}")
    n_phases = max(1, len(trace.phase_names))
    n_labels = max(1, len(trace.label_names))
    n_values = _check_chunks(trace)
    total_reads = trace.n_reads
    spill_dir = resolve_spill_dir(spill_dir)
    if spill is None:
        spill = total_reads > (1 << 27) and spill_dir is not None

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
    if has_label and len(trace.label) < n_values:
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
        st = new_state(hb)
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
            err = int(st[ERROR_READ])
            if err >= 0:
                raise ValueError(f"chunk {ci}, read {err}: value {int(reads[err])} is "
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
    final = EngineState.of(st)
    return PriceResult(cost=int(phase_cost.sum()), reads=int(phase_reads.sum()), depths=depths_all,
                       phase_cost=phase_cost, phase_reads=phase_reads, label_cost=label_cost,
                       label_reads=label_reads, peak_live_values=final.peak_live,
                       peak_live_bytes=final.peak_bytes, compactions=final.compactions)

