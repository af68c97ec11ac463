"""Instrumented numpy arrays: run ordinary numpy code and record the scalar program it performs.

A `Tracker` records one program (metrics.trace contract); a `TrackedArray` wraps a plain ndarray
(`data`, computed by the very same numpy call a plain run makes) and an int64 array of the same
shape (`ids`) naming the value held in every slot (-1: a constant, free and never on the stack).
Every modelled numpy operation appends the scalar instructions of docs/cost_model.md section 2 as
whole numpy arrays (one append per operation, never one Python object per element):

    elementwise ufunc   one instruction per output element, C order, operands in argument order
    matmul / dot        s = A[i,0]*B[0,j]; then t = A[i,k]*B[k,j]; s = s + t   per output (i, j)
    sum/prod/max/min    left fold per output: s = a[0]; s = op(s, a[k]); mean adds one division
    rearranging         no instruction; the slots keep the same value ids
    astype (new width)  one instruction per element
    in-place / out=     the out-of-place instructions, then the target's slots hold the new ids

Anything not modelled raises `NotModelledError` naming it. Turning tracked data into Python
numbers or plain arrays is an escape: one instruction reading each element (its output is never
read), counted in `Tracker.escapes`; `strict=True` raises `EscapeError` instead.

    tr = Tracker()
    A, B = tr.track_args(A0, B0)          # ByteDMD eager initialization (first arg on top)
    with tr.phase("forward"):
        C = np.tanh(A @ B)
    trace = tr.trace(keep=C)              # a metrics.trace.Trace
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import weakref

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin
from numpy.lib.stride_tricks import as_strided

from metrics.trace import READ, WRITE, Trace, TraceChunk

__all__ = ["Tracker", "TrackedArray", "NotModelledError", "EscapeError", "ReadBudgetExceeded", "peek"]

_I64 = np.int64


class NotModelledError(TypeError):
    """A numpy function, ufunc, method or keyword the tracker does not model."""


class ReadBudgetExceeded(RuntimeError):
    """The program read more values than the Tracker's `max_reads` allowed (units: element reads)."""

    def __init__(self, reads: int, max_reads: int):
        super().__init__(f"tracked program exceeded its read budget: {reads} reads > "
                         f"max_reads {max_reads}")
        self.reads, self.max_reads = reads, max_reads


class EscapeError(RuntimeError):
    """Tracked data left the model (float(), bool(), np.asarray(), ...) under strict=True."""


def _fname(func) -> str:
    mod = getattr(func, "__module__", None) or "numpy"
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
    return f"{mod}.{name}"


def _not_modelled(what: str):
    return NotModelledError(f"{what} is not modelled by the tracker")


def peek(x):
    """Plain data of a tracked array (no recording); other values are returned unchanged."""
    return x.data if isinstance(x, TrackedArray) else x


def _ids_like(data: np.ndarray) -> np.ndarray:
    """An uninitialized int64 array with the memory layout of `data`, in element units, so that
    every view/copy decision numpy makes for `data` (reshape, ravel, ...) it makes for the ids."""
    if data.flags.c_contiguous or data.size <= 1:
        return np.empty(data.shape, _I64)
    if data.flags.f_contiguous:
        return np.empty(data.shape, _I64, order="F")
    isz = data.itemsize
    if any(s % isz for s in data.strides) or any(s == 0 for s, n in zip(data.strides, data.shape) if n > 1):
        return np.empty(data.shape, _I64)
    su = [s // isz for s in data.strides]
    lo = sum(s * (n - 1) for s, n in zip(su, data.shape) if s < 0)
    hi = sum(s * (n - 1) for s, n in zip(su, data.shape) if s > 0)
    buf = np.empty(hi - lo + 1, _I64)
    return as_strided(buf[-lo:], data.shape, [s * 8 for s in su])


def _same_pattern(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    if a.size <= 1:
        return True
    return all(sa * b.itemsize == sb * a.itemsize for sa, sb, n in zip(a.strides, b.strides, a.shape)
               if n > 1)


def _fresh_ids(data: np.ndarray, ids_c: np.ndarray) -> np.ndarray:
    """Ids (given in C order, any shape with data.size elements) laid out like `data`."""
    if data.flags.c_contiguous or data.size <= 1:
        return np.ascontiguousarray(ids_c, dtype=_I64).reshape(data.shape)
    out = _ids_like(data)
    out[...] = ids_c.reshape(data.shape)
    return out


def _norm_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(int(a) for a in axis)
    else:
        axes = (int(axis),)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim)
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError("duplicate value in 'axis'")
    return tuple(sorted(out))


class Tracker:
    """Records one scalar program. See the module docstring.

    bytes_per_element: width of every value in bytes (default: each value's dtype itemsize).
    strict: raise EscapeError when tracked data leaves the model instead of counting it.
    spill_reads: once more than this many reads are buffered in memory, they are written to a
      temporary directory (np.save) and memory-mapped back, so very long runs do not sit in RAM.
    max_reads: raise ReadBudgetExceeded as soon as the program has made more reads than this
      (None: no budget), so a study can skip a measurement that would not fit its budget.
    """

    def __init__(self, bytes_per_element: int | None = None, strict: bool = False, *,
                 spill_reads: int = 50_000_000, spill_dir: str | None = None,
                 max_reads: int | None = None):
        if bytes_per_element is not None:
            if isinstance(bytes_per_element, bool) or int(bytes_per_element) != bytes_per_element \
                    or not 1 <= int(bytes_per_element) <= 255:
                raise ValueError(f"bytes_per_element must be an integer in 1..255, got "
                                 f"{bytes_per_element!r}")
            bytes_per_element = int(bytes_per_element)
        self.bytes_per_element = bytes_per_element
        self.strict = bool(strict)
        self.escapes = 0
        self.n_values = 0                     # next value id
        self.spill_reads = int(spill_reads)
        self.max_reads = None if max_reads is None else int(max_reads)
        self.total_reads = 0                  # reads recorded so far (elements)
        self._spill_parent = spill_dir
        self._spill_dir = None
        self._finalizer = None
        self._chunks: list[TraceChunk] = []
        self._pending: list = []              # (n, nreads int|array, reads, width, phase)
        self._pending_first = 0
        self._pending_reads = 0
        self.phase_names = ["(none)"]
        self._phase = 0
        self.label_names = ["(unnamed)"]
        self._label_updates: list = []        # (ids array, label index), applied in order
        self._n_buffers = 0
        self._ev_kind: list = []
        self._ev_buf: list = []
        self._ev_size: list = []

    # ---- recording primitives --------------------------------------------------------------
    def _width(self, dtype) -> int:
        if self.bytes_per_element is not None:
            return self.bytes_per_element
        w = np.dtype(dtype).itemsize
        if not 1 <= w <= 255:
            raise NotModelledError(f"values of dtype {np.dtype(dtype)} (itemsize {w})")
        return w

    def _append(self, n: int, nreads, reads: np.ndarray, width: int) -> int:
        """Append n instructions; returns the id of the first."""
        first = self.n_values
        if n == 0:
            return first
        self._pending.append((n, nreads, reads, width, self._phase))
        self.n_values += n
        self._pending_reads += int(reads.shape[0])
        self.total_reads += int(reads.shape[0])
        if self.max_reads is not None and self.total_reads > self.max_reads:
            self._pending, self._pending_reads = [], 0
            raise ReadBudgetExceeded(self.total_reads, self.max_reads)
        if self._pending_reads > self.spill_reads:
            self._flush(spill=True)
        return first

    def _flush(self, spill: bool = False):
        if not self._pending:
            return
        nr = np.concatenate([np.full(n, k, np.uint8) if isinstance(k, (int, np.integer))
                             else np.asarray(k, np.uint8) for n, k, _, _, _ in self._pending])
        reads = np.concatenate([r for _, _, r, _, _ in self._pending]).astype(_I64, copy=False)
        ns = np.array([p[0] for p in self._pending], np.int64)
        vb = np.repeat(np.array([p[3] for p in self._pending], np.uint8), ns)
        ph = np.repeat(np.array([p[4] for p in self._pending], np.uint8), ns)
        first = self._pending_first
        self._pending, self._pending_reads = [], 0
        self._pending_first = self.n_values
        if spill:
            d = self._spill_directory()
            i = len(self._chunks)
            arrs = []
            for name, a in (("nreads", nr), ("reads", reads), ("vbytes", vb), ("phase", ph)):
                path = os.path.join(d, f"chunk{i:06d}_{name}.npy")
                np.save(path, a)
                arrs.append(np.load(path, mmap_mode="r"))
            nr, reads, vb, ph = arrs
        self._chunks.append(TraceChunk(first, nr, reads, vb, ph))

    def _spill_directory(self) -> str:
        if self._spill_dir is None:
            self._spill_dir = tempfile.mkdtemp(prefix="tracker_spill_", dir=self._spill_parent)
            self._finalizer = weakref.finalize(self, shutil.rmtree, self._spill_dir, True)
        return self._spill_dir

    def close(self):
        """Remove spilled files (traces already returned keep their memory maps on POSIX)."""
        if self._finalizer is not None:
            self._finalizer()

    def _event(self, kind: int, buf: int, size: int):
        self._ev_kind.append(kind)
        self._ev_buf.append(buf)
        self._ev_size.append(int(size))

    def _new_buffer(self) -> int:
        self._n_buffers += 1
        return self._n_buffers - 1

    def _wrap(self, data, ids, buf=None, write=True) -> "TrackedArray":
        if buf is None:
            buf = self._new_buffer()
            if write:
                self._event(WRITE, buf, data.size)
        return TrackedArray(data, ids, self, buf)

    # ---- bringing data in --------------------------------------------------------------------
    def _push(self, x, name=None) -> "TrackedArray":
        if isinstance(x, TrackedArray):
            raise ValueError("track(): the array is already tracked")
        data = np.asarray(x)
        if data.dtype == object:
            raise NotModelledError("tracking an object array")
        if data.ndim and any(s == 0 for s, n in zip(data.strides, data.shape) if n > 1):
            data = data.copy()     # overlapping memory (a broadcast view): distinct elements
        n = data.size
        first = self._append(n, 0, np.zeros(0, _I64), self._width(data.dtype))
        ids = _fresh_ids(data, np.arange(first, first + n, dtype=_I64))
        t = self._wrap(data, ids)
        if name is not None:
            self.name(t, name)
        return t

    def track(self, x, name: str | None = None) -> "TrackedArray":
        """Bring plain data in: its elements are pushed at no cost, in C order (the last element
        ends on top). Python numbers become 0-d arrays. The data is not copied."""
        return self._push(x, name)

    def track_args(self, *args):
        """ByteDMD eager initialization: the last argument is pushed first, C order within each,
        so that the first argument ends on top. Returns the tracked arguments, in order."""
        out = [None] * len(args)
        for i in range(len(args) - 1, -1, -1):
            out[i] = self._push(args[i])
        return tuple(out)

    # ---- phases, labels ------------------------------------------------------------------------
    @contextlib.contextmanager
    def phase(self, name: str):
        """Tag the instructions run inside the block with phase `name`."""
        if name not in self.phase_names:
            if len(self.phase_names) >= 256:
                raise ValueError("at most 255 phases")
            self.phase_names.append(name)
        prev, self._phase = self._phase, self.phase_names.index(name)
        try:
            yield
        finally:
            self._phase = prev

    def name(self, arr, name: str):
        """Label the values currently held by `arr` (reads of them are attributed to `name`)."""
        if not isinstance(arr, TrackedArray):
            raise TypeError(f"name() needs a TrackedArray, got {type(arr).__name__}")
        self._check(arr)
        if name not in self.label_names:
            if len(self.label_names) >= 65535:
                raise ValueError("at most 65534 labels")
            self.label_names.append(name)
        ids = arr.ids[arr.ids >= 0]
        if ids.size:
            self._label_updates.append((ids, self.label_names.index(name)))
        return arr

    # ---- the result ---------------------------------------------------------------------------
    def trace(self, keep=None, keep_ids=None) -> Trace:
        """The program recorded so far as a metrics.trace.Trace. `keep`: what the program
        returns (tracked arrays, or tuples/lists/dicts of them; other leaves are ignored); their
        values stay on the stack to the end. `keep_ids`: extra value ids to keep."""
        self._flush(spill=self._pending_reads > self.spill_reads)
        ids = [np.zeros(0, _I64)]
        _collect_ids(keep, ids, self)
        if keep_ids is not None:
            ids.append(np.asarray(keep_ids, _I64).ravel())
        keep_arr = np.unique(np.concatenate(ids))
        keep_arr = keep_arr[keep_arr >= 0]
        label = None
        if self._label_updates:
            n = self.n_values
            if n > self.spill_reads:
                label = np.lib.format.open_memmap(
                    os.path.join(self._spill_directory(), f"label{len(self._chunks)}.npy"),
                    mode="w+", dtype=np.uint16, shape=(n,))
                label[:] = 0
            else:
                label = np.zeros(n, np.uint16)
            for u, li in self._label_updates:
                label[u] = li
        return Trace(chunks=list(self._chunks), keep=keep_arr, phase_names=list(self.phase_names),
                     label=label, label_names=list(self.label_names),
                     buffer_kind=np.array(self._ev_kind, np.uint8),
                     buffer_id=np.array(self._ev_buf, np.int64),
                     buffer_size=np.array(self._ev_size, np.int64),
                     escapes=int(self.escapes))

    # ---- helpers ------------------------------------------------------------------------------
    def _check(self, t):
        if t.tracker is not self:
            raise ValueError("tracked arrays from different trackers cannot be mixed")

    def _escape(self, t: "TrackedArray", what: str):
        """Record the escape of every tracked element of t: one instruction reading it."""
        ids = t.ids.ravel()        # C order
        if ids.size and ids.min() < 0:
            ids = ids[ids >= 0]
        n = int(ids.size)
        if n == 0:
            return
        if self.strict:
            raise EscapeError(f"{what} makes {n} tracked element(s) leave the model (strict mode)")
        self._append(n, 1, np.array(ids, _I64), self._width(t.data.dtype))
        self._event(READ, t._buf, t.data.size)
        self.escapes += n

    def _emit(self, live: np.ndarray, build, width: int, all_live: bool) -> np.ndarray:
        """Instructions from a template: `live` (P, L) marks which of the P x L instruction
        slots (C order) exist; `build(idt)` returns their reads (P, L, r) given the ids `idt`
        (P, L) (-1 for a slot that does not exist; a read of -1 is a constant: not read)."""
        P, L = live.shape
        first = self.n_values
        if all_live:
            idt = np.arange(first, first + P * L, dtype=_I64).reshape(P, L)
            R = build(idt)
            r = R.shape[-1]
            self._append(P * L, r, R.reshape(-1), width)
            return idt
        flat = live.reshape(-1)
        cnt = int(np.count_nonzero(flat))
        idt = np.full(P * L, -1, _I64)
        idt[flat] = np.arange(first, first + cnt, dtype=_I64)
        idt = idt.reshape(P, L)
        R = build(idt)
        Rl = R.reshape(P * L, R.shape[-1])[flat]
        m = Rl >= 0
        self._append(cnt, m.sum(axis=1).astype(np.uint8), Rl[m], width)
        return idt

    def _elementwise_ids(self, operand_ids, shape, width) -> np.ndarray:
        """One instruction per element of `shape` (C order) reading the operands (broadcast)
        in order. Returns the output ids (C order, shape `shape`)."""
        n = int(np.prod(shape, dtype=np.int64))
        if not operand_ids or n == 0:
            return np.full(shape, -1, _I64)
        R = np.stack([np.broadcast_to(i, shape) for i in operand_ids], axis=-1).reshape(n, 1, -1)
        all_live = n == 0 or R.min() >= 0
        live = np.ones((n, 1), bool) if all_live else (R >= 0).any(axis=-1)
        idt = self._emit(live, lambda idt: R, width, all_live)
        return idt.reshape(shape)

    def _matmul_ids(self, A: np.ndarray, B: np.ndarray, width: int) -> np.ndarray:
        """A, B (P, K): per output s = A0*B0; t = Ak*Bk; s = s + t. Returns (P,) ids."""
        P, K = A.shape
        if K == 0:
            return np.full(P, -1, _I64)
        L = 2 * K - 1
        all_live = P == 0 or (A.min() >= 0 and B.min() >= 0)
        if all_live:
            live = np.ones((P, L), bool)
        else:
            plive = (A >= 0) | (B >= 0)
            slive = np.logical_or.accumulate(plive, axis=1)
            live = np.empty((P, L), bool)
            live[:, 0] = plive[:, 0]
            live[:, 1::2] = plive[:, 1:]
            live[:, 2::2] = slive[:, 1:]

        def build(idt):
            R = np.empty((P, L, 2), _I64)
            R[:, 0, 0] = A[:, 0]
            R[:, 0, 1] = B[:, 0]
            R[:, 1::2, 0] = A[:, 1:]
            R[:, 1::2, 1] = B[:, 1:]
            if all_live:                # slot 2k reads s_{k-1} (slot 2k-2) and p_k (slot 2k-1)
                R[:, 2::2, 0] = idt[:, 0:L - 1:2]
                R[:, 2::2, 1] = idt[:, 1:L - 1:2]
                return R
            pid = np.concatenate([idt[:, :1], idt[:, 1::2]], axis=1)    # products p_0..p_{K-1}
            sid = np.concatenate([idt[:, :1], idt[:, 2::2]], axis=1)    # sums s_0 = p_0 .. s_{K-1}
            R[:, 2::2, 0] = sid[:, :-1]
            R[:, 2::2, 1] = pid[:, 1:]
            return R

        idt = self._emit(live, build, width, all_live)
        return idt[:, L - 1]


def _collect_ids(obj, out: list, tracker):
    if isinstance(obj, TrackedArray):
        tracker._check(obj)
        out.append(obj.ids.ravel())
    elif isinstance(obj, dict):
        for v in obj.values():
            _collect_ids(v, out, tracker)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _collect_ids(v, out, tracker)


# ---- TrackedArray ------------------------------------------------------------------------------

_UFUNC_KWARGS = {"dtype"}


class TrackedArray(NDArrayOperatorsMixin):
    """An ndarray (`data`) with the value id of every element (`ids`, int64, -1 = constant)."""

    __slots__ = ("data", "ids", "tracker", "_buf", "__weakref__")
    __hash__ = None

    def __init__(self, data: np.ndarray, ids: np.ndarray, tracker: Tracker, buf: int):
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
            raise _not_modelled(f"numpy.ndarray.{name}")
        raise AttributeError(f"'TrackedArray' object has no attribute {name!r}")

    # ---- escapes --------------------------------------------------------------------------------
    def __float__(self):
        v = float(self.data)          # numpy's own checks (e.g. ambiguous truth value) come first
        self.tracker._escape(self, "float()")
        return v

    def __int__(self):
        v = int(self.data)          # numpy's own checks (e.g. ambiguous truth value) come first
        self.tracker._escape(self, "int()")
        return v

    def __complex__(self):
        v = complex(self.data)          # numpy's own checks (e.g. ambiguous truth value) come first
        self.tracker._escape(self, "complex()")
        return v

    def __bool__(self):
        v = bool(self.data)          # numpy's own checks (e.g. ambiguous truth value) come first
        self.tracker._escape(self, "bool()")
        return v

    def __index__(self):
        v = self.data.__index__()          # numpy's own checks (e.g. ambiguous truth value) come first
        self.tracker._escape(self, "operator.index()")
        return v

    def __format__(self, spec):
        self.tracker._escape(self, "format()")
        return format(self.data if self.ndim else self.data[()], spec)

    def item(self, *args):
        self.tracker._escape(self if not args else self[args if len(args) > 1 else args[0]],
                             ".item()")
        return self.data.item(*args)

    def tolist(self):
        self.tracker._escape(self, ".tolist()")
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        self.tracker._escape(self, "np.asarray()/__array__")
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    # ---- numpy protocols ------------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _ufunc(self.tracker, ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        h = _HANDLERS.get(func)
        if h is None:
            raise _not_modelled(_fname(func))
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
        return self.tracker._rearranged(np.asarray(rd) if not isinstance(rd, np.ndarray) else rd,
                                        np.asarray(ri), [self], read_size=np.size(rd))

    def __setitem__(self, key, value):
        tr = self.tracker
        key = self._plain_key(key)
        if isinstance(value, TrackedArray):
            tr._check(value)
            vids = value.ids
            if value.dtype.itemsize != self.dtype.itemsize:
                vids = tr._elementwise_ids([value.ids.ravel()], (value.size,),
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
    def _same(self, f, read_size=None):
        return self.tracker._rearranged(np.asarray(f(self.data)), np.asarray(f(self.ids)), [self],
                                        read_size=read_size)

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
            raise _not_modelled("numpy.ndarray.fill with a tracked value")
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
        new = tr._elementwise_ids([self.ids], self.shape, tr._width(rd.dtype))
        tr._event(READ, self._buf, self.size)
        return tr._wrap(rd, _fresh_ids(rd, new))

    # ---- arithmetic methods ---------------------------------------------------------------
    def dot(self, other):
        return _dot(self.tracker, self, other)

    def clip(self, a_min=None, a_max=None, **kw):
        return _clip(self.tracker, self, a_min, a_max, **kw)

    def sum(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        return _reduce(self.tracker, "sum", self, axis, keepdims, dtype=dtype, out=out, **kw)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        return _reduce(self.tracker, "prod", self, axis, keepdims, dtype=dtype, out=out, **kw)

    def max(self, axis=None, out=None, keepdims=False, **kw):
        return _reduce(self.tracker, "max", self, axis, keepdims, out=out, **kw)

    def min(self, axis=None, out=None, keepdims=False, **kw):
        return _reduce(self.tracker, "min", self, axis, keepdims, out=out, **kw)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        return _reduce(self.tracker, "mean", self, axis, keepdims, dtype=dtype, out=out, **kw)


# ---- rearranging ------------------------------------------------------------------------------

def _rearranged(self: Tracker, rd, ri, sources, read_size=None):
    """Wrap the result of a rearranging op: `rd` computed on the data, `ri` by the very same call
    on the ids. A view of a source shares its buffer; a new array is a new buffer (read event
    per tracked source, then a write event)."""
    rd = np.asarray(rd)
    ri = np.asarray(ri)
    srcs = [s for s in sources if isinstance(s, TrackedArray)]
    for s in srcs:
        if rd.size and np.may_share_memory(rd, s.data):
            if not (ri.size and np.may_share_memory(ri, s.ids)):
                raise RuntimeError("internal: a view of the data is not a view of the ids")
            if not _same_pattern(rd, ri):
                raise RuntimeError("internal: data and ids views have different layouts")
            return TrackedArray(rd, ri, self, s._buf)
    if any(ri.size and np.may_share_memory(ri, s.ids) for s in srcs) or not _same_pattern(rd, ri):
        fixed = _ids_like(rd)
        fixed[...] = ri
        ri = fixed
    for s in srcs:
        self._event(READ, s._buf, s.size if read_size is None else read_size)
    return self._wrap(rd, ri)


Tracker._rearranged = _rearranged


def _tracker_of(objs):
    for o in objs:
        if isinstance(o, TrackedArray):
            return o.tracker
    return None


def _ids_of(x):
    """ids of a tracked array; -1 array for anything else (a constant)."""
    if isinstance(x, TrackedArray):
        return x.ids
    return np.full(np.shape(x), -1, _I64)


# ---- ufuncs --------------------------------------------------------------------------------------

def _ufunc(tr: Tracker, ufunc, method, inputs, kwargs):
    name = f"numpy.{ufunc.__name__}"
    if method != "__call__":
        raise _not_modelled(f"{name}.{method}")
    out = kwargs.pop("out", None)
    if isinstance(out, tuple):
        if len(out) != 1:
            raise _not_modelled(f"{name} with several outputs")
        out = out[0]
    for k in kwargs:
        if k not in _UFUNC_KWARGS:
            raise _not_modelled(f"{name} with {k}=")
    if ufunc.nout != 1:
        raise _not_modelled(name)
    for x in inputs:
        if isinstance(x, TrackedArray):
            tr._check(x)
        elif isinstance(x, np.ndarray) and x.dtype == object:
            raise _not_modelled(f"{name} on object arrays")
    if isinstance(out, TrackedArray):
        tr._check(out)
    plain_in = [x.data if isinstance(x, TrackedArray) else x for x in inputs]
    tracked = [x for x in inputs if isinstance(x, TrackedArray)]
    if out is not None and not isinstance(out, TrackedArray) and tr.strict and \
            any((x.ids >= 0).any() for x in tracked):
        raise EscapeError(f"{name} writes tracked values into an untracked out= array (strict)")

    if ufunc is np.matmul:
        if kwargs:
            raise _not_modelled(f"{name} with {next(iter(kwargs))}=")
        a, b = inputs
        return _matmul(tr, a, b, out=out, name=name)
    if ufunc.signature is not None:
        raise _not_modelled(name)

    if out is None:
        rd = np.asarray(ufunc(*plain_in, **kwargs))
    else:
        od = out.data if isinstance(out, TrackedArray) else out
        ufunc(*plain_in, out=od, **kwargs)
        rd = od
    shape = rd.shape
    new = tr._elementwise_ids([x.ids for x in tracked], shape, tr._width(rd.dtype))
    for x in tracked:
        tr._event(READ, x._buf, x.size)
    return _finish(tr, rd, new, out)


def _finish(tr: Tracker, rd, new_ids_c, out):
    """Wrap a computed result (new ids in C order), or write it into `out`."""
    if out is None:
        return tr._wrap(rd, _fresh_ids(rd, new_ids_c))
    if isinstance(out, TrackedArray):
        out.ids[...] = np.asarray(new_ids_c).reshape(out.shape)
        tr._event(WRITE, out._buf, out.size)
        return out
    # an untracked out= array: the results leave the model
    tmp = TrackedArray(rd, np.asarray(new_ids_c).reshape(rd.shape), tr, tr._new_buffer())
    tr._escape(tmp, "out= into an untracked array")
    return out


# ---- matmul / dot -----------------------------------------------------------------------------

def _matmul(tr: Tracker, a, b, out=None, name="numpy.matmul"):
    ad = a.data if isinstance(a, TrackedArray) else np.asarray(a)
    bd = b.data if isinstance(b, TrackedArray) else np.asarray(b)
    if ad.ndim == 0 or bd.ndim == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    if out is None:
        rd = np.asarray(np.matmul(a.data if isinstance(a, TrackedArray) else a,
                                  b.data if isinstance(b, TrackedArray) else b))
    else:
        od = out.data if isinstance(out, TrackedArray) else out
        np.matmul(ad, bd, out=od)
        rd = od
    new = _matmul_record(tr, _ids_of(a), _ids_of(b), rd)
    for x in (a, b):
        if isinstance(x, TrackedArray):
            tr._event(READ, x._buf, x.size)
    return _finish(tr, rd, new, out)


def _matmul_record(tr: Tracker, ai, bi, rd) -> np.ndarray:
    a2 = ai[None, :] if ai.ndim == 1 else ai
    b2 = bi[:, None] if bi.ndim == 1 else bi
    M, K = a2.shape[-2:]
    N = b2.shape[-1]
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    full = batch + (M, N, K)
    P = int(np.prod(full[:-1], dtype=np.int64))
    A = np.broadcast_to(a2[..., :, None, :], full).reshape(P, K)
    B = np.broadcast_to(np.swapaxes(b2, -1, -2)[..., None, :, :], full).reshape(P, K)
    return tr._matmul_ids(A, B, tr._width(rd.dtype)).reshape(rd.shape)


def _dot(tr, a, b, out=None):
    if out is not None:
        raise _not_modelled("numpy.dot with out=")
    ad, bd = np.shape(peek(a)), np.shape(peek(b))
    if len(ad) == 0 or len(bd) == 0:
        return np.multiply(a, b)
    if len(ad) > 2 or len(bd) > 2:
        raise _not_modelled("numpy.dot of arrays with more than 2 dimensions")
    rd = np.asarray(np.dot(peek(a), peek(b)))
    new = _matmul_record(tr, _ids_of(a), _ids_of(b), rd)
    for x in (a, b):
        if isinstance(x, TrackedArray):
            tr._event(READ, x._buf, x.size)
    return _finish(tr, rd, new, None)


def _outer(tr, a, b, out=None):
    if out is not None:
        raise _not_modelled("numpy.outer with out=")
    rd = np.asarray(np.outer(peek(a), peek(b)))
    ai = _ids_of(a).ravel()[:, None]
    bi = _ids_of(b).ravel()[None, :]
    ops = [i for i, x in ((ai, a), (bi, b)) if isinstance(x, TrackedArray)]
    new = tr._elementwise_ids(ops, rd.shape, tr._width(rd.dtype))
    for x in (a, b):
        if isinstance(x, TrackedArray):
            tr._event(READ, x._buf, x.size)
    return _finish(tr, rd, new, None)


# ---- reductions -------------------------------------------------------------------------------

_NP_REDUCE = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min, "mean": np.mean}


def _reduce(tr: Tracker, op, a, axis=None, keepdims=False, dtype=None, out=None, **kw):
    for k, v in kw.items():
        raise _not_modelled(f"numpy.{op} with {k}=")
    if out is not None:
        raise _not_modelled(f"numpy.{op} with out=")
    if not isinstance(a, TrackedArray):
        raise _not_modelled(f"numpy.{op} of an untracked argument")
    tr._check(a)
    call = {} if dtype is None else {"dtype": dtype}
    if op in ("sum", "prod", "mean"):
        rd = getattr(a.data, op)(axis=axis, keepdims=keepdims, **call)
    else:
        if dtype is not None:
            raise _not_modelled(f"numpy.{op} with dtype=")
        rd = getattr(a.data, op)(axis=axis, keepdims=keepdims)
    rd = np.asarray(rd)
    axes = _norm_axes(axis, a.ndim)
    kept = [d for d in range(a.ndim) if d not in axes]
    ids = np.transpose(a.ids, kept + list(axes))
    P = int(np.prod([a.shape[d] for d in kept], dtype=np.int64))
    K = int(np.prod([a.shape[d] for d in axes], dtype=np.int64))
    T = ids.reshape(P, K)
    new = tr._fold_ids(T, tr._width(rd.dtype), post=(op == "mean"))
    tr._event(READ, a._buf, a.size)
    return tr._wrap(rd, _fresh_ids(rd, new))


def _fold_ids(self: Tracker, T: np.ndarray, width: int, post: bool = False) -> np.ndarray:
    """Left folds: T (P, K) term ids; per output s = T[0]; s = op(s, T[k]) for k >= 1; with
    `post`, one more instruction reading s (mean's division by a constant). Returns (P,) ids."""
    P, K = T.shape
    if K == 0:
        return np.full(P, -1, _I64)
    L = K - 1 + (1 if post else 0)
    if L == 0:
        return T[:, 0].copy()
    all_live = P == 0 or T.min() >= 0
    if all_live:
        live = np.ones((P, L), bool)
    else:
        slive = np.logical_or.accumulate(T >= 0, axis=1)
        live = np.empty((P, L), bool)
        live[:, :K - 1] = slive[:, 1:]
        if post:
            live[:, K - 1] = slive[:, -1]

    def build(idt):
        R = np.full((P, L, 2), -1, _I64)
        s = np.concatenate([T[:, :1], idt[:, :K - 1]], axis=1)         # s_0 .. s_{K-1}
        R[:, :K - 1, 0] = s[:, :-1]
        R[:, :K - 1, 1] = T[:, 1:]
        if post:
            R[:, K - 1, 0] = s[:, -1]
        return R

    if all_live and post:
        # the division reads one value: nreads varies inside the op, use the masked path
        idt = np.arange(self.n_values, self.n_values + P * L, dtype=_I64).reshape(P, L)
        R = build(idt).reshape(P * L, 2)
        m = R >= 0
        self._append(P * L, m.sum(axis=1).astype(np.uint8), R[m], width)
        return idt[:, L - 1]
    idt = self._emit(live, build, width, all_live)
    return idt[:, L - 1]


Tracker._fold_ids = _fold_ids


# ---- other functions -----------------------------------------------------------------------------

def _where(tr, cond, x=None, y=None):
    if x is None or y is None:
        raise _not_modelled("numpy.where with one argument (nonzero)")
    ops = (cond, x, y)
    for o in ops:
        if isinstance(o, TrackedArray):
            tr._check(o)
    rd = np.asarray(np.where(*[peek(o) for o in ops]))
    tracked = [o for o in ops if isinstance(o, TrackedArray)]
    new = tr._elementwise_ids([o.ids for o in tracked], rd.shape, tr._width(rd.dtype))
    for o in tracked:
        tr._event(READ, o._buf, o.size)
    return _finish(tr, rd, new, None)


def _clip(tr, a, a_min=None, a_max=None, out=None, **kw):
    if kw:
        raise _not_modelled(f"numpy.clip with {next(iter(kw))}=")
    if isinstance(a_min, TrackedArray) or isinstance(a_max, TrackedArray):
        raise _not_modelled("numpy.clip with tracked bounds")
    if not isinstance(a, TrackedArray):
        raise _not_modelled("numpy.clip of an untracked array into a tracked out=")
    if out is not None and not isinstance(out, TrackedArray):
        if tr.strict and (a.ids >= 0).any():
            raise EscapeError("numpy.clip writes tracked values into an untracked out= (strict)")
    if out is None:
        rd = np.asarray(np.clip(a.data, a_min, a_max))
    else:
        od = out.data if isinstance(out, TrackedArray) else out
        np.clip(a.data, a_min, a_max, out=od)
        rd = od
    new = tr._elementwise_ids([a.ids], rd.shape, tr._width(rd.dtype))
    tr._event(READ, a._buf, a.size)
    return _finish(tr, rd, new, out)


def _like(func):
    def h(tr, a, *args, **kw):
        if any(isinstance(v, TrackedArray) for v in list(args) + list(kw.values())):
            raise _not_modelled(f"{_fname(func)} with a tracked fill value")
        rd = np.asarray(func(peek(a), *args, **kw))
        return tr._wrap(rd, np.full(rd.shape, -1, _I64) if rd.flags.c_contiguous or rd.size <= 1
                        else _fill_like(rd))
    return h


def _fill_like(rd):
    ids = _ids_like(rd)
    ids[...] = -1
    return ids


def _single(func):
    """A rearranging function of one array (further arguments are plain parameters)."""
    def h(tr, a, *args, **kw):
        if kw.get("out") is not None:
            raise _not_modelled(f"{_fname(func)} with out=")
        if not isinstance(a, TrackedArray):
            raise _not_modelled(f"{_fname(func)} with a tracked parameter")
        if any(isinstance(v, TrackedArray) for v in list(args) + list(kw.values())):
            raise _not_modelled(f"{_fname(func)} with a tracked parameter")
        return tr._rearranged(np.asarray(func(a.data, *args, **kw)),
                              np.asarray(func(a.ids, *args, **kw)), [a])
    return h


def _sequence(func):
    """A rearranging function of a sequence of arrays (concatenate, stack, ...)."""
    def h(tr, arrays, *args, **kw):
        if kw.get("out") is not None:
            raise _not_modelled(f"{_fname(func)} with out=")
        if any(isinstance(v, TrackedArray) for v in list(args) + list(kw.values())):
            raise _not_modelled(f"{_fname(func)} with a tracked parameter")
        arrays = list(arrays)
        tracked = [x for x in arrays if isinstance(x, TrackedArray)]
        for x in tracked:
            tr._check(x)
        rd = np.asarray(func([peek(x) for x in arrays], *args, **kw))
        for x in tracked:
            if tr._width(x.dtype) != tr._width(rd.dtype) or x.dtype.itemsize != rd.dtype.itemsize:
                raise _not_modelled(f"{_fname(func)} of tracked arrays of different widths")
        ik = {k: v for k, v in kw.items() if k not in ("dtype", "casting")}
        ri = np.asarray(func([_ids_of(x) for x in arrays], *args, **ik))
        return tr._rearranged(rd, ri, tracked)
    return h


def _shape_query(func):
    def h(tr, a, *args, **kw):
        return func(peek(a), *args, **kw)
    return h


def _reduction(op):
    if op in ("max", "min"):          # numpy.max(a, axis=None, out=None, keepdims=False, ...)
        def h(tr, a, axis=None, out=None, keepdims=False, **kw):
            if "dtype" in kw:
                raise _not_modelled(f"numpy.{op} with dtype=")
            return _reduce(tr, op, a, axis, keepdims, out=out, **kw)
    else:                             # numpy.sum(a, axis=None, dtype=None, out=None, keepdims=False)
        def h(tr, a, axis=None, dtype=None, out=None, keepdims=False, **kw):
            return _reduce(tr, op, a, axis, keepdims, dtype=dtype, out=out, **kw)
    return h


def _copy(tr, a, order="K", subok=False):
    if not isinstance(a, TrackedArray):
        raise _not_modelled("numpy.copy of an untracked argument")
    return tr._rearranged(np.copy(a.data, order=order), np.copy(a.ids, order=order), [a])


_HANDLERS = {
    np.dot: _dot,
    np.outer: _outer,
    np.where: _where,
    np.clip: _clip,
    np.sum: _reduction("sum"), np.prod: _reduction("prod"), np.mean: _reduction("mean"),
    np.max: _reduction("max"), np.min: _reduction("min"),
    np.amax: _reduction("max"), np.amin: _reduction("min"),
    np.zeros_like: _like(np.zeros_like), np.ones_like: _like(np.ones_like),
    np.empty_like: _like(np.empty_like), np.full_like: _like(np.full_like),
    np.copy: _copy,
    np.shape: _shape_query(np.shape), np.ndim: _shape_query(np.ndim),
    np.size: _shape_query(np.size),
    np.result_type: lambda tr, *args, **kw: np.result_type(*[peek(x) for x in args], **kw),
    np.concatenate: _sequence(np.concatenate), np.stack: _sequence(np.stack),
    np.vstack: _sequence(np.vstack), np.hstack: _sequence(np.hstack),
}
for _f in (np.transpose, np.reshape, np.ravel, np.squeeze, np.expand_dims, np.swapaxes,
           np.moveaxis, np.broadcast_to, np.flip, np.tile, np.repeat, np.atleast_1d,
           np.atleast_2d, np.atleast_3d):
    _HANDLERS[_f] = _single(_f)
del _f
