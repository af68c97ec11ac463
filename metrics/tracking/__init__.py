"""Instrumented numpy arrays: run ordinary numpy code and record the scalar program it performs.

A `Tracker` records one program (the metrics.trace contract); a `TrackedArray` wraps a plain
ndarray (`data`, computed by the very same numpy call a plain run makes) and an int64 array of
the same shape (`ids`) naming the value held in every slot (-1: a constant, free and never on
the stack). Every modelled numpy operation appends the scalar instructions of docs/cost_model.md
section 2 as whole numpy arrays (templates.py), one append per operation. The handlers are
registered with `@implements(np.func)` next to their code, one module per operation family:

    elementwise.py   ufuncs, np.where, np.clip           one instruction per output element
    linalg.py        matmul, dot, outer, tensordot,      sums of products; norm = sqrt of the
                     einsum, linalg.norm                 left-fold sum of squares
    reductions.py    sum, prod, max, min, mean, cumsum   left folds in index order
    rearranging.py   views, reshape, concatenate, copy   no instruction: the same value ids
    escapes.py       float(), bool(), np.asarray(), ...  one read per element, counted

Anything not modelled raises `NotModelledError` naming it. Turning tracked data into Python
numbers or plain arrays is an escape, counted in `Tracker.escapes`; `strict=True` raises
`EscapeError` instead.

    tr = Tracker()
    A, B = tr.track_args(A0, B0)          # ByteDMD eager initialization (first arg on top)
    with tr.phase("forward"):
        C = np.tanh(A @ B)
    trace = tr.trace(keep=C)              # a metrics.trace.Trace

Imports: metrics.trace only (never the pricing modules of metrics).
"""
from metrics.tracking import elementwise, linalg, rearranging, reductions  # noqa: F401  (register)
from metrics.tracking.array import TrackedArray, peek
from metrics.tracking.errors import EscapeError, NotModelledError, ReadBudgetExceeded
from metrics.tracking.tracker import Tracker

__all__ = ["Tracker", "TrackedArray", "NotModelledError", "EscapeError", "ReadBudgetExceeded",
           "peek"]
