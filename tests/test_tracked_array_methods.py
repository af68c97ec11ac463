"""TrackedArray's own methods (metrics/tracking/array.py), called as a rule author calls them
(a.ravel(), a.fill(0), a.astype(np.float32), np.asarray(a), ...): the data is numpy's, every
slot keeps the id of the value it holds, and the program records exactly the instructions,
escapes and buffer events the method stands for (docs/tracking.md)."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from metrics.trace import READ, WRITE
from metrics.tracking import EscapeError, NotModelledError, TrackedArray, Tracker


def tracked(shape=(2, 1, 3, 1), dtype=np.float64, strict=False):
    tr = Tracker(strict=strict)
    (a,) = tr.track_args((np.arange(np.prod(shape)) * 1.5 + 1).astype(dtype).reshape(shape))
    return tr, a


def events(tr, since=0):
    """The buffer events recorded after the first `since`: (kind, buffer, size in elements)."""
    t = tr.trace()
    return [(int(k), int(b), int(s)) for k, b, s in
            zip(t.buffer_kind, t.buffer_id, t.buffer_size)][since:]


def program(tr):
    """(reads per instruction, the reads, bytes per value) of the recorded program."""
    nreads, reads, width, _ = tr.trace().arrays()
    return nreads.tolist(), reads.tolist(), width.tolist()


REARRANGING = {
    "T": lambda x: x.T,
    "transpose()": lambda x: x.transpose(),
    "transpose(2, 0, 3, 1)": lambda x: x.transpose(2, 0, 3, 1),
    "reshape(3, 2)": lambda x: x.reshape(3, 2),
    "reshape((3, 2), order=F)": lambda x: x.reshape((3, 2), order="F"),
    "ravel()": lambda x: x.ravel(),
    "ravel(F)": lambda x: x.ravel("F"),
    "flatten()": lambda x: x.flatten(),
    "flatten(F)": lambda x: x.flatten("F"),
    "copy()": lambda x: x.copy(),
    "copy(F)": lambda x: x.copy("F"),
    "copy.copy": copy.copy,
    "copy.deepcopy": copy.deepcopy,
    "squeeze()": lambda x: x.squeeze(),
    "squeeze(1)": lambda x: x.squeeze(1),
    "squeeze(axis=3)": lambda x: x.squeeze(axis=3),
    "swapaxes(0, 2)": lambda x: x.swapaxes(0, 2),
    "swapaxes(2, 1)": lambda x: x.swapaxes(2, 1),
}


@pytest.mark.parametrize("name", REARRANGING)
def test_a_rearranging_method_moves_values_and_ids_alike_and_computes_nothing(name):
    f = REARRANGING[name]
    tr, a = tracked()
    ids_before, n_before, ev_before = a.ids.copy(), tr.n_values, len(events(tr))
    r = f(a)
    want = f(a.data)
    assert isinstance(r, TrackedArray) and r.tracker is tr
    assert r.shape == want.shape and r.dtype == want.dtype and np.array_equal(r.data, want)
    assert r.data.flags.c_contiguous == want.flags.c_contiguous
    assert r.data.flags.f_contiguous == want.flags.f_contiguous
    np.testing.assert_array_equal(r.ids, f(ids_before))
    assert tr.n_values == n_before                          # no instruction: the same values
    if np.shares_memory(r.data, a.data):                    # a view: a's buffer, nothing moved
        assert r._buf == a._buf and events(tr, ev_before) == []
    else:                                                   # a copy: read a, write a new buffer
        assert r._buf != a._buf
        assert events(tr, ev_before) == [(READ, a._buf, a.size), (WRITE, r._buf, r.size)]
        r.data[...] = 0.0                                   # and it is a copy of the ids too
        r.ids[...] = -1
        assert (a.ids == ids_before).all() and a.data.min() > 0


def test_fill_makes_every_slot_a_constant_and_writes_the_buffer():
    tr, a = tracked((2, 3))
    ev = len(events(tr))
    assert a.fill(7.5) is None
    assert (a.data == 7.5).all() and a.ids.tolist() == [[-1] * 3] * 2
    assert tr.n_values == 6 and events(tr, ev) == [(WRITE, a._buf, 6)]
    _, b = tracked((2,))
    with pytest.raises(NotModelledError, match=r"^numpy\.ndarray\.fill with a tracked value is "
                                               r"not modelled by the tracker$"):
        a.fill(b[0])


def test_astype_to_a_narrower_dtype_is_one_instruction_per_element_of_the_new_width():
    tr, a = tracked((2, 3))
    r = a.astype(np.float32)
    assert r.dtype == np.float32 and np.array_equal(r.data, a.data.astype(np.float32))
    nreads, reads, width = program(tr)
    assert nreads == [0] * 6 + [1] * 6 and reads == list(range(6)) and width == [8] * 6 + [4] * 6
    assert r.ids.tolist() == [[6, 7, 8], [9, 10, 11]]


def test_astype_keeps_numpys_copy_order_and_casting_arguments():
    tr, a = tracked((2, 3))
    same = a.astype(a.dtype)                      # copy=True by default: a new array
    assert same is not a and not np.shares_memory(same.data, a.data) and same._buf != a._buf
    assert np.array_equal(same.ids, a.ids) and tr.n_values == 6
    assert a.astype(a.dtype, copy=False) is a
    f = a.T                                       # F-ordered data: order= decides the layout
    assert f.astype(np.float32, order="C").data.flags.c_contiguous
    assert f.astype(np.float32, order="F").data.flags.f_contiguous
    assert f.astype(np.float64, order="C").data.flags.c_contiguous
    with pytest.raises(TypeError):
        a.astype(np.int64, casting="safe")        # numpy's refusal, nothing recorded
    assert tr.n_values == 6 + 6 + 6            # the inputs, then the two float32 copies


def test_np_asarray_is_an_escape_of_every_element_at_its_own_width():
    tr, a = tracked((3,), dtype=np.float32)
    ev = len(events(tr))
    out = np.asarray(a)
    assert out.dtype == np.float32 and np.array_equal(out, a.data)
    nreads, reads, width = program(tr)
    assert nreads == [0, 0, 0, 1, 1, 1] and reads == [0, 1, 2] and width == [4] * 6
    assert tr.escapes == 3 and events(tr, ev) == [(READ, a._buf, 3)]
    _, s = tracked((3,), strict=True)
    with pytest.raises(EscapeError, match=r"^np\.asarray\(\)/__array__ makes 3 tracked"):
        np.asarray(s)


@pytest.mark.parametrize("dtype", [None, np.float32, np.float64])
@pytest.mark.parametrize("copy_", [None, False, True])
def test_the_array_protocol_returns_the_dtype_asked_and_copies_when_asked(dtype, copy_):
    tr, a = tracked((3,), dtype=np.float32)
    out = a.__array__(dtype, copy=copy_)
    assert out.dtype == (np.float32 if dtype is None else dtype)
    assert np.array_equal(out, a.data)
    same_dtype = dtype in (None, np.float32)
    assert np.shares_memory(out, a.data) == (same_dtype and not copy_)
    assert tr.escapes == 3


def test_item_escapes_only_the_element_returned():
    tr, a = tracked((2, 3), dtype=np.float32)
    ev = len(events(tr))
    assert a.item(4) == a.data.item(4) and a.item(1, 0) == a.data.item(1, 0)
    assert a.item((0, 2)) == a.data.item((0, 2))
    nreads, reads, width = program(tr)
    assert nreads == [0] * 6 + [1] * 3 and reads == [4, 3, 2] and width == [4] * 9
    assert tr.escapes == 3 and events(tr, ev) == [(READ, a._buf, 1)] * 3
    _, s = tracked((2,), strict=True)
    with pytest.raises(EscapeError, match=r"^\.item\(\) makes 1 tracked"):
        s.item(0)


def test_iterating_yields_the_rows_and_a_0d_array_cannot_be_iterated():
    tr, a = tracked((3,))
    rows = list(a)
    assert [r.ids.tolist() for r in rows] == [0, 1, 2] and tr.escapes == 0
    assert [float(r.data) for r in rows] == a.data.tolist()
    _, m = tracked((2, 2))
    assert [r.ids.tolist() for r in m] == [[0, 1], [2, 3]]
    with pytest.raises(TypeError, match=r"^iteration over a 0-d array$"):
        list(a[0])


def test_repr_shows_the_data_and_dtype_and_reads_nothing():
    tr, a = tracked((2,))
    assert repr(a) == "TrackedArray([1. , 2.5], dtype=float64)" == str(a)
    assert tr.escapes == 0 and tr.n_values == 2


def test_an_unknown_attribute_is_an_attribute_error_and_an_ndarray_one_is_not_modelled():
    _, a = tracked((2,))
    with pytest.raises(AttributeError, match=r"^'TrackedArray' object has no attribute 'nope'$"):
        a.nope
    with pytest.raises(NotModelledError, match=r"^numpy\.ndarray\.argpartition is not modelled"):
        a.argpartition


@pytest.mark.parametrize("into, value", [(np.float64, np.float32), (np.float32, np.float64)])
def test_assigning_values_of_another_width_converts_them_one_instruction_each(into, value):
    tr = Tracker()
    a, b = tr.track_args(np.zeros((3, 3), into), np.arange(6, dtype=value).reshape(2, 3) + 1)
    ev = len(events(tr))
    a[1:, :] = b                                 # b's ids 0..5, a's 6..14; the copies 15..20
    assert np.array_equal(a.data[1:], b.data.astype(into))
    nreads, reads, width = program(tr)
    w_into, w_value = np.dtype(into).itemsize, np.dtype(value).itemsize
    assert nreads == [0] * 15 + [1] * 6 and reads == list(range(6))
    assert width == [w_value] * 6 + [w_into] * 9 + [w_into] * 6
    assert a.ids.tolist() == [[6, 7, 8], [15, 16, 17], [18, 19, 20]]
    assert events(tr, ev) == [(READ, b._buf, 6), (WRITE, a._buf, 6)]


INDEXES = {
    "a[1:, ::2] (a view)": lambda x: x[1:, ::2],
    "a[1] (a row, a view)": lambda x: x[1],
    "a[1, 2] (an element)": lambda x: x[1, 2],
    "a[[2, 0]] (rows picked)": lambda x: x[[2, 0]],
    "a[[0, 2], [3, 1]] (elements picked)": lambda x: x[[0, 2], [3, 1]],
    "a[a > 5] (a mask)": lambda x: x[np.arange(12).reshape(3, 4) > 5],
    "a[:, [1]] (a column picked)": lambda x: x[:, [1]],
}


@pytest.mark.parametrize("name", INDEXES)
def test_indexing_reads_only_the_elements_it_picks(name):
    """An index is numpy's on the data and on the ids; a view moves nothing, a copy reads the
    elements it picks (not the whole source) and writes them to a new buffer."""
    f = INDEXES[name]
    tr, a = tracked((3, 4))
    ev, n_before = len(events(tr)), tr.n_values
    r = f(a)
    want = np.asarray(f(a.data))
    assert isinstance(r, TrackedArray) and r.shape == want.shape and np.array_equal(r.data, want)
    np.testing.assert_array_equal(r.ids, f(a.ids))
    assert tr.n_values == n_before and tr.escapes == 0
    if np.shares_memory(r.data, a.data):
        assert r._buf == a._buf and events(tr, ev) == []
    else:
        assert r._buf != a._buf and want.size < a.size
        assert events(tr, ev) == [(READ, a._buf, want.size), (WRITE, r._buf, want.size)]


@pytest.mark.parametrize("key", ["alone", "in a tuple"])
def test_a_tracked_index_escapes_once_and_picks_what_its_values_pick(key):
    """An index array that is itself tracked leaves the model (its values decide addresses):
    one escape per element, once, and the result is the one its plain values give."""
    tr, a = tracked((3, 4))
    (i,) = tr.track_args(np.array([2, 0]))
    plain = np.array([2, 0])
    if key == "alone":
        r, want, want_ids = a[i], a.data[plain], a.ids[plain]
    else:
        r, want, want_ids = a[i, 1], a.data[plain, 1], a.ids[plain, 1]
    assert r.shape == want.shape and np.array_equal(r.data, want)
    np.testing.assert_array_equal(r.ids, want_ids)
    assert tr.escapes == 2
