"""metrics.reuse at its edges: the documented int64 dtypes (empty input included), the exact log2
bins of `reuse_histogram`, the exact default cache sizes of `miss_ratio_curve` ("1, 2, 4, ... up
to one past the largest distance"), its columns, cold count and ratios (0 for an empty trace,
never nan), the size argument's accepted and rejected edges with their one-line errors, exact
int64 counting of distances past 2^53, and, for a tracked run, reads of never-touched values
(an escape's output) and the kernels' array sizes checked with bounds-checked (pure Python)
indexing in a subprocess."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import metrics
from metrics.trace import ProgramBuilder

ROOT = Path(__file__).resolve().parents[1]


def _small_trace():
    p = ProgramBuilder(4)
    a, b = p.push(), p.push()
    c = p.op(a, b)
    d = p.op(c, a, c)
    return p.trace(keep=[d])


# ------------------------------------------------------------------ reuse_distances


def test_reuse_distances_are_int64_even_when_empty():
    assert metrics.reuse_distances([]).dtype == np.int64
    assert metrics.reuse_distances(np.zeros(0, np.int32)).dtype == np.int64
    assert metrics.reuse_distances([3, 3]).dtype == np.int64


def test_trace_reuse_distances_are_int64_even_without_reads():
    p = ProgramBuilder(4)
    a = p.push()
    empty = metrics.trace_reuse_distances(p.trace(keep=[a]))
    assert empty.dtype == np.int64 and empty.shape == (0,)
    d = metrics.trace_reuse_distances(_small_trace())
    assert d.dtype == np.int64
    # touches: a b | a b c | c a c d  -> reads of a, b, c, a, c
    assert d.tolist() == [1, 1, 0, 2, 1]


def test_a_read_of_a_never_touched_value_is_a_first_access():
    """An escape's output is no touch (docs/cost_model.md section 4): a read of it has no earlier
    touch and gets -1, like a first access, while the other reads keep their distances."""
    p = ProgramBuilder(4)
    a, b = p.push(), p.push()
    e = p.op(a)                 # an escape: its output is a Python number
    c = p.op(e, b)
    trace = p.trace(keep=[c])
    trace.escape_runs = np.array([[e, 1]], np.int64)
    assert metrics.trace_reuse_distances(trace).tolist() == [1, -1, 2]


def test_kernels_stay_inside_their_arrays():
    """The compiled kernels index without bounds checks; run as plain Python (NUMBA_DISABLE_JIT),
    every index is checked, so a table or tree one entry too short, or a clock started past 0,
    raises instead of writing past the end. Same distances as compiled."""
    code = (
        "import metrics\n"
        "from metrics.trace import ProgramBuilder\n"
        "p = ProgramBuilder(4); a = p.push(); b = p.push(); c = p.op(a, b); d = p.op(c, a, c)\n"
        "print(metrics.trace_reuse_distances(p.trace(keep=[d])).tolist())\n"
        "print(metrics.reuse_distances([5, 1, 5, 9, 1]).tolist())\n"
        "print(metrics.reuse_distances([0, 10**9, 0, 7, 10**9]).tolist())\n"
    )
    env = dict(os.environ, NUMBA_DISABLE_JIT="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split("\n")[:3] == ["[1, 1, 0, 2, 1]", "[-1, -1, 1, -1, 2]",
                                        "[-1, -1, 1, -1, 2]"]


# ------------------------------------------------------------------ reuse_histogram


def test_histogram_bins_are_exact_powers_of_two():
    h = metrics.reuse_histogram([0])
    assert h["bin_lo"].tolist() == [0] and h["bin_hi"].tolist() == [1]
    assert h["count"].tolist() == [1]
    h = metrics.reuse_histogram([-1, 0, 1, 2, 3, 4, 7, 8])
    assert h["bin_lo"].tolist() == [0, 1, 2, 4, 8]
    assert h["bin_hi"].tolist() == [1, 2, 4, 8, 16]
    assert h["count"].tolist() == [1, 1, 2, 2, 1]
    # the largest distance one below a power of two: no empty bin after it
    h = metrics.reuse_histogram([15])
    assert h["bin_hi"].tolist() == [1, 2, 4, 8, 16] and h["count"].tolist() == [0, 0, 0, 0, 1]


def test_histogram_columns_are_int64_even_when_empty():
    for d in ([], [-1, -1], [0, 5, 5]):
        h = metrics.reuse_histogram(d)
        assert list(h.columns) == ["bin_lo", "bin_hi", "count"]
        assert [h[k].dtype for k in h.columns] == [np.dtype(np.int64)] * 3, d


def test_histogram_rejects_non_1d_distances():
    with pytest.raises(ValueError) as e:
        metrics.reuse_histogram([[1, 2]])
    assert str(e.value) == "distances must be 1-D, got shape (1, 2)"


# ------------------------------------------------------------------ miss_ratio_curve


def test_default_sizes_stop_at_one_past_the_largest_distance():
    sizes = lambda d: metrics.miss_ratio_curve(d)["cache_size"].tolist()   # noqa: E731
    assert sizes([0]) == [1]
    assert sizes([1]) == [1, 2]
    assert sizes([3]) == [1, 2, 4]              # one past 3 is 4 exactly: no 8
    assert sizes([4]) == [1, 2, 4, 8]
    assert sizes([-1, 7, 2]) == [1, 2, 4, 8]
    assert sizes([8]) == [1, 2, 4, 8, 16]
    assert sizes([]) == [1] and sizes([-1, -1]) == [1]


def test_miss_ratio_curve_columns_values_and_dtypes():
    d = [-1, 0, 3, -1, 1, 5]
    m = metrics.miss_ratio_curve(d)
    assert list(m.columns) == ["cache_size", "misses", "miss_ratio", "cold"]
    assert m["cache_size"].tolist() == [1, 2, 4, 8]
    assert m["misses"].tolist() == [5, 4, 3, 2]
    assert m["miss_ratio"].tolist() == [5 / 6, 4 / 6, 3 / 6, 2 / 6]
    assert m["cold"].tolist() == [2, 2, 2, 2]
    for k in ("cache_size", "misses", "cold"):
        assert m[k].dtype == np.int64, k
    assert m["miss_ratio"].dtype == np.float64


def test_miss_ratio_of_an_empty_trace_is_zero_not_nan():
    m = metrics.miss_ratio_curve([], sizes=[0, 1, 4])
    assert m["misses"].tolist() == [0, 0, 0] and m["cold"].tolist() == [0, 0, 0]
    assert m["miss_ratio"].tolist() == [0.0, 0.0, 0.0]
    assert m["misses"].dtype == np.int64 and m["cold"].dtype == np.int64


def test_given_sizes_at_their_edges():
    # a cache of 0 entries is allowed: every access misses
    m = metrics.miss_ratio_curve([0, 0, -1], sizes=[0, 1])
    assert m["misses"].tolist() == [3, 1] and m["miss_ratio"].tolist() == [1.0, 1 / 3]
    # an access hits iff its distance is < the size (distance 2: miss at 2, hit at 3)
    assert metrics.miss_ratio_curve([2], sizes=[2, 3])["misses"].tolist() == [1, 0]
    # sizes of any integer type come back as int64
    m = metrics.miss_ratio_curve([1, 2], sizes=np.array([1, 3], np.int32))
    assert m["cache_size"].dtype == np.int64 and m["cache_size"].tolist() == [1, 3]
    msg = "miss_ratio_curve: sizes must be a 1-D list of non-negative integers"
    for bad in ([-1], [4, -1], [[1, 2]], [[0]]):
        with pytest.raises(ValueError) as e:
            metrics.miss_ratio_curve([1, 2], sizes=bad)
        assert str(e.value) == msg, bad


def test_distances_are_counted_exactly_past_2_to_the_53():
    """Distances are int64, not floats: 2^53 + 3 (which float64 rounds to 2^53 + 4) still hits a
    cache of 2^53 + 4 entries."""
    big = 2**53 + 3
    m = metrics.miss_ratio_curve(np.array([big], np.int64), sizes=[2**53 + 3, 2**53 + 4])
    assert m["misses"].tolist() == [1, 0]
