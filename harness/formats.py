"""Number formats in the priced record: one width for the default format, narrower arrays kept.

`Tracker(bytes_per_element=w)` prices every value at w bytes (metrics tracking). The studies'
`--bytes-per-element {8,4,2}` asks instead "what if the numbers were float64 / float32 /
float16": `FormatTracker(bytes_per_element=w)` prices each value at min(w, its dtype's
itemsize). So a float64 value costs w bytes, an array a rule stores narrower on purpose keeps its
own width (e-prop's trace_dtype="float16", BPTT's history_dtype, RTRL's influence_dtype: those
values really rounded to fp16, priced at 2 bytes), and a boolean (a clipping test's outcome) stays
1 byte. With w = 8 it records exactly what `Tracker(bytes_per_element=None)` records (each value
at its dtype's itemsize) for every dtype of at most 8 bytes: the studies' default width 8 gives
the numbers measured before the flag existed, bit for bit.

    measure_update(learners.get("eprop")(trace_dtype="float16"), task, bytes_per_element=4)
    # the traces at 2 bytes, every other float64 value at 4 (float32 pricing)

What is rounded and what is only priced (docs/formats.md): the default width only prices (the
float64 arithmetic is unchanged, nothing is rounded); a rule's storage dtype really rounds the
stored values (numpy keeps them in that dtype) and prices them at that width.

price_as {dtype name: bytes} (optional): values of that dtype priced at that many bytes instead,
e.g. {"float16": 1} prices e-prop's fp16 trace as a 1-byte (fp8) trace. Pricing only: the values
are still rounded to the dtype numpy has (fp16), not to the narrower format. Units: bytes.
"""
from __future__ import annotations

import numpy as np

from metrics.tracking import NotModelledError, Tracker

FLOAT_DTYPES = ("float64", "float32", "float16")


def check_price_as(price_as) -> dict:
    """{dtype name: bytes} checked (a one-line ValueError otherwise): floating dtypes of
    FLOAT_DTYPES, widths whole numbers in 1..8. None -> {}."""
    if price_as is None:
        return {}
    if not isinstance(price_as, dict):
        raise ValueError(f"price_as must be a dict {{dtype: bytes}}, got {type(price_as).__name__}")
    out = {}
    for k, v in price_as.items():
        if k not in FLOAT_DTYPES:
            raise ValueError(f"price_as: {k!r} is not one of the floating dtypes "
                             f"{', '.join(FLOAT_DTYPES)}")
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 1 <= v <= 8:
            raise ValueError(f"price_as[{k!r}]: a width in bytes must be a whole number in 1..8, "
                             f"got {v!r}")
        out[np.dtype(k).name] = int(v)
    return out


class FormatTracker(Tracker):
    """A Tracker whose `bytes_per_element` is the width of the default format: each value is
    priced at min(bytes_per_element, its dtype's itemsize); `price_as` overrides the width of a
    floating dtype (module docstring)."""

    def __init__(self, bytes_per_element: int | None = None, strict: bool = False, *,
                 price_as: dict | None = None, **kw):
        super().__init__(bytes_per_element, strict, **kw)
        self.price_as = check_price_as(price_as)

    def _width(self, dtype) -> int:
        dt = np.dtype(dtype)
        if dt.name in self.price_as:
            return self.price_as[dt.name]
        own = dt.itemsize
        if not 1 <= own <= 255:
            raise NotModelledError(f"values of dtype {dt} (itemsize {own})")
        return own if self.bytes_per_element is None else min(self.bytes_per_element, own)
