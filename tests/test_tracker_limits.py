"""The Tracker's documented limits and argument errors (metrics/tracking/tracker.py), at their
exact boundaries: a value is 1..255 bytes wide (the trace stores widths as uint8), at most 255
phases and 65534 labels (uint8 / uint16 indices next to "(none)" / "(unnamed)"), each error one
line naming what was wrong."""
from __future__ import annotations

import numpy as np
import pytest

from metrics.tracking import NotModelledError, Tracker


def test_a_value_255_bytes_wide_is_the_widest_one_tracked():
    tr = Tracker()
    a = tr.track(np.zeros(2, "S255"))
    assert tr.trace(keep=a).arrays()[2].tolist() == [255, 255]
    with pytest.raises(NotModelledError, match=r"^values of dtype \|S256 \(itemsize 256; a value "
                       r"is 1 to 255 bytes wide\) is not modelled by the tracker$"):
        Tracker().track(np.zeros(2, "S256"))


def test_an_object_array_is_not_modelled_in_one_line():
    with pytest.raises(NotModelledError, match=r"^tracking an object array is not modelled by the "
                       r"tracker$"):
        Tracker().track(np.array([1, "a"], object))


def test_labels_up_to_the_65534th_then_a_one_line_error():
    tr = Tracker()
    a = tr.track(np.ones(2))
    tr.label_names += [f"l{i}" for i in range(65533)]   # as if 65533 labels were given
    tr.label(a, "the 65534th")
    assert tr.label_names.index("the 65534th") == 65534
    tr.label(a, "l7")                                   # an existing label still works
    with pytest.raises(ValueError, match=r"^at most 65534 labels$"):
        tr.label(a, "one more")
    t = tr.trace()
    assert t.label.dtype == np.uint16 and t.label.tolist() == [8, 8]


def test_label_needs_a_tracked_array_and_names_what_it_got():
    with pytest.raises(TypeError, match=r"^label\(\) needs a TrackedArray, got ndarray$"):
        Tracker().label(np.ones(2), "x")


def test_phases_up_to_the_255th_then_a_one_line_error():
    tr = Tracker()
    a = tr.track(np.ones(1))
    for i in range(255):
        with tr.phase(f"p{i}"):
            a = a + 1.0
    with tr.phase("p3"):                                # an existing phase still works
        a = a + 1.0
    with pytest.raises(ValueError, match=r"^at most 255 phases$"):
        with tr.phase("one more"):
            pass
    ph = tr.trace(keep=a).arrays()[3]
    assert ph.tolist() == [0] + list(range(1, 256)) + [4]


@pytest.mark.parametrize("bpe", [1, 255, 8.0, np.int64(4)])
def test_a_fixed_width_from_1_to_255_bytes_prices_every_value_at_it(bpe):
    tr = Tracker(bytes_per_element=bpe)
    a = tr.track(np.zeros(2, np.float64))
    b = a * 2.0
    assert tr.bytes_per_element == int(bpe) and type(tr.bytes_per_element) is int
    assert tr.trace(keep=b).arrays()[2].tolist() == [int(bpe)] * 4


@pytest.mark.parametrize("bpe", [0, 256, -8, 2.5, True, False])
def test_a_fixed_width_outside_1_to_255_or_not_an_integer_is_refused_in_one_line(bpe):
    with pytest.raises(ValueError, match=rf"^bytes_per_element must be an integer in 1\.\.255, "
                                         rf"got {bpe!r}$"):
        Tracker(bytes_per_element=bpe)


def test_tracking_a_tracked_array_again_is_refused_in_one_line():
    tr = Tracker()
    a = tr.track(np.ones(2))
    with pytest.raises(ValueError, match=r"^track\(\): the array is already tracked$"):
        tr.track(a)


TWO_TRACKER_OPS = {
    "a + b": lambda a, b: a + b,
    "np.dot": np.dot,
    "np.outer": np.outer,
    "np.tensordot": lambda a, b: np.tensordot(a, b, axes=1),
    "a @ b": lambda a, b: a @ b,
    "np.einsum": lambda a, b: np.einsum("i,i->", a, b),
    "np.where": lambda a, b: np.where(a > 0, a, b),
    "np.concatenate": lambda a, b: np.concatenate([a, b]),
    "b into a": lambda a, b: a.__setitem__(slice(None), b),
}


@pytest.mark.parametrize("op", TWO_TRACKER_OPS)
def test_arrays_of_two_trackers_are_refused_in_one_line(op):
    """Value ids are numbered per tracker: an operation on arrays of two trackers would record
    reads of another program's values, so every operation refuses it (np.dot, np.outer and
    np.tensordot did not: they recorded such reads)."""
    a = Tracker().track(np.ones(2))
    b = Tracker().track(np.ones(2))
    with pytest.raises(ValueError, match=r"^tracked arrays from different trackers cannot be "
                                         r"mixed$"):
        TWO_TRACKER_OPS[op](a, b)
