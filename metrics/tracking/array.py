"""TrackedArray: a plain ndarray (`data`, computed by the very same numpy call a plain run makes)
and an int64 array of the same shape (`ids`) naming the value held in every slot (-1: a
constant, free and never on the stack). numpy calls on it are dispatched to the handlers in
metrics.tracking.registry; methods that mirror numpy functions (a.sum(), a.dot(b), ...) go
through the same handlers."""
from __future__ import annotations

import operator

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from metrics.trace import READ, WRITE
from metrics.tracking import templates
from metrics.tracking.errors import not_modelled
from metrics.tracking.escapes import escape, escaping, in_vectorize_probe, unknown_function
from metrics.tracking.layout import I64, fresh_ids
from metrics.tracking.registry import HANDLERS, ufunc_handler


def peek(x):
    """Plain data of a tracked array (no recording); other values are returned unchanged."""
    return x.data if isinstance(x, TrackedArray) else x


def ids_of(x) -> np.ndarray:
    """ids of a tracked array; a -1 array for anything else (a constant)."""
    if isinstance(x, TrackedArray):
        return x.ids
    return np.full(np.shape(x), -1, I64)


def _via(func):
    """A method that is the numpy function `func` applied to the array (a.sum(...) is
    np.sum(a, ...)), modelled by func's handler."""
    def method(self, *args, **kwargs):
        return HANDLERS[func](self.tracker, self, *args, **kwargs)
    method.__name__ = func.__name__
    return method


class TrackedArray(NDArrayOperatorsMixin):
    """An ndarray (`data`) with the value id of every element (`ids`, int64, -1 = constant)."""

    __slots__ = ("data", "ids", "tracker", "_buf", "__weakref__")
    __hash__ = None

    def __init__(self, data: np.ndarray, ids: np.ndarray, tracker, buf: int):
        self.data, self.ids, self.tracker, self._buf = data, ids, tracker, buf

    # ---- plain properties (no reads) ----------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    dtype = property(lambda self: self.data.dtype)
    itemsize = property(lambda self: self.data.itemsize)
    nbytes = property(lambda self: self.data.nbytes)

    def __len__(self):
        return len(self.data)

    def peek(self) -> np.ndarray:
        """The plain data, recording nothing (how the harness observes outputs)."""
        return self.data

    def __repr__(self):
        return f"TrackedArray({np.array2string(self.data, separator=', ')}, dtype={self.dtype})"

    __str__ = __repr__

    def __getattr__(self, name):
        if not name.startswith("__") and hasattr(np.ndarray, name):
            raise not_modelled(f"numpy.ndarray.{name}")
        raise AttributeError(f"'TrackedArray' object has no attribute {name!r}")

    # ---- escapes: the data leaves the model ------------------------------------------------
    __float__ = escaping(float, "float()")
    __int__ = escaping(int, "int()")
    __complex__ = escaping(complex, "complex()")
    __bool__ = escaping(bool, "bool()")
    __index__ = escaping(operator.index, "operator.index()")
    tolist = escaping(np.ndarray.tolist, ".tolist()")
    __format__ = escaping(lambda d, spec: format(d if d.ndim else d[()], spec), "format()")

    def item(self, *args):
        """numpy's item(): no argument (one element), a flat index in C order, or one index
        per dimension; only the element returned escapes."""
        value = self.data.item(*args)         # numpy's checks (size, bounds) come first
        if not args:
            ids = self.ids
        elif len(args) == 1 and not isinstance(args[0], tuple):
            ids = self.ids.ravel()[operator.index(args[0])]
        else:
            ids = self.ids[args[0] if len(args) == 1 else args]
        tr = self.tracker
        escape(tr, ids, tr._width(self.dtype), self._buf, 1, ".item()")
        return value

    def __array__(self, dtype=None, copy=None):
        if not in_vectorize_probe():
            escape(self.tracker, self.ids, self.tracker._width(self.dtype), self._buf, self.size,
                   "np.asarray()/__array__")
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    # ---- numpy protocols ------------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return ufunc_handler()(self.tracker, ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        h = HANDLERS.get(func)
        if h is None:
            raise unknown_function(func)
        return h(self.tracker, *args, **kwargs)

    # ---- indexing --------------------------------------------------------------------------------
    def _plain_key(self, key):
        if isinstance(key, TrackedArray):
            return np.asarray(key)            # an escape
        if isinstance(key, tuple):
            return tuple(np.asarray(k) if isinstance(k, TrackedArray) else k for k in key)
        return key

    def __getitem__(self, key):
        key = self._plain_key(key)
        rd = self.data[key]
        ri = self.ids[key]
        return self.tracker._rearranged(rd, ri, [self], read_size=np.size(rd))

    def __setitem__(self, key, value):
        tr = self.tracker
        key = self._plain_key(key)              # index arrays stay free (not data operands)
        value = tr.operand(value)               # a plain array: constants or inputs
        if isinstance(value, TrackedArray):
            vids = value.ids
            if value.dtype.itemsize != self.dtype.itemsize:
                vids = templates.elementwise(tr, [value.ids.ravel()], (value.size,),
                                             tr._width(self.dtype)).reshape(value.shape)
            self.data[key] = value.data
            self.ids[key] = vids
            tr._event(READ, value._buf, value.size)
        else:
            self.data[key] = value
            self.ids[key] = -1
        tr._event(WRITE, self._buf, np.size(self.data[key]))

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        for i in range(len(self)):
            yield self[i]

    # ---- rearranging methods ----------------------------------------------------------------
    def _same(self, f):
        return self.tracker._rearranged(f(self.data), f(self.ids), [self])

    @property
    def T(self):
        return self._same(lambda x: x.T)

    def transpose(self, *axes):
        return self._same(lambda x: x.transpose(*axes))

    def reshape(self, *shape, **kw):
        return self._same(lambda x: x.reshape(*shape, **kw))

    def ravel(self, order="C"):
        return self._same(lambda x: x.ravel(order))

    def flatten(self, order="C"):
        return self._same(lambda x: x.flatten(order))

    def copy(self, order="C"):
        return self._same(lambda x: x.copy(order))

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()          # same values (no instruction), a new buffer; same tracker

    def squeeze(self, axis=None):
        return self._same(lambda x: x.squeeze(axis))

    def swapaxes(self, a, b):
        return self._same(lambda x: x.swapaxes(a, b))

    def fill(self, value):
        if isinstance(value, TrackedArray):
            raise not_modelled("numpy.ndarray.fill with a tracked value")
        self.data.fill(value)
        self.ids.fill(-1)
        self.tracker._event(WRITE, self._buf, self.size)

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        tr = self.tracker
        rd = self.data.astype(dtype, order=order, casting=casting, copy=copy)
        if rd is self.data:
            return self
        if rd.dtype.itemsize == self.dtype.itemsize:
            return tr._rearranged(rd, self.ids.copy(), [self])
        new = templates.elementwise(tr, [self.ids], self.shape, tr._width(rd.dtype))
        tr._read_events([self])
        return tr._wrap(rd, fresh_ids(rd, new))

    # ---- arithmetic methods: the numpy function's handler -----------------------------------
    dot = _via(np.dot)
    clip = _via(np.clip)
    sum = _via(np.sum)
    prod = _via(np.prod)
    max = _via(np.max)
    min = _via(np.min)
    mean = _via(np.mean)
    cumsum = _via(np.cumsum)
