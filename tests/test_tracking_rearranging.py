"""metrics/tracking/rearranging.py called through numpy's functions on tracked arrays (the
learners mostly use methods and operators; a rule of one's own may call np.transpose & co.):
the result holds the same values in the same places as numpy's, and each element keeps the
value id of the element it came from (no new values: a rearrangement is no instruction)."""
import numpy as np
import pytest

from metrics.tracking import NotModelledError, TrackedArray, Tracker
from metrics.tracking.plain_operands import LABEL as PLAIN_LABEL

SINGLE = [
    (np.transpose, ()), (np.transpose, ((1, 0, 2),)), (np.reshape, ((6, 4),)), (np.ravel, ()),
    (np.squeeze, ()), (np.expand_dims, (1,)), (np.swapaxes, (0, 2)), (np.moveaxis, (0, -1)),
    (np.broadcast_to, ((2, 2, 3, 4),)), (np.flip, (1,)), (np.tile, ((2, 1, 1),)),
    (np.repeat, (2,)), (np.repeat, (3, 2)), (np.atleast_1d, ()), (np.atleast_2d, ()),
    (np.atleast_3d, ()),
]


def tracked(shape=(2, 3, 4), tr=None):
    tr = tr or Tracker()
    (a,) = tr.track_args(np.arange(np.prod(shape), dtype=float).reshape(shape) * 1.5)
    return tr, a


@pytest.mark.parametrize("func, args", SINGLE, ids=lambda x: getattr(x, "__name__", repr(x)))
def test_one_array_rearranged_keeps_each_values_id(func, args):
    tr, a = tracked()
    r = func(a, *args)
    assert isinstance(r, TrackedArray)
    want = func(a.data, *args)
    assert r.shape == want.shape and np.array_equal(r.data, want)
    np.testing.assert_array_equal(r.ids, func(a.ids, *args))
    assert set(np.unique(r.ids)) <= set(np.unique(a.ids))       # no new value


@pytest.mark.parametrize("func", [np.concatenate, np.stack, np.vstack, np.hstack])
def test_a_sequence_of_arrays_with_a_plain_part_keeps_each_values_id(func):
    tr = Tracker()
    a, b = tr.track_args(np.ones((2, 3)), np.full((2, 3), 2.0))
    c = np.full((2, 3), 7.0)                     # plain: a constant (id -1) by default
    r = func([a, b, c])
    want = func([a.data, b.data, c])
    assert isinstance(r, TrackedArray) and np.array_equal(r.data, want)
    np.testing.assert_array_equal(r.ids, func([a.ids, b.ids, np.full((2, 3), -1)]))
    # dtype= and casting= apply to the values, not to the ids (int64 stays int64)
    r64 = func([a, b], dtype=np.float64, casting="same_kind")
    assert r64.dtype == np.float64 and r64.ids.dtype == np.int64
    np.testing.assert_array_equal(r64.ids, func([a.ids, b.ids]))


def test_float32_arrays_join_and_axes_apply_to_values_and_ids():
    tr = Tracker()
    a, b = tr.track_args(np.ones((2, 3), dtype=np.float32), np.zeros((2, 3), dtype=np.float32))
    r = np.concatenate([a, b])
    assert r.dtype == np.float32 and np.array_equal(r.ids, np.concatenate([a.ids, b.ids]))
    for r, want in ((np.concatenate([a, b], 1), np.concatenate([a.ids, b.ids], 1)),
                    (np.concatenate([a, b], axis=1), np.concatenate([a.ids, b.ids], axis=1)),
                    (np.stack([a, b], 2), np.stack([a.ids, b.ids], 2))):
        assert r.shape == want.shape and np.array_equal(r.ids, want)


@pytest.mark.parametrize("width", [None, 8])
def test_arrays_of_different_widths_are_not_joined(width):
    """float64 and float32 values are not joined, also when the tracker prices every value at
    one width (bytes_per_element): the element sizes still differ."""
    tr = Tracker(bytes_per_element=width)
    a, b = tr.track_args(np.ones(2), np.ones(2, dtype=np.float32))
    with pytest.raises(NotModelledError, match=r"numpy\.concatenate of tracked arrays of "
                                               r"different widths"):
        np.concatenate([a, b])


@pytest.mark.parametrize("func, args", [(np.zeros_like, ()), (np.ones_like, ()),
                                         (np.full_like, (3.0,)), (np.empty_like, ())])
def test_like_constructors_make_constants_or_inputs(func, args):
    tr, a = tracked((2, 2))
    r = func(a, *args)
    assert r.shape == (2, 2) and (r.ids == -1).all()              # constants: no value read
    if func is not np.empty_like:
        assert np.array_equal(r.data, func(a.data, *args))
    tr2, a2 = tracked((2, 2), Tracker(plain_arrays="input"))
    assert PLAIN_LABEL not in tr2.label_names
    r2 = func(a2, *args)
    assert PLAIN_LABEL in tr2.label_names        # labelled as the plain arrays' values
    assert (r2.ids >= 0).all() and len(set(r2.ids.ravel())) == 4  # four new input values
    assert not set(r2.ids.ravel()) & set(a2.ids.ravel())
    assert (func(tracked((0,))[1], *args).ids == -1).all()        # no element: nothing new


def test_shape_queries_read_nothing():
    tr, a = tracked()
    assert np.shape(a) == (2, 3, 4) and np.ndim(a) == 3 and np.size(a) == 24
    assert np.size(a, 1) == 3 and np.size(a, axis=2) == 4
    assert np.result_type(a, np.float32) == np.float64
    assert np.zeros_like(a, dtype=np.float32).dtype == np.float32     # keywords applied


@pytest.mark.parametrize("func, args, kw", [(np.reshape, ((4, 6),), {"order": "F"}),
                                            (np.ravel, (), {"order": "F"}),
                                            (np.squeeze, (), {"axis": 0})])
def test_keyword_arguments_apply_to_values_and_ids_alike(func, args, kw):
    tr, a = tracked((1, 4, 6)) if func is np.squeeze else tracked((2, 3, 4))
    r = func(a, *args, **kw)
    assert np.array_equal(r.data, func(a.data, *args, **kw))
    np.testing.assert_array_equal(r.ids, func(a.ids, *args, **kw))


def test_one_numpy_function_has_one_handler():
    from metrics.tracking.registry import implements
    with pytest.raises(RuntimeError, match=r"^two handlers for <function transpose at "):
        implements(np.transpose)(lambda tr, a: a)
