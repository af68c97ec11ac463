"""Report.peak_live_values / peak_live_bytes: the program's exact working set (engine liveness)."""
import numpy as np

from metrics.api import trace_call
from metrics.reporting import report


def _peak(func, args, **kw):
    _, trace = trace_call(func, args, **kw)
    r = report(trace, reuse=False)
    return r.peak_live_values, r.peak_live_bytes


def test_peak_counts_values_live_at_once():
    a, b = np.ones(4), np.ones(4)
    # a + b: the 8 arguments are live until their last read; each result replaces two of them
    assert _peak(lambda a, b: a + b, (a, b)) == (8, 64)
    # (a + b) * (a - b): a and b stay live while a + b is built, then 4 + 8 values at once
    assert _peak(lambda a, b: (a + b) * (a - b), (a, b)) == (12, 96)
    # the width follows bytes_per_element
    assert _peak(lambda a, b: (a + b) * (a - b), (a, b), bytes_per_element=2) == (12, 24)
