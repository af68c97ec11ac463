"""Energy of a program on a memory hierarchy, from its measured reuse distances (issue 13, item 2).

    metrics.energy(trace_or_distances, hierarchy=None, ...) -> EnergyResult      total in pJ
    energy_of_trace(trace, hierarchy=None, bytes_per_element=None) -> EnergyResult
    energy_of_distances(distances_bytes, access_bytes, counts=None, n_ops=0, hierarchy=None)
    trace_reuse_bytes(trace, bytes_per_element=None) -> int64 ndarray (bytes, one per read)
    MemoryHierarchy(levels, pj_per_op), MemoryHierarchy.from_file(path), DEFAULT_HIERARCHY
    level_overflow_distances(hierarchy=None, bytes_per_element=None) -> {level: distance}

The model (docs/energy.md):

* **Reuse distance in bytes** of a read: the bytes of the distinct values touched since the
  previous touch of the value read, the value itself included -- the depth in bytes of its
  deepest byte in an LRU stack of values (as ByteDMD counts depth, docs/cost_model.md section 1).
  With every value b bytes wide it is (d + 1) * b, d the element reuse distance of section 4
  (distinct *other* values). The touches are those of `metrics.trace_reuse_distances`: every read,
  and every creation of a value (an instruction's output, a pushed input).
* **Reads.** Each level is an idealised fully associative LRU cache of capacity_bytes (no lines,
  no associativity, no prefetch; a value is resident iff its reuse distance in bytes <= the
  capacity, which is exact for LRU over whole values). A read is served by the smallest level
  that holds it and costs its width x that level's pJ/byte. A read with no earlier touch (cold;
  in a trace only with cold_inputs=True) is served by the last level (DRAM).
* **Writes.** Every instruction's output is written once, at the level that serves its first
  read: the value must have been written (back) to where that read finds it. An output never read
  (e.g. a returned value) is written at the first level. Pushed inputs are not written (they
  come from outside the program). So a value kept in registers/L1 costs a write and reads at L1;
  a stored history read back from DRAM costs a DRAM write plus DRAM reads.
* **Arithmetic.** Every instruction with at least one read (one scalar operation,
  docs/cost_model.md section 2; escapes such as float(x) included) costs pj_per_op.

Units: capacities and distances in bytes, energies in pJ (1 pJ = 1e-12 J).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from metrics.hierarchy import (DEFAULT_HIERARCHY, MemoryHierarchy, MemoryLevel,  # noqa: F401
                               level_overflow_distances)
from metrics.reuse_kernel import check_trace_reads, escaped_flags, trace_chunk_distances
from metrics.trace import Trace

__all__ = ["MemoryLevel", "MemoryHierarchy", "DEFAULT_HIERARCHY", "EnergyResult", "energy",
           "energy_of_trace", "energy_of_distances", "trace_reuse_bytes",
           "level_overflow_distances"]



@dataclass
class EnergyResult:
    """Energy of one program on one hierarchy. Per level (lists, smallest level first): reads and
    writes served there, their bytes, and their pJ; cold_reads (no earlier touch, served by the
    last level) are included in the last level's reads; ops instructions at pj_per_op each.
    total_pj = sum(level_pj) + ops_pj. Units: bytes, pJ."""
    levels: list
    reads: list
    read_bytes: list
    writes: list
    write_bytes: list
    level_pj: list
    cold_reads: int
    ops: int
    ops_pj: float
    total_pj: float
    hierarchy: MemoryHierarchy = field(repr=False)

    @property
    def total_joules(self) -> float:
        return self.total_pj * 1e-12

    def as_dict(self) -> dict:
        """Flat dict for a results table: energy_pj, energy_ops_pj, and per level
        energy_<level>_pj, reads_<level>, read_bytes_<level>, writes_<level>, write_bytes_<level>
        (level names lower-cased, spaces as underscores)."""
        out = {"energy_pj": self.total_pj, "energy_ops_pj": self.ops_pj, "ops": self.ops,
               "cold_reads": self.cold_reads}
        for i, name in enumerate(self.levels):
            k = name.lower().replace(" ", "_")
            out[f"energy_{k}_pj"] = self.level_pj[i]
            out[f"reads_{k}"], out[f"read_bytes_{k}"] = self.reads[i], self.read_bytes[i]
            out[f"writes_{k}"], out[f"write_bytes_{k}"] = self.writes[i], self.write_bytes[i]
        return out


def _result(h, reads, read_bytes, writes, write_bytes, cold, ops) -> EnergyResult:
    level_pj = [(int(rb) + int(wb)) * lv.pj_per_byte
                for lv, rb, wb in zip(h.levels, read_bytes, write_bytes)]
    ops_pj = int(ops) * h.pj_per_op
    return EnergyResult(levels=h.names, reads=[int(x) for x in reads],
                        read_bytes=[int(x) for x in read_bytes], writes=[int(x) for x in writes],
                        write_bytes=[int(x) for x in write_bytes], level_pj=level_pj,
                        cold_reads=int(cold), ops=int(ops), ops_pj=ops_pj,
                        total_pj=math.fsum(level_pj) + ops_pj, hierarchy=h)


def _widths(trace: Trace, bytes_per_element) -> np.ndarray:
    """uint8 width in bytes of every value id (bytes_per_element overrides the trace's)."""
    if bytes_per_element is None:
        parts, nxt = [], 0
        for c in trace.chunks:
            if c.first_value != nxt:
                raise ValueError("trace chunks must cover value ids 0, 1, 2, ... in order")
            parts.append(np.asarray(c.value_bytes, np.uint8))
            nxt += c.n_values
        return parts[0] if len(parts) == 1 else np.concatenate(parts or [np.zeros(0, np.uint8)])
    b = bytes_per_element
    if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or not 1 <= b <= 255:
        raise ValueError(f"bytes_per_element must be an integer in 1..255, got {b!r}")
    return np.full(trace.n_values, b, np.uint8)


def _walk(trace: Trace, caps, bytes_per_element, cold_inputs, out, price):
    """Run the kernel over the trace's chunks (byte weights); fills `out` (if non-empty) with
    the reuse distance in bytes of every read, the value itself excluded (-1: cold). Returns the
    (8, levels) accumulator of trace_chunk_distances."""
    n_reads, n_values = trace.n_reads, trace.n_values
    check_trace_reads(trace)
    width = _widths(trace, bytes_per_element)
    small = n_reads + n_values < 2**31 - 1
    last = np.full(n_values, -1, np.int32 if small else np.int64)
    # the tree holds at most one width per value: int32 when that total fits
    total = int(width.sum(dtype=np.int64))
    tree = np.zeros(n_reads + n_values + 1, np.int32 if total < 2**31 - 1 else np.int64)
    acc = np.zeros((8, caps.shape[0] + 1), np.int64)
    read_yet = np.zeros(n_values, np.uint8)
    escaped = escaped_flags(trace)
    t, pos = 0, 0
    for c in trace.chunks:
        m = int(c.reads.shape[0])
        t = trace_chunk_distances(int(c.first_value), c.nreads, c.reads, width, False,
                                  not cold_inputs, t, last, tree,
                                  out[pos:pos + m] if out.shape[0] else out, price, caps, read_yet,
                                  acc, escaped)
        pos += m
    return acc


def _hierarchy(h) -> MemoryHierarchy:
    if h is None:
        return DEFAULT_HIERARCHY
    if isinstance(h, MemoryHierarchy):
        return h
    if isinstance(h, (str, Path)):
        return MemoryHierarchy.from_file(h)
    if isinstance(h, dict):
        return MemoryHierarchy.from_dict(h)
    raise TypeError(f"hierarchy must be a MemoryHierarchy, a dict or a .toml/.json path, "
                    f"got {type(h).__name__}")


def trace_reuse_bytes(trace: Trace, bytes_per_element: int | None = None,
                      cold_inputs: bool = False) -> np.ndarray:
    """Reuse distance in bytes of every read of a trace, in read order: the bytes of the distinct
    values touched since the value's previous touch, its own bytes included (-1 for a read with no
    earlier touch). Touches as in metrics.trace_reuse_distances; with cold_inputs=True a pushed
    input is not a touch, so its first read is cold. bytes_per_element overrides the widths."""
    out = np.empty(trace.n_reads, np.int64)
    if out.shape[0] == 0:
        return out
    _walk(trace, np.zeros(0, np.int64), bytes_per_element, cold_inputs, out, False)
    width = _widths(trace, bytes_per_element)
    reads = trace.arrays()[1]
    return np.where(out >= 0, out + width[reads], -1)


def energy_of_trace(trace: Trace, hierarchy=None, bytes_per_element: int | None = None,
                    cold_inputs: bool = False) -> EnergyResult:
    """Energy (pJ) of a recorded program (e.g. one measured update) on `hierarchy` (default
    DEFAULT_HIERARCHY; a MemoryHierarchy, a dict, or a .toml/.json path).

    Reads: served by the smallest level whose capacity (bytes) holds the read's reuse distance in
    bytes (idealised fully associative LRU over whole values), cost width x pJ/byte there.
    Writes: each instruction's output once, at the level of its first read (first level if never
    read). Inputs pushed from outside are touches at the start (warm: as ByteDMD's eager
    initialization leaves them on the stack) unless cold_inputs=True, when their first reads are
    cold and go to the last level. Arithmetic: pj_per_op per instruction with reads.
    bytes_per_element overrides the trace's value widths (bytes)."""
    h = _hierarchy(hierarchy)
    caps = h.capacities()
    acc = _walk(trace, caps, bytes_per_element, cold_inputs, np.zeros(0, np.int64), True)
    writes, write_bytes = acc[2].copy(), acc[3].copy()
    writes[0] += acc[6, 0] - writes.sum()           # outputs never read: written at level 0
    write_bytes[0] += acc[7, 0] - write_bytes.sum()
    return _result(h, acc[0], acc[1], writes, write_bytes, acc[4, 0], acc[5, 0])


def energy_of_distances(distances_bytes, access_bytes, counts=None, n_ops: int = 0,
                        hierarchy=None) -> EnergyResult:
    """Energy (pJ) of reads given their reuse distances in bytes (the value itself included; -1 =
    cold, served by the last level), e.g. a measured histogram: distances_bytes with `counts`
    reads each. access_bytes: bytes per read (a number, or one per distance). Prices the reads
    and n_ops instructions; writes are not known from distances alone and are not priced."""
    h = _hierarchy(hierarchy)
    d = np.asarray(distances_bytes)
    if d.ndim != 1 or (d.size and not np.issubdtype(d.dtype, np.integer)):
        raise ValueError("distances_bytes must be a 1-D array of integers (bytes; -1 = cold)")
    d = d.astype(np.int64)
    if ((d < 1) & (d != -1)).any():
        raise ValueError("distances_bytes must be >= 1 (they include the value's own bytes) "
                         "or -1 (cold)")
    c = np.ones(d.shape, np.int64) if counts is None else np.asarray(counts)
    if c.shape != d.shape or (c.size and not np.issubdtype(c.dtype, np.integer)) or (c < 0).any():
        raise ValueError("counts must be non-negative integers, one per distance")
    w = np.broadcast_to(np.asarray(access_bytes), d.shape)
    if (w.size and not np.issubdtype(w.dtype, np.integer)) or (w < 1).any():
        raise ValueError("access_bytes must be positive integers (bytes per read)")
    n_ops = int(n_ops)
    if n_ops < 0:
        raise ValueError(f"n_ops must be >= 0, got {n_ops}")
    n_levels = len(h.levels)
    lvl = np.where(d < 0, n_levels - 1, np.searchsorted(h.capacities(), d, side="left"))
    reads = np.zeros(n_levels, np.int64)
    rbytes = np.zeros(n_levels, np.int64)
    np.add.at(reads, lvl, c.astype(np.int64))
    np.add.at(rbytes, lvl, c.astype(np.int64) * w.astype(np.int64))
    zeros = np.zeros(n_levels, np.int64)
    return _result(h, reads, rbytes, zeros, zeros, int(c[d < 0].sum()), n_ops)


def energy(source, hierarchy=None, *, bytes_per_element: int | None = None,
           cold_inputs: bool = False, counts=None, n_ops: int = 0) -> EnergyResult:
    """Energy in pJ of a metrics.trace.Trace (energy_of_trace) or of reads given by their reuse
    distances in bytes (energy_of_distances, with bytes_per_element the bytes per read and
    optional counts per distance). See the module docstring and docs/energy.md for the model."""
    if isinstance(source, Trace):
        if counts is not None or n_ops:
            raise ValueError("counts and n_ops apply to distances, not to a trace")
        return energy_of_trace(source, hierarchy, bytes_per_element, cold_inputs)
    if bytes_per_element is None:
        raise ValueError("energy of reuse distances needs bytes_per_element (bytes per read)")
    return energy_of_distances(source, bytes_per_element, counts, n_ops, hierarchy)
