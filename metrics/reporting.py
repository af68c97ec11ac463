"""One report over a recorded program: every cost model at once, with attribution.

    rep = metrics.report(trace)          # a metrics.trace.Trace from a tracked run
    rep.bytedmd, rep.ard, rep.dmc, rep.reads, rep.escapes
    rep.by_phase                         # DataFrame: phase, reads, bytedmd
    rep.by_label                         # DataFrame: label, reads, bytedmd (Tracker.label)
    rep.to_frame()                       # one-row DataFrame of the scalar figures

Units: reads and writes in elements (one scalar value each), read_bytes/write_bytes in bytes,
ByteDMD in its own unit (sum over bytes read of ceil(sqrt(byte depth))), ARD in elements of
buffer traffic (docs/cost_model.md section 3), reuse distances in distinct values.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from metrics.ard_dmc import ard_dmc_arrays
from metrics.engine import bytedmd_price
from metrics.reuse import reuse_histogram, trace_reuse_distances
from metrics.trace import Trace


@dataclass
class Report:
    reads: int                    # elements read by instructions
    writes: int                   # elements written: values computed by instructions
    read_bytes: int
    write_bytes: int
    inputs: int                   # elements pushed from outside (arguments, later inputs)
    bytedmd: int
    ard: float
    dmc: float
    escapes: int
    mean_reuse_distance: float | None
    by_phase: pd.DataFrame = field(repr=False)
    by_label: pd.DataFrame = field(repr=False)
    reuse_histogram: pd.DataFrame | None = field(repr=False, default=None)
    peak_live_values: int = 0     # most values live at once (exact, from the engine's liveness)
    peak_live_bytes: int = 0      # their bytes: the program's exact working set, in bytes

    SCALARS = ("reads", "writes", "read_bytes", "write_bytes", "inputs", "bytedmd", "ard", "dmc",
               "escapes", "mean_reuse_distance", "peak_live_values", "peak_live_bytes")

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.SCALARS}

    def to_frame(self) -> pd.DataFrame:
        """One row with the scalar figures."""
        return pd.DataFrame([self.as_dict()])


def _counts(trace: Trace):
    reads = writes = read_bytes = write_bytes = inputs = 0
    for c in trace.chunks:
        nr = np.asarray(c.nreads)
        vb = np.asarray(c.value_bytes).astype(np.int64)
        computed = nr > 0
        reads += int(nr.sum(dtype=np.int64))
        writes += int(computed.sum())
        inputs += int((~computed).sum())
        write_bytes += int(vb[computed].sum())
        # bytes read: the width of each value read
        r = np.asarray(c.reads)
        if r.size:
            read_bytes += int(_value_bytes_of(trace, r).sum())
    return reads, writes, read_bytes, write_bytes, inputs


def _value_bytes_of(trace: Trace, ids: np.ndarray) -> np.ndarray:
    if len(trace.chunks) == 1:
        return np.asarray(trace.chunks[0].value_bytes)[ids].astype(np.int64)
    starts = np.array([c.first_value for c in trace.chunks])
    which = np.searchsorted(starts, ids, side="right") - 1
    out = np.empty(ids.shape, np.int64)
    for k in np.unique(which):
        sel = which == k
        c = trace.chunks[k]
        out[sel] = np.asarray(c.value_bytes)[ids[sel] - c.first_value]
    return out


def report(trace: Trace, bytes_per_element: int | None = None, reuse: bool = True,
           spill_dir: str | None = None) -> Report:
    """Price a trace with every cost model. `reuse=False` skips the element-level reuse
    distances (the costliest part for very long runs). spill_dir: where the engine's liveness
    bits of a big trace go (metrics.engine.bytedmd_price)."""
    price = bytedmd_price(trace, bytes_per_element=bytes_per_element, spill_dir=spill_dir)
    reads, writes, read_bytes, write_bytes, inputs = _counts(trace)
    if bytes_per_element is not None:
        read_bytes, write_bytes = reads * bytes_per_element, writes * bytes_per_element
    ard, dmc = ard_dmc_arrays(trace.buffer_kind, trace.buffer_id, trace.buffer_size)
    by_phase = pd.DataFrame({"phase": list(trace.phase_names),
                             "reads": np.asarray(price.phase_reads, np.int64),
                             "bytedmd": np.asarray(price.phase_cost, np.int64)})
    by_phase = by_phase[by_phase["reads"] > 0].reset_index(drop=True)
    by_label = pd.DataFrame({"label": list(trace.label_names),
                             "reads": np.asarray(price.label_reads, np.int64),
                             "bytedmd": np.asarray(price.label_cost, np.int64)})
    by_label = (by_label[by_label["reads"] > 0].sort_values("bytedmd", ascending=False)
                .reset_index(drop=True))
    mean_rd, hist = None, None
    if reuse and reads:
        d = trace_reuse_distances(trace)
        d = d[d >= 0]
        mean_rd = float(d.mean()) if d.size else None
        hist = reuse_histogram(d)
    return Report(reads=reads, writes=writes, read_bytes=read_bytes, write_bytes=write_bytes,
                  inputs=inputs, bytedmd=int(price.cost), ard=float(ard), dmc=float(dmc),
                  escapes=int(trace.escapes), mean_reuse_distance=mean_rd,
                  by_phase=by_phase, by_label=by_label, reuse_histogram=hist,
                  peak_live_values=int(price.peak_live_values),
                  peak_live_bytes=int(price.peak_live_bytes))
