"""metrics/tracking/layout.py on its own: an id array laid out like its data (`ids_like`) for every
kind of layout numpy makes (C, Fortran, strided, reversed, broadcast, record fields, empty and
single-element arrays), so that numpy's view-or-copy decisions for the data are its decisions for
the ids; and the layouts' helpers (`same_pattern`, `fresh_ids`, `constant_ids`)."""
from __future__ import annotations

import numpy as np
import pytest

from metrics.tracking.layout import constant_ids, fresh_ids, ids_like, same_pattern


def _record_field():
    return np.zeros(5, dtype=[("a", "f8"), ("b", "f4")])["a"]       # 12-byte stride, 8-byte items


LAYOUTS = {
    "C": lambda: np.arange(12.0).reshape(3, 4),
    "C 1-D": lambda: np.arange(5.0),
    "Fortran": lambda: np.arange(12.0).reshape(3, 4).T,
    "Fortran 3-D": lambda: np.zeros((2, 3, 4), order="F"),
    "strided": lambda: np.arange(24.0).reshape(4, 6)[:, ::2],
    "two of four": lambda: np.arange(4.0)[::2],
    "reversed": lambda: np.arange(12.0).reshape(3, 4)[::-1],
    "reversed both": lambda: np.arange(24.0).reshape(4, 6)[::-1, ::-2],
    "mixed signs 3-D": lambda: np.arange(60.0).reshape(3, 4, 5)[::-1, 1:, ::2].transpose(2, 0, 1),
    "float32 strided": lambda: np.arange(20, dtype=np.float32).reshape(4, 5)[:, ::3],
    "broadcast rows": lambda: np.broadcast_to(np.arange(3.0), (2, 3)),
    "broadcast column": lambda: np.broadcast_to(np.arange(4.0)[:, None], (4, 5)),
    "new axis of a strided": lambda: np.arange(12.0)[::3][None],
    "record field": _record_field,
    "empty strided": lambda: np.zeros((0, 6))[:, ::2],
    "one row, reversed": lambda: np.zeros((3, 3))[1:2, ::-2],
    "one element, reversed": lambda: np.zeros((3, 3))[1:2, 2:1:-1],
}


def _representable(data):
    """numpy can lay out int64 ids with the data's element strides: every stride a multiple of
    the item size and no axis longer than 1 with stride 0 (broadcast)."""
    return (all(s % data.itemsize == 0 for s in data.strides)
            and not any(s == 0 for s, n in zip(data.strides, data.shape) if n > 1))


def _root(a):
    """The allocation at the end of a's chain of bases (through as_strided's wrapper)."""
    while getattr(a, "base", None) is not None:
        a = a.base
    return a


def _views(a):
    """numpy's view-or-copy decisions on `a`: does each op return a view of it?"""
    ops = (lambda x: x.reshape(-1), lambda x: x.ravel(), lambda x: x.T.reshape(-1),
           lambda x: x.reshape(x.shape[::-1]), lambda x: x.ravel(order="F"),
           lambda x: np.ascontiguousarray(x), lambda x: np.asfortranarray(x))
    return [np.shares_memory(op(a), a) if a.size else None for op in ops]


@pytest.mark.parametrize("name", LAYOUTS)
def test_ids_are_laid_out_like_their_data(name):
    """Shape and int64 always; the data's element strides, contiguity and view-or-copy
    decisions whenever int64 ids can have them (else C order, each id its own slot); the id
    buffer spans exactly the data's elements (no slot more: a slot per element)."""
    data = LAYOUTS[name]()
    ids = ids_like(data)
    assert ids.shape == data.shape and ids.dtype == np.int64
    assert ids.flags.writeable
    ids[...] = np.arange(ids.size).reshape(ids.shape)          # every element its own slot
    assert np.array_equal(ids.ravel(), np.arange(ids.size))
    if _representable(data):
        assert same_pattern(data, ids)
        assert [s // 8 for s in ids.strides] == [s // data.itemsize for s in data.strides] \
            or data.size <= 1
        assert ids.flags.c_contiguous == data.flags.c_contiguous
        assert ids.flags.f_contiguous == data.flags.f_contiguous
        assert _views(ids) == _views(data)
        if data.size > 1:
            span = sum(abs(s) // data.itemsize * (n - 1) for s, n in zip(data.strides, data.shape))
            assert _root(ids).nbytes == 8 * (span + 1)
    else:
        assert ids.flags.c_contiguous


def test_same_pattern_compares_shape_and_element_strides():
    a = np.arange(12.0).reshape(3, 4)
    assert same_pattern(a, np.zeros((3, 4), np.int64))
    assert same_pattern(a[:, ::2], np.zeros((3, 4), np.int64)[:, ::2])
    assert same_pattern(a[:, ::2], np.zeros((3, 4), np.float32)[:, ::2])     # element units
    assert not same_pattern(a[:, ::2], np.zeros((3, 2), np.int64))          # same shape, strides not
    assert not same_pattern(a, np.zeros((4, 3), np.int64))
    assert not same_pattern(a, np.zeros((3, 4), np.int64, order="F"))
    assert not same_pattern(np.zeros(2), np.zeros(4, np.int64)[::2])       # two elements, strided
    assert not same_pattern(np.zeros((2, 1)), np.zeros((2, 2), np.int64)[:, :1])
    assert same_pattern(a[:1, :1], np.zeros((3, 4), np.int64)[1:2, ::-1][:, :1])   # one element
    assert same_pattern(np.zeros((0, 3)), np.zeros((0, 3), np.int64)[:, ::-1])    # empty
    assert same_pattern(a[:1], np.zeros((1, 4), np.int64, order="F")[:, :])        # length-1 axis


@pytest.mark.parametrize("id_dtype", [np.int64, np.int32, np.uint16])
@pytest.mark.parametrize("name", LAYOUTS)
def test_fresh_and_constant_ids_take_the_data_layout(name, id_dtype):
    """Ids of any integer type come back as int64 (-1 marks a constant) in the data's layout."""
    data = LAYOUTS[name]()
    new = np.arange(100, 100 + data.size, dtype=id_dtype)
    f, c = fresh_ids(data, new), constant_ids(data)
    assert f.dtype == c.dtype == np.int64 and f.shape == c.shape == data.shape
    assert np.array_equal(f.reshape(-1), new) and np.all(c == -1)     # C order: as given
    if _representable(data):
        assert same_pattern(data, f) and same_pattern(data, c)


def test_axes_are_normalized_as_numpy_does():
    """None: every axis; an int or a sequence, negative ones counted from the end, sorted; the
    ends -ndim and ndim - 1 accepted; one past either end refused with numpy's own AxisError
    (the message numpy gives for the same axis); a repeated axis refused."""
    from metrics.tracking.layout import norm_axes
    assert norm_axes(None, 3) == (0, 1, 2)
    assert norm_axes(-3, 3) == (0,) and norm_axes(2, 3) == (2,)
    assert norm_axes([2, -3], 3) == (0, 2) and norm_axes((1,), 3) == (1,)
    plain = np.ones((2, 3, 4))
    for bad in (3, -4, (0, 3)):
        with pytest.raises(np.exceptions.AxisError) as ours:
            norm_axes(bad, 3)
        with pytest.raises(np.exceptions.AxisError) as numpys:
            plain.sum(axis=bad)
        assert str(ours.value) == str(numpys.value)
    with pytest.raises(ValueError, match="^duplicate value in 'axis'$"):
        norm_axes((1, -2), 3)
