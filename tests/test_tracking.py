"""Tests of metrics.tracking: traces against an independent scalar tracer, bit-identical numbers,
escapes, strict mode, NotModelledError, widths, buffer events, spilling."""
from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from harness.task import Batch
from metrics.tracking import EscapeError, NotModelledError, TrackedArray, Tracker
from harness.training import run_update, train
from metrics.api import bytedmd, trace_call
from metrics.oracle import oracle_ard_dmc, oracle_bytedmd
from metrics.trace import Trace


# ---- a tiny scalar tracer: Python objects, explicit loops (the reference tracer's way) ---------
class Rec:
    def __init__(self, width=8):
        self.nreads, self.reads, self.width = [], [], width

    def push(self):
        self.nreads.append(0)
        return S(len(self.nreads) - 1)

    def op(self, *xs):
        """One instruction reading the tracked ones among xs (in order); constants are free."""
        r = [x.id for x in xs if isinstance(x, S)]
        if not r:
            return 0.0                                  # constant in, constant out
        self.nreads.append(len(r))
        self.reads.extend(r)
        return S(len(self.nreads) - 1)

    def trace(self, keep):
        return Trace.from_arrays(np.array(self.nreads, np.uint8), np.array(self.reads, np.int64),
                                 self.width, keep=np.array(sorted(keep), np.int64))


class S:
    __slots__ = ("id",)

    def __init__(self, i):
        self.id = i


def s_args(rec, arrays):
    """Eager init: last argument first, C order within each. Object arrays of S."""
    out = [None] * len(arrays)
    for i in range(len(arrays) - 1, -1, -1):
        a = np.asarray(arrays[i])
        o = np.empty(a.shape, object)
        for idx in np.ndindex(a.shape):
            o[idx] = rec.push()
        out[i] = o
    return out


def s_at(x, idx):
    """Element of operand x feeding output index idx (broadcasting); constants pass through."""
    if not isinstance(x, np.ndarray):
        return x
    d = x.ndim
    sub = idx[len(idx) - d:] if d else ()
    return x[tuple(0 if n == 1 else i for i, n in zip(sub, x.shape))]


def s_elementwise(rec, *xs):
    shape = np.broadcast_shapes(*[np.shape(x) for x in xs])
    out = np.empty(shape, object)
    for idx in np.ndindex(shape):
        out[idx] = rec.op(*[s_at(x, idx) for x in xs])
    return out


def s_matmul(rec, a, b):
    va, vb = a.ndim == 1, b.ndim == 1
    A = a[None, :] if va else a
    B = b[:, None] if vb else b
    M, K = A.shape
    N = B.shape[1]
    out = np.empty((M, N), object)
    for i in range(M):
        for j in range(N):
            s = rec.op(A[i, 0], B[0, j])
            for k in range(1, K):
                t = rec.op(A[i, k], B[k, j])
                s = rec.op(s, t)
            out[i, j] = s
    if va and vb:
        return out.reshape(())
    if va:
        return out.reshape(N)
    if vb:
        return out.reshape(M)
    return out


def s_reduce(rec, a, axis, keepdims, mean=False):
    if axis is None:
        axes = tuple(range(a.ndim))
    else:      # one axis or a tuple of them; the reduced elements in C order over those axes
        axes = tuple(sorted(d % a.ndim for d in (axis if isinstance(axis, tuple) else (axis,))))
    kept = [d for d in range(a.ndim) if d not in axes]
    kshape = tuple(a.shape[d] for d in kept)
    rshape = tuple(a.shape[d] for d in axes)
    out = np.empty(kshape, object)
    for kidx in np.ndindex(kshape):
        s = None
        for ridx in np.ndindex(rshape):
            full = [0] * a.ndim
            for d, i in zip(kept, kidx):
                full[d] = i
            for d, i in zip(axes, ridx):
                full[d] = i
            x = a[tuple(full)]
            s = x if s is None else rec.op(s, x)
        if mean:
            s = rec.op(s)
        out[kidx] = s
    if keepdims:
        out = out.reshape(tuple(1 if d in axes else n for d, n in enumerate(a.shape)))
    return out


def s_cumsum(rec, x, axis):
    """np.cumsum's program: per line (C order over the other axes) out[0] = x[0] itself, then
    out[k] = out[k-1] + x[k]; axis=None over the C-order flattening."""
    if axis is None:
        x, axis = np.asarray(x, object).reshape(-1), 0
    moved = np.moveaxis(x, axis, -1)
    out = np.empty(moved.shape, object)
    for idx in np.ndindex(moved.shape[:-1]):
        s = moved[idx + (0,)]
        out[idx + (0,)] = s
        for k in range(1, moved.shape[-1]):
            s = rec.op(s, moved[idx + (k,)])
            out[idx + (k,)] = s
    return np.moveaxis(out, -1, axis)


def s_norm(rec, x, axis):
    """np.linalg.norm's program (2-norm / Frobenius): every x*x, the sums, then the sqrts."""
    sq = s_elementwise(rec, x, x)
    sums = s_reduce(rec, sq, axis, False)
    return s_elementwise(rec, sums)


def s_ids(o):
    return [x.id for x in np.asarray(o, object).ravel() if isinstance(x, S)]


# ---- random programs ------------------------------------------------------------------------------
SHAPES = [(), (1,), (2,), (3,), (2, 3), (3, 2), (1, 3), (3, 1), (2, 2), (3, 3)]
EW = {"add": (np.add, 2), "subtract": (np.subtract, 2), "multiply": (np.multiply, 2),
      "maximum": (np.maximum, 2), "tanh": (np.tanh, 1), "negative": (np.negative, 1)}


def bcast_ok(*shapes):
    try:
        np.broadcast_shapes(*shapes)
        return True
    except ValueError:
        return False


def mm_ok(a, b):
    if len(a) == 0 or len(b) == 0:
        return False
    ka = a[-1]
    kb = b[0] if len(b) == 1 else b[-2]
    return ka == kb


@st.composite
def programs(draw):
    nargs = draw(st.integers(1, 3))
    shapes = [draw(st.sampled_from(SHAPES)) for _ in range(nargs)]
    pool = list(shapes)            # shapes of the pool entries, as the program will see them
    plain = [False] * nargs        # untracked entries: writing tracked values into them escapes
    prog = []
    for _ in range(draw(st.integers(1, 7))):
        kind = draw(st.sampled_from(["ew", "ew", "ewc", "un", "red", "mm", "iadd", "view", "T",
                                     "zeros", "setitem", "plain", "twice", "fancy",
                                     "concat", "cumsum", "norm"]))
        i = draw(st.integers(0, len(pool) - 1))
        si = pool[i]
        if kind == "ew":
            f = draw(st.sampled_from(["add", "subtract", "multiply", "maximum"]))
            cands = [j for j in range(len(pool)) if bcast_ok(si, pool[j])]
            j = draw(st.sampled_from(cands))
            prog.append(("ew", f, i, j))
            pool.append(np.broadcast_shapes(si, pool[j]))
            plain.append(plain[i] and plain[j])
            continue
        elif kind == "twice":
            prog.append(("ew", "multiply", i, i))
            pool.append(si)
        elif kind == "ewc":
            f = draw(st.sampled_from(["add", "multiply", "subtract"]))
            c = draw(st.sampled_from([0.5, 2.0, -1.0]))
            left = draw(st.booleans())
            prog.append(("ewc", f, i, c, left))
            pool.append(si)
        elif kind == "un":
            prog.append(("un", draw(st.sampled_from(["tanh", "negative"])), i))
            pool.append(si)
        elif kind == "red":
            if len(si) == 0:
                continue
            op = draw(st.sampled_from(["sum", "max", "min", "mean", "prod"]))
            axis = draw(st.sampled_from([None] + list(range(len(si)))))
            kd = draw(st.booleans())
            prog.append(("red", op, i, axis, kd))
            pool.append(np.zeros(si).sum(axis=axis, keepdims=kd).shape)
        elif kind == "mm":
            cands = [j for j in range(len(pool)) if len(pool[j]) <= 2 and mm_ok(si, pool[j])]
            if len(si) > 2 or not cands:
                continue
            j = draw(st.sampled_from(cands))
            prog.append(("mm", i, j))
            pool.append((np.zeros(si) @ np.zeros(pool[j])).shape)
            plain.append(plain[i] and plain[j])
            continue
        elif kind == "iadd":
            cands = [j for j in range(len(pool))
                     if bcast_ok(si, pool[j]) and np.broadcast_shapes(si, pool[j]) == si]
            if plain[i] or not cands or len(si) == 0:
                continue
            j = draw(st.sampled_from(cands))
            op = draw(st.sampled_from(["+=", "-=", "*="]))
            prog.append(("iadd", op, i, j))
            continue
        elif kind == "view":
            if len(si) == 0:
                continue
            sl = tuple(draw(st.sampled_from([slice(None), slice(1, None), slice(None, None, 2),
                                             slice(None, 1)])) for _ in si)
            shape = np.zeros(si)[sl].shape
            if 0 in shape:      # no empty arrays: reductions of them have no identity
                continue
            prog.append(("view", i, sl))
            pool.append(shape)
            plain.append(plain[i])
            continue
        elif kind == "T":
            prog.append(("T", i))
            pool.append(si[::-1])
            plain.append(plain[i])
            continue
        elif kind == "zeros":
            prog.append(("zeros", i))
            pool.append(si)
        elif kind == "setitem":
            if plain[i] or len(si) == 0:
                continue
            cands = [j for j in range(len(pool)) if bcast_ok(si[1:], pool[j])
                     and np.broadcast_shapes(si[1:], pool[j]) == si[1:]]
            if not cands:
                continue
            j = draw(st.sampled_from(cands))
            prog.append(("setitem", i, j))
            continue
        elif kind == "fancy":
            if len(si) == 0:
                continue
            idx = draw(st.lists(st.integers(0, si[0] - 1), min_size=1, max_size=4))
            prog.append(("fancy", i, idx))
            pool.append((len(idx),) + si[1:])
        elif kind == "concat":
            cands = [j for j in range(len(pool)) if len(pool[j]) == len(si) and len(si) > 0
                     and pool[j][1:] == si[1:]]
            if not cands:
                continue
            j = draw(st.sampled_from(cands))
            prog.append(("concat", i, j))
            pool.append((si[0] + pool[j][0],) + si[1:])
            plain.append(plain[i] and plain[j])
            continue
        elif kind == "cumsum":
            if len(si) == 0:
                continue
            axis = draw(st.sampled_from([None] + list(range(len(si)))))
            prog.append(("cumsum", i, axis))
            pool.append(np.cumsum(np.zeros(si), axis=axis).shape)
        elif kind == "norm":
            if plain[i] or len(si) == 0 or len(si) > 2:
                continue
            axis = draw(st.sampled_from([None] + list(range(len(si)))))
            prog.append(("norm", i, axis))
            pool.append(np.zeros(si).sum(axis=axis).shape)
        elif kind == "plain":
            prog.append(("plain", i))
            pool.append(si)
            plain.append(True)
            continue
        plain.append(plain[i])
    nkeep = draw(st.integers(1, min(2, len(pool))))
    seed = draw(st.integers(0, 2 ** 16))
    return shapes, prog, nkeep, seed


def run_numpy(p, prog):
    """The program on numpy arrays (plain or tracked): the numpy code both worlds run."""
    for step in prog:
        k = step[0]
        if k == "ew":
            p.append(EW[step[1]][0](p[step[2]], p[step[3]]))
        elif k == "ewc":
            _, f, i, c, left = step
            p.append(EW[f][0](c, p[i]) if left else EW[f][0](p[i], c))
        elif k == "un":
            p.append(EW[step[1]][0](p[step[2]]))
        elif k == "red":
            _, op, i, axis, kd = step
            p.append(getattr(p[i], op)(axis=axis, keepdims=kd))
        elif k == "mm":
            p.append(p[step[1]] @ p[step[2]])
        elif k == "iadd":
            _, op, i, j = step
            if op == "+=":
                p[i] += p[j]
            elif op == "-=":
                p[i] -= p[j]
            else:
                p[i] *= p[j]
        elif k == "view":
            p.append(p[step[1]][step[2]])
        elif k == "T":
            p.append(p[step[1]].T)
        elif k == "zeros":
            p.append(np.zeros_like(p[step[1]]))
        elif k == "setitem":
            p[step[1]][0] = p[step[2]]
        elif k == "fancy":
            p.append(p[step[1]][step[2]])
        elif k == "concat":
            p.append(np.concatenate([p[step[1]], p[step[2]]]))
        elif k == "cumsum":
            p.append(np.cumsum(p[step[1]], axis=step[2]))
        elif k == "norm":
            p.append(np.linalg.norm(p[step[1]], axis=step[2]))
        elif k == "plain":
            p.append(np.full(np.shape(p[step[1]]), 0.25))
    return p


def run_scalar(rec, p, prog):
    for step in prog:
        k = step[0]
        if k == "ew":
            p.append(s_elementwise(rec, p[step[2]], p[step[3]]))
        elif k == "ewc":
            _, f, i, c, left = step
            p.append(s_elementwise(rec, c, p[i]) if left else s_elementwise(rec, p[i], c))
        elif k == "un":
            p.append(s_elementwise(rec, p[step[2]]))
        elif k == "red":
            _, op, i, axis, kd = step
            p.append(s_reduce(rec, p[i], axis, kd, mean=(op == "mean")))
        elif k == "mm":
            p.append(s_matmul(rec, p[step[1]], p[step[2]]))
        elif k == "iadd":
            _, op, i, j = step
            p[i][...] = s_elementwise(rec, p[i], p[j])
        elif k == "view":
            p.append(p[step[1]][step[2]])
        elif k == "T":
            p.append(p[step[1]].T)
        elif k == "zeros":
            o = np.empty(np.shape(p[step[1]]), object)
            o[...] = 0.0
            p.append(o)
        elif k == "setitem":
            p[step[1]][0, ...] = p[step[2]]     # elementwise, also for a 0-d object array
        elif k == "fancy":
            p.append(p[step[1]][step[2]])
        elif k == "concat":
            p.append(np.concatenate([p[step[1]], p[step[2]]]))
        elif k == "cumsum":
            p.append(s_cumsum(rec, p[step[1]], step[2]))
        elif k == "norm":
            p.append(s_norm(rec, p[step[1]], step[2]))
        elif k == "plain":
            o = np.empty(np.shape(p[step[1]]), object)
            o[...] = 0.25
            p.append(o)
    return p


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs_match_scalar_tracer(case):
    shapes, prog, nkeep, seed = case
    rng = np.random.default_rng(seed)
    args = [rng.standard_normal(s) for s in shapes]

    # 1. tracked
    tr = Tracker()
    tracked = run_numpy(list(tr.track_args(*[a.copy() for a in args])), prog)
    trace = tr.trace(keep=tracked[-nkeep:])
    # 2. plain numpy: bit-identical numbers
    plain = run_numpy([a.copy() for a in args], prog)
    for t, q in zip(tracked, plain):
        td = t.peek() if isinstance(t, TrackedArray) else np.asarray(t)
        assert np.array_equal(td, np.asarray(q), equal_nan=True)
        assert td.dtype == np.asarray(q).dtype and td.shape == np.shape(q)
    # 3. the scalar tracer on explicit loops
    rec = Rec(8)
    sc = run_scalar(rec, s_args(rec, args), prog)
    keep = set()
    for o in sc[-nkeep:]:
        keep.update(s_ids(o))
    ref = rec.trace(keep)
    nr, rd, vb, _ = trace.arrays()
    rnr, rrd, _, _ = ref.arrays()
    assert nr.tolist() == rnr.tolist()
    assert rd.tolist() == rrd.tolist()
    assert set(trace.keep.tolist()) == keep
    assert (vb == 8).all()
    # every slot holds the same value in both worlds
    for t, o in zip(tracked, sc):
        ids = [x.id if isinstance(x, S) else -1 for x in np.asarray(o, object).ravel()]
        tids = t.ids if isinstance(t, TrackedArray) else np.full(np.shape(t), -1)
        assert tids.ravel().tolist() == ids
    a, b = oracle_bytedmd(trace), oracle_bytedmd(ref)
    assert a["cost"] == b["cost"] and a["depths"] == b["depths"]


# ---- hand-checked small cases --------------------------------------------------------------------
def test_elementwise_broadcast_rereads():
    tr = Tracker()
    a, b = tr.track_args(np.ones((2, 3)), np.ones(3))     # b: ids 0..2, a: ids 3..8
    c = a * b
    nr, rd, _, _ = tr.trace(keep=c).arrays()
    assert nr[9:].tolist() == [2] * 6
    assert rd.tolist() == [3, 0, 4, 1, 5, 2, 6, 0, 7, 1, 8, 2]
    assert c.ids.tolist() == [[9, 10, 11], [12, 13, 14]]


def test_matmul_order_and_stacked():
    tr = Tracker()
    A, B = tr.track_args(np.ones((2, 1, 2)), np.ones((2, 2)))   # B 0..3, A 4..7
    C = A @ B                       # (2,1,2): batch first
    assert C.shape == (2, 1, 2)
    nr, rd, _, _ = tr.trace(keep=C).arrays()
    # output (0,0,0): s=A[0,0,0]*B[0,0] (4,0); t=A[0,0,1]*B[1,0] (5,2); s+t (8,9)
    assert rd[:6].tolist() == [4, 0, 5, 2, 8, 9]
    assert C.ids.ravel().tolist() == [10, 13, 16, 19]
    assert np.array_equal(C.peek(), np.ones((2, 1, 2)) @ np.ones((2, 2)))


def test_constants_are_free():
    tr = Tracker()
    (a,) = tr.track_args(np.ones(3))
    z = np.zeros_like(a)
    assert (z.ids == -1).all()
    z += a                          # 0 + a: reads only a
    w = np.zeros((2, 3)) @ a        # a plain matrix: products read only a
    nr, rd, _, _ = tr.trace(keep=(z, w)).arrays()
    assert nr[3:6].tolist() == [1, 1, 1] and rd[:3].tolist() == [0, 1, 2]
    # per output: p0 (a0), p1 (a1), s1 (p0, p1), p2 (a2), s2
    assert nr[6:11].tolist() == [1, 1, 2, 1, 2]
    c = np.zeros(3) + 1.0           # untracked arithmetic stays untracked
    assert not isinstance(c, TrackedArray)


def test_reductions_mean_and_identity():
    tr = Tracker()
    (a,) = tr.track_args(np.arange(6.0).reshape(2, 3))
    s = a.sum(axis=0)
    assert s.ids.tolist() == [6, 7, 8]                  # one addition each, reading a[0,j], a[1,j]
    m = np.mean(a[:, :1], axis=1)                       # one element: no fold, one division
    one = a[:1].sum(axis=0)                             # single term: the same value, no instruction
    assert one.ids.tolist() == [0, 1, 2]
    nr, rd, _, _ = tr.trace(keep=(s, m)).arrays()
    assert rd[:6].tolist() == [0, 3, 1, 4, 2, 5]
    assert nr[9:].tolist() == [1, 1] and rd[6:].tolist() == [0, 3]
    assert np.array_equal(m.peek(), np.mean(np.arange(6.0).reshape(2, 3)[:, :1], axis=1))
    assert np.array_equal(a.max(axis=1, keepdims=True).peek(), np.array([[2.0], [5.0]]))


def test_views_share_ids_and_inplace_through_view():
    tr = Tracker()
    (a,) = tr.track_args(np.ones((3, 3)))
    v = a[1:, ::2]
    v *= 2.0
    assert a.ids[1, 0] == v.ids[0, 0] and a.ids[1, 0] >= 9
    assert a.peek()[1, 0] == 2.0 and a.peek()[0, 0] == 1.0
    r = a.reshape(9)
    r[0] = 5.0                                          # constant write through a view
    assert a.ids[0, 0] == -1 and a.peek()[0, 0] == 5.0
    f = a[[0, 2]]                                       # fancy: a copy with the same ids
    assert f.ids.tolist() == a.ids[[0, 2]].tolist()
    f[0, 1] = 7.0
    assert a.peek()[0, 1] == 1.0
    t = a.T
    assert t.ids[0, 1] == a.ids[1, 0]


def test_concatenate_stack_where_clip_outer_astype():
    tr = Tracker()
    a, b = tr.track_args(np.array([1.0, -2.0]), np.array([3.0, 4.0]))
    c = np.concatenate([a, b, np.zeros(1)])
    assert c.ids.tolist() == [2, 3, 0, 1, -1]
    s = np.stack([a, b])
    assert s.ids.tolist() == [[2, 3], [0, 1]]
    w = np.where(a > 0, a, b)
    assert np.array_equal(w.peek(), np.array([1.0, 4.0]))
    k = np.clip(a, -1.0, 0.5)
    assert np.array_equal(k.peek(), np.clip(np.array([1.0, -2.0]), -1.0, 0.5))
    o = np.outer(a, b)
    assert o.shape == (2, 2)
    f = a.astype(np.float32)
    same = a.astype(np.int64)
    assert (same.ids == a.ids).all()
    cmp = a > 0
    trace = tr.trace(keep=(w, k, o, f, cmp))
    nr, rd, vb, _ = trace.arrays()
    # the comparison results are 1 byte, the float32 conversion 4 bytes
    assert vb[f.ids].tolist() == [4, 4]
    assert vb[cmp.ids].tolist() == [1, 1]
    assert (vb[w.ids] == 8).all()


def test_bytes_per_element_override():
    f = lambda a, b: (a + b) + a
    args = (np.ones(3, np.float32), np.ones(3, np.float32))
    _, t4 = trace_call(f, args)
    _, t1 = trace_call(f, args, bytes_per_element=1)
    assert set(t4.arrays()[2].tolist()) == {4}
    assert set(t1.arrays()[2].tolist()) == {1}
    assert bytedmd(f, args, bytes_per_element=1) == oracle_bytedmd(t1)["cost"]
    assert bytedmd(f, args) == oracle_bytedmd(t4)["cost"] > oracle_bytedmd(t1)["cost"]


# ---- escapes, strict mode, not modelled --------------------------------------------------------------
def test_escapes_counted():
    tr = Tracker()
    a, b = tr.track_args(np.array([1.0, 2.0]), 3.0)
    x = float(b)
    y = a.tolist()
    z = np.asarray(a)
    if a[0] > 0:                                        # bool(): one element
        pass
    assert x == 3.0 and y == [1.0, 2.0] and z.tolist() == [1.0, 2.0]
    assert tr.escapes == 1 + 2 + 2 + 1
    trace = tr.trace()
    assert trace.escapes == 6
    nr, rd, _, _ = trace.arrays()
    assert nr[3:].tolist() == [1] * 7          # escapes read once; a[0] > 0 reads a[0]
    r = oracle_bytedmd(trace)
    assert r["reads"] == 1 + 2 + 2 + 1 + 1


def test_strict_mode_raises():
    tr = Tracker(strict=True)
    (a,) = tr.track_args(np.array([1.0, 2.0]))
    with pytest.raises(EscapeError):
        float(a.sum())
    with pytest.raises(EscapeError):
        np.asarray(a)
    with pytest.raises(EscapeError):
        bool(a[0] > 0)
    assert tr.escapes == 0
    assert float(np.zeros_like(a)[0]) == 0.0           # constants are not tracked data


@pytest.mark.parametrize("call,name", [
    (lambda a: np.fft.fft(a), "numpy.fft.fft"),
    (lambda a: np.cumprod(a), "numpy.cumprod"),
    (lambda a: np.add.reduce(a), "numpy.add.reduce"),
    (lambda a: np.add.accumulate(a), "numpy.add.accumulate"),
    (lambda a: np.add(a, 1.0, where=np.array([True, False])), "where="),
    (lambda a: np.linalg.norm(a, ord=1), "numpy.linalg.norm with ord=1"),
    (lambda a: a.cumprod(), "numpy.ndarray.cumprod"),
    (lambda a: np.einsum("i", a), "explicit output"),
    (lambda a: np.sum(a, where=np.array([True, False])), "where="),
    (lambda a: np.clip(a, a, 1.0), "tracked bounds"),
    (lambda a: np.concatenate([a, a], out=np.empty(4)), "numpy.concatenate with out="),
    (lambda a: np.repeat(a, a), "numpy.repeat with a tracked parameter"),
    (lambda a: np.full_like(a, a[0]), "numpy.full_like with a tracked fill value"),
    (lambda a: np.sum(a, out=np.empty(())), "numpy.sum with out="),
])
def test_not_modelled_names_it(call, name):
    tr = Tracker()
    (a,) = tr.track_args(np.array([1.0, 2.0]))
    with pytest.raises(NotModelledError, match=name.replace(".", r"\.")):
        call(a)


@pytest.mark.parametrize("op", [np.sum, np.prod, np.mean])
def test_a_reduction_in_a_given_dtype_is_numpys(op):
    """sum, prod and mean with dtype= accumulate in that dtype, as numpy does: the tracked
    result's value and dtype are the plain call's (float32 on float64 data, rounded)."""
    data = np.array([1.0 + 2.0 ** -30, 3.0, 1.0 / 3.0])
    tr = Tracker()
    (a,) = tr.track_args(data)
    got = op(a, dtype=np.float32)
    want = op(data, dtype=np.float32)
    assert got.dtype == want.dtype == np.float32 and got.data == want
    assert op(data) != want                     # float32 rounding shows in the value


# ---- phases, labels, buffers, spilling ----------------------------------------------------------
def test_phases_and_labels():
    tr = Tracker()
    a = tr.track(np.ones(2), label="a")
    with tr.phase("forward"):
        b = a * 2.0
        with tr.phase("update"):
            c = b + a
        d = c - 1.0
    tr.label(c, "c")
    t = tr.trace(keep=d)
    names = t.phase_names
    ph = t.arrays()[3]
    assert [names[i] for i in ph] == ["(none)"] * 2 + ["forward"] * 2 + ["update"] * 2 + ["forward"] * 2
    lab = [t.label_names[i] for i in t.label]
    assert lab == ["a", "a", "(unnamed)", "(unnamed)", "c", "c", "(unnamed)", "(unnamed)"]


def test_buffer_events():
    tr = Tracker()
    a = tr.track(np.ones(100))          # write a (100)
    b = tr.track(np.ones(50))           # write b (50)
    v = a[:10]                          # a view: no event
    c = v + 1.0                         # read a (10), write c (10)
    a += b[:1]                          # read b (1), read a (100), write a (100)
    t = tr.trace()
    ev = list(zip(t.buffer_kind.tolist(), t.buffer_id.tolist(), t.buffer_size.tolist()))
    assert ev == [(0, 0, 100), (0, 1, 50), (1, 0, 10), (0, 2, 10), (1, 0, 100), (1, 1, 1),
                  (0, 0, 100)]
    ard, dmc = oracle_ard_dmc([("write" if k == 0 else "read", bf, s) for k, bf, s in ev])
    assert ard > 0 and dmc > 0


def test_spill_to_disk(tmp_path):
    tr = Tracker(spill_reads=100, spill_dir=str(tmp_path))
    A, B = tr.track_args(np.ones((4, 4)), np.ones((4, 4)))
    C = A @ B
    D = C @ A
    t = tr.trace(keep=D)
    assert len(t.chunks) >= 2
    from metrics.trace_store import PackedChunk
    assert any(isinstance(c, PackedChunk) for c in t.chunks)        # stored compressed on disk
    assert any(f.suffix == ".z" for f in tmp_path.rglob("*"))
    assert sum(c.n_values for c in t.chunks) == t.n_values == tr.n_values
    assert [c.first_value for c in t.chunks] == list(np.cumsum([0] + [c.n_values for c in t.chunks])[:-1])
    tr2 = Tracker()
    A2, B2 = tr2.track_args(np.ones((4, 4)), np.ones((4, 4)))
    t2 = tr2.trace(keep=(A2 @ B2) @ A2)
    assert oracle_bytedmd(t)["cost"] == oracle_bytedmd(t2)["cost"]
    assert np.array_equal(t.arrays()[1], t2.arrays()[1])


def test_api_returns_number_and_dict():
    # a number returned: escaped (one read at depth 1 costs 1), nothing kept
    c1 = bytedmd(lambda a, b: float((a * b).sum()), (np.ones(2), np.ones(2)), bytes_per_element=1)
    _, t = trace_call(lambda a, b: {"s": (a * b).sum()}, (np.ones(2), np.ones(2)), 1)
    assert t.keep.size == 1 and c1 == oracle_bytedmd(t)["cost"] + 1


# ---- the learner runs unchanged and bit-identically on tracked arrays --------------------------
def test_bptt_tracked_bit_identical():
    import learners
    tr = Tracker()

    def step(lr, st, b):
        ts = {k: (v if isinstance(v, TrackedArray) else tr.track(v, label=k)) for k, v in st.items()}
        tb = Batch(segments=[tr.track(s) for s in b.segments], targets=tr.track(b.targets))
        return run_update(lr, ts, tb, phase=tr.phase)

    plain = train(learners.get("bptt")(), sweeps=3)
    tracked = train(learners.get("bptt")(), sweeps=3, step=step)
    for k in plain.params:
        assert np.array_equal(plain.params[k], tracked.params[k]), k
    for k in plain.state:
        v = tracked.state[k]
        assert isinstance(v, TrackedArray)
        assert np.array_equal(plain.state[k], v.peek()), k
    assert plain.history.equals(tracked.history)
    t = tr.trace()
    assert t.n_reads > 10 ** 6 and {"forward", "credit", "update"} <= set(t.phase_names)
    assert tr.escapes == 3                              # `norm > clip` once per sweep


def test_reduction_functions_positional_arguments():
    tr = Tracker()
    x = np.arange(6.0).reshape(2, 3)
    (a,) = tr.track_args(x)
    assert np.array_equal(np.max(a, 0, None, True).peek(), np.max(x, 0, None, True))
    assert np.array_equal(np.sum(a, 1, None, None, True).peek(), np.sum(x, 1, None, None, True))
    assert np.array_equal(np.mean(a, (0, 1)).peek(), np.mean(x, (0, 1)))
    assert np.array_equal(np.prod(a, axis=(1,)).peek(), np.prod(x, axis=(1,)))
    assert np.result_type(a, 1.0) == np.float64


def test_deepcopy_keeps_tracking():
    import copy
    tr = Tracker()
    (a,) = tr.track_args(np.ones(3))
    b = copy.deepcopy({"a": a})["a"]
    assert b.tracker is tr and b.ids.tolist() == a.ids.tolist()
    b += 1.0
    assert a.ids.tolist() == [0, 1, 2] and a.peek().tolist() == [1.0, 1.0, 1.0]


def test_invalid_conversion_records_nothing():
    tr = Tracker()
    (a,) = tr.track_args(np.ones(2))
    with pytest.raises(ValueError):
        bool(a)                                         # ambiguous truth value: numpy's error
    assert tr.escapes == 0 and tr.n_values == 2


@pytest.mark.parametrize("dtype", [np.int8, np.float32, np.float64])
@pytest.mark.parametrize("op", ["@", "matmul", "dot", "vector @ matrix"])
def test_products_are_values_of_the_results_width(dtype, op):
    """Every value a matrix product makes (products and partial sums) is as wide as the
    result's dtype: 1, 4 or 8 bytes (numpy keeps int8 @ int8 in int8)."""
    tr = Tracker()
    a, b = tr.track_args(np.arange(6).reshape(2, 3).astype(dtype),
                         np.arange(12).reshape(3, 4).astype(dtype))
    n = tr.n_values
    out = {"@": lambda: a @ b, "matmul": lambda: np.matmul(a, b), "dot": lambda: np.dot(a, b),
           "vector @ matrix": lambda: a[0] @ b}[op]()
    assert out.dtype == dtype
    width = tr.trace().arrays()[2]
    assert tr.n_values > n and set(width[n:].tolist()) == {np.dtype(dtype).itemsize}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_reduction_costs_its_left_fold_at_the_values_width(dtype):
    """np.sum of a float32 (4-byte) array costs the scalar left fold in float32: the partial
    sums are values of the result's width, also when used afterwards. (An int16 sum is an int64
    result in numpy, so not that program.)"""
    x = np.array([1, 2, 3], dtype=dtype)
    two = dtype(2)
    assert bytedmd(lambda a: np.sum(a) * two, x) == \
        bytedmd(lambda a: ((a[0] + a[1]) + a[2]) * two, x)


def test_elementwise_runs_are_the_instructions_of_each_elementwise_operation():
    """trace.elementwise_runs (metrics/trace.py; the execution schedules read it): (first value
    id, count) of each elementwise operation's instructions, in order; an operation that makes
    no instruction (every operand a constant) adds no run, and a fold (a sum) is not one."""
    tr = Tracker()
    a, b = tr.track_args(np.ones(3), np.ones(3))      # values 0..5
    c = a * b                                         # 6..8
    s = c.sum()                                       # 9, 10: a fold
    k = a.copy()
    k[...] = 2.0                                      # constants
    d = np.tanh(k)                                    # no instruction
    e = c + s                                         # 11..13
    t = tr.trace(keep=e)
    assert (d.ids == -1).all() and t.n_values == 14
    assert t.elementwise_runs.dtype == np.int64
    assert t.elementwise_runs.tolist() == [[6, 3], [11, 3]]


@pytest.mark.parametrize("spill", [False, True])
def test_the_trace_holds_the_contracts_dtypes_in_memory_and_spilled(spill, tmp_path):
    """metrics/trace.py's contract: nreads, value_bytes and phase uint8, reads int64, in every
    chunk (an elementwise op, a matrix product with constants inside, a sum),
    whether a chunk stays in memory or is spilled and read back."""
    tr = Tracker(spill_reads=20, spill_dir=str(tmp_path)) if spill else Tracker()
    a, b = tr.track_args(np.ones((3, 4)), np.ones((4, 2)))
    a[1, :2] = 0.5                                     # constants inside an operand
    c = np.tanh(a @ b).sum() * 2.0
    t = tr.trace(keep=c)
    assert (tr.stored_bytes() > 0) == spill
    for ch in t.chunks:
        assert (ch.nreads.dtype, ch.reads.dtype) == (np.uint8, np.int64)
        assert (ch.value_bytes.dtype, ch.phase.dtype) == (np.uint8, np.uint8)
    nreads, reads, width, phase = t.arrays()
    assert (nreads.dtype, reads.dtype, width.dtype, phase.dtype) == (np.uint8, np.int64,
                                                                    np.uint8, np.uint8)


def test_reads_are_spilled_once_more_than_spill_reads_are_buffered(tmp_path):
    """docs/tracking.md: once more than `spill_reads` reads are buffered they become one
    compressed chunk on disk: exactly spill_reads stay in memory."""
    tr = Tracker(spill_reads=60, spill_dir=str(tmp_path))
    (a,) = tr.track_args(np.ones(60))
    b = a + 1.0                                        # 60 reads buffered: not more than 60
    assert tr.stored_bytes() == 0
    c = b + 1.0                                        # 120: spilled
    first = tr.stored_bytes()
    assert first > 0
    d = c + 1.0                                        # 60 buffered again: not more than 60
    assert tr.stored_bytes() == first
    e = d + 1.0                                        # 120: a second chunk spilled
    assert tr.stored_bytes() > first
    tr2 = Tracker()
    (a2,) = tr2.track_args(np.ones(60))
    e2 = (((a2 + 1.0) + 1.0) + 1.0) + 1.0
    assert np.array_equal(tr.trace(keep=e).arrays()[1], tr2.trace(keep=e2).arrays()[1])


def test_track_keeps_the_callers_data_and_copies_only_overlapping_views():
    """track(): the data is not copied (a writable view, int8 with 1-byte strides, an axis of
    length 1 with stride 0 included); a broadcast view whose elements overlap (a stride-0 axis of
    length 2 or more) is copied, so that each element is a slot of its own."""
    tr = Tracker()
    x = np.arange(6.0).reshape(2, 3)
    for src in (x, x[:, ::2], np.arange(4, dtype=np.int8), np.broadcast_to(x[:1], (1, 3)),
                np.float64(2.5)):
        t = tr.track(src)
        assert np.shares_memory(t.data, src) or np.ndim(src) == 0
        assert np.array_equal(t.data, src) and t.ids.shape == np.shape(src)
    for shape in ((2, 3), (3, 3)):
        src = np.broadcast_to(x[:1], shape)                  # rows overlap: stride 0
        t = tr.track(src)
        assert not np.shares_memory(t.data, src) and np.array_equal(t.data, src)
        assert len(set(t.ids.ravel().tolist())) == src.size


def test_trace_keeps_the_values_of_keep_and_keep_ids_once_each_and_no_constant():
    """trace(keep=..., keep_ids=...): the kept values are those of the arrays in `keep` and the
    extra ids (any shape), sorted, each once; a constant (-1) is no value to keep."""
    tr = Tracker()
    a, b = tr.track_args(np.ones(3), np.ones(2))       # ids 0..2, 3..4
    c = a * 2.0                                        # 5..7
    c[0] = 1.0                                         # slot 0 now a constant
    assert tr.trace().keep.tolist() == []
    assert tr.trace(keep=c).keep.tolist() == [6, 7]
    assert tr.trace(keep_ids=np.array([[4, 1], [1, -1]])).keep.tolist() == [1, 4]
    t = tr.trace(keep={"c": c, "x": 3.0}, keep_ids=[7, 3])
    assert t.keep.tolist() == [3, 6, 7] and t.keep.dtype == np.int64


@pytest.mark.parametrize("program", ["nothing", "some"])
def test_the_traces_side_records_have_the_dtypes_of_an_empty_trace(program):
    """Buffer events (kind uint8, buffer and size int64) and the escape and elementwise runs
    (int64, (k, 2)) have metrics.trace.Trace's dtypes and shapes whether the program made
    none of them or some."""
    tr = Tracker()
    if program == "some":
        (a,) = tr.track_args(np.ones(3))
        b = np.tanh(a[[0, 2]])                           # a copy (events), an elementwise run
        float(b.sum())                                   # an escape
    t, empty = tr.trace(), Trace(chunks=[])
    assert (len(t.buffer_kind) > 0) == (program == "some") == (len(t.escape_runs) > 0)
    for name in ("buffer_kind", "buffer_id", "buffer_size", "escape_runs", "elementwise_runs"):
        got, want = getattr(t, name), getattr(empty, name)
        assert got.dtype == want.dtype and got.ndim == want.ndim, name
