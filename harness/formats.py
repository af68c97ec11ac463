"""Number formats in the priced record: one width for the default format, narrower arrays kept.

`Tracker(bytes_per_element=w)` prices every value at w bytes (metrics tracking). A rule that
stores an array in a narrower floating format on purpose (e-prop's trace_dtype="float16": its
eligibility traces really rounded to fp16) should keep that width when the rest of the program is
priced at w: `FormatTracker(bytes_per_element=w)` prices a floating-point value at
min(w, its dtype's itemsize) and every other value at w. With no floating value narrower than
float64 (every rule at its defaults) it records exactly what `Tracker` records.

    measure_update(learners.get("eprop")(trace_dtype="float16"), task, bytes_per_element=4)
    # the traces at 2 bytes, every other value at 4 (float32 pricing)

With bytes_per_element=None both trackers price each value at its dtype's itemsize (float64 8,
float16 2). Units: bytes.
"""
from __future__ import annotations

import numpy as np

from metrics.tracking import Tracker


class FormatTracker(Tracker):
    """A Tracker whose `bytes_per_element` is the width of the default format: floating values
    of a narrower dtype keep their own width (module docstring)."""

    def _width(self, dtype) -> int:
        w = super()._width(dtype)
        dt = np.dtype(dtype)
        if self.bytes_per_element is not None and dt.kind == "f":
            return min(w, dt.itemsize)
        return w
