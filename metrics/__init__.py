"""Measuring data movement: recording a program and pricing it (docs/cost_model.md).

    metrics.bytedmd(func, args, bytes_per_element=None) -> int        ByteDMD cost of func(*args)
    metrics.bytedmd_trace(func, args) -> ndarray                     element depth of every read
    metrics.ard(events), metrics.dmc(events)                          buffer-level ARD / DMC
    metrics.reuse_distances(addresses) -> ndarray                     LRU stack distances
    metrics.reuse_histogram(d), metrics.miss_ratio_curve(d)
    metrics.report(trace) -> Report                                   every model, with attribution
    metrics.bytedmd_price(trace) -> PriceResult                       the fast engine itself

Layout, imports pointing down:
    metrics.trace        the program record (imports nothing of the project)
    metrics.trace_store  its compact storage for big traces (imports nothing of the project)
    metrics.tracking     Tracker, TrackedArray, numpy handlers             -> trace
    pricing              costs, liveness, stack_index, pricing_kernels, engine, oracle, ard_dmc,
                         reuse, reporting                                   -> trace
    metrics.api          bytedmd(func, args) = track + price                -> tracking, engine
Metrics know nothing about learners: they record numpy code and price a `metrics.trace.Trace`.
"""
from metrics.api import bytedmd, bytedmd_trace, trace_call
from metrics.ard_dmc import ard, ard_dmc, ard_dmc_arrays, dmc
from metrics.engine import PriceResult, bytedmd_price
from metrics.reporting import Report, report
from metrics.reuse import miss_ratio_curve, reuse_distances, reuse_histogram, trace_reuse_distances
from metrics.trace import ProgramBuilder, Trace, TraceChunk
from metrics.energy_model import energy

__all__ = ["PriceResult", "ProgramBuilder", "Report", "Trace", "TraceChunk", "ard", "ard_dmc",
           "ard_dmc_arrays", "bytedmd", "bytedmd_price", "bytedmd_trace", "dmc", "energy",
           "miss_ratio_curve", "report", "reuse_distances", "reuse_histogram", "trace_call",
           "trace_reuse_distances"]
