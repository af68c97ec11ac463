"""ByteDMD of a plain numpy function: run it on tracked arrays and price the recorded program.

    metrics.bytedmd(lambda A, B: A @ B, (A, B))          -> int  (docs/cost_model.md section 1)
    metrics.bytedmd_trace(lambda A, B: A @ B, (A, B))    -> element depth of every read
    trace_call(func, args)                               -> (result, metrics.trace.Trace)

Conventions (docs/cost_model.md section 1): the arguments are pushed at no cost, the last first, so
that the first argument ends on top (C order within each); the returned value(s) -- a tracked
array, a number, or a tuple/list/dict of them -- stay on the stack to the end. An untracked array
the function uses as an operand is a free constant (plain_arrays="constant", the reference
tracer's behaviour) or fresh input on first use (plain_arrays="input"; docs/tracking.md).
"""
from __future__ import annotations

import numpy as np

from metrics.engine import bytedmd_price
from metrics.trace import Trace
from metrics.tracking import Tracker


def trace_call(func, args, bytes_per_element=None, strict=False, plain_arrays="constant"):
    """Run func(*tracked args) under a fresh Tracker; returns (result, Trace)."""
    if not isinstance(args, (tuple, list)):
        args = (args,)
    tr = Tracker(bytes_per_element=bytes_per_element, strict=strict, plain_arrays=plain_arrays)
    targs = tr.track_args(*args)
    result = func(*targs)
    return result, tr.trace(keep=result)


def _price(trace: Trace, return_depths: bool = False):
    """(cost, reads, depths or None) by metrics.engine."""
    r = bytedmd_price(trace, return_depths=return_depths)
    return int(r.cost), int(r.reads), (None if r.depths is None else np.asarray(r.depths))


def bytedmd(func, args, bytes_per_element=None, plain_arrays="constant") -> int:
    """ByteDMD cost of func(*args); bytes_per_element overrides the dtype widths."""
    _, trace = trace_call(func, args, bytes_per_element=bytes_per_element,
                          plain_arrays=plain_arrays)
    return _price(trace)[0]


def bytedmd_trace(func, args, bytes_per_element=None, plain_arrays="constant") -> np.ndarray:
    """Element depth (from the top, 1-based) of every read of func(*args), in order."""
    _, trace = trace_call(func, args, bytes_per_element=bytes_per_element,
                          plain_arrays=plain_arrays)
    return np.asarray(_price(trace, return_depths=True)[2], np.int64)
