"""np.einsum with three or more operands (templates.sum_of_products) when some factors are
constants (-1 ids: plain numbers written into a tracked array, or plain operands): a product or
sum whose inputs are all constants is no instruction, exactly as in the scalar program of
explicit loops (tests/test_tracking_coverage.py), including the value with id 0 (the first value
pushed, a tracked value like any other)."""
from __future__ import annotations

import numpy as np
import pytest

from test_tracking_coverage import _check, s_einsum


def _constants_at(masks):
    """func and scalar-program arguments with the masked elements of each operand replaced by
    the constant 0.5 (on the tracked side by an assignment: the slot then holds a constant)."""
    def func(spec):
        def run(*ops):
            ops = [o.copy() for o in ops]
            for o, m in zip(ops, masks):
                o[m] = 0.5
            return np.einsum(spec, *ops)
        return run

    def scalar(spec):
        def run(rec, ops):
            ops = [o.copy() for o in ops]
            for o, m in zip(ops, masks):
                o[m] = 0.5
            return s_einsum(rec, spec, ops)
        return run
    return func, scalar


CASES = [
    # the first two factors constant, the third tracked and holding value id 0 (pushed first)
    ("i,i,i->i", [(3,), (3,), (3,)], [np.ones(3, bool), np.ones(3, bool), np.zeros(3, bool)]),
    # per row, only some terms have a tracked product: the sum starts at the first that does
    ("ij,ij,ij->i", [(3, 4)] * 3,
     [np.array([[1, 1, 0, 1], [1, 1, 1, 1], [0, 1, 1, 1]], bool), np.zeros((3, 4), bool),
      np.array([[1, 0, 1, 1], [1, 1, 1, 1], [1, 1, 1, 0]], bool)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)],
     [np.array([[1, 0, 1], [1, 1, 1]], bool), np.array([[1, 1], [0, 1], [1, 1]], bool),
      np.array([[1, 0], [1, 1]], bool)]),
    ("i,i,i,i->i", [(4,)] * 4,
     [np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool), np.array([1, 1, 1, 0], bool),
      np.array([0, 1, 1, 1], bool)]),
]


@pytest.mark.parametrize("spec, shapes, masks", CASES, ids=[c[0] for c in CASES])
def test_partly_constant_factors_match_the_scalar_program(spec, shapes, masks):
    rng = np.random.default_rng(3)
    args = [rng.standard_normal(s) + 2.0 for s in shapes]
    func, scalar = _constants_at(masks)
    trace = _check(func(spec), args, scalar(spec))
    if spec == "i,i,i->i":                 # the only instructions: one product per output
        assert trace.n_values == 9 + 3 and trace.arrays()[1].tolist() == [0, 1, 2]

