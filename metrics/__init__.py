"""Cost models over the record of a tracked run (docs/cost_model.md).

    metrics.bytedmd(func, args, bytes_per_element=None) -> int        ByteDMD cost of func(*args)
    metrics.bytedmd_trace(func, args) -> ndarray                     element depth of every read
    metrics.ard(events), metrics.dmc(events)                          buffer-level ARD / DMC
    metrics.reuse_distances(addresses) -> ndarray                     LRU stack distances
    metrics.reuse_histogram(d), metrics.miss_ratio_curve(d)
    metrics.report(trace) -> Report                                   every model, with attribution
    metrics.bytedmd_price(trace) -> PriceResult                       the fast engine itself

Metrics know nothing about learners: they price a `metrics.trace.Trace`.
"""
from __future__ import annotations

import importlib

# Loaded on first use: metrics.api needs harness.tracking, which itself imports metrics.trace.
_EXPORTS = {
    "bytedmd": "metrics.api", "bytedmd_trace": "metrics.api", "trace_call": "metrics.api",
    "ard": "metrics.ard", "dmc": "metrics.ard", "ard_dmc_arrays": "metrics.ard",
    "ard_dmc": "metrics.ard",
    "reuse_distances": "metrics.reuse", "reuse_histogram": "metrics.reuse",
    "miss_ratio_curve": "metrics.reuse", "trace_reuse_distances": "metrics.reuse",
    "report": "metrics.reporting", "Report": "metrics.reporting",
    "bytedmd_price": "metrics.engine", "PriceResult": "metrics.engine",
    "Trace": "metrics.trace", "TraceChunk": "metrics.trace", "ProgramBuilder": "metrics.trace",
}

__all__ = sorted(_EXPORTS)

# Bound eagerly: the submodule metrics.ard shares its name with the function metrics.ard, and
# importing the submodule would otherwise leave the package attribute pointing at the module.
from metrics.ard import ard, ard_dmc, ard_dmc_arrays, dmc  # noqa: E402
from metrics.reuse import (miss_ratio_curve, reuse_distances, reuse_histogram,  # noqa: E402
                           trace_reuse_distances)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'metrics' has no attribute {name!r}")


def _bind(name):
    """Importing metrics.ard sets the package attribute `ard` to the module; re-bind the function
    of the same name so that `metrics.ard(events)` is always the function."""
    globals()[name] = getattr(importlib.import_module(_EXPORTS[name]), name)

