"""Plain (untracked) arrays as data operands: Tracker(plain_arrays="input").

docs/cost_model.md section 1.5 makes Python numbers and untracked numpy scalars free constants; the
reference tracer also treats an untracked ndarray operand as constants. Under
plain_arrays="constant" (the Tracker's default) that is what the tracker does. Under
plain_arrays="input" (the harness's measurements) an untracked ndarray with at least one element
(0-d arrays, numpy scalars and empty arrays stay constants) that is a DATA operand of a modelled
operation -- elementwise, matmul/dot/outer/tensordot/einsum, where, clip bounds, the parts of
concatenate/stack, the value of `a[idx] = b` -- is new data entering the program:

- first use: its elements are pushed at no cost in C order (docs/cost_model.md section 1.2's
  convention for arguments, like a new batch entering), and the tracker keeps a strong
  reference to it, so its id cannot be reused by another object while the tracker lives;
- later uses of the same object read the same values (re-reads, priced by depth), unless its
  contents changed since (untracked code wrote into it; a 128-bit digest of its bytes is
  compared): then its current contents are new data, pushed again. Memory: the tracker holds
  every plain array it brought in until it is garbage collected (a whole-run measurement keeps
  the plain arrays of every update, small beside the trace). Their values are labelled
  "(plain arrays)" (Report.by_label), unless the harness names them later;
- a view (a slice, `.T`, `x[:, :, None]`, a reshape that is a view) is recognised through the
  ndarray that owns its memory (the end of its chain of `.base` ndarrays): that array is brought
  in whole (if it is not yet), and each element of the view reads the value of the element at
  the same address. So `P[t]` used twice, or `P` and `P.T`, read the same values, and reading a
  plain array through fresh views is never cheaper than reading it whole. A view that does not
  map element for element (another dtype, `.view(...)`) is brought in as its own values.

Index arrays (integer or boolean keys of `a[idx]`, `np.take`-like positions) and plain
parameters (shapes, `repeats`, axes) are not data operands: they stay free under both settings.
"""
from __future__ import annotations

import hashlib

import numpy as np

from metrics.tracking.array import TrackedArray
from metrics.tracking.layout import I64, fresh_ids

PLAIN_ARRAYS = ("constant", "input")
LABEL = "(plain arrays)"        # the label of their values (Report.by_label)


def _root(x: np.ndarray):
    """The ndarray at the end of x's chain of .base ndarrays (x itself if it owns its memory)."""
    r = x
    while isinstance(r.base, np.ndarray):
        r = r.base
    return r


def _addresses(a: np.ndarray) -> np.ndarray:
    """Byte address of every element of a, C order of its index space (int64, a.size)."""
    addr = np.full((), a.__array_interface__["data"][0], np.int64)
    for k, (n, s) in enumerate(zip(a.shape, a.strides)):
        shape = [1] * a.ndim
        shape[k] = n
        addr = addr + (np.arange(n, dtype=np.int64) * s).reshape(shape)
    return np.broadcast_to(addr, a.shape).ravel()


def _digest(a: np.ndarray) -> bytes:
    """A fingerprint of a's contents (its bytes in C order), to notice untracked writes."""
    return hashlib.blake2b(np.ascontiguousarray(a).tobytes(), digest_size=16).digest()


class _Entry:
    __slots__ = ("array", "digest", "tracked", "order", "sorted_addr")

    def __init__(self, array, tracked):
        self.array = array                    # a strong reference: id(array) stays unique
        self.digest = _digest(array)          # its contents when brought in
        self.tracked = tracked
        self.order = self.sorted_addr = None  # address index, built on the first view


class PlainArrays:
    """The plain arrays a Tracker has brought in, by object identity (module docstring)."""

    def __init__(self, tracker):
        self.tr = tracker
        self._by_id: dict[int, _Entry] = {}

    def operand(self, x):
        if not isinstance(x, np.ndarray) or isinstance(x, TrackedArray) or x.ndim == 0 \
                or x.size == 0 or x.dtype == object:
            return x                          # constants; object arrays raise in the handler
        root = _root(x)
        if root is not x and root.size:
            entry = self._entry(root)
            ids = self._view_ids(x, entry)
            if ids is not None:
                return TrackedArray(x, ids, self.tr, entry.tracked._buf)
        return self._entry(x).tracked

    def _entry(self, a: np.ndarray) -> _Entry:
        e = self._by_id.get(id(a))
        if e is not None and e.array is a and _digest(a) == e.digest:
            return e
        # first use, or its contents changed since: new data entering the program
        e = _Entry(a, self.tr.track(a, label=LABEL))
        self._by_id[id(a)] = e
        return e

    def _view_ids(self, x: np.ndarray, e: _Entry):
        """ids of the view x of e.array (laid out like x), or None if it does not map."""
        root = e.array
        if x.dtype != root.dtype:
            return None
        if e.order is None:
            addr = _addresses(root)
            e.order = np.argsort(addr, kind="stable")
            e.sorted_addr = addr[e.order]
        v = _addresses(x)
        pos = np.searchsorted(e.sorted_addr, v)
        if pos.size and (pos.max() >= e.sorted_addr.size or
                         not np.array_equal(e.sorted_addr[pos], v)):
            return None
        root_ids = np.asarray(e.tracked.ids).ravel()        # C order of root's index space
        return fresh_ids(x, np.asarray(root_ids[e.order[pos]], I64))
