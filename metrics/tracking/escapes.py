"""Leaving the model (docs/cost_model.md section 2): tracked data turned into Python numbers or plain
arrays. An escape is one instruction per element reading it once, like the reference tracer's
`__float__`/`__bool__`; its output is not a value of the program (never read, never touched),
and it is counted in `Tracker.escapes`. Under `strict=True` an escape raises EscapeError.

Also here: how a call the tracker does not know is named in its NotModelledError -- as the
user wrote it when numpy makes the unknown call internally (`rng.permutation(x)` calls
numpy.may_share_memory on x).
"""
from __future__ import annotations

import linecache
import os
import sys

import numpy as np

from metrics.trace import READ
from metrics.tracking.errors import EscapeError, fname, not_modelled
from metrics.tracking.layout import I64

_NUMPY_DIR = os.path.dirname(np.__file__)
_TRACKING_DIR = os.path.dirname(os.path.abspath(__file__))
_FORWARDERS = ("mutmut.",)


def escape(tr, ids: np.ndarray, width: int, buf: int, size: int, what: str):
    """Record the escape of the tracked elements among `ids` (C order): one instruction each,
    reading it; one read event of `size` elements on buffer `buf`."""
    ids = np.asarray(ids, I64).ravel()
    if ids.size and ids.min() < 0:
        ids = ids[ids >= 0]
    n = int(ids.size)
    if n == 0:
        return
    if tr.strict:
        raise EscapeError(f"{what} makes {n} tracked element(s) leave the model (strict mode)")
    first = tr._append(n, 1, np.array(ids, I64), width)
    tr._escape_runs.append((first, n))
    tr._event(READ, buf, size)
    tr.escapes += n


def escape_array(t, what: str):
    """Every element of the tracked array t leaves the model."""
    tr = t.tracker
    escape(tr, t.ids, tr._width(t.data.dtype), t._buf, t.data.size, what)


def escaping(convert, what: str):
    """A TrackedArray method converting the data with `convert` (numpy's own checks, such as an
    ambiguous truth value, come first), then recording the escape of every element."""
    def method(self, *args):
        value = convert(self.data, *args)
        escape_array(self, what)
        return value
    method.__name__ = getattr(convert, "__name__", what)
    return method


def _outward(f):
    """The frames from f outward, without those of call forwarders that only pass a call on
    unchanged (mutmut's trampolines during mutation testing, docs/mutation.md): the frame
    structure this module reads is then the same with or without them."""
    while f is not None:
        if not f.f_globals.get("__name__", "").startswith(_FORWARDERS):
            yield f
        f = f.f_back


def in_vectorize_probe() -> bool:
    """Is np.asarray being called by np.vectorize's output-type probe? It converts the
    arguments to read their first elements, then converts them again for the real call: only
    the second conversion is the program's (one escape per element). Only numpy's own frames lie
    between such a conversion (TrackedArray.__array__, in this package) and the probe: a
    conversion the vectorized function makes (the probe calls it once more, on the first
    elements) is the program's, at any call depth."""
    for f in _outward(sys._getframe(1)):
        where = f.f_code.co_filename
        if where.startswith(_TRACKING_DIR):
            continue                          # the conversion being made
        if not where.startswith(_NUMPY_DIR):
            return False
        if f.f_code.co_name == "_get_ufunc_and_otypes":
            return True
    return False


def _user_call() -> str | None:
    """Source text and place of the call being made in the innermost frame outside numpy and
    this package (Python 3.11+ positions), e.g. '`rng.permutation(x)` (study.py:12)'."""
    f = next((f for f in _outward(sys._getframe(1))
              if not f.f_code.co_filename.startswith((_NUMPY_DIR, _TRACKING_DIR))), None)
    if f is None:
        return None
    place = f"{os.path.basename(f.f_code.co_filename)}:{f.f_lineno}"
    try:
        pos = list(f.f_code.co_positions())[f.f_lasti // 2]
        lo, hi, c0, c1 = pos
        if lo == hi and c0 is not None and c1 is not None:
            text = linecache.getline(f.f_code.co_filename, lo)[c0:c1].strip()
            if text:
                return f"`{text}` ({place})"
    except (AttributeError, IndexError, TypeError, ValueError):
        pass
    return f"the call at {place}"


def unknown_function(func) -> Exception:
    """NotModelledError for a numpy function without a handler, naming the call the user wrote
    when numpy makes this call internally."""
    name = fname(func)
    call = _user_call()
    short = getattr(func, "__name__", name)
    if call is None or short in call:
        return not_modelled(name)
    return not_modelled(f"{call}, which calls {name} on a tracked array,")
