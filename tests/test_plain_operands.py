"""Plain (untracked) arrays as data operands: Tracker(plain_arrays="input") and the harness
default (metrics/tracking/plain_operands.py, docs/tracking.md)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from metrics.api import bytedmd, trace_call
from metrics.engine import bytedmd_price
from metrics.oracle import oracle_bytedmd
from metrics.tracking import NotModelledError, TrackedArray, Tracker

A4 = np.arange(1.0, 5.0)
P4 = np.array([0.5, -1.5, 2.0, 3.25])


def cost(f, args, mode="input"):
    return bytedmd(f, args, bytes_per_element=1, plain_arrays=mode)


def test_hand_computed_a_times_plain():
    # constant: a3..a0 from the top (depths 1..4); a[i] is read at depth 4 every time: 4 x 2
    assert cost(lambda a: a * P4, (A4,), "constant") == cost(lambda a: a * 2.0, (A4,)) == 8
    # input: p pushed on first use, above a: p3 p2 p1 p0 a3 a2 a1 a0.
    # out0 reads a0 (depth 8: 3) and p0 (4: 2); both leave, out0 is pushed; out1: a1 (7: 3),
    # p1 (4: 2); out2: a2 (6: 3), p2 (4: 2); out3: a3 (5: 3), p3 (4: 2)  -> 4 x 5 = 20
    assert cost(lambda a: a * P4, (A4,)) == 20
    # the same as p passed as a tracked argument pushed after a (args (p, a): p ends on top)
    assert cost(lambda p, a: a * p, (P4, A4)) == 20


def test_default_is_constant():
    assert Tracker().plain_arrays == "constant"
    assert bytedmd(lambda a: a * np.full(4, 2.0), (A4,)) == bytedmd(lambda a: a * 2.0, (A4,))
    with pytest.raises(ValueError, match="plain_arrays"):
        Tracker(plain_arrays="free")


def test_reuse_is_a_reread_not_a_second_push():
    f = lambda a: (a * P4) + P4                       # noqa: E731
    assert cost(f, (A4,)) == cost(lambda p, a: (a * p) + p, (P4, A4))
    # a copy is another object: pushed again (cheaper here: fresh on top), so it differs
    assert cost(lambda a: (a * P4) + P4.copy(), (A4,)) != cost(f, (A4,))
    tr = Tracker(plain_arrays="input")
    (a,) = tr.track_args(A4)
    assert np.array_equal(tr.operand(P4).ids, tr.operand(P4).ids)
    assert tr.n_values == 8                           # a's 4 values and P4's 4, once


def test_changed_contents_are_new_data():
    p = P4.copy()
    tr = Tracker(plain_arrays="input")
    (a,) = tr.track_args(A4)
    first = (a * p).ids, tr.operand(p).ids.copy()
    p[2] = 7.0                                         # untracked code wrote into it
    second = tr.operand(p).ids
    assert not np.array_equal(first[1], second) and first[0].size == 4


def test_views_read_the_base_values():
    P = np.arange(6.0).reshape(2, 3)
    X = np.ones((3, 2))
    # P.T and P[::-1] are views: the same values as P, not pushed again
    f_auto = lambda x: (x @ P) @ P.T + x @ (P[::-1, ::-1] @ x)        # noqa: E731
    f_ref = lambda p, x: (x @ p) @ p.T + x @ (p[::-1, ::-1] @ x)      # noqa: E731
    # a view used first brings its base in whole: the reference tracks P before the first op
    g_auto = lambda x: (P[:, 1:] * x[1:].T) @ P                # noqa: E731
    g_ref = lambda p, x: (p[:, 1:] * x[1:].T) @ p              # noqa: E731
    for f, r in ((f_auto, f_ref), (g_auto, g_ref)):
        _, ta = trace_call(f, (X,), plain_arrays="input")
        _, tr_ = trace_call(r, (P, X))
        assert [x.tolist() for x in ta.arrays()] == [x.tolist() for x in tr_.arrays()]
    tr = Tracker(plain_arrays="input")
    ids = tr.operand(P).ids
    assert np.array_equal(tr.operand(P.T).ids, ids.T)
    assert np.array_equal(tr.operand(P[:, ::2]).ids, ids[:, ::2])
    assert np.array_equal(tr.operand(P.reshape(3, 2)).ids, ids.reshape(3, 2))
    assert tr.n_values == 6
    assert tr.operand(P.view(np.int64)).ids.min() >= 6       # another dtype: its own values


def test_an_operand_made_for_a_plain_array_or_view_is_one_of_the_trackers_arrays():
    """Tracker.operand hands a handler the plain array, or a view of it, as a tracked array of
    this tracker: usable as any other (a handler may compute with it), its elements read where
    the base's are."""
    P = np.arange(6.0).reshape(2, 3)
    tr = Tracker(plain_arrays="input")
    a = tr.track(np.ones(3))
    plain = (P, P[1], P.T[::2])
    operands = [tr.operand(x) for x in plain]
    assert tr.n_values == 3 + 6                       # P brought in once, for all three
    for x, t in zip(plain, operands):
        assert isinstance(t, TrackedArray) and t.tracker is tr
        assert np.array_equal((t + a[-1]).peek(), x + 1.0)


def test_index_arrays_scalars_and_empty_stay_free():
    idx = np.array([3, 0, 2])
    mask = np.array([True, False, True, False])
    for mode in ("constant", "input"):
        assert cost(lambda a: a[idx] * 2.0, (A4,), mode) == cost(lambda a: a[[3, 0, 2]] * 2.0, (A4,))
        assert cost(lambda a: a[mask] * 2.0, (A4,), mode) == cost(lambda a: a[[0, 2]] * 2.0, (A4,))
    base = cost(lambda a: a * 2.0, (A4,))
    assert cost(lambda a: a * np.array(2.0), (A4,)) == base            # 0-d
    assert cost(lambda a: a * np.float64(2.0), (A4,)) == base          # numpy scalar
    assert cost(lambda a: np.concatenate([a, np.zeros(0)]) * 2.0, (A4,)) == base   # empty

    def set_with_index(a):
        b = a * 2.0
        b[idx] = a[:3]
        return b
    assert cost(set_with_index, (A4,)) == cost(set_with_index, (A4,), "constant")


def test_every_family_brings_plain_operands_in():
    M = np.arange(12.0).reshape(3, 4) / 7
    V = np.arange(4.0)
    cases = [
        lambda a: a * V,                                   # elementwise
        lambda a: np.maximum(a, V),
        lambda a: M @ a,                                   # matmul
        lambda a: np.dot(M, a),
        lambda a: np.outer(V, a),
        lambda a: np.tensordot(M, a, 1),
        lambda a: np.einsum("ij,j->i", M, a),
        lambda a: np.where(V > 1, a, V),                   # where (cond and y plain)
        lambda a: np.concatenate([a, V]) * 2.0,            # a plain part, then read
        lambda a: np.stack([a, V]).sum(axis=0),
    ]
    for f in cases:
        c, i = cost(f, (A4,), "constant"), cost(f, (A4,))
        assert i > c, f
        _, t = trace_call(f, (A4,), bytes_per_element=1, plain_arrays="input")
        assert oracle_bytedmd(t)["cost"] == i


def test_setitem_and_like_constructors():
    def f(a):
        b = a * 2.0
        b[1:3] = P4[:2]                                     # a plain value: data
        return b + 1.0
    assert cost(f, (A4,)) > cost(f, (A4,), "constant")
    g = lambda a: np.zeros_like(a) + a                      # noqa: E731
    assert cost(g, (A4,)) == cost(lambda a: np.zeros(4) + a, (A4,)) > cost(g, (A4,), "constant")


def test_clip_with_plain_array_bounds_raises_under_input():
    with pytest.raises(NotModelledError, match="clip"):
        cost(lambda a: np.clip(a, np.zeros(4), 1.0), (A4,))
    assert cost(lambda a: np.clip(a, np.zeros(4), 1.0), (A4,), "constant") > 0


# ---- random programs: input mode = tracking each plain array explicitly at its first use ----
PLAIN = {"P": (2, 3), "Q": (3, 2), "r": (3,)}
OPS = ["mul_P", "add_Prev", "sub_r", "mm_Q_QT", "einsum_P", "tensordot_Q", "concat_P",
       "setitem_r", "where_P", "sum_r", "index"]


def step(op, cur, get):
    """One step of a program on cur (2, 3); get(name, view) is the operand `name` (plain, or
    tracked by the reference runner), through the view function `view`."""
    same = lambda x: x                                            # noqa: E731
    if op == "mul_P":
        return cur * get("P", same)
    if op == "add_Prev":
        return cur + get("P", lambda x: x[::-1])
    if op == "sub_r":
        return get("r", same) - cur
    if op == "mm_Q_QT":
        return (cur @ get("Q", same)) @ get("Q", lambda x: x.T)
    if op == "einsum_P":
        return np.einsum("ij,ij->ij", cur, get("P", same))
    if op == "tensordot_Q":
        return np.tensordot(cur, get("Q", same), 1) @ get("Q", lambda x: x.T)
    if op == "concat_P":
        return np.concatenate([cur[:1], get("P", lambda x: x[1:])]) * 2.0
    if op == "setitem_r":
        out = cur * 1.0
        out[1] = get("r", same)
        return out
    if op == "where_P":
        return np.where(cur > 0, get("P", same), cur)
    if op == "sum_r":
        return cur + (cur * get("r", same)).sum(axis=0)
    if op == "index":
        return cur[np.array([1, 0])]
    raise AssertionError(op)


@st.composite
def programs(draw):
    ops = draw(st.lists(st.sampled_from(OPS), min_size=1, max_size=6))
    seed = draw(st.integers(0, 2 ** 16))
    return ops, seed


def _data(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((2, 3))
    plain = {k: rng.standard_normal(s) for k, s in PLAIN.items()}
    return X, plain


def run(ops, seed, runner):
    X, plain = _data(seed)
    if runner == "numpy":
        cur = X
        for op in ops:
            cur = step(op, cur, lambda n, v: v(plain[n]))
        return cur, None
    tr = Tracker(bytes_per_element=1, plain_arrays="input" if runner == "input" else "constant")
    (cur,) = tr.track_args(X)
    tracked = {}

    def get(name, view):
        if runner == "input":
            return view(plain[name])
        if name not in tracked:                    # the reference: tracked at its first use
            tracked[name] = tr.track(plain[name])
        return view(tracked[name])
    for op in ops:
        cur = step(op, cur, get)
    return cur, tr.trace(keep=cur)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs_input_equals_explicit_tracking_and_oracle(case):
    ops, seed = case
    plain_result, _ = run(ops, seed, "numpy")
    auto, ta = run(ops, seed, "input")
    ref, tref = run(ops, seed, "reference")
    assert isinstance(auto, TrackedArray)
    assert np.array_equal(auto.peek(), plain_result) and auto.dtype == plain_result.dtype
    assert np.array_equal(ref.peek(), plain_result)
    assert [x.tolist() for x in ta.arrays()] == [x.tolist() for x in tref.arrays()]
    o = oracle_bytedmd(ta)
    r = bytedmd_price(ta)
    assert o["cost"] == int(r.cost) and o["reads"] == int(r.reads)


def test_harness_default_is_input():
    import inspect

    from harness.measure import measure_run, measure_update
    for f in (measure_update, measure_run):
        assert inspect.signature(f).parameters["plain_arrays"].default == "input"


def test_forward_gradient_pays_for_its_tangents():
    import learners
    from harness.measure import measure_update
    fg = learners.get("forward_gradient")
    c = measure_update(fg(), seed=0, reuse=False, plain_arrays="constant").bytedmd
    i = measure_update(fg(), seed=0, reuse=False).bytedmd
    assert i > c


def test_plain_values_are_labelled_as_plain_arrays():
    """The values a plain array brings in carry the label "(plain arrays)" (Report.by_label);
    the tracked argument's do not."""
    tr = Tracker(plain_arrays="input")
    (a,) = tr.track_args(A4)
    p = tr.operand(P4)
    trace = tr.trace(keep=a * p)
    names = [trace.label_names[i] for i in np.asarray(trace.label)]
    assert [names[i] for i in p.ids] == ["(plain arrays)"] * 4
    assert "(plain arrays)" not in [names[i] for i in a.ids]


@pytest.mark.parametrize("stop", [-7, -15])
def test_a_view_at_a_byte_offset_is_its_own_data(stop):
    """A float64 view of a plain float64 array shifted by one byte (through a uint8 view) has
    the root's dtype but none of its element addresses, up to one past the last: it is brought
    in as its own values (new ids), never read as the root's elements."""
    root = np.arange(10.0)
    shifted = root.view(np.uint8)[1:stop].view(np.float64)
    tr = Tracker(plain_arrays="input")
    (a,) = tr.track_args(np.ones(shifted.size))
    whole = tr.operand(root).ids.copy()                     # the root brought in first
    ids = tr.operand(shifted).ids
    assert ids.size == shifted.size and not set(ids.ravel()) & set(whole.ravel())
    out = a * shifted
    assert np.array_equal(out.peek(), np.ones(shifted.size) * shifted)


def test_one_element_arrays_are_data_and_empty_ones_constants():
    """At least one element makes a plain array data (pushed once, then re-read); an empty
    array, a 0-d array and a numpy scalar stay constants (returned as they are)."""
    tr = Tracker(plain_arrays="input")
    (a,) = tr.track_args(A4)
    one = np.array([2.5])
    got = tr.operand(one)
    assert isinstance(got, TrackedArray) and tr.n_values == 5
    assert np.array_equal(tr.operand(one).ids, got.ids) and tr.n_values == 5
    for const in (np.zeros(0), np.zeros((2, 0)), np.array(3.0), np.float64(3.0)):
        assert tr.operand(const) is const
    assert tr.n_values == 5
