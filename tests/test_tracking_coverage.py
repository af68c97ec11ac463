"""Tracker coverage for rule authors (issue 12): np.einsum, np.tensordot, np.outer,
np.linalg.norm, np.clip, np.maximum/minimum, np.sign, np.cumsum.

Each is checked three ways: numbers bit-identical to plain numpy; the recorded program equal,
read for read, to a scalar tracer running the documented order as explicit Python loops (the
reference tracer's way); and its ByteDMD equal to the program of already-modelled operations it
stands for (np.einsum("ij,jk->ik", A, B) and np.tensordot(A, B, axes=1) cost what A @ B costs;
np.linalg.norm(v) what np.sqrt((v * v).sum()) costs), priced by the engine and by the oracle."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from metrics.api import bytedmd, trace_call
from metrics.engine import bytedmd_price
from metrics.oracle import oracle_bytedmd
from metrics.tracking import NotModelledError, TrackedArray, Tracker
from test_tracking import Rec, s_args, s_cumsum, s_elementwise, s_ids, s_norm


def _same_program(t1, t2):
    a, b = t1.arrays(), t2.arrays()
    return a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist()


def _check(func, args, scalar):
    """func on tracked args vs plain numpy (bit-identical), vs the scalar tracer (`scalar(rec,
    sargs)` returns the scalar result), engine vs oracle."""
    plain = func(*[np.array(a, copy=True) for a in args])
    tr = Tracker()
    out = func(*tr.track_args(*[np.array(a, copy=True) for a in args]))
    assert isinstance(out, TrackedArray)
    assert np.array_equal(out.peek(), plain) and out.dtype == np.asarray(plain).dtype
    assert out.shape == np.shape(plain)
    trace = tr.trace(keep=out)
    rec = Rec(8)
    sres = scalar(rec, s_args(rec, args))
    ref = rec.trace(set(s_ids(sres)))
    assert _same_program(trace, ref)
    assert out.ids.ravel().tolist() == [x.id if hasattr(x, "id") else -1
                                        for x in np.asarray(sres, object).ravel()]
    o = oracle_bytedmd(trace)
    e = bytedmd_price(trace, return_depths=True)
    assert o["cost"] == e.cost and o["depths"] == e.depths.tolist()
    return trace


# ---- einsum: the documented order as explicit loops --------------------------------------------
def s_einsum(rec, spec, ops):
    lhs, out = spec.split("->")
    ins = lhs.split(",")
    sizes = {}
    for sub, x in zip(ins, ops):
        for c, n in zip(sub, np.shape(x)):
            if sizes.get(c, 1) == 1:              # a 1 broadcasts against any size, 0 included
                sizes[c] = n
    summed = []
    for sub in ins:
        summed += [c for c in sub if c not in out and c not in summed]
    res = np.empty([sizes[c] for c in out], object)
    for oidx in itertools.product(*[range(sizes[c]) for c in out]):
        s = None
        for sidx in itertools.product(*[range(sizes[c]) for c in summed]):
            at = dict(zip(out, oidx)) | dict(zip(summed, sidx))
            factors = [x[tuple(at[c] if n > 1 else 0 for c, n in zip(sub, np.shape(x)))]
                       if isinstance(x, np.ndarray) else x for sub, x in zip(ins, ops)]
            c = factors[0]
            for f in factors[1:]:
                c = rec.op(c, f)
            s = c if s is None else rec.op(s, c)
        res[oidx] = s
    return res


EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk->ki", [(2, 3), (3, 2)]),
    ("ij->i", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("ij->", [(2, 3)]),
    ("ii->i", [(3, 3)]),
    ("ij->ji", [(2, 3)]),
    ("i,j->ij", [(3,), (2,)]),
    ("i,i->", [(4,), (4,)]),
    ("ijk,jk->i", [(2, 3, 2), (3, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("i,i,i->i", [(3,), (3,), (3,)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ij,kj->ikj", [(2, 3), (1, 3)]),
]


@pytest.mark.parametrize("spec,shapes", EINSUMS)
def test_einsum_matches_the_scalar_program(spec, shapes):
    rng = np.random.default_rng(len(spec))
    args = [rng.standard_normal(s) for s in shapes]
    _check(lambda *ops: np.einsum(spec, *ops), args, lambda rec, ops: s_einsum(rec, spec, ops))


def test_einsum_with_a_constant_operand():
    rng = np.random.default_rng(1)
    A, B, C = rng.standard_normal((2, 3)), rng.standard_normal((3, 2)), rng.standard_normal((2, 2))
    _check(lambda a, c: np.einsum("ij,jk,kl->il", a, B, c), [A, C],
           lambda rec, ops: s_einsum(rec, "ij,jk,kl->il", [ops[0], B, ops[1]]))
    _check(lambda a: np.einsum("ij,jk->ik", a, B), [A],
           lambda rec, ops: s_einsum(rec, "ij,jk->ik", [ops[0], B]))


def test_einsum_and_tensordot_cost_what_matmul_costs():
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((5, 4)), rng.standard_normal((4, 3))
    _, t_mm = trace_call(lambda a, b: a @ b, (A, B))
    _, t_es = trace_call(lambda a, b: np.einsum("ij,jk->ik", a, b), (A, B))
    _, t_td = trace_call(lambda a, b: np.tensordot(a, b, axes=1), (A, B))
    assert _same_program(t_mm, t_es) and _same_program(t_mm, t_td)
    cost = bytedmd(lambda a, b: a @ b, (A, B))
    assert bytedmd(lambda a, b: np.einsum("ij,jk->ik", a, b), (A, B)) == cost
    assert bytedmd(lambda a, b: np.tensordot(a, b, axes=1), (A, B)) == cost
    assert oracle_bytedmd(t_es)["cost"] == cost
    v = rng.standard_normal(4)
    assert bytedmd(lambda a, x: np.einsum("ij,j->i", a, x), (A, v)) == bytedmd(
        lambda a, x: a @ x, (A, v))
    assert bytedmd(lambda a: np.einsum("ij->i", a), (A,)) == bytedmd(lambda a: a.sum(axis=1), (A,))


def s_tensordot(rec, a, b, ax_a, ax_b):
    free_a = [d for d in range(a.ndim) if d not in ax_a]
    free_b = [d for d in range(b.ndim) if d not in ax_b]
    K = int(np.prod([a.shape[d] for d in ax_a]))
    A = np.transpose(a, free_a + ax_a).reshape(-1, K)
    B = np.transpose(b, ax_b + free_b).reshape(K, -1)
    out = np.empty((A.shape[0], B.shape[1]), object)
    for i in range(A.shape[0]):
        for j in range(B.shape[1]):
            s = rec.op(A[i, 0], B[0, j])
            for k in range(1, K):
                s = rec.op(s, rec.op(A[i, k], B[k, j]))
            out[i, j] = s
    return out.reshape([a.shape[d] for d in free_a] + [b.shape[d] for d in free_b])


@pytest.mark.parametrize("sa,sb,axes,ax", [
    ((2, 3), (3, 4), 1, ([1], [0])),
    ((2, 3, 4), (3, 4, 2), 2, ([1, 2], [0, 1])),
    ((3, 2, 4), (4, 3), ([2, 0], [0, 1]), ([2, 0], [0, 1])),
    ((3,), (2,), 0, ([], [])),
])
def test_tensordot_matches_the_scalar_program(sa, sb, axes, ax):
    rng = np.random.default_rng(3)
    args = [rng.standard_normal(sa), rng.standard_normal(sb)]
    _check(lambda a, b: np.tensordot(a, b, axes), args,
           lambda rec, ops: s_tensordot(rec, ops[0], ops[1], *ax))


def test_outer():
    rng = np.random.default_rng(4)
    args = [rng.standard_normal(3), rng.standard_normal((2, 2))]
    _check(np.outer, args, lambda rec, ops: s_elementwise(rec, ops[0].ravel()[:, None],
                                                        ops[1].ravel()[None, :]))
    a, b = rng.standard_normal(3), rng.standard_normal(4)
    assert bytedmd(np.outer, (a, b)) == bytedmd(lambda x, y: x[:, None] * y[None, :], (a, b))


# ---- norm: the order of np.sqrt((x * x).sum(axis=axes)), test_tracking.s_norm ----------------
@pytest.mark.parametrize("shape,kw,axes", [
    ((5,), {}, (0,)), ((3, 4), {}, (0, 1)), ((3, 4), {"ord": "fro"}, (0, 1)),
    ((3, 4), {"axis": 1}, (1,)), ((3, 4), {"axis": 0, "keepdims": True}, (0,)),
    ((4,), {"ord": 2}, (0,)), ((2, 3, 2), {"axis": (0, 2)}, (0, 2)),
])
def test_norm_matches_the_scalar_program(shape, kw, axes):
    x = np.random.default_rng(5).standard_normal(shape)
    _check(lambda a: np.linalg.norm(a, **kw), [x], lambda rec, ops: s_norm(rec, ops[0], axes))


def test_norm_costs_sqrt_of_sum_of_squares():
    rng = np.random.default_rng(6)
    v, M = rng.standard_normal(7), rng.standard_normal((3, 5))
    assert bytedmd(np.linalg.norm, (v,)) == bytedmd(lambda x: np.sqrt((x * x).sum()), (v,))
    assert bytedmd(np.linalg.norm, (M,)) == bytedmd(lambda x: np.sqrt((x * x).sum()), (M,))
    assert bytedmd(lambda x: np.linalg.norm(x, axis=1), (M,)) == bytedmd(
        lambda x: np.sqrt((x * x).sum(axis=1)), (M,))
    _, t1 = trace_call(np.linalg.norm, (v,))
    _, t2 = trace_call(lambda x: np.sqrt((x * x).sum()), (v,))
    assert _same_program(t1, t2)


def test_norm_orders_not_modelled():
    (a,) = Tracker().track_args(np.ones((2, 2)))
    for kw in ({"ord": 1}, {"ord": 2}, {"ord": np.inf}, {"ord": "nuc"}):
        with pytest.raises(NotModelledError, match="numpy.linalg.norm"):
            np.linalg.norm(a, **kw)


# ---- clip, maximum/minimum, sign: elementwise ---------------------------------------------------
def test_clip_maximum_minimum_sign():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((2, 3)), rng.standard_normal(3)
    one = lambda rec, ops: s_elementwise(rec, ops[0])                       # noqa: E731
    _check(lambda a: np.clip(a, -0.5, 0.5), [x], one)
    _check(lambda a: a.clip(-0.5, None), [x], one)
    _check(np.sign, [x], one)
    for f in (np.maximum, np.minimum):
        _check(f, [x, y], lambda rec, ops: s_elementwise(rec, ops[0], ops[1]))
        _check(lambda a, f=f: f(a, 0.0), [x], one)
    # each is one instruction per element, as np.tanh
    assert bytedmd(lambda a: np.clip(a, -0.5, 0.5), (x,)) == bytedmd(np.tanh, (x,)) \
        == bytedmd(np.sign, (x,)) == bytedmd(lambda a: np.maximum(a, 0.0), (x,))


# ---- cumsum: test_tracking.s_cumsum -----------------------------------------------------------
@pytest.mark.parametrize("shape,axis", [((5,), None), ((2, 3), None), ((2, 3), 0),
                                        ((2, 3), 1), ((2, 3, 2), -2), ((1,), 0)])
def test_cumsum_matches_the_scalar_program(shape, axis):
    x = np.random.default_rng(8).standard_normal(shape)
    _check(lambda a: np.cumsum(a, axis=axis), [x], lambda rec, ops: s_cumsum(rec, ops[0], axis))
    _check(lambda a: a.cumsum(axis), [x], lambda rec, ops: s_cumsum(rec, ops[0], axis))


def test_cumsum_last_equals_sum():
    v = np.random.default_rng(9).standard_normal(6)
    tr = Tracker()
    (a,) = tr.track_args(v)
    c, s = np.cumsum(a), None
    n = tr.n_values
    s = a.sum()
    assert tr.n_values - n == 5 == n - 6                   # the same 5 additions
    assert c.ids[0] == a.ids[0]                            # output[0] is a[0] itself


def test_einsum_subscripts_may_hold_spaces():
    """numpy ignores spaces in the subscripts; so does the tracker: the same program."""
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    _check(lambda a, b: np.einsum(" ij , jk -> ik ", a, b), [A, B],
           lambda rec, ops: s_einsum(rec, "ij,jk->ik", ops))


@pytest.mark.parametrize("shapes", [[(1, 3), (2, 3)], [(2, 3), (1, 3)]])
def test_einsum_broadcasts_an_axis_of_length_one(shapes):
    """'ij,ij->ij' with one operand's i of length 1 (numpy broadcasts it, whichever operand it
    is): every output element reads that operand's only row, the program of the same product
    written with the row ('j,ij->ij')."""
    rng = np.random.default_rng(4)
    A, B = (rng.standard_normal(s) for s in shapes)
    row_first = shapes[0][0] == 1
    _, t_b = trace_call(lambda a, b: np.einsum("ij,ij->ij", a, b), (A, B))
    _, t_r = trace_call((lambda a, b: np.einsum("j,ij->ij", a[0], b)) if row_first else
                        (lambda a, b: np.einsum("ij,j->ij", a, b[0])), (A, B))
    assert _same_program(t_b, t_r)
    tr = Tracker()
    out = np.einsum("ij,ij->ij", *tr.track_args(A, B))
    assert out.shape == (2, 3) and np.array_equal(out.peek(), np.einsum("ij,ij->ij", A, B))


@pytest.mark.parametrize("call, error, message", [
    (lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2]), NotModelledError,
     "numpy.einsum with operands and sublists (use a subscripts string) is not modelled by "
     "the tracker"),
    (lambda a, b: np.einsum("ij,jk", a, b), NotModelledError,
     "numpy.einsum without explicit output subscripts ('->') is not modelled by the tracker"),
    (lambda a, b: np.einsum("...j,jk->...k", a, b), NotModelledError,
     "numpy.einsum with an ellipsis is not modelled by the tracker"),
    (lambda a, b: np.einsum("ij,jk->ik", a), ValueError, "einsum: 2 subscripts for 1 operands"),
    (lambda a, b: np.einsum("ijk,jk->ik", a, b), ValueError,
     "einsum: subscripts 'ijk' for an operand of shape (2, 3)"),
])
def test_einsum_refusals_word_for_word(call, error, message):
    tr = Tracker()
    a, b = tr.track_args(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(error) as e:
        call(a, b)
    assert str(e.value) == message


@pytest.mark.parametrize("which", ["left", "right", "both"])
def test_matmul_of_a_0d_operand_is_refused_as_numpy_refuses_it(which):
    """numpy refuses A @ B when either operand is 0-d; so does the tracker, in one line."""
    tr = Tracker()
    v, s = tr.track_args(np.ones(3), np.array(2.0))
    a, b = {"left": (s, v), "right": (v, s), "both": (s, s)}[which]
    with pytest.raises(ValueError) as e:
        np.matmul(a, b)
    assert str(e.value) == "matmul: Input operand does not have enough dimensions"
    with pytest.raises(ValueError, match="^matmul: Input operand"):
        np.matmul(np.asarray(a.peek()), np.asarray(b.peek()))


def test_matmul_into_out_writes_numpys_numbers_with_the_product_program():
    """np.matmul(A, B, out=C): a tracked C holds numpy's product and its slots the new values
    (the program of A @ B, read for read); a plain `out` gets the numbers (they escape)."""
    rng = np.random.default_rng(5)
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    tr = Tracker()
    a, b, c = tr.track_args(A, B, np.zeros((2, 2)))
    got = np.matmul(a, b, out=c)
    assert got is c and np.array_equal(c.peek(), A @ B)
    # the reference: A @ B into a new array, with the same three arguments pushed
    product, ref = trace_call(lambda x, y, z: x @ y, (A, B, np.zeros((2, 2))))
    (nreads, reads, _, _), (ref_nreads, ref_reads, _, _) = tr.trace(keep=c).arrays(), ref.arrays()
    assert nreads.tolist() == ref_nreads.tolist() and reads.tolist() == ref_reads.tolist()
    assert c.ids.tolist() == product.ids.tolist()              # C's slots: the new values
    plain = np.zeros((2, 2))
    assert np.matmul(a, b, out=plain) is plain and np.array_equal(plain, A @ B)
