"""Rearranging (docs/cost_model.md section 2): transpose, reshape, ravel, concatenate, stack, copy,
..., no instruction: the new array holds the same values, which keep their place on the stack
(the function is applied to the data and, identically, to the ids). Also the calls that read
nothing: shape queries, np.result_type, and the *_like constructors (constants)."""
from __future__ import annotations

import numpy as np

from metrics.tracking.array import TrackedArray, ids_of, peek
from metrics.tracking.errors import fname, not_modelled
from metrics.tracking.layout import constant_ids
from metrics.tracking.plain_operands import LABEL as PLAIN_LABEL
from metrics.tracking.registry import HANDLERS, implements


def _no_tracked_parameter(func, args, kw):
    if kw.get("out") is not None:
        raise not_modelled(f"{fname(func)} with out=")
    if any(isinstance(v, TrackedArray) for v in list(args) + list(kw.values())):
        raise not_modelled(f"{fname(func)} with a tracked parameter")


def _single(func):
    """A rearranging function of one array (further arguments are plain parameters)."""
    def handler(tr, a, *args, **kw):
        _no_tracked_parameter(func, args, kw)
        if not isinstance(a, TrackedArray):
            raise not_modelled(f"{fname(func)} with a tracked parameter")
        return tr._rearranged(np.asarray(func(a.data, *args, **kw)),
                              np.asarray(func(a.ids, *args, **kw)), [a])
    return handler


def _sequence(func):
    """A rearranging function of a sequence of arrays (concatenate, stack, ...)."""
    def handler(tr, arrays, *args, **kw):
        _no_tracked_parameter(func, args, kw)
        arrays = tr.operands(list(arrays))   # plain parts: constants or inputs (plain_operands.py)
        tracked = [x for x in arrays if isinstance(x, TrackedArray)]
        rd = np.asarray(func([peek(x) for x in arrays], *args, **kw))
        for x in tracked:
            if tr._width(x.dtype) != tr._width(rd.dtype) or x.dtype.itemsize != rd.dtype.itemsize:
                raise not_modelled(f"{fname(func)} of tracked arrays of different widths")
        ik = {k: v for k, v in kw.items() if k not in ("dtype", "casting")}
        ri = np.asarray(func([ids_of(x) for x in arrays], *args, **ik))
        return tr._rearranged(rd, ri, tracked)
    return handler


def _like(func):
    """zeros_like & co.: a new array of constants; under plain_arrays="input" (and at least one
    dimension and element) new data the program created, pushed at no cost in C order, as a
    plain np.zeros array is on its first use (plain_operands.py)."""
    def handler(tr, a, *args, **kw):
        if any(isinstance(v, TrackedArray) for v in list(args) + list(kw.values())):
            raise not_modelled(f"{fname(func)} with a tracked fill value")
        rd = np.asarray(func(peek(a), *args, **kw))
        if tr.plain_arrays == "input" and rd.ndim and rd.size:
            return tr.track(rd, label=PLAIN_LABEL)
        return tr._wrap(rd, constant_ids(rd))
    return handler


def _query(func):
    """Reads nothing: the answer depends on the shape/dtype only."""
    def handler(tr, *args, **kw):
        return func(*[peek(x) for x in args], **kw)
    return handler


for _f in (np.transpose, np.reshape, np.ravel, np.squeeze, np.expand_dims, np.swapaxes,
           np.moveaxis, np.broadcast_to, np.flip, np.tile, np.repeat, np.atleast_1d,
           np.atleast_2d, np.atleast_3d):
    implements(_f)(_single(_f))
for _f in (np.concatenate, np.stack, np.vstack, np.hstack):
    implements(_f)(_sequence(_f))
for _f in (np.zeros_like, np.ones_like, np.empty_like, np.full_like):
    implements(_f)(_like(_f))
for _f in (np.shape, np.ndim, np.size, np.result_type):
    implements(_f)(_query(_f))
del _f


@implements(np.copy)
def copy(tr, a, order="K", subok=False):
    if not isinstance(a, TrackedArray):
        raise not_modelled("numpy.copy of an untracked argument")
    return tr._rearranged(np.copy(a.data, order=order), np.copy(a.ids, order=order), [a])


assert all(f in HANDLERS for f in (np.transpose, np.concatenate, np.copy))
