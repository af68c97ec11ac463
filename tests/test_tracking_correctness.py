"""Tracker defects found by an independent differential test against the reference tracer
(issue 12), each pinned by a test."""
from __future__ import annotations

import numpy as np
import pytest

from metrics.api import bytedmd, trace_call
from metrics.oracle import oracle_bytedmd, oracle_reuse_distances
from metrics.reuse import trace_reuse_distances
from metrics.tracking import NotModelledError, Tracker


# ---- a.item(k) is numpy's flat index --------------------------------------------------------------
def _escaped_ids(tr, before):
    """Value ids read by the escape instructions recorded since value `before`."""
    nr, rd, _, _ = tr.trace().arrays()
    off = int(nr[:before].sum())
    return rd[off:].tolist()


def test_item_flat_index():
    A0 = np.arange(6.0).reshape(3, 2)
    tr = Tracker()
    (A,) = tr.track_args(A0)                       # ids 0..5 in C order
    n = tr.n_values
    assert A.item(1) == A0.item(1) == 1.0          # A[0, 1], not row 1
    assert _escaped_ids(tr, n) == [1] and tr.escapes == 1
    assert A.item(4) == 4.0 and A.item(-1) == 5.0
    assert A.item((2, 1)) == 5.0 and A.item(1, 0) == 2.0
    assert _escaped_ids(tr, n) == [1, 4, 5, 5, 2] and tr.escapes == 5
    with pytest.raises(IndexError):
        A.item(6)
    with pytest.raises(ValueError):
        A.item()                                   # numpy: only size-1 arrays
    assert tr.escapes == 5


def test_item_on_a_0d_array_and_times_a_vector():
    tr = Tracker()
    x, A = tr.track_args(np.array(3.0), np.arange(6.0).reshape(3, 2))    # A: ids 0..5, x: 6
    assert x.item(0) == 3.0 and x.item() == 3.0
    n = tr.n_values
    y = x * A.item(1)                              # the number A[0, 1] is a constant
    assert _escaped_ids(tr, n)[0] == 1
    assert y.peek() == 3.0 and tr.escapes == 3


# ---- the same object passed twice is pushed once ---------------------------------------------------
def test_same_array_twice_is_pushed_once():
    X = np.ones((4, 4))
    assert bytedmd(lambda A, B: A @ B, (X, X), bytes_per_element=1) == 612
    assert bytedmd(lambda A, B: A @ B, (X, X.copy()), bytes_per_element=1) == 720
    tr = Tracker()
    a, b, c = tr.track_args(X, np.zeros(2), X)
    assert a is c and tr.n_values == 18
    # pushed at the slot of its last occurrence: X is pushed first (bottom), then the zeros
    assert a.ids.ravel().tolist() == list(range(16)) and b.ids.tolist() == [16, 17]
    _, t = trace_call(lambda A, B: A @ B, (X, X), bytes_per_element=1)
    assert oracle_bytedmd(t)["cost"] == 612


def test_numbers_are_pushed_every_time():
    tr = Tracker()
    a, b = tr.track_args(2.0, 2.0)
    assert a is not b and tr.n_values == 2


# ---- reuse distances: an escape's output is not a touched value --------------------------------
def test_reuse_distances_skip_escape_outputs():
    def f(a):
        float(a[0])
        return a[1] + a[0]
    _, t = trace_call(f, (np.array([1.0, 2.0]),))
    assert t.escapes == 1 and t.escape_runs.tolist() == [[2, 1]]
    assert trace_reuse_distances(t).tolist() == [1, 1, 1]
    # the same as the plain LRU simulation over the touches without the escape's output
    touches = [0, 1, 0, 1, 0, 3]          # a0, a1 created; escape reads a0; v3 reads a1, a0
    d = oracle_reuse_distances(touches)
    assert [d[2], d[3], d[4]] == [1, 1, 1]


def test_reuse_distances_of_a_computed_dead_value_still_count():
    def f(a):
        _ = a[0] * 2.0                     # a tracked value, never read: still touched
        return a[1] + a[0]
    _, t = trace_call(f, (np.array([1.0, 2.0]),))
    assert trace_reuse_distances(t).tolist() == [1, 2, 2]


# ---- np.vectorize and rng.permutation ------------------------------------------------------------
def test_vectorize_one_escape_per_element():
    tr = Tracker()
    (a,) = tr.track_args(np.arange(5.0))
    out = np.vectorize(lambda v: v * 2)(a)
    assert out.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert tr.escapes == 5
    out = np.vectorize(lambda v: v + 1, otypes=[float])(a)
    assert tr.escapes == 10
    np.asarray(a)
    np.asarray(a)                                  # outside np.vectorize: every conversion
    assert tr.escapes == 20


def test_permutation_names_the_call_the_user_wrote():
    rng = np.random.default_rng(0)
    tr = Tracker()
    (a,) = tr.track_args(np.arange(4.0))
    with pytest.raises(NotModelledError, match=r"rng\.permutation\(a\)") as e:
        rng.permutation(a)
    assert "numpy.may_share_memory" in str(e.value)
    with pytest.raises(NotModelledError, match=r"^numpy\.fft\.fft is not modelled"):
        np.fft.fft(a)


def test_harness_brings_a_shared_array_in_once():
    from harness.measure import TrackedStep
    from harness.task import SequenceLookup
    task = SequenceLookup()
    batch = task.train_batch()
    W = np.ones((2, 2))
    tr = Tracker()
    state, _ = TrackedStep(tr).bring_in({"W": W, "V": W, "b": np.zeros(2)}, batch)
    assert state["W"] is state["V"]
    n_batch = sum(s.size for s in batch.segments) + batch.targets.size
    assert tr.n_values == 4 + 2 + n_batch


def test_frame_walks_skip_call_forwarders():
    """The tracker reads its callers' frames (np.vectorize's probe, the user's call in an error);
    a forwarder that only passes the call on (mutmut's trampolines in mutation testing) is not
    one of them, so wrapping the tracker's functions leaves what it sees unchanged."""
    import sys

    from metrics.tracking.escapes import _outward

    def inner():
        return [f.f_code.co_name for f in _outward(sys._getframe(0))][:3]

    ns = {"__name__": "mutmut.fake_trampoline", "inner": inner}
    exec("def forwarder():\n    return inner()\n", ns)

    def caller():
        return ns["forwarder"]()

    assert caller() == ["inner", "caller", "test_frame_walks_skip_call_forwarders"]
    ns["__name__"] = "somewhere.else"                  # an ordinary caller is a frame like any
    assert caller() == ["inner", "forwarder", "caller"]


# ---- out= arrays that are not tracked ------------------------------------------------------------
def test_writing_tracked_values_into_an_untracked_out_array():
    """Strict mode refuses it (the values would leave the model), naming the function; constants
    (elements with no id) may be written; a tracked out= is a normal store; without strict the
    values are written and each element counts as one escape."""
    from metrics.tracking.errors import EscapeError
    tr = Tracker(strict=True)
    (a,) = tr.track_args(np.arange(3.0))
    with pytest.raises(EscapeError, match=r"numpy\.add writes tracked values into an untracked "
                                          r"out= array \(strict\)"):
        np.add(a, a, out=np.empty(3))
    with pytest.raises(EscapeError, match=r"numpy\.clip writes tracked values"):
        np.clip(a, 0.0, 1.0, out=np.empty(3))
    first = Tracker(strict=True)                          # the very first value (id 0) too
    (s,) = first.track_args(np.array([5.0]))
    assert s.ids.tolist() == [0]
    with pytest.raises(EscapeError, match="numpy.negative"):
        np.negative(s, out=np.empty(1))
    z = np.zeros_like(a)                                  # tracked, but constants: ids -1
    assert (z.ids < 0).all()
    out = np.full(3, 7.0)
    np.add(z, z, out=out)
    assert out.tolist() == [0.0, 0.0, 0.0]
    t_out = np.zeros_like(a)
    np.add(a, a, out=t_out)                               # tracked out=: stored, no error
    assert t_out.peek().tolist() == [0.0, 2.0, 4.0] and tr.escapes == 0
    loose = Tracker()
    (b,) = loose.track_args(np.arange(3.0))
    out = np.empty(3)
    np.add(b, b, out=out)
    assert out.tolist() == [0.0, 2.0, 4.0] and loose.escapes == 3
