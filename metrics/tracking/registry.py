"""Which handler models which numpy function: filled by `@implements` where each handler is
defined (metrics/tracking/elementwise.py, linalg.py, reductions.py, rearranging.py,
escapes.py); read by TrackedArray.__array_function__ / __array_ufunc__.

A handler is called as handler(tracker, *args, **kwargs) with the arguments of the numpy call.
"""
from __future__ import annotations

HANDLERS: dict = {}          # numpy function -> handler
_UFUNC: list = []            # the one handler of every ufunc call (set by elementwise.py)


def implements(*funcs):
    """Register the decorated handler for each numpy function in `funcs`."""
    def register(handler):
        for f in funcs:
            if f in HANDLERS:
                raise RuntimeError(f"two handlers for {f!r}")
            HANDLERS[f] = handler
        return handler
    return register


def implements_ufuncs(handler):
    """Register the handler of every ufunc call (ufunc, method, inputs, kwargs)."""
    _UFUNC[:] = [handler]
    return handler


def ufunc_handler():
    return _UFUNC[0]
