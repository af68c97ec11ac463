"""Operations over an axis of length 0 on tracked arrays (a batch, a sequence or a contraction
of size 0): numpy's numbers and shapes, and no instruction -- a sum over no terms reads
nothing, so every output is a constant (-1), and outputs with no elements are no values."""
from __future__ import annotations

import numpy as np
import pytest

from metrics.tracking import TrackedArray, Tracker

CASES = {
    "einsum ij,jk->ik, j empty": (lambda a, b: np.einsum("ij,jk->ik", a, b), [(2, 0), (0, 3)]),
    "einsum ij,jk,kl->il, j empty": (lambda a, b, c: np.einsum("ij,jk,kl->il", a, b, c),
                                     [(2, 0), (0, 3), (3, 2)]),
    "einsum ij->i, j empty": (lambda a: np.einsum("ij->i", a), [(2, 0)]),
    "einsum ij->j, i empty": (lambda a: np.einsum("ij->j", a), [(0, 3)]),
    "einsum i,j->ij, i empty": (lambda a, b: np.einsum("i,j->ij", a, b), [(0,), (3,)]),
    "einsum ij,j->ij, 1 against 0": (lambda a, b: np.einsum("ij,j->ij", a, b), [(2, 1), (0,)]),
    "einsum ij,j->ij, 0 against 1": (lambda a, b: np.einsum("ij,j->ij", a, b), [(2, 0), (1,)]),
    "tensordot, contraction empty": (lambda a, b: np.tensordot(a, b, axes=1), [(2, 0), (0, 3)]),
    "tensordot, rows empty": (lambda a, b: np.tensordot(a, b, axes=1), [(0, 2), (2, 3)]),
    "tensordot axes=0": (lambda a, b: np.tensordot(a, b, axes=0), [(0, 2), (2, 3)]),
    "matmul, contraction empty": (lambda a, b: a @ b, [(2, 0), (0, 3)]),
    "cumsum axis=1 empty": (lambda a: np.cumsum(a, axis=1), [(2, 0)]),
    "cumsum axis=0 over empty rows": (lambda a: np.cumsum(a, axis=0), [(2, 0)]),
    "cumsum flat": (lambda a: np.cumsum(a), [(2, 0)]),
    "sum axis=1 empty": (lambda a: a.sum(axis=1), [(2, 0)]),
    # elementwise operations on arrays with no element: no value at all
    "a * 2.0, a empty": (lambda a: a * 2.0, [(0, 3)]),
    "tanh, a empty": (np.tanh, [(2, 0)]),
    "a + b, both empty": (lambda a, b: a + b, [(0, 3), (0, 3)]),
    "a + b, broadcast to empty": (lambda a, b: a + b, [(0, 1), (1, 3)]),
    "where, empty": (lambda a, b: np.where(a > 0, a, b), [(0,), (0,)]),
    "outer, a empty": (lambda a, b: np.outer(a, b), [(0,), (3,)]),
    "astype, empty": (lambda a: a.astype(np.float32), [(0, 2)]),
}


@pytest.mark.parametrize("name", CASES)
def test_an_empty_axis_gives_numpys_result_and_no_instruction(name):
    func, shapes = CASES[name]
    args = [np.arange(int(np.prod(s)), dtype=float).reshape(s) + 1.0 for s in shapes]
    plain = func(*args)
    tr = Tracker()
    out = func(*tr.track_args(*[a.copy() for a in args]))
    assert isinstance(out, TrackedArray)
    assert out.shape == plain.shape and out.dtype == plain.dtype
    assert np.array_equal(out.peek(), plain)
    trace = tr.trace(keep=out)
    assert trace.n_values == sum(a.size for a in args) and trace.n_reads == 0   # the pushes only
    assert out.ids.shape == plain.shape and out.ids.dtype == np.int64 and (out.ids == -1).all()
