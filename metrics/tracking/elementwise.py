"""Elementwise operations (docs/cost_model.md section 2): every ufunc (unary, binary, broadcasting,
comparisons, np.maximum, np.sign, ...), np.where and np.clip with constant bounds. One
instruction per output element in C order of the output, reading the operand elements that map
to it, operands in argument order (a broadcast element is read again for each output it
feeds; an operand passed twice, as in a * a, is read twice). In-place forms and out= record the
same instructions, then the target's slots hold the new values."""
from __future__ import annotations

import numpy as np

from metrics.tracking import linalg, templates
from metrics.tracking.array import TrackedArray, peek
from metrics.tracking.errors import EscapeError, not_modelled
from metrics.tracking.registry import implements, implements_ufuncs

_UFUNC_KWARGS = {"dtype"}


def _check_out(tr, name, out, tracked):
    if out is not None and not isinstance(out, TrackedArray) and tr.strict and \
            any((x.ids >= 0).any() for x in tracked):
        raise EscapeError(f"{name} writes tracked values into an untracked out= array (strict)")


@implements_ufuncs
def ufunc_call(tr, ufunc, method, inputs, kwargs):
    name = f"numpy.{ufunc.__name__}"
    if method != "__call__":
        raise not_modelled(f"{name}.{method}")
    out = kwargs.pop("out", None)
    if isinstance(out, tuple):
        if len(out) != 1:
            raise not_modelled(f"{name} with several outputs")
        out = out[0]
    for k in kwargs:
        if k not in _UFUNC_KWARGS:
            raise not_modelled(f"{name} with {k}=")
    if ufunc.nout != 1:
        raise not_modelled(name)
    inputs = tr.operands(inputs)          # plain arrays: constants, or inputs (plain_operands.py)
    for x in inputs:
        if isinstance(x, np.ndarray) and x.dtype == object:
            raise not_modelled(f"{name} on object arrays")
    if isinstance(out, TrackedArray):
        tr._check(out)
    tracked = [x for x in inputs if isinstance(x, TrackedArray)]
    _check_out(tr, name, out, tracked)

    if ufunc is np.matmul:
        if kwargs:
            raise not_modelled(f"{name} with {next(iter(kwargs))}=")
        a, b = inputs
        return linalg.matmul(tr, a, b, out=out)
    if ufunc.signature is not None:
        raise not_modelled(name)
    plain_in = [peek(x) for x in inputs]
    if out is None:
        rd = np.asarray(ufunc(*plain_in, **kwargs))
    else:
        od = peek(out)
        ufunc(*plain_in, out=od, **kwargs)
        rd = od
    new = templates.elementwise(tr, [x.ids for x in tracked], rd.shape, tr._width(rd.dtype))
    tr._read_events(tracked)
    return tr._store(rd, new, out)


@implements(np.where)
def where(tr, cond, x=None, y=None):
    if x is None or y is None:
        raise not_modelled("numpy.where with one argument (nonzero)")
    ops = tuple(tr.operands((cond, x, y)))
    rd = np.asarray(np.where(*[peek(o) for o in ops]))
    tracked = [o for o in ops if isinstance(o, TrackedArray)]
    new = templates.elementwise(tr, [o.ids for o in tracked], rd.shape, tr._width(rd.dtype))
    tr._read_events(tracked)
    return tr._store(rd, new, None)


@implements(np.clip)
def clip(tr, a, a_min=None, a_max=None, out=None, **kw):
    """np.clip with constant bounds: one instruction per element reading a."""
    if kw:
        raise not_modelled(f"numpy.clip with {next(iter(kw))}=")
    if isinstance(a_min, TrackedArray) or isinstance(a_max, TrackedArray):
        raise not_modelled("numpy.clip with tracked bounds")
    if any(isinstance(tr.operand(b), TrackedArray) for b in (a_min, a_max)):
        raise not_modelled("numpy.clip with plain array bounds under plain_arrays='input' "
                           "(they are data, like tracked bounds)")
    a = tr.operand(a)
    if not isinstance(a, TrackedArray):
        raise not_modelled("numpy.clip of an untracked array into a tracked out=")
    _check_out(tr, "numpy.clip", out, [a])
    if out is None:
        rd = np.asarray(np.clip(a.data, a_min, a_max))
    else:
        od = peek(out)
        np.clip(a.data, a_min, a_max, out=od)
        rd = od
    new = templates.elementwise(tr, [a.ids], rd.shape, tr._width(rd.dtype))
    tr._read_events([a])
    return tr._store(rd, new, out)
