"""metrics.reuse_kernel's Python halves at their edges: element_distances' int64 output (empty
input included), the table/hash boundary on address span (both sides equal the oracle), uint64
addresses accepted up to 2^63 - 1 and rejected past it with the exact message; check_trace_reads
accepting ids 0 and n - 1 and rejecting -1 and n with the exact message; escaped_flags' uint8
flags over value ids (empty without escapes)."""
from __future__ import annotations

import numpy as np
import pytest

from metrics.oracle import oracle_reuse_distances
from metrics.reuse_kernel import check_trace_reads, element_distances, escaped_flags
from metrics.trace import Trace, TraceChunk


def test_element_distances_are_int64():
    for dt in (np.int64, np.int32, np.uint8, np.uint64):
        d = element_distances(np.zeros(0, dt))
        assert d.dtype == np.int64 and d.shape == (0,)
        d = element_distances(np.array([2, 0, 2], dt))
        assert d.dtype == np.int64 and d.tolist() == [-1, -1, 1]


@pytest.mark.parametrize("extra", [-1, 0, 1, 1000])
def test_either_side_of_the_table_span_limit(extra):
    # span = hi - lo + 1 compared with 4 n + 2^16: exactly at the limit, and one past it
    n = 6
    span = 4 * n + (1 << 16) + extra
    lo = 5
    a = np.array([lo, lo + span - 1, lo, lo + 3, lo + span - 1, lo + 3], np.int64)
    assert element_distances(a).tolist() == oracle_reuse_distances(a.tolist()) \
        == [-1, -1, 1, -1, 2, 1]


def test_uint64_addresses_up_to_int64_max():
    top = np.iinfo(np.int64).max
    a = np.array([top, 0, top, 5, 0], np.uint64)
    assert element_distances(a).tolist() == [-1, -1, 1, -1, 2]
    a = np.array([3, top + 1, 3], np.uint64)
    with pytest.raises(ValueError) as e:
        element_distances(a)
    assert str(e.value) == "reuse_distances: uint64 addresses above 2^63 - 1 are not supported"


def _trace(reads, n_values):
    nreads = np.zeros(n_values, np.uint8)
    nreads[-1] = len(reads)
    return Trace.from_arrays(nreads, np.array(reads, np.int64), 8)


def test_check_trace_reads_edges():
    check_trace_reads(_trace([0, 3], 4))                  # ids 0 and n - 1 are fine
    check_trace_reads(_trace([], 4))
    with pytest.raises(ValueError) as e:
        check_trace_reads(_trace([0, 4], 4))
    assert str(e.value) == "trace reads a value id outside 0..3 (min 0, max 4)"
    with pytest.raises(ValueError) as e:
        check_trace_reads(_trace([-1, 2], 4))
    assert str(e.value) == "trace reads a value id outside 0..3 (min -1, max 2)"
    # every chunk is checked, against the whole trace's value count
    ok = TraceChunk(0, np.array([0, 0], np.uint8), np.zeros(0, np.int64),
                    np.full(2, 8, np.uint8), np.zeros(2, np.uint8))
    bad = TraceChunk(2, np.array([2], np.uint8), np.array([1, 3], np.int64),
                     np.full(1, 8, np.uint8), np.zeros(1, np.uint8))
    with pytest.raises(ValueError) as e:
        check_trace_reads(Trace(chunks=[ok, bad]))
    assert str(e.value) == "trace reads a value id outside 0..2 (min 1, max 3)"
    good = TraceChunk(2, np.array([2], np.uint8), np.array([1, 2], np.int64),
                      np.full(1, 8, np.uint8), np.zeros(1, np.uint8))
    check_trace_reads(Trace(chunks=[ok, good]))


def test_escaped_flags():
    t = _trace([0, 1], 6)
    f = escaped_flags(t)
    assert f.dtype == np.uint8 and f.shape == (0,)
    t.escape_runs = np.array([[1, 2], [4, 1]], np.int64)
    f = escaped_flags(t)
    assert f.dtype == np.uint8 and f.tolist() == [0, 1, 1, 0, 1, 0]
    t.escape_runs = np.zeros((0, 2), np.int64)
    assert escaped_flags(t).shape == (0,)
