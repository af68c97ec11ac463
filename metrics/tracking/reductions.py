"""Reductions (docs/cost_model.md section 2): sum, prod, max, min along an axis or all, a left fold
in index order per output element, s = a[0]; s = op(s, a[k]); mean is that sum, then one
division by a constant. np.cumsum keeps every partial sum of the same fold: output[0] is a[0]
itself (no instruction), output[k] = output[k-1] + a[k] (axis=None: over the C-order
flattening)."""
from __future__ import annotations

import numpy as np

from metrics.tracking import templates
from metrics.tracking.array import TrackedArray
from metrics.tracking.errors import not_modelled
from metrics.tracking.layout import fresh_ids, norm_axes
from metrics.tracking.registry import implements


def _reduce(tr, op, a, axis=None, keepdims=False, dtype=None, out=None, **kw):
    for k in kw:
        raise not_modelled(f"numpy.{op} with {k}=")
    if out is not None:
        raise not_modelled(f"numpy.{op} with out=")
    if not isinstance(a, TrackedArray):
        raise not_modelled(f"numpy.{op} of an untracked argument")
    tr._check(a)
    call = {} if dtype is None else {"dtype": dtype}
    if op not in ("sum", "prod", "mean") and dtype is not None:
        raise not_modelled(f"numpy.{op} with dtype=")
    rd = np.asarray(getattr(a.data, op)(axis=axis, keepdims=keepdims, **call))
    axes = norm_axes(axis, a.ndim)
    kept = [d for d in range(a.ndim) if d not in axes]
    ids = np.transpose(a.ids, kept + list(axes))
    P = int(np.prod([a.shape[d] for d in kept], dtype=np.int64))
    K = int(np.prod([a.shape[d] for d in axes], dtype=np.int64))
    new = templates.fold(tr, ids.reshape(P, K), tr._width(rd.dtype), post=(op == "mean"))
    tr._read_events([a])
    return tr._wrap(rd, fresh_ids(rd, new))


@implements(np.max, np.amax)
def max_(tr, a, axis=None, out=None, keepdims=False, **kw):
    if "dtype" in kw:
        raise not_modelled("numpy.max with dtype=")
    return _reduce(tr, "max", a, axis, keepdims, out=out, **kw)


@implements(np.min, np.amin)
def min_(tr, a, axis=None, out=None, keepdims=False, **kw):
    if "dtype" in kw:
        raise not_modelled("numpy.min with dtype=")
    return _reduce(tr, "min", a, axis, keepdims, out=out, **kw)


@implements(np.sum)
def sum_(tr, a, axis=None, dtype=None, out=None, keepdims=False, **kw):
    return _reduce(tr, "sum", a, axis, keepdims, dtype=dtype, out=out, **kw)


@implements(np.prod)
def prod(tr, a, axis=None, dtype=None, out=None, keepdims=False, **kw):
    return _reduce(tr, "prod", a, axis, keepdims, dtype=dtype, out=out, **kw)


@implements(np.mean)
def mean(tr, a, axis=None, dtype=None, out=None, keepdims=False, **kw):
    return _reduce(tr, "mean", a, axis, keepdims, dtype=dtype, out=out, **kw)


@implements(np.cumsum)
def cumsum(tr, a, axis=None, dtype=None, out=None):
    if out is not None:
        raise not_modelled("numpy.cumsum with out=")
    if not isinstance(a, TrackedArray):
        raise not_modelled("numpy.cumsum of an untracked argument")
    tr._check(a)
    rd = np.asarray(np.cumsum(a.data, axis=axis, dtype=dtype))
    if rd.dtype.itemsize != a.dtype.itemsize:
        raise not_modelled(f"numpy.cumsum with dtype= of another width ({a.dtype} -> {rd.dtype})")
    if axis is None:
        T = a.ids.reshape(1, -1)
        new = templates.running_fold(tr, T, tr._width(rd.dtype)).reshape(rd.shape)
    else:
        ax = norm_axes(axis, a.ndim)[0]
        moved = np.moveaxis(a.ids, ax, -1)
        T = moved.reshape(int(np.prod(moved.shape[:-1], dtype=np.int64)), a.shape[ax])
        new = templates.running_fold(tr, T, tr._width(rd.dtype)).reshape(moved.shape)
        new = np.moveaxis(new, -1, ax)
    tr._read_events([a])
    return tr._wrap(rd, fresh_ids(rd, np.ascontiguousarray(new)))
