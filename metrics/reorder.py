"""The same program with its elementwise chains evaluated one element at a time.

ByteDMD prices reads by their depth on an LRU stack, so it depends on the order of the scalar
work (docs/cost_model_order.md). A tracked numpy program is recorded in numpy's order: one
operation over a whole array before the next starts. `demand_order(trace)` returns the same
program (the same instructions, each making the same reads in the same order, the same values
kept, the same widths, phases and labels) with some instructions moved later, as a fused
evaluator would run them:

* an instruction is *deferred* when it may run just before its first consumer: with
  fuse="elementwise" (default) when it and its first consumer belong to elementwise operations
  (trace.elementwise_runs: ufuncs, where, clip) of one chain, i.e. with no other instruction
  (a matmul, a reduction, an input, an escape) recorded between them, so that a chain such as
  `tanh(z + b)` then the leak finishes one output element before the next element starts, as a
  loop-fusing compiler would run consecutive elementwise operations, while matmuls, reductions,
  accumulations across them and everything else keep numpy's order; with fuse="all" every
  instruction that some later instruction reads (a demand-driven evaluator: everything as late
  as possible);
* every other instruction is *anchored*: it keeps its place relative to the other anchored ones
  (inputs, values never read, escapes are always anchored);
* when an instruction is emitted, its not-yet-emitted operands are emitted first, depth first, in
  its read order.

The result is a topological order of the data dependences (the trace records no other effects),
so the reordered program computes bit-identical results with equal instruction, read and escape
counts (tests/test_reorder.py). Its ByteDMD against numpy order's is the part of a rule's cost due
to op-at-a-time evaluation (studies/evaluation_order.py). Neither order is optimal, and moving
work later is not always cheaper: fuse="all" can cost more than numpy's order, because one
output's demand pulls in a whole dependence cone (a weight's gradient needs every step's error)
in a depth-first order; deferring a gradient's running sum across the matmuls that feed it would
keep all of their outputs live, which is why a chain stops at any other instruction.

Values are renumbered in the new order (a trace's values are numbered in creation order).
Buffer-level events (ARD/DMC, docs/cost_model.md section 3) describe numpy's whole-array order
and are dropped: price the result with ByteDMD, reuse distances or the energy model.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from metrics.trace import Trace, TraceChunk, run_mask


@njit(cache=True)
def _demand_permutation(nreads, offsets, reads, anchored):  # pragma: no cover - compiled
    """order[k] = the old id of the k-th instruction in demand order."""
    n = nreads.shape[0]
    order = np.empty(n, np.int64)
    emitted = np.zeros(n, np.bool_)
    stack_v = np.empty(n, np.int64)
    stack_i = np.empty(n, np.int64)
    k = 0
    for root in range(n):
        if not anchored[root] or emitted[root]:
            continue
        top = 0
        stack_v[0] = root
        stack_i[0] = 0
        while top >= 0:
            x = stack_v[top]
            i = stack_i[top]
            if i < nreads[x]:
                stack_i[top] = i + 1
                u = reads[offsets[x] + i]
                if not emitted[u]:
                    top += 1
                    stack_v[top] = u
                    stack_i[top] = 0
            else:
                emitted[x] = True
                order[k] = x
                k += 1
                top -= 1
    return order[:k]


@njit(cache=True)
def _first_use(n, nreads, reads):  # pragma: no cover - compiled
    """first[v] = the first instruction reading value v (n if none)."""
    first = np.full(n, n, np.int64)
    k = 0
    for v in range(n):
        for _ in range(nreads[v]):
            u = reads[k]
            if first[u] == n:
                first[u] = v
            k += 1
    return first


def _concatenated(trace: Trace):
    chunks = trace.chunks
    if not chunks:
        z8, z64 = np.zeros(0, np.uint8), np.zeros(0, np.int64)
        return z8, z64, z8, z8
    nreads = np.concatenate([np.asarray(c.nreads, np.uint8) for c in chunks])
    reads = np.concatenate([np.asarray(c.reads, np.int64) for c in chunks])
    vb = np.concatenate([np.asarray(c.value_bytes, np.uint8) for c in chunks])
    ph = np.concatenate([np.asarray(c.phase, np.uint8) for c in chunks])
    return nreads, reads, vb, ph


FUSE = ("elementwise", "all")


def demand_order(trace: Trace, fuse: str = "elementwise") -> Trace:
    """`trace` with the instructions `fuse` allows deferred run just before their first use
    (module docstring); a new Trace, the input is not changed. Units unchanged (value widths in
    bytes)."""
    if fuse not in FUSE:
        raise ValueError(f"demand_order: fuse must be one of {FUSE}, got {fuse!r}")
    nreads, reads, vb, ph = _concatenated(trace)
    n = int(nreads.shape[0])
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(nreads.astype(np.int64), out=offsets[1:])
    first_use = _first_use(n, nreads, reads)   # the first instruction reading each value
    consumed = first_use < n
    escape = run_mask(trace.escape_runs, n)
    ew = run_mask(trace.elementwise_runs, n)
    anchored = (nreads == 0) | ~consumed | escape
    if fuse == "elementwise":
        fu = np.minimum(first_use, n - 1)
        others = np.cumsum(~ew)                  # non-elementwise instructions up to each one
        anchored |= ~ew | ~ew[fu] | (others[fu] != others)
    order = _demand_permutation(nreads, offsets, reads, anchored)
    if order.shape[0] != n:  # pragma: no cover - every unanchored value has a consumer
        raise RuntimeError(f"demand_order: {n - order.shape[0]} instructions never emitted")
    new_id = np.empty(n, np.int64)
    new_id[order] = np.arange(n, dtype=np.int64)
    new_nreads = nreads[order]
    # the reads of each instruction, gathered in the new order, renamed to the new ids
    counts = new_nreads.astype(np.int64)
    new_starts = np.zeros(n, np.int64)
    np.cumsum(counts[:-1], out=new_starts[1:])
    idx = np.repeat(offsets[order] - new_starts, counts)
    idx = idx + np.arange(idx.shape[0], dtype=np.int64)
    new_reads = new_id[reads[idx]] if idx.shape[0] else np.zeros(0, np.int64)
    new_escape = escape[order]
    runs = _runs(new_escape)
    label = None
    if trace.label is not None:
        label = np.asarray(trace.label[0:n], np.uint16)[order]
    keep = new_id[np.asarray(trace.keep, np.int64)]
    chunk = TraceChunk(first_value=0, nreads=new_nreads, reads=new_reads,
                       value_bytes=vb[order], phase=ph[order])
    ew_new = ew[order]
    return Trace(chunks=[chunk], keep=keep, phase_names=list(trace.phase_names), label=label,
                 label_names=list(trace.label_names), escapes=trace.escapes, escape_runs=runs,
                 elementwise_runs=_runs(ew_new))


def _runs(mask: np.ndarray) -> np.ndarray:
    """(first, count) of each run of True in mask, as an int64 (k, 2) array."""
    m = np.concatenate(([False], mask, [False])).astype(np.int8)
    d = np.diff(m)
    first = np.flatnonzero(d == 1)
    last = np.flatnonzero(d == -1)
    return np.stack([first, last - first], axis=1).astype(np.int64).reshape(-1, 2)
