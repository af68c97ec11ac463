"""metrics.ard_dmc at its edges: the clock stays exact when sizes pass int64 (no rounding of the
sizes to floats, no cancellation of a huge clock against a stamp), the exact one-line errors of
the arrays form on its exact-integer path (sizes past int64), and size 0 accepted there."""
from __future__ import annotations

import numpy as np
import pytest

import metrics
from metrics.ard_dmc import ard_dmc_arrays


def test_clock_past_int64_is_exact_under_cancellation():
    # after a buffer of 2^63 + 1 elements the clock is past int64 and past float64's integers:
    # a's distance is b's size plus its own (2), not the 0 a float clock would give
    ev = [("write", "x", 2**63 + 1), ("write", "a", 1), ("write", "b", 1), ("read", "a", 1)]
    assert metrics.ard_dmc(ev) == (2.0, 2.0 ** 0.5)
    kind, buf, size = [0, 0, 0, 1], [9, 1, 2, 1], [2**63 + 1, 1, 1, 1]
    assert ard_dmc_arrays(kind, buf, size) == (2.0, 2.0 ** 0.5)


def test_sizes_past_int64_are_summed_exactly():
    # three sizes 2^63 + 1023: each alone would round down to 2^63 as a float, their exact sum
    # (and the distance) rounds up
    big = 2**63 + 1023
    ev = [("write", "a", 1)] + [("write", f"x{i}", big) for i in range(3)] + [("read", "a", 1)]
    a, d = metrics.ard_dmc(ev)
    assert a == float(1 + 3 * big) and a != float(1 + 3 * 2**63)
    assert d == float(1 + 3 * big) ** 0.5


def test_huge_sizes_path_accepts_size_zero_and_rejects_negatives():
    # a zero-size write stamps its buffer; the read's distance is the elements since (2^64)
    assert ard_dmc_arrays([0, 0, 1], [0, 1, 0], [0, 2**64, 3]) == (float(2**64), 3 * 2.0**32)
    with pytest.raises(ValueError) as e:
        ard_dmc_arrays([0, 1], [0, 0], [2**64, -1])
    assert str(e.value) == "ard_dmc_arrays: sizes must be non-negative"


def test_huge_sizes_path_shape_errors_are_one_line():
    with pytest.raises(ValueError) as e:
        ard_dmc_arrays([0, 1], [0, 0], [2**64, 1, 1])
    assert str(e.value) == ("ard_dmc_arrays: kind, buffer_id and size must be 1-D of equal "
                            "length; got (2,), (2,), (3,)")
    with pytest.raises(ValueError) as e:
        ard_dmc_arrays([[0, 1]], [[0, 0]], [2**64, 1])
    assert str(e.value) == ("ard_dmc_arrays: kind, buffer_id and size must be 1-D of equal "
                            "length; got (1, 2), (1, 2), (2,)")


def test_no_read_with_a_prior_write_gives_zero_ard_on_both_paths():
    for size in ([3, 4, 5], [3, 2**62, 5], [3, 2**64, 5]):   # kernel, Python loop (int64, past)
        # writes only, then a read of a never-written buffer: no read counts
        assert ard_dmc_arrays([0, 0, 1], [0, 1, 2], size) == (0.0, 0.0), size


KIND_MSG = "ard_dmc_arrays: kind must be 0 (write) or 1 (read)"
SHAPE_MSG = "ard_dmc_arrays: kind, buffer_id and size must be 1-D of equal length; got "


@pytest.mark.parametrize("size", [[3, 4], [3, 2**64]], ids=["int64", "past-int64"])
def test_kind_outside_0_1_is_rejected_with_its_message(size):
    with pytest.raises(ValueError) as e:
        ard_dmc_arrays([0, 2], [0, 0], size)
    assert str(e.value) == KIND_MSG


def test_a_single_event_is_validated():
    with pytest.raises(ValueError) as e:
        ard_dmc_arrays([2], [0], [3])
    assert str(e.value) == KIND_MSG
    with pytest.raises(ValueError) as e:
        ard_dmc_arrays([0], [0], [-1])
    assert str(e.value) == "ard_dmc_arrays: sizes must be non-negative"
    assert ard_dmc_arrays([0], [0], [3]) == (0.0, 0.0)
    assert ard_dmc_arrays([], [], []) == (0.0, 0.0)


def test_arrays_shape_errors_are_one_line():
    with pytest.raises(ValueError) as e:
        ard_dmc_arrays([0, 1], [0, 0], [3, 4, 5])
    assert str(e.value) == SHAPE_MSG + "(2,), (2,), (3,)"
    # equal shapes but 2-D
    with pytest.raises(ValueError) as e:
        ard_dmc_arrays(np.zeros((2, 2), int), np.zeros((2, 2), int), np.ones((2, 2), int))
    assert str(e.value) == SHAPE_MSG + "(2, 2), (2, 2), (2, 2)"


def test_a_total_of_exactly_2_to_the_62_is_counted_in_python_integers():
    """The docstring's edge: sizes whose total *reaches* 2^62 take the exact Python-int loop. At a
    total of exactly 2^62, with read sizes 2^53 + 4 (past float64's integers), ARD is the
    correctly rounded ratio (2^53 + 8) / (2^53 + 4), which a float64 running sum of the read
    sizes (2^53 + 1 rounds back to 2^53) would not give."""
    k = 4
    kind, buf, size = [0, 0, 1], [0, 1, 1], [2**62 - 2**53 - 1 - 3 * k, 1, 2**53]
    for i in range(k):                        # write b, write c, read b: distance 2, size 1
        kind += [0, 0, 1]
        buf += [2 + 2 * i, 3 + 2 * i, 2 + 2 * i]
        size += [1, 1, 1]
    assert sum(size) == 2**62
    a, _ = ard_dmc_arrays(kind, buf, size)
    assert a == (2**53 + 2 * k) / (2**53 + k) and a != (2**53 + 2 * k) / 2**53
